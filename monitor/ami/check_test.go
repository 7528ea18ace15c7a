package ami

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/earshot-app/earshot/monitor"
	"github.com/earshot-app/earshot/monitor/ami/amitest"
)

func synthError(msg string) [][]byte { return [][]byte{amitest.ErrorReply("synth", msg)} }

// checkScript is the resync recording's PBX (calls A and B up) answering every action
// of a check from replies (no resync step: its lists are replies too).
func checkScript(t *testing.T, reply func(amitest.Msg) [][]byte) *amitest.Script {
	c := loadCanned(t)
	sc := joinScript(t)
	sc.Steps = sc.Steps[:3] // banner, login, its reply
	sc.Replies["QueueStatus"] = c.ResyncQueues
	sc.Replies["CoreShowChannels"] = c.ResyncChannels
	sc.Reply = reply
	return sc
}

func runCheck(t *testing.T, sc *amitest.Script, cfg func(*Config)) (CheckReport, *Driver, error) {
	srv := newServer(t, 0)
	srv.Play(sc)
	c := testConfig(srv.Port())
	if cfg != nil {
		cfg(&c)
	}
	drv, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	r, err := drv.Check(context.Background())
	if scErr := <-sc.Done; scErr != nil {
		t.Fatal(scErr)
	}
	return r, drv, err
}

func expectItems(t *testing.T, r CheckReport, want map[string]CheckStatus, words map[string]string) {
	t.Helper()
	got := map[string]CheckItem{}
	for _, it := range r.Items {
		got[it.Name] = it
	}
	for name, st := range want {
		it, ok := got[name]
		if !ok {
			t.Errorf("no %q in the report:\n%s", name, r)
			continue
		}
		if it.Status != st {
			t.Errorf("%s: %s (%s), want %s", name, it.Status, it.Detail, st)
		}
		if w := words[name]; w != "" && !strings.Contains(it.Detail, w) {
			t.Errorf("%s: %q does not say %q", name, it.Detail, w)
		}
	}
	if len(r.Items) != len(want) {
		t.Errorf("%d items, want %d:\n%s", len(r.Items), len(want), r)
	}
}

// TestCheckLabPBX: the lab Asterisk (set up as docs/asterisk.md says, account write=all):
// every item passes. The endpoints list is basics' recorded reply, the contacts list
// supervisor-register's (2001 registered from sipp), the channels the resync's (their
// ChanVariable headers carry HOTLINE, CAMPAIGN and DIRECTION), and the probes get the
// recorded "Originate failed" and "No such channel" (allowed, nothing done).
func TestCheckLabPBX(t *testing.T) {
	c := loadCanned(t)
	contacts := loadRecording(t, "supervisor-register").ReplyTo("supervisor-register-02")
	sc := checkScript(t, func(m amitest.Msg) [][]byte {
		switch m.Get("Action") {
		case "Command":
			return synthError("Permission denied")
		case "PJSIPShowEndpoints":
			return c.Endpoints
		case "PJSIPShowContacts":
			return contacts
		case "ShowDialPlan":
			if m.Get("Context") == "earshot-steal" && m.Get("Extension") == "2001" {
				return amitest.DialplanReply("earshot-steal", "_2XXX")
			}
			return amitest.DialplanReply("earshot-transfer", "_1XXX")
		case "Originate":
			return c.OriginateFailed
		case "Redirect":
			return synthError("Channel not specified")
		case "BlindTransfer":
			return synthError("No channel specified")
		case "Hangup":
			return c.NoSuchChannel
		}
		return nil
	})
	r, drv, err := runCheck(t, sc, nil)
	if err != nil {
		t.Fatal(err)
	}
	expectItems(t, r, map[string]CheckStatus{
		"login": CheckOK, "queues": CheckOK, "channel variables": CheckOK, "supervisor endpoint": CheckOK,
		"steal context": CheckOK, "transfer context": CheckOK, "permission: Originate": CheckOK,
		"permission: Redirect": CheckOK, "permission: Hangup": CheckOK, "permission: BlindTransfer": CheckOK,
	}, map[string]string{
		"login":               "MD5 challenge",
		"channel variables":   "HOTLINE, CAMPAIGN, DIRECTION",
		"supervisor endpoint": "registered from sip:2001@127.0.0.1:6299 (earshot-lab-softphone-sim)",
		"steal context":       "2001@earshot-steal",
	})
	if !r.OK() || drv.Permissions() != monitor.AllPermissions {
		t.Errorf("report OK %v, permissions %+v", r.OK(), drv.Permissions())
	}
	// the probes cannot do anything: no channel, or one that does not exist
	for _, m := range sc.Received() {
		switch m.Get("Action") {
		case "Originate", "Redirect", "BlindTransfer":
			if m.Has("Channel") {
				t.Errorf("probe with a channel:\n%s", m)
			}
		case "Hangup":
			if !strings.Contains(m.Get("Channel"), "earshot-permission-check") {
				t.Errorf("hangup probe:\n%s", m)
			}
		}
	}
}

// TestCheckGaps: an account with fewer rights and a PBX missing parts. Command and
// PJSIPShowEndpoints are refused (the device state list says PJSIP/2001 is NOT_INUSE:
// reachable), the PBX is idle (no channel to read variables from), the steal context is
// missing, the dialplan may not be read for the transfer context, Redirect is refused
// and BlindTransfer unknown. Each shows as failed or unknown with what to change; the
// refused steal shows in Permissions.
func TestCheckGaps(t *testing.T) {
	c := loadCanned(t)
	sc := checkScript(t, func(m amitest.Msg) [][]byte {
		switch m.Get("Action") {
		case "Command", "PJSIPShowEndpoints", "Redirect":
			return synthError("Permission denied")
		case "DeviceStateList":
			return amitest.DeviceStateReply("PJSIP/2001", "NOT_INUSE")
		case "ShowDialPlan":
			if m.Get("Context") == "earshot-steal" {
				return synthError("Did not find context earshot-steal")
			}
			return synthError("Permission denied")
		case "Originate":
			return c.OriginateFailed
		case "Hangup":
			return c.NoSuchChannel
		case "BlindTransfer":
			return c.UnknownAction
		}
		return nil
	})
	sc.Replies["CoreShowChannels"] = c.NoChannels
	r, drv, err := runCheck(t, sc, nil)
	if err != nil {
		t.Fatal(err)
	}
	expectItems(t, r, map[string]CheckStatus{
		"login": CheckOK, "queues": CheckOK, "channel variables": CheckUnknown, "supervisor endpoint": CheckOK,
		"steal context": CheckFailed, "transfer context": CheckUnknown, "permission: Originate": CheckOK,
		"permission: Redirect": CheckFailed, "permission: Hangup": CheckOK, "permission: BlindTransfer": CheckFailed,
	}, map[string]string{
		"channel variables":    "place a test call",
		"supervisor endpoint":  "NOT_INUSE",
		"steal context":        "no context earshot-steal",
		"permission: Redirect": `add "call" to its write classes`,
	})
	if r.OK() || len(r.Failed()) != 3 {
		t.Errorf("failed items %+v", r.Failed())
	}
	if p := drv.Permissions(); p.Steal || !p.Monitor || !p.Hangup {
		t.Errorf("permissions after the check %+v", p)
	}
}

// TestCheckChannelVarsMissing: "manager show settings" (allowed here) lists
// channelvars without DIRECTION; and, where the account may not run it, the channels'
// ChanVariable headers lack a variable the settings name (CALLDIR).
func TestCheckChannelVarsMissing(t *testing.T) {
	c := loadCanned(t)
	other := func(m amitest.Msg) [][]byte {
		switch m.Get("Action") {
		case "PJSIPShowEndpoints", "PJSIPShowContacts", "DeviceStateList", "ShowDialPlan", "Redirect", "BlindTransfer", "Originate":
			return synthError("Permission denied")
		case "Hangup":
			return c.NoSuchChannel
		}
		return nil
	}
	sc := checkScript(t, func(m amitest.Msg) [][]byte {
		if m.Get("Action") == "Command" && m.Get("Command") == "manager show settings" {
			return amitest.ManagerSettingsReply("HOTLINE,CAMPAIGN")
		}
		return other(m)
	})
	r, _, err := runCheck(t, sc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if it := r.Items[2]; it.Name != "channel variables" || it.Status != CheckFailed || !strings.Contains(it.Detail, "lacks DIRECTION") {
		t.Errorf("channel variables from manager show settings: %+v", it)
	}

	sc = checkScript(t, func(m amitest.Msg) [][]byte {
		if m.Get("Action") == "Command" {
			return synthError("Permission denied")
		}
		return other(m)
	})
	r, _, err = runCheck(t, sc, func(c *Config) { c.DirectionVar = "CALLDIR" })
	if err != nil {
		t.Fatal(err)
	}
	if it := r.Items[2]; it.Name != "channel variables" || it.Status != CheckFailed || !strings.Contains(it.Detail, "carry no CALLDIR") {
		t.Errorf("channel variables from the channels: %+v", it)
	}
}

// TestCheckLoginRefused: the recorded refusal ends the check with ErrAuth, and the
// report says so.
func TestCheckLoginRefused(t *testing.T) {
	sc := buildScript(t, loadRecording(t, "login-failed"), nil)
	sc.CloseAfter, sc.LoginMayFail = true, true
	r, _, err := runCheck(t, sc, func(c *Config) { c.Secret = "wrong-secret" })
	if !errors.Is(err, monitor.ErrAuth) {
		t.Fatalf("Check with a wrong secret: %v", err)
	}
	if len(r.Items) != 1 || r.Items[0].Name != "login" || r.Items[0].Status != CheckFailed || !strings.Contains(r.Items[0].Detail, "refused the login") {
		t.Errorf("report:\n%s", r)
	}
}
