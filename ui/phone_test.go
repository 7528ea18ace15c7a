package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/earshot-app/earshot/config"
	"github.com/earshot-app/earshot/monitor"
	"github.com/earshot-app/earshot/phone"
)

// fakePhone is a test double of Softphone: it records what the window asks of it and
// emits the events a test gives it.
type fakePhone struct {
	mu     sync.Mutex
	reg    Registration
	calls  map[string]PhoneCall
	expect []string
	did    []string
	dtmf   []string
	subs   []chan PhoneEvent
	mic    float64
}

func newFakePhone() *fakePhone {
	return &fakePhone{calls: map[string]PhoneCall{}, reg: Registration{State: RegRegistering, Account: "2001@127.0.0.1"}}
}

func (f *fakePhone) Subscribe() (<-chan PhoneEvent, func()) {
	ch := make(chan PhoneEvent, 64)
	f.mu.Lock()
	f.subs = append(f.subs, ch)
	f.mu.Unlock()
	return ch, func() {}
}
func (f *fakePhone) Registration() Registration { f.mu.Lock(); defer f.mu.Unlock(); return f.reg }
func (f *fakePhone) Calls() []PhoneCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []PhoneCall
	for _, c := range f.calls {
		out = append(out, c)
	}
	return out
}
func (f *fakePhone) ExpectMonitoringCall(label string, auto bool) func() {
	f.mu.Lock()
	f.expect = append(f.expect, label)
	f.mu.Unlock()
	return func() { f.record("withdraw " + label) }
}
func (f *fakePhone) expected() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.expect...)
}
func (f *fakePhone) record(s string) {
	f.mu.Lock()
	f.did = append(f.did, s)
	f.mu.Unlock()
}
func (f *fakePhone) done() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.did...)
}
func (f *fakePhone) Answer(_ context.Context, id string) error { f.record("answer " + id); return nil }
func (f *fakePhone) Decline(id string) error                   { f.record("decline " + id); return nil }
func (f *fakePhone) Hangup(_ context.Context, id string) error { f.record("hangup " + id); return nil }
func (f *fakePhone) SetMuted(id string, on bool) error {
	f.record(fmt.Sprintf("mute %s %v", id, on))
	return nil
}
func (f *fakePhone) SetHeld(_ context.Context, id string, on bool) error {
	f.record(fmt.Sprintf("hold %s %v", id, on))
	return nil
}
func (f *fakePhone) SendDTMF(id, d string) error { f.record("dtmf " + id + " " + d); return nil }
func (f *fakePhone) Dial(_ context.Context, target string) (string, error) {
	f.record("dial " + target)
	return "c9", nil
}
func (f *fakePhone) SetVolume(v float64)        { f.record(fmt.Sprintf("volume %.2f", v)) }
func (f *fakePhone) Levels() (float64, float64) { f.mu.Lock(); defer f.mu.Unlock(); return f.mic, 0.25 }

func (f *fakePhone) waitDone(t *testing.T, want string) {
	t.Helper()
	waitFor(t, func() bool {
		for _, d := range f.done() {
			if d == want {
				return true
			}
		}
		return false
	})
}

func TestRingPanelOnAnIncomingMonitoringCall(t *testing.T) {
	ph := newFakePhone()
	ph.reg = Registration{State: RegRegistered, Account: "2001@127.0.0.1"}
	a := test.NewTempApp(t)
	tu := newTestUIOn(t, a, 10, func(o *Options) { o.Phone = ph })
	if tu.panel.ring.Visible() {
		t.Fatal("ring panel visible with no call")
	}
	c := tu.selectCall(t, 2)
	tu.requestAction(monitor.ActListen)
	tu.action(t)
	label := fmt.Sprintf("Listening: agent %s with %s", c.LastAgent, fmtPhone(c.Customer))
	call := PhoneCall{ID: "c1", Incoming: true, State: CallRinging, Monitoring: true, Label: label,
		RemoteName: "Listen: " + c.LastAgent, Created: time.Now()}
	test.AssertNotificationSent(t, fyne.NewNotification("Monitoring call", label), func() {
		tu.onPhoneEvent(PhoneEvent{Kind: PhoneCallChanged, Call: call})
	})
	if !tu.panel.ring.Visible() || tu.panel.ringLabel.Text != label || tu.panel.ringTitle.Text != "Incoming monitoring call" {
		t.Fatalf("ring panel visible=%v title=%q label=%q", tu.panel.ring.Visible(), tu.panel.ringTitle.Text, tu.panel.ringLabel.Text)
	}
	// laid out below the registration line, not over it
	reg := tu.panel.box.Objects[1]
	if r := tu.panel.ring; r.Position().Y < reg.Position().Y+reg.Size().Height || r.Size().Height < r.MinSize().Height {
		t.Fatalf("ring panel at y=%v (%v high) overlaps the registration line ending at y=%v",
			r.Position().Y, r.Size().Height, reg.Position().Y+reg.Size().Height)
	}
	if tu.tray.state != trayInCall {
		t.Errorf("tray state %v while ringing", tu.tray.state)
	}
	tu.tap(tu.panel.answer)
	tu.waitPhone(t, ph, "answer c1")

	call.State, call.Answered = CallActive, time.Now().Add(-65*time.Second)
	tu.onPhoneEvent(PhoneEvent{Kind: PhoneCallChanged, Call: call})
	if tu.panel.ring.Visible() || !tu.panel.active.Visible() || !tu.panel.modeRow.Visible() {
		t.Fatal("the answered monitoring call does not show its controls")
	}
	if tu.panel.currentMode() != monitor.MonitorListen || tu.panel.modeBtns[monitor.MonitorListen].Importance != widget.HighImportance {
		t.Fatalf("mode %v not shown as listen", tu.panel.currentMode())
	}
	if tu.panel.activeTitle.Text != "Monitoring" || tu.panel.activeLabel.Text != label {
		t.Errorf("call card %q / %q", tu.panel.activeTitle.Text, tu.panel.activeLabel.Text)
	}
	if tu.panel.timer.Text != "1:05" {
		t.Errorf("call timer shows %q", tu.panel.timer.Text)
	}
	// Whisper and barge switch the ChanSpy mode by DTMF 5 and 6.
	tu.tap(tu.panel.modeBtns[monitor.MonitorWhisper])
	tu.waitPhone(t, ph, "dtmf c1 5")
	tu.bg.Wait()
	if tu.panel.currentMode() != monitor.MonitorWhisper ||
		tu.panel.activeLabel.Text != fmt.Sprintf("Whispering to agent %s (customer %s)", c.LastAgent, fmtPhone(c.Customer)) {
		t.Fatalf("mode %v, label %q after whisper", tu.panel.currentMode(), tu.panel.activeLabel.Text)
	}
	tu.tap(tu.panel.modeBtns[monitor.MonitorBarge])
	tu.waitPhone(t, ph, "dtmf c1 6")
	if e := waitAudit(t, tu.audit, 3)[0]; e.Action != "mode_barge" || e.CallID != c.ID {
		t.Fatalf("mode switch audit entry %+v", e)
	}
	tu.tap(tu.panel.mute)
	tu.waitPhone(t, ph, "mute c1 true")
	ph.mu.Lock()
	ph.mic = 0.6
	ph.mu.Unlock()
	if !tu.levelsOn.Load() {
		t.Error("level meters are off during a call")
	}
	tu.tap(tu.panel.hangup)
	tu.waitPhone(t, ph, "hangup c1")
	call.State, call.End, call.EndReason = CallEnded, EndHungUp, "hung up"
	tu.onPhoneEvent(PhoneEvent{Kind: PhoneCallChanged, Call: call})
	if tu.panel.active.Visible() || tu.levelsOn.Load() {
		t.Fatal("the call panel still shows an ended call")
	}
	if want := "Call ended: " + label + " (you hung up)"; tu.message.Text != want {
		t.Errorf("message %q, want %q", tu.message.Text, want)
	}
}

func TestDoNotDisturbDeclinesOrdinaryCalls(t *testing.T) {
	ph := newFakePhone()
	tu := newTestUI(t, 5, func(o *Options) { o.Phone = ph })
	tu.tray.dnd.Action()
	tu.bg.Wait() // the audit entry
	if !tu.cfg.SIP.DoNotDisturb || !tu.tray.dnd.Checked {
		t.Fatal("do not disturb not switched on from the tray")
	}
	tu.onPhoneEvent(PhoneEvent{Kind: PhoneCallChanged, Call: PhoneCall{ID: "c7", Incoming: true, State: CallRinging, RemoteNumber: "0912345678"}})
	tu.waitPhone(t, ph, "decline c7")
	if tu.message.Text != "Declined a call from 0912 345 678 (do not disturb)." {
		t.Errorf("message %q", tu.message.Text)
	}
	// a monitoring call still rings
	tu.onPhoneEvent(PhoneEvent{Kind: PhoneCallChanged, Call: PhoneCall{ID: "c8", Incoming: true, State: CallRinging, Monitoring: true, Label: "Listening: agent 1001 with 0912 345 678"}})
	if !tu.panel.ring.Visible() {
		t.Fatal("do not disturb hid a monitoring call")
	}
}

func TestDialPad(t *testing.T) {
	ph := newFakePhone()
	tu := newTestUI(t, 5, func(o *Options) { o.Phone = ph })
	for _, d := range "0912" {
		tu.panel.digit(string(d))
	}
	if tu.panel.dialEntry.Text != "0912" {
		t.Fatalf("dial entry %q", tu.panel.dialEntry.Text)
	}
	tu.tap(tu.panel.dialBtn)
	tu.waitPhone(t, ph, "dial 0912")
	// during a call the keys send DTMF
	tu.onPhoneEvent(PhoneEvent{Kind: PhoneCallChanged, Call: PhoneCall{ID: "c9", State: CallActive, RemoteNumber: "0912", Answered: time.Now()}})
	tu.panel.digit("#")
	tu.waitPhone(t, ph, "dtmf c9 #")
}

func TestNotificationsOnFeedAndRegistration(t *testing.T) {
	ph := newFakePhone()
	tu := newTestUI(t, 5, func(o *Options) { o.Phone = ph })
	lost := monitor.Feed{State: monitor.FeedLost, Err: monitor.ErrUnreachable}
	test.AssertNotificationSent(t, fyne.NewNotification("PBX feed lost",
		"test: The PBX cannot be reached. Check the address and the network. Earshot keeps trying to reconnect."), func() {
		tu.board.Apply(monitor.Event{Kind: monitor.EventFeed, Feed: lost})
		tu.refreshNow()
	})
	if tu.tray.state != trayProblem {
		t.Errorf("tray state %v with the feed lost", tu.tray.state)
	}
	test.AssertNotificationSent(t, fyne.NewNotification("PBX feed restored",
		"test is connected again; the call list is up to date."), func() {
		tu.board.Apply(monitor.Event{Kind: monitor.EventFeed, Feed: monitor.Feed{State: monitor.FeedConnecting}})
		tu.refreshNow()
		tu.board.Apply(monitor.Event{Kind: monitor.EventFeed, Feed: monitor.Feed{State: monitor.FeedConnected}})
		tu.refreshNow()
	})
	// The softphone's own words (English, with the SIP status) go to the log; the
	// window says the failure's class in the interface language.
	failed := Registration{State: RegFailed, Account: "2001@127.0.0.1", Failure: RegFailCredentials,
		Reason: "wrong user name or password: the PBX 127.0.0.1 refused them (401 Unauthorized)"}
	sentence := "The PBX refused the extension or password. Check them in Settings."
	test.AssertNotificationSent(t, fyne.NewNotification("Softphone registration failed", "2001@127.0.0.1: "+sentence), func() {
		tu.onPhoneEvent(PhoneEvent{Kind: PhoneRegistration, Registration: failed})
	})
	if tu.tray.state != trayProblem || tu.panel.regText.Text != "2001@127.0.0.1: registration failed. "+sentence {
		t.Errorf("tray %v, panel %q", tu.tray.state, tu.panel.regText.Text)
	}
	if strings.Contains(tu.panel.regText.Text, "401") {
		t.Fatalf("raw SIP status shown: %q", tu.panel.regText.Text)
	}
}

func TestTrayIsOKOnlyWhenRegistered(t *testing.T) {
	ph := newFakePhone() // registering
	tu := newTestUI(t, 5, func(o *Options) { o.Phone = ph })
	if tu.tray.state != trayIdle {
		t.Fatalf("tray %v while the softphone is still registering, want idle", tu.tray.state)
	}
	tu.onPhoneEvent(PhoneEvent{Kind: PhoneRegistration, Registration: Registration{State: RegRegistered, Account: "2001@127.0.0.1"}})
	if tu.tray.state != trayOK {
		t.Fatalf("tray %v with the feed connected and the softphone registered, want OK", tu.tray.state)
	}
	tu.board.Apply(monitor.Event{Kind: monitor.EventFeed, Feed: monitor.Feed{State: monitor.FeedConnecting}})
	tu.refreshNow()
	if tu.tray.state != trayIdle {
		t.Fatalf("tray %v while the feed connects, want idle", tu.tray.state)
	}
}

func TestLongWaitNotificationPerCall(t *testing.T) {
	clk := &clock{now: t0}
	b := monitor.NewBoard(monitor.Options{Now: clk.Now})
	b.Apply(monitor.Event{Kind: monitor.EventFeed, Feed: monitor.Feed{State: monitor.FeedConnected}})
	a := test.NewTempApp(t)
	u := New(Options{App: a, Driver: newRecDriver(), Board: b, Config: config.Default()}) // long wait: 60 s
	join := func(i int, q string) {
		id := callID(i)
		b.ApplyAll([]monitor.Event{
			{Kind: monitor.EventCallStarted, CallID: id, At: clk.Now(), Direction: monitor.Inbound, Customer: fmt.Sprintf("09123456%02d", i)},
			{Kind: monitor.EventQueueJoined, CallID: id, At: clk.Now(), Queue: q},
		})
	}
	join(1, "Sales")
	clk.Add(30 * time.Second)
	join(2, "Sales") // joins the same queue, 30 s later
	clk.Add(31 * time.Second)
	u.refreshNow()
	// call 1 crossed the minute: one notification for it, saying who waits where
	if len(u.notify.sent) != 1 || u.notify.sent[0].Title != "Long wait in a queue" ||
		u.notify.sent[0].Content != "Customer 0912 345 601 has waited 1:01 in Sales." {
		t.Fatalf("notifications %v", u.notify.sent)
	}
	clk.Add(time.Second)
	u.refreshNow()
	if len(u.notify.sent) != 1 {
		t.Fatal("the long-wait notification repeats every tick")
	}
	// call 2 crosses in the same queue, whose longest wait was already over: its own
	// notification, once the rate limit lets it through
	clk.Add(30 * time.Second)
	u.refreshNow()
	if len(u.notify.sent) != 2 || !strings.Contains(u.notify.sent[1].Content, "0912 345 602") {
		t.Fatalf("second caller over the threshold: notifications %v", u.notify.sent)
	}
	// many crossing at once: one summary
	for i := 10; i < 16; i++ {
		join(i, []string{"Billing", "Support"}[i%2])
	}
	clk.Add(61 * time.Second)
	u.refreshNow()
	last := u.notify.sent[len(u.notify.sent)-1]
	if len(u.notify.sent) != 3 || last.Title != "Customers waiting long" ||
		last.Content != "6 customers have waited more than 1:00 (longest 1:01): Billing 3, Support 3." {
		t.Fatalf("notifications %v", u.notify.sent)
	}
}

func TestFailedMonitoringActionWithdrawsTheExpectation(t *testing.T) {
	ph := newFakePhone()
	ph.reg = Registration{State: RegRegistered, Account: "2001@127.0.0.1"}
	tu := newTestUI(t, 10, func(o *Options) { o.Phone = ph })
	tu.drv.mu.Lock()
	tu.drv.err = monitor.ErrCallGone
	tu.drv.mu.Unlock()
	c := tu.selectCall(t, 2)
	tu.requestAction(monitor.ActListen)
	tu.action(t)
	label := fmt.Sprintf("Listening: agent %s with %s", c.LastAgent, fmtPhone(c.Customer))
	tu.waitPhone(t, ph, "withdraw "+label)
}

// The call card follows the board: a mode switched at the PBX (a DTMF key typed on the
// dial pad) shows in the mode buttons and the label; a stolen call is a call with the
// customer, without mode buttons.
func TestCallCardFollowsTheBoard(t *testing.T) {
	ph := newFakePhone()
	ph.reg = Registration{State: RegRegistered, Account: "2001@127.0.0.1"}
	tu := newTestUI(t, 10, func(o *Options) { o.Phone = ph })
	c := tu.selectCall(t, 2)
	tu.requestAction(monitor.ActListen)
	tu.action(t)
	label := fmt.Sprintf("Listening: agent %s with %s", c.LastAgent, fmtPhone(c.Customer))
	call := PhoneCall{ID: "c1", Incoming: true, State: CallActive, Monitoring: true, Label: label,
		Created: time.Now(), Answered: time.Now()}
	tu.onPhoneEvent(PhoneEvent{Kind: PhoneCallChanged, Call: call})
	tu.board.Apply(monitor.Event{Kind: monitor.EventMonitorStarted, CallID: c.ID, Mode: monitor.MonitorListen, Supervisor: "Mai"})
	tu.refreshNow()
	if tu.panel.activeLabel.Text != label || tu.panel.modeBtns[monitor.MonitorListen].Importance != widget.HighImportance {
		t.Fatalf("card %q", tu.panel.activeLabel.Text)
	}
	// the PBX switched to whisper (DTMF 5 from the dial pad): no button was pressed
	tu.board.Apply(monitor.Event{Kind: monitor.EventMonitorStarted, CallID: c.ID, Mode: monitor.MonitorWhisper, Supervisor: "Mai"})
	tu.refreshNow()
	if want := fmt.Sprintf("Whispering to agent %s (customer %s)", c.LastAgent, fmtPhone(c.Customer)); tu.panel.activeLabel.Text != want ||
		tu.panel.modeBtns[monitor.MonitorWhisper].Importance != widget.HighImportance ||
		tu.panel.modeBtns[monitor.MonitorListen].Importance == widget.HighImportance {
		t.Fatalf("after the board switched to whisper the card says %q", tu.panel.activeLabel.Text)
	}
	call.State, call.End = CallEnded, EndRemoteHungUp
	tu.onPhoneEvent(PhoneEvent{Kind: PhoneCallChanged, Call: call})

	// steal
	c3 := tu.selectCall(t, 3)
	tu.requestAction(monitor.ActSteal)
	tu.tap(tu.dialog.confirm)
	tu.action(t)
	steal := PhoneCall{ID: "c2", Incoming: true, State: CallActive, Monitoring: true,
		Label: fmt.Sprintf("Stealing %s from agent %s", fmtPhone(c3.Customer), c3.LastAgent), Created: time.Now(), Answered: time.Now()}
	tu.onPhoneEvent(PhoneEvent{Kind: PhoneCallChanged, Call: steal})
	tu.board.Apply(monitor.Event{Kind: monitor.EventStolen, CallID: c3.ID, Supervisor: "Mai"})
	tu.refreshNow()
	if tu.panel.modeRow.Visible() {
		t.Error("a stolen call shows the listen/whisper/barge buttons")
	}
	if tu.panel.activeTitle.Text != "Call taken over" ||
		tu.panel.activeLabel.Text != fmt.Sprintf("Talking with %s (taken over from agent %s)", fmtPhone(c3.Customer), c3.LastAgent) {
		t.Errorf("stolen call card %q / %q", tu.panel.activeTitle.Text, tu.panel.activeLabel.Text)
	}
	// dial pad keys on a stolen call are plain DTMF to the customer
	tu.panel.digit("5")
	tu.waitPhone(t, ph, "dtmf c2 5")
	if e := tu.audit.Recent(1)[0]; strings.HasPrefix(e.Action, "mode_") {
		t.Errorf("a key on a stolen call was taken as a mode switch: %+v", e)
	}
}

// Errors of the softphone's controls are sentences in the interface language.
func TestSoftphoneErrorsAreSentences(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("call c1: %w", errNoCall), "Softphone: That call is no longer on your phone."},
		{&dialError{end: EndBusy, err: fmt.Errorf("dial 0912: busy: 486 Busy Here")}, "Softphone: The call did not go through: busy."},
		{fmt.Errorf("%w: dial: \"<x>\" is not a number or SIP address", errNotPlaced), "Softphone: Earshot could not call that. Check the number or address."},
		{fmt.Errorf("read udp 127.0.0.1:5060: connection refused"), "Softphone: Something went wrong. The details are in Earshot's log."},
	} {
		if got := trf("phone.error", "Detail", phoneErrorText(tc.err)); got != tc.want {
			t.Errorf("%v shows %q, want %q", tc.err, got, tc.want)
		}
	}
	// the SIP test: a refused registration, without the SIP status
	re := &RegistrationError{Failure: RegFailCredentials, Reason: "wrong user name or password: the PBX 127.0.0.1 refused them (401 Unauthorized)"}
	if got := sipTestText(re, false); got != "The PBX refused the extension or password. Check them in Settings." {
		t.Errorf("SIP test shows %q", got)
	}
	if got := sipTestText(errors.New("no answer from pbx"), true); got != "The PBX cannot be reached. Check the server address and the network." {
		t.Errorf("SIP test timeout shows %q", got)
	}
}

// The dial pad reports a failed call with the cause, not the softphone's words.
func TestDialFailureIsASentence(t *testing.T) {
	ph := &failingDialPhone{fakePhone: newFakePhone()}
	tu := newTestUI(t, 5, func(o *Options) { o.Phone = ph })
	tu.panel.dialEntry.SetText("0912345678")
	tu.tap(tu.panel.dialBtn)
	if want := "Softphone: The call did not go through: unknown number."; tu.message.Text != want {
		t.Fatalf("message %q, want %q", tu.message.Text, want)
	}
}

// failingDialPhone is a softphone whose calls fail as the PBX answers 404.
type failingDialPhone struct{ *fakePhone }

func (f *failingDialPhone) Dial(context.Context, string) (string, error) {
	return "c5", &dialError{end: EndUnknownNumber, err: errors.New("dial 0912345678: unknown number: 404 Not Found")}
}

// The softphone's end reasons map to the fixed, translated set.
func TestCallEndCauses(t *testing.T) {
	for _, tc := range []struct {
		ci   phone.CallInfo
		want CallEnd
	}{
		{phone.CallInfo{EndReason: "hung up"}, EndHungUp},
		{phone.CallInfo{EndReason: "the other party hung up"}, EndRemoteHungUp},
		{phone.CallInfo{Direction: phone.Incoming, EndReason: "cancelled by the caller", EndCode: 487}, EndCallerCancelled},
		{phone.CallInfo{Direction: phone.Incoming, EndReason: "not answered", EndCode: 480}, EndNotAnswered},
		{phone.CallInfo{Direction: phone.Incoming, EndReason: "declined", EndCode: 603}, EndDeclined},
		{phone.CallInfo{Direction: phone.Incoming, EndReason: "declined as busy", EndCode: 486}, EndDeclined},
		{phone.CallInfo{Direction: phone.Outgoing, EndReason: "busy", EndCode: 486}, EndBusy},
		{phone.CallInfo{Direction: phone.Outgoing, EndReason: "unknown number", EndCode: 404}, EndUnknownNumber},
		{phone.CallInfo{Direction: phone.Outgoing, EndReason: "refused by the PBX (credentials)", EndCode: 403}, EndRefused},
		{phone.CallInfo{Direction: phone.Outgoing, EndReason: "no common codec with the far end", EndCode: 488}, EndNoCodec},
		{phone.CallInfo{Direction: phone.Outgoing, EndReason: "cancelled"}, EndCancelled},
		{phone.CallInfo{Direction: phone.Outgoing, EndReason: "failed: 500 Server Internal Error", EndCode: 500}, EndConnectionFailed},
		{phone.CallInfo{EndReason: "the phone stopped"}, EndPhoneStopped},
		{phone.CallInfo{}, EndUnknown},
	} {
		if got := endOf(tc.ci); got != tc.want {
			t.Errorf("%q (%d): %v, want %v", tc.ci.EndReason, tc.ci.EndCode, got, tc.want)
		}
		if tc.want != EndUnknown && endText(tc.want) == "" {
			t.Errorf("%v has no text", tc.want)
		}
	}
}
