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
	tu.bg.Wait() // the keyring is asked off the UI goroutine
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
	for col, ch := range f.columns {
		ch.SetChecked(col == monitor.ColID || col == monitor.ColCustomer || col == monitor.ColStatus)
	}
	f.sipExpiry.SetText("120")
	f.sipProxy.SetText("proxy.example.com:5060")
	f.sipHints.SetChecked(true)

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
	if tu.dialog != nil {
		t.Fatal("the settings dialog stayed open after a good save")
	}
	s := saved[0]
	if s.Driver != config.DriverAsterisk || s.Asterisk.Host != "127.0.0.1" || s.SIP.User != sipUser ||
		s.LongWait != config.Duration(90*time.Second) || s.Supervisor != "Lan" || s.Language != "vi" ||
		s.SIP.Expiry != config.Duration(2*time.Minute) || s.SIP.OutboundProxy != "proxy.example.com:5060" || !s.SIP.AutoAnswerHints {
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
	tu.bg.Wait()
	if tu.settings.sipPassword.Text != "" || tu.settings.sipPassword.PlaceHolder != tr("settings.secret_stored") {
		t.Fatalf("SIP password field %q / %q", tu.settings.sipPassword.Text, tu.settings.sipPassword.PlaceHolder)
	}
	tu.tap(tu.dialog.cancel)
}

// Bad input keeps the dialog open with every edit, says what is wrong inside the
// dialog and shows the tab to fix; nothing is saved until it is fixed.
func TestSettingsKeepTheDialogOpenOnBadInput(t *testing.T) {
	var saved []config.Config
	tu := newTestUI(t, 5, func(o *Options) {
		o.SaveConfig = func(c config.Config) error { saved = append(saved, c); return nil }
	})
	for _, tc := range []struct {
		set  func(f *settingsForm)
		fix  func(f *settingsForm)
		want string
		tab  int
	}{
		{func(f *settingsForm) { f.longWait.SetText("soon") }, func(f *settingsForm) { f.longWait.SetText("75") },
			`"soon" is not a number of seconds.`, tabMonitoring},
		{func(f *settingsForm) { f.amiPort.SetText("70000") }, func(f *settingsForm) { f.amiPort.SetText("5038") },
			`"70000" is not a port number (1–65535).`, tabPBX},
		{func(f *settingsForm) { f.supervisor.SetText(" ") }, func(f *settingsForm) { f.supervisor.SetText("Lan") },
			"Give your name: it goes into the audit log.", tabMonitoring},
		{func(f *settingsForm) { f.sipServer.SetText("pbx.example.com"); f.sipUser.SetText("") },
			func(f *settingsForm) { f.sipServer.SetText("") },
			"Give both the SIP server and the extension, or neither.", tabSIP},
		{func(f *settingsForm) { f.sipExpiry.SetText("10") }, func(f *settingsForm) { f.sipExpiry.SetText("") },
			`"10" is not a registration expiry: give 60 to 86400 seconds.`, tabSIP},
		{func(f *settingsForm) {
			for _, ch := range f.columns {
				ch.SetChecked(false)
			}
		}, func(f *settingsForm) { f.columns[monitor.ColID].SetChecked(true) },
			"Choose at least one column to show.", tabMonitoring},
	} {
		saved = nil
		tu.showSettings()
		tu.bg.Wait()
		f := tu.settings
		f.dnd.SetChecked(true) // an edit elsewhere that must survive
		f.tabs.SelectIndex(tabLanguage)
		tc.set(f)
		tu.tap(tu.dialog.confirm)
		if tu.dialog != f.sd || tu.win.Canvas().Overlays().Top() == nil {
			t.Fatalf("%q: the dialog closed on bad input", tc.want)
		}
		if !f.problem.Visible() || f.problem.Text != tc.want {
			t.Errorf("dialog says %q (visible %v), want %q", f.problem.Text, f.problem.Visible(), tc.want)
		}
		if got := f.tabs.SelectedIndex(); got != tc.tab {
			t.Errorf("%q: tab %d shown, want %d", tc.want, got, tc.tab)
		}
		if !f.dnd.Checked {
			t.Errorf("%q: an edit was lost", tc.want)
		}
		if len(saved) != 0 {
			t.Fatalf("bad settings were saved: %+v", saved)
		}
		tc.fix(f)
		tu.tap(tu.dialog.confirm)
		if len(saved) != 1 || tu.dialog != nil {
			t.Fatalf("%q fixed: saved %d times, dialog open %v (%q)", tc.want, len(saved), tu.dialog != nil, f.problem.Text)
		}
		if !saved[0].SIP.DoNotDisturb {
			t.Errorf("%q fixed: the other edit was not saved", tc.want)
		}
	}
}

// The default supervisor name shows in the interface language and is saved as the
// default, not as its translation.
func TestDefaultSupervisorNameIsTranslated(t *testing.T) {
	var saved []config.Config
	tu := newTestUI(t, 5, func(o *Options) {
		o.Config.Supervisor = config.Default().Supervisor
		o.SaveConfig = func(c config.Config) error { saved = append(saved, c); return nil }
	})
	tu.showSettings()
	tu.bg.Wait()
	if got := tu.settings.supervisor.Text; got != tr("supervisor.default") {
		t.Fatalf("name field %q", got)
	}
	tu.tap(tu.dialog.confirm)
	if len(saved) != 1 || saved[0].Supervisor != config.Default().Supervisor {
		t.Fatalf("saved %+v", saved)
	}
}
