package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/earshot-app/earshot/config"
	"github.com/earshot-app/earshot/monitor"
	"github.com/earshot-app/earshot/monitor/ami"
	"github.com/earshot-app/earshot/secret"
)

// Asterisk over AMI (monitor/ami), configured from the settings' Asterisk section; the
// secret comes from EARSHOT_AMI_SECRET or the OS keyring.
func init() {
	driverFactories[config.DriverAsterisk] = func(cfg config.Config, log *slog.Logger) (monitor.Driver, error) {
		return newAMIDriver(cfg, log)
	}
}

func newAMIDriver(cfg config.Config, log *slog.Logger) (*ami.Driver, error) {
	a := cfg.Asterisk
	if a.Host == "" {
		return nil, errors.New("no Asterisk AMI host is set (Settings, --ami-host or EARSHOT_AMI_HOST)")
	}
	if a.User == "" {
		return nil, errors.New("no Asterisk AMI user is set (Settings, --ami-user or EARSHOT_AMI_USER)")
	}
	sec, err := cfg.AMISecret()
	if err != nil {
		if errors.Is(err, secret.ErrNotFound) {
			return nil, fmt.Errorf("no AMI secret for %s@%s: store it in Settings (OS keyring) or set EARSHOT_AMI_SECRET: %w", a.User, a.Host, err)
		}
		return nil, fmt.Errorf("read the AMI secret from the OS keyring: %w", err)
	}
	method := ami.TransferBlind
	switch a.TransferMethod {
	case "", "blind", ami.TransferBlind:
	case ami.TransferRedirect:
		method = ami.TransferRedirect
	default:
		return nil, fmt.Errorf("unknown transfer method %q (want blind or redirect)", a.TransferMethod)
	}
	return ami.New(ami.Config{
		TransferMethod:     method,
		RingTimeout:        time.Duration(a.RingTimeout),
		Host:               a.Host,
		Port:               a.Port,
		User:               a.User,
		Secret:             sec,
		TLS:                a.TLS,
		CAFile:             a.CAFile,
		HotlineVar:         a.HotlineVar,
		CampaignVar:        a.CampaignVar,
		DirectionVar:       a.DirectionVar,
		SupervisorEndpoint: a.SupervisorEndpoint,
		SupervisorName:     cfg.Supervisor,
		StealContext:       a.StealContext,
		StealExten:         a.StealExten,
		TransferContext:    a.TransferContext,
		Logger:             log,
	})
}

// checkAsterisk runs ami.Driver.Check for the settings' Test button: nil when no item
// failed; else an error whose message lists every failed item in a sentence. A login
// that failed is returned as it is (wrapping monitor.ErrAuth or ErrUnreachable). Every
// item is logged.
func checkAsterisk(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	d, err := newAMIDriver(cfg, log)
	if err != nil {
		return fmt.Errorf("set up the asterisk driver: %w", err)
	}
	r, err := d.Check(ctx)
	for _, it := range r.Items {
		log.Info("PBX check", "item", it.Name, "result", it.Status.String(), "detail", it.Detail)
	}
	if err != nil {
		return err
	}
	failed := r.Failed()
	if len(failed) == 0 {
		return nil
	}
	return &checkError{failed: failed, total: len(r.Items)}
}

// checkError lists the failed items of a PBX check.
type checkError struct {
	failed []ami.CheckItem
	total  int
}

// Error says how many checks failed and, for each, what to change.
func (e *checkError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d PBX checks failed:", len(e.failed), e.total)
	for _, it := range e.failed {
		fmt.Fprintf(&b, " %s", it.Detail)
	}
	return b.String()
}
