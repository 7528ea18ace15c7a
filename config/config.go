// Package config holds Earshot's settings: which PBX to watch and how to reach it, the
// softphone's SIP account, audio devices and monitoring preferences. Settings live in a
// JSON file in the user's config folder, shared by the desktop app and the command line
// (earshot watch, earshot act), and can be overridden by EARSHOT_* environment variables
// for headless use. Secrets are never part of it: they live in the OS keyring (package
// secret), or, for headless use only, in an environment variable.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"time"

	"github.com/earshot-app/earshot/secret"
)

// Driver names.
const (
	DriverDemo     = "demo"
	DriverAsterisk = "asterisk"
)

// Config is every persistent setting except secrets.
type Config struct {
	// Driver is the PBX feed: "demo" (the embedded simulated contact centre, the
	// default) or "asterisk".
	Driver   string   `json:"driver"`
	Asterisk Asterisk `json:"asterisk"`
	Demo     Demo     `json:"demo"`
	SIP      SIP      `json:"sip"`
	Audio    Audio    `json:"audio"`
	// Supervisor is the supervisor's name written in the audit log and shown to agents.
	Supervisor string `json:"supervisor"`
	// AutoAnswerMonitoring answers monitoring calls Earshot requested without a click.
	AutoAnswerMonitoring bool `json:"auto_answer_monitoring"`
	// LongWait is the queue wait after which a notification is raised (0: never).
	LongWait Duration `json:"long_wait"`
	// Language is "en" or "vi" ("" follows the system).
	Language string `json:"language"`
}

// Asterisk is the AMI connection and the dialplan names Earshot's actions use.
type Asterisk struct {
	Host string `json:"host"`
	Port int    `json:"port"`
	User string `json:"user"`
	TLS  bool   `json:"tls"`
	// CAFile is a PEM file of CAs to trust for TLS, besides the system's.
	CAFile string `json:"ca_file"`
	// ChanVars name the channel variables (manager.conf channelvars=) that carry the
	// hotline, the campaign and the direction.
	HotlineVar   string `json:"hotline_var"`
	CampaignVar  string `json:"campaign_var"`
	DirectionVar string `json:"direction_var"`
	// SupervisorEndpoint is the channel the PBX rings for monitoring ("PJSIP/2001").
	SupervisorEndpoint string `json:"supervisor_endpoint"`
	// StealContext/StealExten: where Steal redirects the customer's channel.
	StealContext string `json:"steal_context"`
	StealExten   string `json:"steal_exten"`
	// TransferContext: the dialplan context in which a transfer dials the chosen agent.
	TransferContext string `json:"transfer_context"`
	// TransferMethod is "blind" (AMI BlindTransfer of the agent's channel, the default)
	// or "redirect" (AMI Redirect of the customer's channel).
	TransferMethod string `json:"transfer_method"`
	// RingTimeout is how long the PBX rings the supervisor's phone for a monitoring call.
	RingTimeout Duration `json:"ring_timeout"`
	// Secret, when set, is used instead of the keyring's AMI secret. It lives in memory
	// only (never saved): the Settings dialog's Test button sets it to the typed secret.
	Secret string `json:"-"`
}

// Demo tunes the simulated contact centre.
type Demo struct {
	// Calls is the number of concurrent calls the simulation aims at.
	Calls int `json:"calls"`
	// Seed makes the simulation reproducible (0: a fixed default).
	Seed int64 `json:"seed"`
}

// SIP is the softphone's account (the password is in the keyring).
type SIP struct {
	Server        string   `json:"server"`
	User          string   `json:"user"`
	AuthUser      string   `json:"auth_user"`
	DisplayName   string   `json:"display_name"`
	Transport     string   `json:"transport"`
	SRTP          string   `json:"srtp"`
	Expiry        Duration `json:"expiry"`
	OutboundProxy string   `json:"outbound_proxy"`
	CAFile        string   `json:"ca_file"`
	// AutoAnswerHints honours the PBX's auto-answer headers on ordinary calls.
	AutoAnswerHints bool `json:"auto_answer_hints"`
	// DoNotDisturb declines calls that are not monitoring calls.
	DoNotDisturb bool `json:"do_not_disturb"`
}

// Audio names the devices by stable ID (or name).
type Audio struct {
	Input  string `json:"input"`
	Output string `json:"output"`
	Ring   string `json:"ring"`
	// Backend is "" (the platform's) or "null" (no sound card: CI, servers).
	Backend string `json:"backend"`
}

// Duration is a time.Duration written as "30s" in JSON.
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration %q: %w", b, err)
	}
	*d = Duration(v)
	return nil
}

// Default returns the settings of a first run: the demo contact centre.
func Default() Config {
	return Config{
		Driver: DriverDemo,
		Asterisk: Asterisk{
			Port:               5038,
			HotlineVar:         "HOTLINE",
			CampaignVar:        "CAMPAIGN",
			DirectionVar:       "DIRECTION",
			SupervisorEndpoint: "PJSIP/2001",
			StealContext:       "earshot-steal",
			StealExten:         "2001",
			TransferContext:    "earshot-transfer",
			TransferMethod:     "blind",
			RingTimeout:        Duration(20 * time.Second),
		},
		Demo:                 Demo{Calls: 60, Seed: 1},
		SIP:                  SIP{Transport: "udp", SRTP: "off", Expiry: Duration(5 * time.Minute)},
		Supervisor:           "Supervisor",
		AutoAnswerMonitoring: true,
		LongWait:             Duration(60 * time.Second),
	}
}

// Dir returns the folder holding Earshot's settings (EARSHOT_CONFIG_DIR overrides).
func Dir() (string, error) {
	if d := os.Getenv("EARSHOT_CONFIG_DIR"); d != "" {
		return d, nil
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find the user config folder: %w", err)
	}
	return filepath.Join(d, "Earshot"), nil
}

// DataDir returns the folder for logs and the audit log (EARSHOT_DATA_DIR overrides).
func DataDir() (string, error) {
	if d := os.Getenv("EARSHOT_DATA_DIR"); d != "" {
		return d, nil
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "Earshot"), nil
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find the user data folder: %w", err)
	}
	if h, herr := os.UserHomeDir(); herr == nil && filepath.Base(d) == ".config" {
		return filepath.Join(h, ".local", "share", "Earshot"), nil
	}
	return filepath.Join(d, "Earshot"), nil
}

// Path returns the settings file's path.
func Path() (string, error) {
	d, err := Dir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "config.json"), nil
}

// ErrDamaged is returned, wrapped, by Load when the settings file could not be read: the
// returned Config then holds the defaults and Earshot can go on.
var ErrDamaged = errors.New("the settings file is damaged")

// LoadFile reads the settings file as it is on disk, without the environment overrides
// (defaults when it does not exist; defaults and an error wrapping ErrDamaged when it is
// damaged, which it leaves in place).
func LoadFile() (Config, error) {
	c := Default()
	p, err := Path()
	if err != nil {
		return c, err
	}
	b, err := os.ReadFile(p)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return c, nil
	case err != nil:
		return c, fmt.Errorf("read settings: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return Default(), fmt.Errorf("%w: %s: %w", ErrDamaged, p, err)
	}
	return c, nil
}

// KeepOverridesOutOfFile returns edited with every setting that was overridden for this
// run (by a flag or an EARSHOT_* variable: it differs between effective and file) and
// that the user did not change (edited still equals effective) put back to the file's
// value, so that saving the settings dialog never writes a temporary override to disk.
func KeepOverridesOutOfFile(edited, effective, file Config) Config {
	keepFileValues(reflect.ValueOf(&edited).Elem(), reflect.ValueOf(effective), reflect.ValueOf(file))
	return edited
}

func keepFileValues(edited, effective, file reflect.Value) {
	if edited.Kind() == reflect.Struct {
		for i := 0; i < edited.NumField(); i++ {
			keepFileValues(edited.Field(i), effective.Field(i), file.Field(i))
		}
		return
	}
	overridden := !effective.Equal(file)
	unchanged := edited.Equal(effective)
	if overridden && unchanged && edited.CanSet() {
		edited.Set(file)
	}
}

// Load reads the settings file (defaults when it does not exist yet) and applies the
// EARSHOT_* environment overrides. A damaged file is moved aside and the defaults are
// returned with an error wrapping ErrDamaged, which callers report and then ignore.
func Load() (Config, error) {
	c := Default()
	p, err := Path()
	if err != nil {
		return c, err
	}
	b, err := os.ReadFile(p)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return c, fmt.Errorf("read settings: %w", err)
	default:
		if err := json.Unmarshal(b, &c); err != nil {
			// Keep the damaged file for the user (nothing is lost) and go on with
			// the defaults, so Earshot still starts.
			c = Default()
			aside := fmt.Sprintf("%s.damaged-%s", p, time.Now().Format("20060102-150405"))
			if rerr := os.Rename(p, aside); rerr != nil {
				return c, fmt.Errorf("%w: %s: %w (and it could not be moved aside: %v)", ErrDamaged, p, err, rerr)
			}
			if eerr := c.applyEnv(os.Getenv); eerr != nil {
				return c, eerr
			}
			return c, fmt.Errorf("%w: %s could not be read (%w); it was kept as %s and the defaults are used", ErrDamaged, p, err, aside)
		}
	}
	if err := c.applyEnv(os.Getenv); err != nil {
		return c, err
	}
	return c, nil
}

// Save writes the settings file atomically.
func Save(c Config) error {
	p, err := Path()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("create settings folder: %w", err)
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("encode settings: %w", err)
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write settings: %w", err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("write settings: %w", err)
	}
	return nil
}

// applyEnv applies EARSHOT_* overrides (used headless: scripts, CI, services).
func (c *Config) applyEnv(get func(string) string) error {
	str := func(name string, dst *string) {
		if v := get(name); v != "" {
			*dst = v
		}
	}
	str("EARSHOT_DRIVER", &c.Driver)
	str("EARSHOT_AMI_HOST", &c.Asterisk.Host)
	str("EARSHOT_AMI_USER", &c.Asterisk.User)
	str("EARSHOT_AMI_CA_FILE", &c.Asterisk.CAFile)
	str("EARSHOT_SUPERVISOR_ENDPOINT", &c.Asterisk.SupervisorEndpoint)
	str("EARSHOT_STEAL_CONTEXT", &c.Asterisk.StealContext)
	str("EARSHOT_STEAL_EXTEN", &c.Asterisk.StealExten)
	str("EARSHOT_TRANSFER_CONTEXT", &c.Asterisk.TransferContext)
	str("EARSHOT_TRANSFER_METHOD", &c.Asterisk.TransferMethod)
	str("EARSHOT_SIP_SERVER", &c.SIP.Server)
	str("EARSHOT_SIP_USER", &c.SIP.User)
	str("EARSHOT_AUDIO_BACKEND", &c.Audio.Backend)
	if v := get("EARSHOT_AMI_PORT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > 65535 {
			return fmt.Errorf("EARSHOT_AMI_PORT=%q is not a port number", v)
		}
		c.Asterisk.Port = n
	}
	if v := get("EARSHOT_AMI_TLS"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("EARSHOT_AMI_TLS=%q is not true or false", v)
		}
		c.Asterisk.TLS = b
	}
	if v := get("EARSHOT_DEMO_CALLS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("EARSHOT_DEMO_CALLS=%q is not a number of calls", v)
		}
		c.Demo.Calls = n
	}
	return nil
}

// AMISecretKey is the keyring key of the AMI secret for these settings.
func (c *Config) AMISecretKey() secret.Key {
	return secret.Key{Kind: "ami", Account: fmt.Sprintf("%s@%s:%d", c.Asterisk.User, c.Asterisk.Host, c.Asterisk.Port)}
}

// SIPPasswordKey is the keyring key of the SIP password for these settings.
func (c *Config) SIPPasswordKey() secret.Key {
	user := c.SIP.AuthUser
	if user == "" {
		user = c.SIP.User
	}
	return secret.Key{Kind: "sip", Account: user + "@" + c.SIP.Server}
}

// AMISecret returns the AMI secret: the in-memory Asterisk.Secret when set, else
// EARSHOT_AMI_SECRET when set (headless use), else the OS keyring.
func (c *Config) AMISecret() (string, error) {
	if c.Asterisk.Secret != "" {
		return c.Asterisk.Secret, nil
	}
	if v := os.Getenv("EARSHOT_AMI_SECRET"); v != "" {
		return v, nil
	}
	return secret.Get(c.AMISecretKey())
}

// SIPPassword returns the SIP password: EARSHOT_SIP_PASSWORD when set (headless use),
// else the OS keyring.
func (c *Config) SIPPassword() (string, error) {
	if v := os.Getenv("EARSHOT_SIP_PASSWORD"); v != "" {
		return v, nil
	}
	return secret.Get(c.SIPPasswordKey())
}
