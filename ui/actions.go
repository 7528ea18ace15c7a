package ui

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/earshot-app/earshot/monitor"
)

// actionTimeout bounds one supervisor action at the PBX that does not ring the
// supervisor (transfer, hang up), and the agent list.
const actionTimeout = 15 * time.Second

// minRingTimeout is the least time a monitoring action (listen, whisper, barge,
// steal) waits: the PBX rings the supervisor's phone and the action completes only
// when they answer, so it may not be cut shorter than the ringing.
const minRingTimeout = 30 * time.Second

// monitorTimeout bounds a monitoring action: the ring timeout (at least
// minRingTimeout) plus the time the PBX needs for the request itself, so that the
// PBX's own "no answer" arrives before Earshot gives up.
func monitorTimeout(ring time.Duration) time.Duration {
	return max(ring, minRingTimeout) + actionTimeout
}

// actionShortcuts are the keyboard shortcuts of the supervisor actions. They are also
// on the main menu's Call menu, so that they work while a text box has the focus.
// (Ctrl+W, the usual "close" key, is left alone: whisper is Ctrl+I.)
var actionShortcuts = map[monitor.ActionKind]*desktop.CustomShortcut{
	monitor.ActListen:   {KeyName: fyne.KeyL, Modifier: fyne.KeyModifierShortcutDefault},
	monitor.ActWhisper:  {KeyName: fyne.KeyI, Modifier: fyne.KeyModifierShortcutDefault},
	monitor.ActBarge:    {KeyName: fyne.KeyB, Modifier: fyne.KeyModifierShortcutDefault},
	monitor.ActSteal:    {KeyName: fyne.KeyS, Modifier: fyne.KeyModifierShortcutDefault | fyne.KeyModifierShift},
	monitor.ActTransfer: {KeyName: fyne.KeyT, Modifier: fyne.KeyModifierShortcutDefault},
	monitor.ActHangup:   {KeyName: fyne.KeyH, Modifier: fyne.KeyModifierShortcutDefault | fyne.KeyModifierShift},
}

// actionIcon is the icon of an action's button and menu item (looked up when used, so
// that the app's theme applies).
func actionIcon(k monitor.ActionKind) fyne.Resource {
	switch k {
	case monitor.ActListen:
		return theme.VolumeUpIcon()
	case monitor.ActWhisper:
		return theme.MailReplyIcon()
	case monitor.ActBarge:
		return theme.AccountIcon()
	case monitor.ActSteal:
		return theme.DownloadIcon()
	case monitor.ActTransfer:
		return theme.MailForwardIcon()
	}
	return theme.CancelIcon()
}

// shortcutText renders a shortcut the way the platform writes it ("Ctrl+Shift+S").
func shortcutText(s *desktop.CustomShortcut) string {
	var parts []string
	mac := runtime.GOOS == "darwin"
	if s.Modifier&fyne.KeyModifierControl != 0 {
		parts = append(parts, "Ctrl")
	}
	if s.Modifier&fyne.KeyModifierSuper != 0 {
		if mac {
			parts = append(parts, "Cmd")
		} else {
			parts = append(parts, "Super")
		}
	}
	if s.Modifier&fyne.KeyModifierAlt != 0 {
		parts = append(parts, "Alt")
	}
	if s.Modifier&fyne.KeyModifierShift != 0 {
		parts = append(parts, "Shift")
	}
	parts = append(parts, string(s.KeyName))
	return strings.Join(parts, "+")
}

// actionCheck says whether a supervisor action makes sense for a call, given the PBX
// account's permissions and the softphone; when it does not, why is a translation key
// of the reason.
func actionCheck(k monitor.ActionKind, c *monitor.Call, perms monitor.Permissions, phone *Registration, me string) (ok bool, why string) {
	if c == nil {
		return false, "why.no_selection"
	}
	if !perms.Allows(k) {
		return false, "why.not_permitted"
	}
	talking := c.Status == monitor.StatusAnswered
	switch k {
	case monitor.ActListen, monitor.ActWhisper, monitor.ActBarge:
		if !talking {
			return false, "why.not_answered"
		}
		if c.Stolen {
			return false, "why.stolen"
		}
		if c.Monitor != monitor.MonitorNone && (me == "" || c.Supervisor == me) {
			return false, "why.already_monitoring"
		}
	case monitor.ActSteal:
		if !talking {
			return false, "why.not_answered"
		}
		if c.Stolen {
			return false, "why.stolen"
		}
	case monitor.ActTransfer:
		if !talking { // the seed: from the agent talking to another agent
			return false, "why.not_transferable"
		}
	case monitor.ActHangup:
		return true, ""
	}
	if k.Monitoring() && phone != nil && phone.State != RegRegistered {
		return false, "why.phone_not_registered"
	}
	return true, ""
}

// actionTip is the tooltip of an action: what it does, its shortcut, and why it is
// disabled when it is.
func actionTip(k monitor.ActionKind, why string) string {
	s := tr("tip."+k.String()) + " (" + shortcutText(actionShortcuts[k]) + ")"
	if why != "" {
		s += " — " + tr(why)
	}
	return s
}

// actionBar holds the six action buttons and the line saying why they are disabled.
type actionBar struct {
	buttons map[monitor.ActionKind]*tipButton
	reason  *widget.Label
	root    fyne.CanvasObject
}

func newActionBar(run func(monitor.ActionKind)) *actionBar {
	b := &actionBar{buttons: make(map[monitor.ActionKind]*tipButton), reason: widget.NewLabel("")}
	b.reason.Importance = widget.LowImportance
	b.reason.Truncation = fyne.TextTruncateEllipsis
	row := container.NewHBox()
	for _, k := range monitor.ActionKinds {
		k := k
		label := actionText(k)
		if k == monitor.ActTransfer {
			label = tr("action.transfer_ellipsis")
		}
		btn := newTipButton(label, actionIcon(k), actionTip(k, ""), func() { run(k) })
		if k == monitor.ActSteal || k == monitor.ActHangup {
			btn.Importance = widget.DangerImportance
		}
		btn.Disable()
		b.buttons[k] = btn
		row.Add(btn)
	}
	b.root = container.NewBorder(nil, nil, row, nil, b.reason)
	return b
}

// update enables each button as actionCheck says for the selected call.
func (b *actionBar) update(c *monitor.Call, perms monitor.Permissions, phone *Registration, me string) {
	firstWhy := ""
	for _, k := range monitor.ActionKinds {
		ok, why := actionCheck(k, c, perms, phone, me)
		btn := b.buttons[k]
		if ok {
			btn.Enable()
		} else {
			btn.Disable()
			if firstWhy == "" || why == "why.no_selection" {
				firstWhy = why
			}
		}
		btn.SetTip(actionTip(k, why))
	}
	switch {
	case c == nil:
		b.reason.SetText(tr("why.no_selection"))
	case firstWhy != "":
		b.reason.SetText(tr(firstWhy))
	default:
		b.reason.SetText("")
	}
}

// monitorLabel is what the softphone and the notification say about a monitoring call.
func monitorLabel(k monitor.ActionKind, c monitor.Call) string {
	agent := c.LastAgent
	cust := fmtPhone(c.Customer)
	switch k {
	case monitor.ActWhisper:
		return trf("label.whisper", "Agent", agent, "Customer", cust)
	case monitor.ActBarge:
		return trf("label.barge", "Agent", agent, "Customer", cust)
	case monitor.ActSteal:
		return trf("label.steal", "Agent", agent, "Customer", cust)
	}
	return trf("label.listen", "Agent", agent, "Customer", cust)
}

// requestAction starts a supervisor action on the selected call: steal and hang-up ask
// for confirmation, transfer opens the agent picker, the others go straight to the PBX.
// While a dialog is open it does nothing (a shortcut typed then must not stack a
// second dialog or act behind the first).
func (u *UI) requestAction(k monitor.ActionKind) {
	if u.dialogOpen() {
		return
	}
	c, ok := u.grid.selectedCall()
	if !ok {
		return
	}
	reg := u.phoneReg()
	if ok, why := actionCheck(k, &c, u.o.Driver.Permissions(), reg, u.cfg.Supervisor); !ok {
		u.setMessage(tr(why))
		return
	}
	switch k {
	case monitor.ActSteal:
		u.confirm(k, c, tr("confirm.steal.title"),
			trf("confirm.steal.body", "Call", c.ID, "Agent", c.LastAgent, "Customer", fmtPhone(c.Customer)),
			func() { u.perform(k, c, "") })
	case monitor.ActHangup:
		u.confirm(k, c, tr("confirm.hangup.title"),
			trf("confirm.hangup.body", "Call", c.ID, "Agent", orDash(c.LastAgent), "Customer", fmtPhone(c.Customer)),
			func() { u.perform(k, c, "") })
	case monitor.ActTransfer:
		u.showTransfer(c)
	default:
		u.perform(k, c, "")
	}
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// dialogOpen reports whether a dialog (or a pop-up) covers the window.
func (u *UI) dialogOpen() bool {
	return u.dialog != nil || u.win.Canvas().Overlays().Top() != nil
}

// shownDialog is a dialog Earshot built with its own buttons (kept so tests can press
// them).
type shownDialog struct {
	d       *dialog.CustomDialog
	confirm *widget.Button
	cancel  *widget.Button
	// callID is the call the dialog acts on: the dialog closes when the call ends.
	callID string
	// beforeConfirm, when set, runs when the confirm button is pressed; the dialog
	// closes (and onConfirm runs) only when it returns true. A check that finishes
	// later calls finish(true) itself.
	beforeConfirm func() bool
	// enterConfirms lets the Enter key press the confirm button.
	enterConfirms bool
	// finish closes the dialog, running onConfirm (true) or onCancel (false).
	finish func(ok bool)
	// drop closes the dialog without running either.
	drop func()
}

// customConfirm shows a dialog with a confirm and a cancel button; exactly one of
// onConfirm and onCancel runs, when the dialog closes (unless drop closes it). Esc
// cancels; Enter confirms when enterConfirms is set and the confirm button is enabled.
func (u *UI) customConfirm(title string, content fyne.CanvasObject, confirmText string, danger bool, onConfirm, onCancel func()) *shownDialog {
	sd := &shownDialog{d: dialog.NewCustomWithoutButtons(title, content, u.win), enterConfirms: true}
	cv := u.win.Canvas()
	prevKey := cv.OnTypedKey()
	done := false
	closeIt := func() bool {
		if done {
			return false
		}
		done = true
		if u.dialog == sd {
			u.dialog = nil
		}
		cv.SetOnTypedKey(prevKey)
		sd.d.Hide()
		return true
	}
	sd.finish = func(ok bool) {
		if !closeIt() {
			return
		}
		if ok && onConfirm != nil {
			onConfirm()
		}
		if !ok && onCancel != nil {
			onCancel()
		}
	}
	sd.drop = func() { closeIt() }
	sd.cancel = widget.NewButtonWithIcon(tr("Cancel"), theme.CancelIcon(), func() { sd.finish(false) })
	sd.confirm = widget.NewButtonWithIcon(confirmText, theme.ConfirmIcon(), func() {
		if sd.beforeConfirm != nil && !sd.beforeConfirm() {
			return
		}
		sd.finish(true)
	})
	sd.confirm.Importance = widget.HighImportance
	if danger {
		sd.confirm.Importance = widget.DangerImportance
	}
	sd.d.SetButtons([]fyne.CanvasObject{sd.cancel, sd.confirm})
	sd.d.SetOnClosed(func() { sd.finish(false) })
	cv.SetOnTypedKey(func(ev *fyne.KeyEvent) {
		if u.dialog != sd {
			if prevKey != nil {
				prevKey(ev)
			}
			return
		}
		sd.typedKey(ev)
	})
	u.dialog = sd
	sd.d.Show()
	return sd
}

// typedKey handles Esc (cancel) and Enter (confirm) typed in the dialog.
func (sd *shownDialog) typedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyEscape:
		sd.finish(false)
	case fyne.KeyReturn, fyne.KeyEnter:
		if sd.enterConfirms && !sd.confirm.Disabled() && sd.confirm.OnTapped != nil {
			sd.confirm.OnTapped()
		}
	}
}

// closeIfCallGone closes the open confirmation of a call that left the board, and
// says so.
func (u *UI) closeIfCallGone() {
	sd := u.dialog
	if sd == nil || sd.callID == "" {
		return
	}
	if _, ok := u.o.Board.Get(sd.callID); ok {
		return
	}
	u.picker = nil
	sd.drop()
	text := trf("msg.dialog_call_gone", "Call", sd.callID)
	u.setMessage(text)
	u.showError(tr("dialog.call_gone.title"), text)
}

// dialogEntry is a text box in a dialog: Esc in it cancels the dialog and Enter
// confirms it, as they do elsewhere in the dialog.
type dialogEntry struct {
	widget.Entry
	sd *shownDialog
}

func newDialogEntry() *dialogEntry {
	e := &dialogEntry{}
	e.ExtendBaseWidget(e)
	return e
}

// TypedKey implements fyne.Focusable.
func (e *dialogEntry) TypedKey(ev *fyne.KeyEvent) {
	if e.sd != nil && (ev.Name == fyne.KeyEscape || ev.Name == fyne.KeyReturn || ev.Name == fyne.KeyEnter) {
		e.sd.typedKey(ev)
		return
	}
	e.Entry.TypedKey(ev)
}

// confirm asks the supervisor to confirm a drastic action; onConfirm runs on yes, and
// a cancellation is written to the audit log.
func (u *UI) confirm(k monitor.ActionKind, c monitor.Call, title, body string, onConfirm func()) {
	msg := widget.NewLabel(body)
	msg.Wrapping = fyne.TextWrapWord
	content := container.NewGridWrap(fyne.NewSize(440, msg.MinSize().Height*3), msg)
	sd := u.customConfirm(title, content, actionText(k), true, onConfirm, func() {
		u.auditLater(AuditEntry{Action: k.String(), CallID: c.ID, Agent: c.LastAgent, Customer: c.Customer, Result: "cancelled"})
		u.setMessage(tr("msg.cancelled"))
	})
	sd.callID = c.ID
}

// auditLater appends an entry from the UI goroutine: on a goroutine of its own, since
// the file may be slow and the Activity view hears of the entry through fyne.Do.
func (u *UI) auditLater(e AuditEntry) {
	e.Supervisor = u.supervisor()
	u.spawn(func() { u.audit(e) })
}

// audit appends an entry (with the supervisor's name) to the audit log. It runs on a
// goroutine other than the UI's (auditLater from the UI goroutine).
func (u *UI) audit(e AuditEntry) {
	if e.Supervisor == "" {
		e.Supervisor = u.supervisor()
	}
	if u.o.Audit == nil {
		return
	}
	if err := u.o.Audit.Append(e); err != nil {
		u.log.Error("audit log", "err", err)
	}
}

// monitorRequest is a monitoring action (listen, whisper, barge, steal) on its way:
// what the supervisor asked for, and what became of the softphone call the PBX placed
// for it. Only the UI goroutine touches it.
type monitorRequest struct {
	kind  monitor.ActionKind
	call  monitor.Call // as the grid showed it when asked
	label string
	// phoneCallID is the softphone's call for this request, once it arrived.
	phoneCallID string
	// rang, answered and declined say what happened to that call.
	rang, answered, declined bool
}

// perform sends the action to the PBX on a goroutine, writes the audit log and reports
// the result as a translated sentence. A monitoring action makes the PBX ring the
// supervisor's phone and completes when they answer, so it may take as long as the
// ringing; the supervisor is told at once that their phone will ring.
func (u *UI) perform(k monitor.ActionKind, c monitor.Call, target string) {
	withdraw := func() {}
	timeout := actionTimeout
	var req *monitorRequest
	if k.Monitoring() {
		timeout = monitorTimeout(time.Duration(u.cfg.Asterisk.RingTimeout))
		req = &monitorRequest{kind: k, call: c, label: monitorLabel(k, c)}
		u.monReq = req
		if u.o.Phone != nil {
			withdraw = u.o.Phone.ExpectMonitoringCall(req.label, u.cfg.AutoAnswerMonitoring)
		}
		u.setMessage(trf("msg.ringing_you", "Label", req.label))
	} else {
		u.setMessage(trf("msg.sending", "Action", actionText(k), "Call", c.ID))
	}
	sup := u.supervisor()
	a := monitor.Action{Kind: k, CallID: c.ID, Agent: target}
	u.spawn(func() {
		ctx, cancel := context.WithTimeout(u.ctx, timeout)
		err := u.o.Driver.Act(ctx, a)
		cancel()
		entry := AuditEntry{Supervisor: sup, Action: k.String(), CallID: c.ID,
			Agent: c.LastAgent, Customer: c.Customer, Target: target, Result: "ok"}
		if err == nil {
			u.log.Info("supervisor action", "action", k.String(), "call", c.ID, "agent", target)
			u.audit(entry)
			fyne.Do(func() { u.setMessage(doneText(k, c, target)) })
			return
		}
		withdraw() // no other call may be answered as this monitoring call
		u.log.Warn("supervisor action failed", "action", k.String(), "call", c.ID, "err", err)
		// what the softphone saw of the request (UI state) tells "no answer" and
		// "declined" apart from the PBX's other refusals
		var key string
		fyne.DoAndWait(func() {
			key = actionErrorKey(req, err)
			if key == "monitor.err.unreachable" && u.lastSnap.Feed.State == monitor.FeedLost {
				key = monitor.ErrorKey(err) // the PBX itself is out of reach
			}
		})
		entry.Result = "failed"
		entry.Error = key + ": " + monitor.Sentence(err)
		u.audit(entry)
		fyne.Do(func() {
			u.showError(trf("error.title_action", "Action", actionText(k)), tr(key))
			u.setMessage(tr(key))
		})
	})
}

// actionErrorKey is the translation key of the sentence for a failed action; req is
// the monitoring request, or nil for another action.
func actionErrorKey(req *monitorRequest, err error) string {
	key := monitor.ErrorKey(err)
	if req == nil {
		return key
	}
	switch {
	case req.declined:
		return "monitor.err.declined"
	case key == "error.call_gone" || key == "error.not_permitted" || key == "error.not_applicable":
		return key
	case req.rang && !req.answered:
		return "monitor.err.no_answer"
	case key == "error.unreachable":
		return "monitor.err.unreachable"
	case errors.Is(err, context.DeadlineExceeded):
		return "monitor.err.timeout"
	}
	return key
}

func doneText(k monitor.ActionKind, c monitor.Call, target string) string {
	switch {
	case k == monitor.ActSteal:
		return trf("msg.stolen", "Call", c.ID, "Customer", fmtPhone(c.Customer))
	case k.Monitoring():
		return trf("msg.monitoring", "Label", monitorLabel(k, c))
	case k == monitor.ActTransfer:
		return trf("msg.transferred", "Call", c.ID, "Agent", target)
	}
	return trf("msg.hung_up", "Call", c.ID)
}

func modeOf(k monitor.ActionKind) monitor.MonitorMode {
	switch k {
	case monitor.ActWhisper:
		return monitor.MonitorWhisper
	case monitor.ActBarge:
		return monitor.MonitorBarge
	case monitor.ActListen:
		return monitor.MonitorListen
	}
	return monitor.MonitorNone
}

// kindOf is the action that asks for a monitoring mode.
func kindOf(m monitor.MonitorMode) monitor.ActionKind {
	switch m {
	case monitor.MonitorWhisper:
		return monitor.ActWhisper
	case monitor.MonitorBarge:
		return monitor.ActBarge
	}
	return monitor.ActListen
}

// showError shows a clear sentence in a dialog.
func (u *UI) showError(title, sentence string) {
	msg := widget.NewLabel(sentence)
	msg.Wrapping = fyne.TextWrapWord
	d := dialog.NewCustom(title, tr("OK"), container.NewGridWrap(fyne.NewSize(380, msg.MinSize().Height*2), msg), u.win)
	d.Show()
}

// actionMenu is the right-click menu of a call.
func (u *UI) actionMenu(c monitor.Call) *fyne.Menu {
	perms := u.o.Driver.Permissions()
	reg := u.phoneReg()
	var items []*fyne.MenuItem
	for _, k := range monitor.ActionKinds {
		k := k
		label := actionText(k)
		if k == monitor.ActTransfer {
			label = tr("action.transfer_ellipsis")
		}
		it := fyne.NewMenuItem(label, func() { u.requestAction(k) })
		it.Icon = actionIcon(k)
		it.Shortcut = actionShortcuts[k]
		ok, _ := actionCheck(k, &c, perms, reg, u.cfg.Supervisor)
		it.Disabled = !ok
		if k == monitor.ActSteal || k == monitor.ActHangup {
			items = append(items, fyne.NewMenuItemSeparator())
		}
		items = append(items, it)
	}
	items = append(items, fyne.NewMenuItemSeparator(), fyne.NewMenuItem(tr("menu.copy_call_id"), func() {
		u.app.Clipboard().SetContent(c.ID)
	}), fyne.NewMenuItem(tr("menu.copy_customer"), func() {
		u.app.Clipboard().SetContent(c.Customer)
	}))
	return fyne.NewMenu("", items...)
}

func (u *UI) showActionMenu(c monitor.Call, at fyne.Position) {
	widget.ShowPopUpMenuAtPosition(u.actionMenu(c), u.win.Canvas(), at)
}

// agentRefresh is how often the transfer picker reloads the agents' availability.
const agentRefresh = 3 * time.Second

// agentPicker is the transfer dialog's list of agents with availability and search.
type agentPicker struct {
	all []monitor.Agent
	// shown are the agents the search matches, in the list's order.
	shown []monitor.Agent
	// exclude is the call's own agent, as the board names it (an ID or a name).
	exclude  string
	selected string
	list     *widget.List
	search   *dialogEntry
	status   *widget.Label
	onPick   func(id string)
	// loaded is when the agents were last asked for; loading is true meanwhile.
	loaded  time.Time
	loading bool
}

// agentLabel is how the picker names an agent: "Name (ID)", without repeating an ID
// the name already shows, then the agent's queues.
func agentLabel(a monitor.Agent) string {
	label := a.ID
	if a.Name != "" && a.Name != a.ID {
		label = a.Name
		if !strings.Contains(a.Name, a.ID) {
			label += " (" + a.ID + ")"
		}
	}
	if len(a.Queues) > 0 {
		label += " · " + strings.Join(a.Queues, ", ")
	}
	return label
}

func newAgentPicker(exclude string) *agentPicker {
	p := &agentPicker{exclude: exclude}
	p.search = newDialogEntry()
	p.search.PlaceHolder = tr("transfer.search")
	p.search.OnChanged = func(string) { p.filter() }
	p.status = widget.NewLabel(tr("transfer.loading"))
	p.list = widget.NewList(func() int { return len(p.shown) },
		func() fyne.CanvasObject {
			dot := canvas.NewCircle(colorAnswered)
			return container.NewBorder(nil, nil,
				container.NewGridWrap(fyne.NewSize(12, 12), dot),
				widget.NewLabel("Unavailable...."),
				widget.NewLabel("Agent"))
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i >= len(p.shown) {
				return
			}
			a := p.shown[i]
			row := o.(*fyne.Container)
			name := row.Objects[0].(*widget.Label)
			state := row.Objects[2].(*widget.Label)
			dot := row.Objects[1].(*fyne.Container).Objects[0].(*canvas.Circle)
			name.SetText(agentLabel(a))
			state.SetText(agentStateText(a.State))
			dot.FillColor = theme.Color(agentColor(a.State))
			dot.Refresh()
			if pickable(a) {
				name.Importance = widget.MediumImportance
			} else {
				name.Importance = widget.LowImportance
			}
			name.Refresh()
		})
	p.list.OnSelected = func(i widget.ListItemID) {
		if i >= len(p.shown) || !pickable(p.shown[i]) {
			p.selected = ""
			p.list.UnselectAll()
			if p.onPick != nil {
				p.onPick("")
			}
			return
		}
		p.selected = p.shown[i].ID
		if p.onPick != nil {
			p.onPick(p.selected)
		}
	}
	return p
}

func pickable(a monitor.Agent) bool {
	return a.State == monitor.AgentAvailable || a.State == monitor.AgentUnknown
}

func agentColor(s monitor.AgentState) fyne.ThemeColorName {
	switch s {
	case monitor.AgentAvailable:
		return theme.ColorNameSuccess
	case monitor.AgentBusy, monitor.AgentRinging:
		return theme.ColorNameWarning
	case monitor.AgentPaused:
		return theme.ColorNamePrimary
	}
	return theme.ColorNameDisabled
}

// setAgents shows a new list of agents (the call's own agent left out), keeping the
// search and, while that agent can still take the call, the choice.
func (p *agentPicker) setAgents(agents []monitor.Agent) {
	p.all = nil
	for _, a := range agents {
		if p.exclude != "" && (a.ID == p.exclude || a.Name == p.exclude) {
			continue
		}
		p.all = append(p.all, a)
	}
	slices.SortStableFunc(p.all, func(a, b monitor.Agent) int {
		pa, pb := pickable(a), pickable(b)
		if pa != pb {
			if pa {
				return -1
			}
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	})
	p.filter()
}

func (p *agentPicker) filter() {
	q := strings.ToLower(strings.TrimSpace(p.search.Text))
	p.shown = p.shown[:0]
	for _, a := range p.all {
		if q == "" || strings.Contains(strings.ToLower(a.ID), q) || strings.Contains(strings.ToLower(a.Name), q) ||
			slices.ContainsFunc(a.Queues, func(s string) bool { return strings.Contains(strings.ToLower(s), q) }) {
			p.shown = append(p.shown, a)
		}
	}
	keep := -1
	for i, a := range p.shown {
		if a.ID == p.selected && pickable(a) {
			keep = i
		}
	}
	if keep >= 0 {
		p.list.Select(keep) // OnSelected confirms the choice
	} else {
		p.list.UnselectAll()
		p.selected = ""
		if p.onPick != nil {
			p.onPick("")
		}
	}
	avail := 0
	for _, a := range p.all {
		if pickable(a) {
			avail++
		}
	}
	p.status.SetText(trf("transfer.count", "Available", avail, "Count", len(p.all)))
	p.list.Refresh()
}

// showTransfer opens the agent picker for a call.
func (u *UI) showTransfer(c monitor.Call) {
	p := newAgentPicker(c.LastAgent)
	p.search.OnChanged = func(string) {
		p.selected = "" // a new search starts a new choice
		p.filter()
	}
	intro := widget.NewLabel(trf("transfer.body", "Call", c.ID, "Customer", fmtPhone(c.Customer), "Agent", orDash(c.LastAgent)))
	intro.Wrapping = fyne.TextWrapWord
	content := container.NewBorder(container.NewVBox(intro, p.search), p.status, nil, nil, p.list)
	u.picker = p
	sd := u.customConfirm(tr("transfer.title"), content, tr("transfer.confirm"), false, func() {
		u.picker = nil
		u.perform(monitor.ActTransfer, c, p.selected)
	}, func() {
		u.picker = nil
		u.auditLater(AuditEntry{Action: monitor.ActTransfer.String(), CallID: c.ID, Agent: c.LastAgent, Customer: c.Customer, Result: "cancelled"})
	})
	sd.callID = c.ID
	p.search.sd = sd
	sd.confirm.Disable()
	p.onPick = func(id string) {
		if id == "" {
			sd.confirm.SetText(tr("transfer.confirm"))
			sd.confirm.Disable()
		} else {
			sd.confirm.SetText(trf("transfer.confirm_to", "Agent", id))
			sd.confirm.Enable()
		}
	}
	sd.d.Resize(fyne.NewSize(560, 500))
	u.loadPickerAgents(p)
}

// loadPickerAgents asks the PBX for the agents and their availability, for the open
// transfer picker.
func (u *UI) loadPickerAgents(p *agentPicker) {
	p.loading, p.loaded = true, time.Now()
	u.spawn(func() {
		ctx, cancel := context.WithTimeout(u.ctx, actionTimeout)
		agents, err := u.o.Driver.Agents(ctx)
		cancel()
		fyne.Do(func() {
			p.loading = false
			if err != nil {
				u.log.Info("agent list", "err", err)
				p.status.SetText(errorText(err))
				return
			}
			p.setAgents(agents)
		})
	})
}

// refreshPicker reloads the open transfer picker's agents every agentRefresh.
func (u *UI) refreshPicker() {
	p := u.picker
	if p == nil || p.loading || time.Since(p.loaded) < agentRefresh {
		return
	}
	u.loadPickerAgents(p)
}
