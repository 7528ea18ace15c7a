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

// pressKey types a key as the desktop driver delivers it: to the focused widget, or
// to the canvas's handler when nothing has the focus.
func pressKey(c fyne.Canvas, k fyne.KeyName) {
	ev := &fyne.KeyEvent{Name: k}
	if f := c.Focused(); f != nil {
		f.TypedKey(ev)
		return
	}
	if h := c.OnTypedKey(); h != nil {
		h(ev)
	}
}

// menuShortcut runs a shortcut as the desktop driver does first: through the main
// menu's items (before the focused widget sees it).
func menuShortcut(t *testing.T, w fyne.Window, sc fyne.Shortcut) {
	t.Helper()
	for _, m := range w.MainMenu().Items {
		for _, it := range m.Items {
			if it.Shortcut != nil && it.Shortcut.ShortcutName() == sc.ShortcutName() {
				it.Action()
				return
			}
		}
	}
	t.Fatalf("no main-menu item has the shortcut %s", sc.ShortcutName())
}

func TestDialogKeysAndShortcuts(t *testing.T) {
	tu := newTestUI(t, 10)
	cv := tu.win.Canvas()
	c := tu.selectCall(t, 2)

	// Esc cancels a confirmation
	tu.requestAction(monitor.ActHangup)
	first := tu.dialog
	// an action shortcut while the dialog is open does nothing: no second dialog
	cv.(fyne.Shortcutable).TypedShortcut(actionShortcuts[monitor.ActSteal])
	menuShortcut(t, tu.win, actionShortcuts[monitor.ActTransfer])
	if tu.dialog != first || tu.picker != nil {
		t.Fatal("a shortcut stacked a second dialog on the first")
	}
	pressKey(cv, fyne.KeyEscape)
	tu.bg.Wait()
	if tu.dialog != nil || cv.Overlays().Top() != nil || len(tu.drv.actions()) != 0 {
		t.Fatal("Esc did not cancel the hang-up")
	}
	// Enter confirms
	tu.requestAction(monitor.ActSteal)
	pressKey(cv, fyne.KeyReturn)
	if a := tu.action(t); a.Kind != monitor.ActSteal || a.CallID != c.ID {
		t.Fatalf("Enter sent %+v", a)
	}
	if tu.dialog != nil {
		t.Fatal("the steal dialog stayed open after Enter")
	}

	// the transfer picker: typing in its search box, Enter transfers to the chosen
	// agent, Esc cancels
	tu.requestAction(monitor.ActTransfer)
	tu.bg.Wait()
	cv.Focus(tu.picker.search)
	test.Type(tu.picker.search, "1004")
	pressKey(cv, fyne.KeyReturn) // nobody chosen yet: nothing happens
	if tu.dialog == nil {
		t.Fatal("Enter with no agent chosen closed the picker")
	}
	tu.picker.list.Select(0)
	cv.Focus(tu.picker.search)
	pressKey(cv, fyne.KeyReturn)
	if a := tu.action(t); a.Kind != monitor.ActTransfer || a.Agent != "1004" {
		t.Fatalf("Enter in the picker sent %+v", a)
	}
	tu.requestAction(monitor.ActTransfer)
	tu.bg.Wait()
	cv.Focus(tu.picker.search)
	pressKey(cv, fyne.KeyEscape)
	tu.bg.Wait()
	if tu.dialog != nil || tu.picker != nil {
		t.Fatal("Esc in the picker's search box did not cancel it")
	}

	// the action shortcuts are on the main menu, so they work while the search box
	// has the focus; whisper is not Ctrl+W (the usual "close")
	if sc := actionShortcuts[monitor.ActWhisper]; sc.KeyName == fyne.KeyW {
		t.Fatal("whisper uses Ctrl+W")
	}
	cv.Focus(tu.filter.search)
	menuShortcut(t, tu.win, actionShortcuts[monitor.ActListen])
	if a := tu.action(t); a.Kind != monitor.ActListen || a.CallID != c.ID {
		t.Fatalf("Ctrl+L in the search box sent %+v", a)
	}
	if cv.Focused() != tu.filter.search {
		t.Error("the search box lost the focus")
	}
}

// The picker names each agent once ("Name (ID)" without repeating an ID the name
// shows) and leaves out the call's own agent, whom the board names by display name.
func TestTransferPickerNamesAndExcludesAgents(t *testing.T) {
	tu := newTestUI(t, 0)
	tu.drv.agents = []monitor.Agent{
		{ID: "1017", Name: "Trương Văn Khánh (1017)", Queues: []string{"Sales"}, State: monitor.AgentBusy},
		{ID: "1018", Name: "Lê Thu", Queues: []string{"Sales"}, State: monitor.AgentAvailable},
		{ID: "1019", Queues: []string{"Support"}, State: monitor.AgentAvailable},
		{ID: "1020", Name: "Đỗ Minh (1020)", State: monitor.AgentAvailable},
	}
	id := "1741942900.600"
	tu.board.ApplyAll([]monitor.Event{
		{Kind: monitor.EventCallStarted, CallID: id, At: t0, Direction: monitor.Inbound, Customer: "0905675483"},
		{Kind: monitor.EventQueueJoined, CallID: id, At: t0, Queue: "Sales"},
		{Kind: monitor.EventAgentRinging, CallID: id, At: t0, Agent: "Trương Văn Khánh (1017)"},
		{Kind: monitor.EventAnswered, CallID: id, At: t0, Agent: "Trương Văn Khánh (1017)"},
	})
	tu.refreshNow()
	tu.grid.selectID(id)
	tu.requestAction(monitor.ActTransfer)
	tu.bg.Wait()
	var labels []string
	for _, a := range tu.picker.shown {
		labels = append(labels, agentLabel(a))
	}
	want := []string{"Lê Thu (1018) · Sales", "1019 · Support", "Đỗ Minh (1020)"}
	if fmt.Sprint(labels) != fmt.Sprint(want) {
		t.Fatalf("picker shows %q, want %q (the call's own agent left out)", labels, want)
	}
	tu.tap(tu.dialog.cancel)
}

// The picker keeps the agents' availability current while it is open, and its
// confirmation closes (saying why) when the call ends meanwhile; so do the steal and
// hang-up confirmations.
func TestDialogsFollowTheCall(t *testing.T) {
	tu := newTestUI(t, 10)
	tu.selectCall(t, 2)
	tu.requestAction(monitor.ActTransfer)
	tu.bg.Wait()
	p := tu.picker
	p.search.SetText("1004")
	p.list.Select(0)
	if tu.dialog.confirm.Disabled() {
		t.Fatal("1004 cannot be chosen")
	}
	// 1004 takes another call: the next refresh disables the choice
	tu.drv.mu.Lock()
	for i := range tu.drv.agents {
		if tu.drv.agents[i].ID == "1004" {
			tu.drv.agents[i].State = monitor.AgentBusy
		}
	}
	tu.drv.mu.Unlock()
	p.loaded = p.loaded.Add(-agentRefresh)
	tu.refreshNow()
	tu.bg.Wait()
	if !tu.dialog.confirm.Disabled() || p.selected != "" || p.shown[0].State != monitor.AgentBusy {
		t.Fatalf("after 1004 became busy: confirm enabled %v, chosen %q", !tu.dialog.confirm.Disabled(), p.selected)
	}
	// the call ends: the picker closes and says so
	tu.board.Apply(monitor.Event{Kind: monitor.EventCallEnded, CallID: callID(2)})
	tu.refreshNow()
	if tu.dialog != nil || tu.picker != nil {
		t.Fatal("the transfer picker stayed open for an ended call")
	}
	if want := "Call " + callID(2) + " ended before you confirmed; nothing was done."; tu.message.Text != want {
		t.Errorf("message %q", tu.message.Text)
	}
	closeDialogs(tu)
	for k, i := range map[monitor.ActionKind]int{monitor.ActSteal: 3, monitor.ActHangup: 8} {
		c := tu.selectCall(t, i)
		tu.requestAction(k)
		if tu.dialog == nil {
			t.Fatalf("%s: no confirmation", k)
		}
		tu.board.Apply(monitor.Event{Kind: monitor.EventCallEnded, CallID: c.ID})
		tu.refreshNow()
		if tu.dialog != nil {
			t.Fatalf("%s: the confirmation stayed open for an ended call", k)
		}
		closeDialogs(tu)
	}
	if len(tu.drv.actions()) != 0 {
		t.Fatalf("actions sent for ended calls: %v", tu.drv.actions())
	}
}

// The audit log names the supervisor who asked, even when the settings change while
// the PBX rings; goroutines never read the settings the UI goroutine writes (run
// with -race).
func TestSettingsChangeWhileAnActionRuns(t *testing.T) {
	ph := newFakePhone()
	ph.reg = Registration{State: RegRegistered, Account: "2001@127.0.0.1"}
	tu := newTestUI(t, 10, func(o *Options) { o.Phone = ph })
	tu.drv.hold = make(chan error)
	tu.selectCall(t, 2)
	tu.requestAction(monitor.ActListen)
	tu.drv.waitAction(t)
	c := tu.cfg
	c.Supervisor = "Lan"
	tu.setConfig(c) // the settings dialog saves while the phone rings
	tu.drv.hold <- nil
	tu.bg.Wait()
	if e := waitAudit(t, tu.audit, 1)[0]; e.Supervisor != "Mai" {
		t.Fatalf("the audit log names %q for Mai's request", e.Supervisor)
	}

	// the settings written on one goroutine while another reads the name
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 200; i++ {
			if n := tu.supervisor(); n != "Lan" && n != "Mai" {
				t.Errorf("name %q", n)
				return
			}
		}
	}()
	for i := 0; i < 200; i++ {
		c := tu.cfg
		c.Supervisor = []string{"Mai", "Lan"}[i%2]
		tu.setConfig(c)
	}
	<-done
}
