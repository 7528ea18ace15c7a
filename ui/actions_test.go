package ui

import (
	"fmt"

	"fyne.io/fyne/v2"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/earshot-app/earshot/monitor"
)

// selectCall selects the call with the given index in the test board.
func (tu *testUI) selectCall(t *testing.T, i int) monitor.Call {
	t.Helper()
	if !tu.grid.selectID(callID(i)) {
		t.Fatalf("call %d is not in the grid", i)
	}
	c, _ := tu.grid.selectedCall()
	return c
}

func (tu *testUI) enabled() map[monitor.ActionKind]bool {
	m := map[monitor.ActionKind]bool{}
	for k, b := range tu.actions.buttons {
		m[k] = !b.Disabled()
	}
	return m
}

func TestActionsEnableForTheSelectedCall(t *testing.T) {
	tu := newTestUI(t, 20)
	all := func(on bool) map[monitor.ActionKind]bool {
		m := map[monitor.ActionKind]bool{}
		for _, k := range monitor.ActionKinds {
			m[k] = on
		}
		return m
	}
	eq := func(t *testing.T, got, want map[monitor.ActionKind]bool) {
		t.Helper()
		for _, k := range monitor.ActionKinds {
			if got[k] != want[k] {
				t.Errorf("%s enabled = %v, want %v", k, got[k], want[k])
			}
		}
	}
	t.Run("nothing selected", func(t *testing.T) {
		eq(t, tu.enabled(), all(false))
		if tu.actions.reason.Text != "Select a call in the list." {
			t.Errorf("reason line = %q", tu.actions.reason.Text)
		}
	})
	t.Run("waiting in a queue", func(t *testing.T) {
		tu.selectCall(t, 0)
		want := all(false)
		want[monitor.ActHangup] = true
		eq(t, tu.enabled(), want)
		if tip := tu.actions.buttons[monitor.ActTransfer].Tip(); !strings.Contains(tip, "Only a call that is answered can be transferred.") {
			t.Errorf("transfer tooltip = %q", tip)
		}
		if tip := tu.actions.buttons[monitor.ActListen].Tip(); !strings.Contains(tip, "Only for a call an agent is talking on.") || !strings.Contains(tip, "Ctrl+L") {
			t.Errorf("listen tooltip = %q", tip)
		}
	})
	t.Run("answered", func(t *testing.T) {
		tu.selectCall(t, 2)
		eq(t, tu.enabled(), all(true))
		if tip := tu.actions.buttons[monitor.ActSteal].Tip(); !strings.Contains(tip, "Ctrl+Shift+S") {
			t.Errorf("steal tooltip = %q", tip)
		}
	})
	t.Run("outbound ringing the customer", func(t *testing.T) {
		tu.selectCall(t, 4)
		want := all(false)
		want[monitor.ActHangup] = true
		eq(t, tu.enabled(), want)
	})
	t.Run("permissions", func(t *testing.T) {
		tu.drv.mu.Lock()
		tu.drv.perms = monitor.Permissions{Monitor: true}
		tu.drv.mu.Unlock()
		tu.selectCall(t, 2)
		want := all(false)
		want[monitor.ActListen], want[monitor.ActWhisper], want[monitor.ActBarge] = true, true, true
		eq(t, tu.enabled(), want)
		if tip := tu.actions.buttons[monitor.ActHangup].Tip(); !strings.Contains(tip, "Your PBX account may not do this.") {
			t.Errorf("hang-up tooltip = %q", tip)
		}
		tu.drv.mu.Lock()
		tu.drv.perms = monitor.AllPermissions
		tu.drv.mu.Unlock()
	})
	t.Run("already monitoring it", func(t *testing.T) {
		tu.board.Apply(monitor.Event{Kind: monitor.EventMonitorStarted, CallID: callID(2), Mode: monitor.MonitorListen, Supervisor: "Mai"})
		tu.refreshNow()
		want := all(true)
		want[monitor.ActListen], want[monitor.ActWhisper], want[monitor.ActBarge] = false, false, false
		eq(t, tu.enabled(), want)
		cell := tu.cellIn(t, tu.rowOf(callID(2)), monitor.ColLastAgent)
		if !cell.mark.Visible() || cell.icon.Resource != actionIcon(monitor.ActListen) || cell.markTip != "Listen · Mai" {
			t.Errorf("the agent column does not show the monitoring: marker %v %q", cell.mark.Visible(), cell.markTip)
		}
	})
	t.Run("stolen", func(t *testing.T) {
		tu.board.Apply(monitor.Event{Kind: monitor.EventStolen, CallID: callID(3), Supervisor: "Mai"})
		tu.selectCall(t, 3)
		tu.refreshNow()
		want := all(false)
		want[monitor.ActTransfer], want[monitor.ActHangup] = true, true
		eq(t, tu.enabled(), want)
	})
}

func TestMonitoringActionsNeedARegisteredSoftphone(t *testing.T) {
	ph := newFakePhone()
	tu := newTestUI(t, 10, func(o *Options) { o.Phone = ph })
	tu.selectCall(t, 2)
	if tu.enabled()[monitor.ActListen] {
		t.Fatal("listen is enabled while the softphone is not registered")
	}
	if !tu.enabled()[monitor.ActHangup] || !tu.enabled()[monitor.ActTransfer] {
		t.Fatal("hang up and transfer need no softphone")
	}
	tu.onPhoneEvent(PhoneEvent{Kind: PhoneRegistration, Registration: Registration{State: RegRegistered, Account: "2001@127.0.0.1"}})
	if !tu.enabled()[monitor.ActListen] || !tu.enabled()[monitor.ActSteal] {
		t.Fatal("monitoring actions stay disabled after registration")
	}
}

func TestListenGoesToThePBXAndTheAuditLog(t *testing.T) {
	ph := newFakePhone()
	ph.reg = Registration{State: RegRegistered, Account: "2001@127.0.0.1"}
	tu := newTestUI(t, 10, func(o *Options) { o.Phone = ph })
	c := tu.selectCall(t, 2)
	tu.tap(tu.actions.buttons[monitor.ActListen])
	a := tu.action(t)
	if a.Kind != monitor.ActListen || a.CallID != c.ID {
		t.Fatalf("driver got %+v", a)
	}
	label := fmt.Sprintf("Listening: agent %s with %s", c.LastAgent, fmtPhone(c.Customer))
	if got := ph.expected(); len(got) != 1 || got[0] != label {
		t.Fatalf("softphone expects %q, want %q", got, label)
	}
	e := waitAudit(t, tu.audit, 1)[0]
	if e.Action != "listen" || e.CallID != c.ID || e.Agent != c.LastAgent || e.Customer != c.Customer || e.Result != "ok" || e.Supervisor != "Mai" {
		t.Fatalf("audit entry %+v", e)
	}
}

func TestStealAsksForConfirmation(t *testing.T) {
	tu := newTestUI(t, 10)
	c := tu.selectCall(t, 2)
	tu.requestAction(monitor.ActSteal)
	d := tu.dialog
	if d == nil {
		t.Fatal("steal did not ask for confirmation")
	}
	tu.tap(d.cancel)
	if tu.dialog != nil {
		t.Fatal("the dialog stayed open after cancel")
	}
	if len(tu.drv.actions()) != 0 {
		t.Fatalf("cancel still sent %v", tu.drv.actions())
	}
	if e := waitAudit(t, tu.audit, 1)[0]; e.Action != "steal" || e.Result != "cancelled" || e.CallID != c.ID {
		t.Fatalf("audit entry after cancel: %+v", e)
	}
	tu.requestAction(monitor.ActSteal)
	tu.tap(tu.dialog.confirm)
	if a := tu.action(t); a.Kind != monitor.ActSteal || a.CallID != c.ID {
		t.Fatalf("driver got %+v", a)
	}
	if e := waitAudit(t, tu.audit, 2)[0]; e.Action != "steal" || e.Result != "ok" {
		t.Fatalf("audit entry after confirm: %+v", e)
	}
}

func TestHangupAsksForConfirmationThroughTheMenu(t *testing.T) {
	tu := newTestUI(t, 10)
	c := tu.selectCall(t, 0)
	m := tu.actionMenu(c)
	var hang, listen bool
	for _, it := range m.Items {
		switch it.Label {
		case "Hang up":
			hang = !it.Disabled
			if it.Shortcut == nil {
				t.Error("the hang-up menu item shows no shortcut")
			}
			it.Action()
		case "Listen":
			listen = !it.Disabled
		}
	}
	if !hang || listen {
		t.Fatalf("menu of a waiting call: hang up enabled %v, listen enabled %v", hang, listen)
	}
	if tu.dialog == nil {
		t.Fatal("hang up did not ask for confirmation")
	}
	if txt := tu.dialog.confirm.Text; txt != "Hang up" {
		t.Errorf("confirm button says %q", txt)
	}
	tu.tap(tu.dialog.confirm)
	if a := tu.action(t); a.Kind != monitor.ActHangup || a.CallID != c.ID {
		t.Fatalf("driver got %+v", a)
	}
}

func TestShortcutsRunTheActions(t *testing.T) {
	tu := newTestUI(t, 10)
	c := tu.selectCall(t, 2)
	sh := tu.win.Canvas().(fyne.Shortcutable)
	sh.TypedShortcut(actionShortcuts[monitor.ActHangup])
	if tu.dialog == nil || tu.dialog.confirm.Text != "Hang up" {
		t.Fatal("Ctrl+Shift+H did not ask to confirm the hang-up")
	}
	tu.tap(tu.dialog.cancel)
	sh.TypedShortcut(actionShortcuts[monitor.ActWhisper])
	if a := tu.action(t); a.Kind != monitor.ActWhisper || a.CallID != c.ID {
		t.Fatalf("Ctrl+I sent %+v", a)
	}
}

func TestTransferPicksAnAvailableAgent(t *testing.T) {
	tu := newTestUI(t, 10)
	c := tu.selectCall(t, 2)
	tu.requestAction(monitor.ActTransfer)
	p := tu.picker
	if p == nil || tu.dialog == nil {
		t.Fatal("transfer did not open the agent picker")
	}
	tu.bg.Wait()
	if !tu.dialog.confirm.Disabled() {
		t.Fatal("transfer can be confirmed before an agent is chosen")
	}
	// The busy agent 1001 (the call's own agent, if it is) is not offered; available first.
	if p.shown[0].State != monitor.AgentAvailable {
		t.Errorf("first agent offered is %s (%s)", p.shown[0].ID, p.shown[0].State)
	}
	if !strings.Contains(p.status.Text, "2 of") {
		t.Errorf("picker status = %q", p.status.Text)
	}
	test.Type(p.search, "billing")
	if len(p.shown) != 2 {
		t.Fatalf("search 'billing' shows %d agents", len(p.shown))
	}
	// the unavailable agent cannot be chosen
	for i, a := range p.shown {
		if a.State == monitor.AgentUnavailable {
			p.list.Select(i)
			if !tu.dialog.confirm.Disabled() || p.selected != "" {
				t.Fatal("an unavailable agent can be chosen")
			}
		}
	}
	p.search.SetText("Phạm")
	if len(p.shown) != 1 || p.shown[0].ID != "1004" {
		t.Fatalf("search by name shows %v", p.shown)
	}
	p.list.Select(0)
	if tu.dialog.confirm.Disabled() || tu.dialog.confirm.Text != "Transfer to 1004" {
		t.Fatalf("confirm button %q disabled=%v", tu.dialog.confirm.Text, tu.dialog.confirm.Disabled())
	}
	tu.tap(tu.dialog.confirm)
	a := tu.action(t)
	if a.Kind != monitor.ActTransfer || a.CallID != c.ID || a.Agent != "1004" {
		t.Fatalf("driver got %+v", a)
	}
	if e := waitAudit(t, tu.audit, 1)[0]; e.Target != "1004" || e.Result != "ok" {
		t.Fatalf("audit entry %+v", e)
	}
}

func TestPBXErrorsAreClearSentences(t *testing.T) {
	tu := newTestUI(t, 10)
	for _, tc := range []struct {
		err  error
		want string
	}{
		{monitor.ErrCallGone, "That call has already ended."},
		{monitor.ErrNotPermitted, "Your PBX account is not allowed to do that."},
		// a monitoring action: the PBX is connected but could not ring the softphone
		{monitor.ErrUnreachable, "The PBX could not ring your phone. Check that your softphone is registered and the PBX is reachable."},
		{fmt.Errorf("read tcp 127.0.0.1:5038: connection reset"), "Something went wrong. The details are in Earshot's log."},
	} {
		tu.drv.mu.Lock()
		tu.drv.err = tc.err
		tu.drv.mu.Unlock()
		tu.selectCall(t, 2)
		tu.requestAction(monitor.ActBarge)
		tu.action(t)
		tu.bg.Wait()
		closeDialogs(tu)
		if tu.message.Text != tc.want {
			t.Errorf("error %v shows %q, want %q", tc.err, tu.message.Text, tc.want)
		}
		if strings.Contains(tu.message.Text, "Response:") {
			t.Fatalf("raw protocol text shown: %q", tu.message.Text)
		}
	}
	entries := waitAudit(t, tu.audit, 4)
	if entries[0].Result != "failed" || !strings.HasPrefix(entries[3].Error, "error.call_gone") {
		t.Fatalf("audit entries %+v", entries)
	}
}

// waitAudit waits until the audit log has n entries and returns them newest first.
func waitAudit(t *testing.T, l *AuditLog, n int) []AuditEntry {
	t.Helper()
	waitFor(t, func() bool { return len(l.Recent(n)) >= n })
	return l.Recent(n)
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A monitoring action waits as long as the PBX rings the supervisor (the demo PBX and
// Asterisk ring for up to 30 s), the supervisor is told at once that the phone will
// ring, and "no answer" and "declined" are clear sentences.
func TestMonitoringActionsWaitForTheAnswer(t *testing.T) {
	ph := newFakePhone()
	ph.reg = Registration{State: RegRegistered, Account: "2001@127.0.0.1"}
	tu := newTestUI(t, 10, func(o *Options) { o.Phone = ph; o.Config.AutoAnswerMonitoring = false })
	tu.drv.hold = make(chan error)
	c := tu.selectCall(t, 2)
	label := fmt.Sprintf("Listening: agent %s with %s", c.LastAgent, fmtPhone(c.Customer))

	tu.requestAction(monitor.ActListen)
	tu.drv.waitAction(t)
	if tu.message.Text != "Your phone will ring. "+label {
		t.Fatalf("message while the PBX rings the phone: %q", tu.message.Text)
	}
	if left := tu.drv.left[0]; left < 30*time.Second {
		t.Fatalf("a monitoring action may wait only %v for the answer", left)
	}
	// the phone rings and nobody answers: the PBX gives up (the demo PBX says
	// "unreachable", wrapping its no-answer)
	ring := PhoneCall{ID: "c1", Incoming: true, State: CallRinging, Monitoring: true, Label: label, Created: time.Now()}
	tu.onPhoneEvent(PhoneEvent{Kind: PhoneCallChanged, Call: ring})
	ring.State, ring.End = CallEnded, EndCallerCancelled
	tu.onPhoneEvent(PhoneEvent{Kind: PhoneCallChanged, Call: ring})
	tu.drv.hold <- fmt.Errorf("demo PBX: the supervisor's phone did not answer: %w", monitor.ErrUnreachable)
	tu.bg.Wait()
	if want := "Your phone rang but was not answered in time, so the monitoring did not start."; tu.message.Text != want {
		t.Fatalf("no answer shows %q", tu.message.Text)
	}
	if e := waitAudit(t, tu.audit, 1)[0]; e.Result != "failed" || !strings.HasPrefix(e.Error, "monitor.err.no_answer") {
		t.Fatalf("audit entry %+v", e)
	}
	closeDialogs(tu)

	// declined on the ring panel
	tu.requestAction(monitor.ActWhisper)
	tu.drv.waitAction(t)
	wl := fmt.Sprintf("Whispering to agent %s (customer %s)", c.LastAgent, fmtPhone(c.Customer))
	ring = PhoneCall{ID: "c2", Incoming: true, State: CallRinging, Monitoring: true, Label: wl, Created: time.Now()}
	tu.onPhoneEvent(PhoneEvent{Kind: PhoneCallChanged, Call: ring})
	tu.panel.doDecline()
	ph.waitDone(t, "decline c2")
	tu.drv.hold <- fmt.Errorf("demo PBX: the supervisor declined the call (603 Decline): %w", monitor.ErrRejected)
	tu.bg.Wait()
	if want := "You declined the monitoring call, so nothing was started."; tu.message.Text != want {
		t.Fatalf("declined shows %q", tu.message.Text)
	}
	closeDialogs(tu)

	// hang-up keeps the short limit
	tu.drv.hold = nil
	tu.requestAction(monitor.ActHangup)
	tu.tap(tu.dialog.confirm)
	tu.action(t)
	if left := tu.drv.left[len(tu.drv.left)-1]; left > actionTimeout {
		t.Fatalf("hang-up waits %v", left)
	}
}

// closeDialogs closes the dialogs a test left open (an error message).
func closeDialogs(tu *testUI) {
	for tu.win.Canvas().Overlays().Top() != nil {
		tu.win.Canvas().Overlays().Top().Hide()
	}
}
