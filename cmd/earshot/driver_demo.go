package main

import (
	"fmt"
	"log/slog"

	"github.com/earshot-app/earshot/config"
	"github.com/earshot-app/earshot/monitor"
	"github.com/earshot-app/earshot/monitor/demo"
)

// The embedded simulated contact centre, the default PBX feed.
func init() {
	driverFactories[config.DriverDemo] = func(cfg config.Config, log *slog.Logger) (monitor.Driver, error) {
		if cfg.Demo.Calls < 0 {
			return nil, fmt.Errorf("the demo needs a positive number of concurrent calls, not %d", cfg.Demo.Calls)
		}
		return demo.New(demo.Config{
			Calls:      cfg.Demo.Calls,
			Seed:       cfg.Demo.Seed,
			Supervisor: cfg.Supervisor,
			Logger:     log,
		}), nil
	}
}
