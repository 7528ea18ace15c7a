package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func isolate(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("EARSHOT_CONFIG_DIR", dir)
	for _, k := range []string{"EARSHOT_DRIVER", "EARSHOT_AMI_HOST", "EARSHOT_AMI_PORT", "EARSHOT_AMI_USER",
		"EARSHOT_AMI_TLS", "EARSHOT_AMI_SECRET", "EARSHOT_DEMO_CALLS", "EARSHOT_SIP_PASSWORD"} {
		t.Setenv(k, "")
	}
	return dir
}

func TestFirstRunIsTheDemo(t *testing.T) {
	isolate(t)
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.Driver != DriverDemo || c.Asterisk.Port != 5038 || c.Asterisk.HotlineVar != "HOTLINE" || c.Demo.Calls < 1 {
		t.Fatalf("first-run settings: %+v", c)
	}
}

func TestSaveLoadRoundTripWithoutSecrets(t *testing.T) {
	dir := isolate(t)
	c := Default()
	c.Driver = DriverAsterisk
	c.Asterisk.Host, c.Asterisk.User = "pbx.example.vn", "earshot"
	c.Asterisk.Secret = "never-on-disk"
	c.SIP.Server, c.SIP.User = "pbx.example.vn:5060", "2001"
	c.LongWait = Duration(90 * time.Second)
	c.Language = "vi"
	if err := Save(c); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "never-on-disk") {
		t.Fatal("the AMI secret was written to the settings file")
	}
	if !strings.Contains(string(b), `"long_wait": "1m30s"`) {
		t.Fatalf("durations should be written as text:\n%s", b)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Fatalf("settings file mode %v, want 0600", fi.Mode().Perm())
	}
	if _, err := os.Stat(p + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the temporary file of the atomic write was left behind")
	}
	got, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	c.Asterisk.Secret = ""
	if got != c {
		t.Fatalf("round trip\n got %+v\nwant %+v", got, c)
	}
}

func TestDamagedFileIsKeptAsideAndTheDefaultsUsed(t *testing.T) {
	dir := isolate(t)
	p := filepath.Join(dir, "config.json")
	damaged := []byte(`{"driver": "asterisk", "asterisk": {"host": "pbx"`) // cut short
	if err := os.WriteFile(p, damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load()
	if !errors.Is(err, ErrDamaged) {
		t.Fatalf("got %v, want ErrDamaged", err)
	}
	if c != Default() {
		t.Fatalf("want the defaults after a damaged file, got %+v", c)
	}
	matches, _ := filepath.Glob(p + ".damaged-*")
	if len(matches) != 1 {
		t.Fatalf("the damaged file should be kept aside, found %v", matches)
	}
	if b, _ := os.ReadFile(matches[0]); string(b) != string(damaged) {
		t.Fatal("the kept file differs from the damaged one")
	}
	if !strings.Contains(err.Error(), matches[0]) {
		t.Fatalf("the message should say where the file was kept: %v", err)
	}
	if _, err := Load(); err != nil {
		t.Fatalf("the next start should be clean, got %v", err)
	}
}

func TestBadDurationIsDamage(t *testing.T) {
	dir := isolate(t)
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"long_wait": "soon"}`), 0o600)
	if _, err := Load(); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "soon") {
		t.Fatalf("got %v", err)
	}
}

func TestEnvironmentOverrides(t *testing.T) {
	isolate(t)
	t.Setenv("EARSHOT_DRIVER", "asterisk")
	t.Setenv("EARSHOT_AMI_HOST", "10.0.0.5")
	t.Setenv("EARSHOT_AMI_PORT", "5039")
	t.Setenv("EARSHOT_AMI_USER", "sup")
	t.Setenv("EARSHOT_AMI_TLS", "true")
	t.Setenv("EARSHOT_STEAL_CONTEXT", "my-steal")
	t.Setenv("EARSHOT_TRANSFER_METHOD", "redirect")
	t.Setenv("EARSHOT_DEMO_CALLS", "250")
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	a := c.Asterisk
	if c.Driver != DriverAsterisk || a.Host != "10.0.0.5" || a.Port != 5039 || a.User != "sup" || !a.TLS ||
		a.StealContext != "my-steal" || a.TransferMethod != "redirect" || c.Demo.Calls != 250 {
		t.Fatalf("overrides not applied: %+v", c)
	}
	for name, bad := range map[string]string{"EARSHOT_AMI_PORT": "70000", "EARSHOT_AMI_TLS": "perhaps", "EARSHOT_DEMO_CALLS": "many"} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, bad)
			if _, err := Load(); err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("%s=%s: got %v, want an error naming the variable", name, bad, err)
			}
		})
	}
}

func TestSecretsComeFromMemoryThenEnvironment(t *testing.T) {
	isolate(t)
	c := Default()
	c.Asterisk.Secret = "typed"
	t.Setenv("EARSHOT_AMI_SECRET", "from-env")
	if s, err := c.AMISecret(); err != nil || s != "typed" {
		t.Fatalf("AMISecret = %q, %v; the in-memory secret comes first", s, err)
	}
	c.Asterisk.Secret = ""
	if s, err := c.AMISecret(); err != nil || s != "from-env" {
		t.Fatalf("AMISecret = %q, %v", s, err)
	}
	t.Setenv("EARSHOT_SIP_PASSWORD", "sip-env")
	if s, err := c.SIPPassword(); err != nil || s != "sip-env" {
		t.Fatalf("SIPPassword = %q, %v", s, err)
	}
	c.Asterisk.User, c.Asterisk.Host = "earshot", "pbx"
	if k := c.AMISecretKey(); k.Kind != "ami" || k.Account != "earshot@pbx:5038" {
		t.Fatalf("AMISecretKey = %+v", k)
	}
}

func TestSavingKeepsOverridesOutOfTheFile(t *testing.T) {
	isolate(t)
	file := Default()
	file.Asterisk.Host = "pbx.file"
	file.Audio.Backend = ""
	if err := Save(file); err != nil {
		t.Fatal(err)
	}
	t.Setenv("EARSHOT_AUDIO_BACKEND", "null")
	t.Setenv("EARSHOT_AMI_HOST", "pbx.env")
	effective, err := Load()
	if err != nil || effective.Audio.Backend != "null" || effective.Asterisk.Host != "pbx.env" {
		t.Fatalf("effective %+v, %v", effective, err)
	}
	onDisk, err := LoadFile()
	if err != nil || onDisk != file {
		t.Fatalf("LoadFile must ignore the environment: %+v, %v", onDisk, err)
	}
	edited := effective
	edited.Language = "vi"             // changed in the dialog
	edited.Asterisk.Host = "pbx.typed" // an overridden field the user changed anyway
	got := KeepOverridesOutOfFile(edited, effective, onDisk)
	if got.Audio.Backend != "" {
		t.Fatalf("a temporary override would be saved: backend %q", got.Audio.Backend)
	}
	if got.Language != "vi" || got.Asterisk.Host != "pbx.typed" {
		t.Fatalf("the user's edits were lost: %+v", got)
	}
}
