package main

import (
	"fmt"
	"log/slog"
	"sort"

	"github.com/earshot-app/earshot/config"
	"github.com/earshot-app/earshot/monitor"
)

// driverFactory builds the monitor.Driver for a configuration.
type driverFactory func(cfg config.Config, log *slog.Logger) (monitor.Driver, error)

// driverFactories maps a driver name to its factory; each driver's file registers it.
var driverFactories = map[string]driverFactory{}

func driverNames() []string {
	n := make([]string, 0, len(driverFactories))
	for k := range driverFactories {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// openDriver builds the configured PBX driver.
func openDriver(cfg config.Config, log *slog.Logger) (monitor.Driver, error) {
	f, ok := driverFactories[cfg.Driver]
	if !ok {
		return nil, fmt.Errorf("unknown PBX driver %q", cfg.Driver)
	}
	d, err := f(cfg, log)
	if err != nil {
		return nil, fmt.Errorf("set up the %s driver: %w", cfg.Driver, err)
	}
	return d, nil
}
