package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/earshot-app/earshot/audio"
	"github.com/earshot-app/earshot/config"
	"github.com/earshot-app/earshot/monitor"
	"github.com/earshot-app/earshot/monitor/demo"
	"github.com/earshot-app/earshot/monitor/demo/demosip"
	"github.com/earshot-app/earshot/phone"
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

	actx := openAudio(cfg, log)
	if actx != nil {
		defer actx.Close()
	}
	sipCfg := cfg
	if d, ok := drv.(*demo.Driver); ok {
		// The demo's SIP side rings the softphone for listen, whisper, barge and steal.
		pbx, err := demosip.Start(ctx, demosip.Config{Logger: log})
		if err != nil {
			log.Warn("demo PBX not started; monitoring actions connect without a call", "err", err)
		} else {
			defer pbx.Close()
			d.SetOnMonitor(pbx.OnMonitor)
			pbx.Attach(d)
			if cfg.SIP.Server == "" {
				// no account of its own: the softphone registers with the demo PBX
				sipCfg.SIP = config.SIP{Server: pbx.Addr(), User: "2001", DisplayName: cfg.Supervisor,
					Transport: "udp", SRTP: "off", DoNotDisturb: cfg.SIP.DoNotDisturb}
			}
		}
	}
	sp, err := startSoftphone(ctx, sipCfg, sipCfg.SIP.Server != cfg.SIP.Server, actx, log)
	if err != nil {
		log.Error("softphone not started", "err", err)
	}

	a := app.NewWithID(ui.AppID)
	a.SetIcon(ui.AppIcon())
	opts := ui.Options{
		App:        a,
		Driver:     drv,
		Board:      board,
		Config:     cfg,
		SaveConfig: settingsSaver(cfg),
		TestPBX: func(ctx context.Context, c config.Config, secret string) error {
			return testPBXLogin(ctx, c, secret, log)
		},
		TestSIP: func(ctx context.Context, c config.Config, password string) error {
			return testSIPRegister(ctx, c, password, log)
		},
		Audit:  audit,
		Logger: log,
	}
	if sp != nil {
		opts.Phone = sp
	}
	if actx != nil {
		opts.Audio = ui.NewAudioAdapter(actx)
	}
	u := ui.New(opts)
	u.Start(ctx)
	go func() {
		<-ctx.Done()
		fyne.Do(a.Quit)
	}()
	u.Window().ShowAndRun()
	return nil
}

// openAudio opens the sound system the settings name (the null backend when there is
// no sound card), or returns nil when none can be opened.
func openAudio(cfg config.Config, log *slog.Logger) *audio.Context {
	b, err := audio.ParseBackend(cfg.Audio.Backend)
	if err != nil {
		log.Warn("audio backend", "err", err)
		b = audio.BackendAuto
	}
	c, err := audio.NewContext(b)
	if err == nil {
		return c
	}
	log.Warn("no sound system; calls will have no local audio", "backend", b.String(), "err", err)
	if b != audio.BackendNull {
		if c, err := audio.NewContext(audio.BackendNull); err == nil {
			return c
		}
	}
	return nil
}

// sipAccount is the softphone account of the settings, with its password.
func sipAccount(cfg config.Config, password string) phone.Account {
	return phone.Account{
		Server:        cfg.SIP.Server,
		User:          cfg.SIP.User,
		AuthUser:      cfg.SIP.AuthUser,
		DisplayName:   cfg.SIP.DisplayName,
		Password:      password,
		Transport:     phone.Transport(cfg.SIP.Transport),
		SRTP:          phone.SRTPMode(cfg.SIP.SRTP),
		Expiry:        time.Duration(cfg.SIP.Expiry),
		OutboundProxy: cfg.SIP.OutboundProxy,
		CAFile:        cfg.SIP.CAFile,
	}
}

// startSoftphone starts the SIP softphone when the settings have an account; it
// returns nil (and no error) when they have none. The demo PBX's account has no
// password.
func startSoftphone(ctx context.Context, cfg config.Config, demoAccount bool, actx *audio.Context, log *slog.Logger) (ui.Softphone, error) {
	if cfg.SIP.Server == "" || cfg.SIP.User == "" {
		return nil, nil
	}
	pw := ""
	if !demoAccount {
		var err error
		if pw, err = cfg.SIPPassword(); err != nil {
			log.Warn("no SIP password in the OS keyring; registering without one", "err", err)
		}
	}
	acc := sipAccount(cfg, pw)
	p, err := phone.New(phone.Config{
		Account:         acc,
		AutoAnswerHints: cfg.SIP.AutoAnswerHints,
		Media:           phone.MediaConfig{Audio: actx, Output: cfg.Audio.Output, Input: cfg.Audio.Input, Ring: cfg.Audio.Ring},
		Logger:          log,
	})
	if err != nil {
		return nil, fmt.Errorf("start the softphone: %w", err)
	}
	go func() {
		if err := p.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error("softphone stopped", "err", err)
		}
	}()
	return ui.NewPhoneAdapter(p, acc.User+"@"+acc.Server), nil
}

// testSIPRegister registers the account of cfg once with a phone of its own and
// reports the outcome: nil once registered, else the PBX's reason.
func testSIPRegister(ctx context.Context, cfg config.Config, password string, log *slog.Logger) error {
	p, err := phone.New(phone.Config{Account: sipAccount(cfg, password), Logger: log})
	if err != nil {
		return err
	}
	events, stop := p.Subscribe()
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = p.Run(ctx)
	}()
	defer func() {
		cancel()
		<-done
	}()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return errors.New("the softphone stopped")
			}
			if ev.Kind != phone.EventRegistration {
				continue
			}
			switch ev.Registration.State {
			case phone.RegRegistered:
				return nil
			case phone.RegFailed, phone.RegRetrying:
				return ui.NewRegistrationError(ev.Registration)
			}
		case <-ctx.Done():
			return fmt.Errorf("no answer from %s", cfg.SIP.Server)
		}
	}
}

// settingsSaver returns the function that writes the settings edited in the window.
// Settings overridden for this run by a flag or an EARSHOT_* variable (the demo's size
// and seed among them) are written only when the user changed them in the dialog.
func settingsSaver(effective config.Config) func(config.Config) error {
	return func(c config.Config) error {
		file, err := config.LoadFile()
		if err != nil && !errors.Is(err, config.ErrDamaged) {
			return fmt.Errorf("save settings: %w", err)
		}
		if err := config.Save(config.KeepOverridesOutOfFile(c, effective, file)); err != nil {
			return fmt.Errorf("save settings: %w", err)
		}
		return nil
	}
}

// testPBXLogin is the Settings dialog's Test: for Asterisk it checks everything
// docs/asterisk.md asks for (ami.Driver.Check: login, channel variables, the supervisor's
// endpoint, the steal and transfer contexts, the write permissions) and returns nil when
// nothing failed, else an error listing the failed checks in sentences (a failed login
// as it is, wrapping monitor.ErrAuth or ErrUnreachable); for other drivers it runs the
// driver until the feed connects (nil) or fails, or ctx ends.
func testPBXLogin(ctx context.Context, cfg config.Config, secret string, log *slog.Logger) error {
	f, ok := driverFactories[cfg.Driver]
	if !ok {
		return fmt.Errorf("unknown PBX driver %q", cfg.Driver)
	}
	if secret != "" {
		cfg.Asterisk.Secret = secret // in memory only, never saved
	}
	if cfg.Driver == config.DriverAsterisk {
		err := checkAsterisk(ctx, cfg, log)
		if err != nil && ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("no answer from %s:%d: %w", cfg.Asterisk.Host, cfg.Asterisk.Port, monitor.ErrUnreachable)
		}
		return err
	}
	d, err := f(cfg, log)
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
		var err error
		switch e.Feed.State {
		case monitor.FeedConnected:
		case monitor.FeedLost:
			if err = e.Feed.Err; err == nil {
				err = monitor.ErrUnreachable
			}
		default:
			return
		}
		select { // the first verdict counts; never block the driver
		case result <- err:
		default:
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
