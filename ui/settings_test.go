package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/earshot-app/earshot/config"
	"github.com/earshot-app/earshot/internal/keyringtest"
	"github.com/earshot-app/earshot/monitor"
	"github.com/earshot-app/earshot/secret"
)

// The tests run with a real OS keyring (TestMain moves them into a private GNOME Keyring
// session when needed), so the settings dialog stores passwords in the real Secret Service.
func TestSettingsSaveSecretsToTheKeyringAndTheRestToTheFile(t *testing.T) {
	keyringtest.Require(t)
	var saved []config.Config
	var tested []string
	tu := newTestUI(t, 10, func(o *Options) {
		o.SaveConfig = func(c config.Config) error { saved = append(saved, c); return nil }
		o.TestPBX = func(_ context.Context, c config.Config, secret string) error {
			tested = append(tested, c.Asterisk.Host+" "+secret)
			return fmt.Errorf("login as %s: %w", c.Asterisk.User, monitor.ErrAuth)
		}
	})
	tu.showSettings()
	f := tu.settings
	if f == nil || tu.dialog == nil {
		t.Fatal("settings dialog not shown")
	}
	sipUser := fmt.Sprintf("2001-%d", time.Now().UnixNano())
	f.driver.SetSelected(tr("settings.pbx.asterisk"))
	f.amiHost.SetText("127.0.0.1")
	f.amiUser.SetText("earshot")
	f.amiSecret.SetText("ami-s3cret")
	f.sipServer.SetText("127.0.0.1:5060")
	f.sipUser.SetText(sipUser)
	f.sipPassword.SetText("sip-s3cret")
	f.longWait.SetText("90")
	f.supervisor.SetText("Lan")
	f.language.SetSelected("Tiếng Việt")
	f.columns.SetSelected([]string{"Call ID", "Customer number", "Status"})

	tu.tap(f.pbxTest)
	if len(tested) != 1 || tested[0] != "127.0.0.1 ami-s3cret" {
		t.Fatalf("PBX test called with %q", tested)
	}
	if want := "Test failed: The PBX refused the login. Check the user name and secret."; f.pbxResult.Text != want {
		t.Fatalf("PBX test result %q", f.pbxResult.Text)
	}

	c, _ := f.formConfig()
	t.Cleanup(func() {
		_ = secret.Delete(c.SIPPasswordKey())
		_ = secret.Delete(c.AMISecretKey())
	})
	tu.tap(tu.dialog.confirm)
	if len(saved) != 1 {
		t.Fatalf("settings saved %d times", len(saved))
	}
	s := saved[0]
	if s.Driver != config.DriverAsterisk || s.Asterisk.Host != "127.0.0.1" || s.SIP.User != sipUser ||
		s.LongWait != config.Duration(90*time.Second) || s.Supervisor != "Lan" || s.Language != "vi" {
		t.Fatalf("saved settings %+v", s)
	}
	b, _ := json.Marshal(s)
	if strings.Contains(string(b), "s3cret") {
		t.Fatal("a password went into the settings file")
	}
	if got, err := secret.Get(s.SIPPasswordKey()); err != nil || got != "sip-s3cret" {
		t.Fatalf("SIP password in the keyring: %q, %v", got, err)
	}
	if got, err := secret.Get(s.AMISecretKey()); err != nil || got != "ami-s3cret" {
		t.Fatalf("AMI secret in the keyring: %q, %v", got, err)
	}
	// view settings apply at once
	if cols := tu.grid.cols; len(cols) != 3 || cols[2] != monitor.ColStatus {
		t.Fatalf("visible columns %v", cols)
	}
	if tu.grid.longWait != 90*time.Second || tu.cfg.Supervisor != "Lan" {
		t.Fatal("long wait or supervisor not applied")
	}
	// reopening shows the password as stored, never its value
	tu.showSettings()
	if tu.settings.sipPassword.Text != "" || tu.settings.sipPassword.PlaceHolder != tr("settings.secret_stored") {
		t.Fatalf("SIP password field %q / %q", tu.settings.sipPassword.Text, tu.settings.sipPassword.PlaceHolder)
	}
	tu.tap(tu.dialog.cancel)
}

func TestSettingsRejectBadInput(t *testing.T) {
	var saved int
	tu := newTestUI(t, 5, func(o *Options) {
		o.SaveConfig = func(config.Config) error { saved++; return nil }
	})
	for _, tc := range []struct {
		set  func(f *settingsForm)
		want string
	}{
		{func(f *settingsForm) { f.longWait.SetText("soon") }, `"soon" is not a number of seconds.`},
		{func(f *settingsForm) { f.amiPort.SetText("70000") }, `"70000" is not a port number (1–65535).`},
		{func(f *settingsForm) { f.supervisor.SetText(" ") }, "Give your name: it goes into the audit log."},
		{func(f *settingsForm) { f.sipServer.SetText("pbx.example.com"); f.sipUser.SetText("") }, "Give both the SIP server and the extension, or neither."},
	} {
		tu.showSettings()
		tc.set(tu.settings)
		_, err := tu.settings.formConfig()
		if err == nil || err.Error() != tc.want {
			t.Errorf("got %v, want %q", err, tc.want)
		}
		if err := tu.settings.save(); err == nil {
			t.Error("save accepted bad input")
		}
		tu.tap(tu.dialog.cancel)
	}
	if saved != 0 {
		t.Fatalf("bad settings were saved %d times", saved)
	}
}
