// Command earshot is the supervisor's desktop softphone: run without a command it opens
// the window on the configured PBX (the embedded demo contact centre by default). Its
// commands serve scripts and shells: watch prints the live call table, act carries out a
// supervisor action, devices lists audio devices.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/earshot-app/earshot/config"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// Command is one earshot subcommand.
type Command struct {
	Name    string
	Summary string
	// Run executes the command with the arguments after its name.
	Run func(ctx context.Context, args []string) error
}

var commands = map[string]Command{}

// registerCommand adds a subcommand; each lives in its own file and registers in init.
func registerCommand(c Command) { commands[c.Name] = c }

// usageError is an error caused by a wrong command line; main prints usage for it.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// exitCodeError carries a specific exit status.
type exitCodeError struct {
	code int
	err  error
}

func (e exitCodeError) Error() string { return e.err.Error() }
func (e exitCodeError) Unwrap() error { return e.err }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return
	}
	fmt.Fprintln(os.Stderr, "earshot:", err)
	var ue usageError
	if errors.As(err, &ue) {
		os.Exit(2)
	}
	var ce exitCodeError
	if errors.As(err, &ce) {
		os.Exit(ce.code)
	}
	os.Exit(1)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		if args[0] == "help" {
			usage(stdout)
			return nil
		}
		c, ok := commands[args[0]]
		if !ok {
			usage(stderr)
			return usageError{fmt.Sprintf("unknown command %q", args[0])}
		}
		return c.Run(ctx, args[1:])
	}
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			usage(stdout) // asked for: the help goes to standard output
			return nil
		}
	}
	fs := flag.NewFlagSet("earshot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { usage(stderr) }
	showVersion := fs.Bool("version", false, "print the version and exit")
	opts := addCommonFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if *showVersion {
		fmt.Fprintln(stdout, "earshot", version)
		return nil
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	cfg, err := opts.load()
	if err != nil {
		return err
	}
	return runApp(ctx, cfg, opts)
}

func usage(w io.Writer) {
	fmt.Fprintf(w, `Earshot %s: the call-centre supervisor's softphone.

Usage:
  earshot [flags]               open the supervisor window (the demo contact centre
                                when no PBX is configured)
  earshot <command> [flags]     run a command; earshot <command> --help for its flags

Commands:
`, version)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].Summary)
	}
	fmt.Fprintf(w, `
Flags:
  --driver demo|asterisk   the PBX feed (default: from the settings, else demo)
  --demo-calls N           concurrent calls in the demo contact centre
  --log-level LEVEL        debug, info, warn or error (default info)
  --version                print the version
  --help                   this help

Settings live in %s; see README.md.
`, settingsPathForHelp())
}

func settingsPathForHelp() string {
	p, err := config.Path()
	if err != nil {
		return "the user config folder"
	}
	return p
}

// commonFlags are the flags every command that talks to a PBX shares.
type commonFlags struct {
	fs        *flag.FlagSet
	driver    *string
	demoCalls *int
	demoSeed  *int64
	logLevel  *string
	amiHost   *string
	amiPort   *int
	amiUser   *string
	amiTLS    *bool
}

func addCommonFlags(fs *flag.FlagSet) *commonFlags {
	return &commonFlags{
		fs:        fs,
		driver:    fs.String("driver", "", "PBX feed: demo or asterisk (default: from the settings)"),
		demoCalls: fs.Int("demo-calls", 60, "concurrent calls in the demo contact centre (default: from the settings, else 60)"),
		demoSeed:  fs.Int64("demo-seed", 0, "seed of the demo contact centre (0: from the settings)"),
		logLevel:  fs.String("log-level", "info", "log level: debug, info, warn or error"),
		amiHost:   fs.String("ami-host", "", "Asterisk AMI host"),
		amiPort:   fs.Int("ami-port", 0, "Asterisk AMI port (default 5038)"),
		amiUser:   fs.String("ami-user", "", "Asterisk AMI user (the secret comes from the OS keyring or EARSHOT_AMI_SECRET)"),
		amiTLS:    fs.Bool("ami-tls", false, "connect to AMI over TLS"),
	}
}

// load reads the settings and applies the flags over them.
func (f *commonFlags) load() (config.Config, error) {
	cfg, err := config.Load()
	switch {
	case errors.Is(err, config.ErrDamaged):
		fmt.Fprintln(os.Stderr, "earshot: warning:", err)
	case err != nil:
		return cfg, err
	}
	if *f.driver != "" {
		cfg.Driver = *f.driver
	}
	given := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	if given["demo-calls"] {
		if *f.demoCalls < 1 {
			return cfg, usageError{fmt.Sprintf("--demo-calls %d: the demo needs at least one call", *f.demoCalls)}
		}
		cfg.Demo.Calls = *f.demoCalls
	}
	if *f.demoSeed != 0 {
		cfg.Demo.Seed = *f.demoSeed
	}
	if *f.amiHost != "" {
		cfg.Asterisk.Host = *f.amiHost
		if *f.driver == "" {
			cfg.Driver = config.DriverAsterisk
		}
	}
	if *f.amiPort != 0 {
		cfg.Asterisk.Port = *f.amiPort
	}
	if *f.amiUser != "" {
		cfg.Asterisk.User = *f.amiUser
	}
	if *f.amiTLS {
		cfg.Asterisk.TLS = true
	}
	if _, ok := driverFactories[cfg.Driver]; !ok {
		return cfg, usageError{fmt.Sprintf("unknown PBX driver %q (known: %s)", cfg.Driver, strings.Join(driverNames(), ", "))}
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*f.logLevel)); err != nil {
		return cfg, usageError{fmt.Sprintf("log level %q: want debug, info, warn or error", *f.logLevel)}
	}
	logLevel.Set(lvl)
	return cfg, nil
}

// logLevel is the level of the process's logger, set by --log-level.
var logLevel = new(slog.LevelVar)

// newLogger returns a logger writing text lines to w at the --log-level.
func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: logLevel}))
}
