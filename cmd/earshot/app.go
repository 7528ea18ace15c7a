package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/earshot-app/earshot/config"
	"github.com/earshot-app/earshot/monitor"
	"github.com/earshot-app/earshot/ui"
)

// runApp opens the supervisor window on the configured PBX until it is closed or ctx
// is cancelled.
func runApp(ctx context.Context, cfg config.Config, _ *commonFlags) error {
	log := newLogger(os.Stderr)
	if err := ui.SetupLanguage(cfg.Language); err != nil {
		log.Warn("interface language", "err", err)
	}
	drv, err := openDriver(cfg, log)
	if err != nil {
		return err
	}
	board := monitor.NewBoard(monitor.Options{Logger: log})
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		if err := drv.Run(ctx, board); err != nil && ctx.Err() == nil {
			log.Error("PBX feed stopped", "driver", drv.Name(), "err", err)
		}
	}()

	var audit *ui.AuditLog
	if dir, err := config.DataDir(); err != nil {
		log.Warn("audit log disabled", "err", err)
	} else if audit, err = ui.OpenAuditLog(filepath.Join(dir, "audit.jsonl")); err != nil {
		log.Warn("audit log disabled", "err", err)
		audit = nil
	}

	a := app.NewWithID(ui.AppID)
	a.SetIcon(ui.AppIcon())
	u := ui.New(ui.Options{
		App:        a,
		Driver:     drv,
		Board:      board,
		Config:     cfg,
		SaveConfig: saveSettings,
		TestPBX: func(ctx context.Context, c config.Config, secret string) error {
			return testPBXLogin(ctx, c, secret, log)
		},
		Audit:  audit,
		Logger: log,
	})
	u.Start(ctx)
	go func() {
		<-ctx.Done()
		fyne.Do(a.Quit)
	}()
	u.Window().ShowAndRun()
	return nil
}

// saveSettings writes the settings edited in the window. The demo's size and seed are
// command-line knobs: the file keeps its own values for them.
func saveSettings(c config.Config) error {
	base, err := config.Load()
	if err == nil {
		c.Demo = base.Demo
	}
	if err := config.Save(c); err != nil {
		return fmt.Errorf("save settings: %w", err)
	}
	return nil
}

// envMu serialises the short window in which a PBX test passes a typed secret to the
// driver factory through EARSHOT_AMI_SECRET.
var envMu sync.Mutex

// testPBXLogin builds the driver for cfg and runs it until the feed connects (nil) or
// fails (the error, wrapping monitor.ErrAuth, ErrUnreachable, ...), or ctx ends.
func testPBXLogin(ctx context.Context, cfg config.Config, secret string, log *slog.Logger) error {
	f, ok := driverFactories[cfg.Driver]
	if !ok {
		return fmt.Errorf("unknown PBX driver %q", cfg.Driver)
	}
	envMu.Lock()
	restore := func() {}
	if secret != "" {
		old, had := os.LookupEnv("EARSHOT_AMI_SECRET")
		_ = os.Setenv("EARSHOT_AMI_SECRET", secret)
		restore = func() {
			if had {
				_ = os.Setenv("EARSHOT_AMI_SECRET", old)
			} else {
				_ = os.Unsetenv("EARSHOT_AMI_SECRET")
			}
		}
	}
	d, err := f(cfg, log)
	restore()
	envMu.Unlock()
	if err != nil {
		return fmt.Errorf("set up the %s driver: %w", cfg.Driver, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	result := make(chan error, 2)
	sink := monitor.SinkFunc(func(e monitor.Event) {
		if e.Kind != monitor.EventFeed {
			return
		}
		switch e.Feed.State {
		case monitor.FeedConnected:
			result <- nil
		case monitor.FeedLost:
			err := e.Feed.Err
			if err == nil {
				err = monitor.ErrUnreachable
			}
			result <- err
		}
	})
	go func() {
		if err := d.Run(ctx, sink); err != nil && ctx.Err() == nil {
			result <- err
		}
	}()
	select {
	case err := <-result:
		return err
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("no answer from %s:%d: %w", cfg.Asterisk.Host, cfg.Asterisk.Port, monitor.ErrUnreachable)
		}
		return ctx.Err()
	}
}
