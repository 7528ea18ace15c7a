package ui

import (
	"context"
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

// actionTimeout bounds one supervisor action at the PBX.
const actionTimeout = 15 * time.Second

// actionShortcuts are the keyboard shortcuts of the supervisor actions.
var actionShortcuts = map[monitor.ActionKind]*desktop.CustomShortcut{
	monitor.ActListen:   {KeyName: fyne.KeyL, Modifier: fyne.KeyModifierShortcutDefault},
	monitor.ActWhisper:  {KeyName: fyne.KeyW, Modifier: fyne.KeyModifierShortcutDefault},
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
func (u *UI) requestAction(k monitor.ActionKind) {
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

// shownDialog is a dialog Earshot built with its own buttons (kept so tests can press
// them).
type shownDialog struct {
	d       *dialog.CustomDialog
	confirm *widget.Button
	cancel  *widget.Button
}

// customConfirm shows a dialog with a confirm and a cancel button; exactly one of
// onConfirm and onCancel runs, when the dialog closes.
func (u *UI) customConfirm(title string, content fyne.CanvasObject, confirmText string, danger bool, onConfirm, onCancel func()) *shownDialog {
	sd := &shownDialog{d: dialog.NewCustomWithoutButtons(title, content, u.win)}
	done := false
	finish := func(ok bool) {
		if done {
			return
		}
		done = true
		if u.dialog == sd {
			u.dialog = nil
		}
		sd.d.Hide()
		if ok && onConfirm != nil {
			onConfirm()
		}
		if !ok && onCancel != nil {
			onCancel()
		}
	}
	sd.cancel = widget.NewButtonWithIcon(tr("Cancel"), theme.CancelIcon(), func() { finish(false) })
	sd.confirm = widget.NewButtonWithIcon(confirmText, theme.ConfirmIcon(), func() { finish(true) })
	sd.confirm.Importance = widget.HighImportance
	if danger {
		sd.confirm.Importance = widget.DangerImportance
	}
	sd.d.SetButtons([]fyne.CanvasObject{sd.cancel, sd.confirm})
	sd.d.SetOnClosed(func() { finish(false) })
	u.dialog = sd
	sd.d.Show()
	return sd
}

// confirm asks the supervisor to confirm a drastic action; onConfirm runs on yes, and
// a cancellation is written to the audit log.
func (u *UI) confirm(k monitor.ActionKind, c monitor.Call, title, body string, onConfirm func()) {
	msg := widget.NewLabel(body)
	msg.Wrapping = fyne.TextWrapWord
	content := container.NewGridWrap(fyne.NewSize(440, msg.MinSize().Height*3), msg)
	u.customConfirm(title, content, actionText(k), true, onConfirm, func() {
		u.audit(AuditEntry{Action: k.String(), CallID: c.ID, Agent: c.LastAgent, Customer: c.Customer, Result: "cancelled"})
		u.setMessage(tr("msg.cancelled"))
	})
}

// audit appends an entry (with the supervisor's name) to the audit log.
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

// perform sends the action to the PBX on a goroutine, writes the audit log and reports
// the result as a translated sentence.
func (u *UI) perform(k monitor.ActionKind, c monitor.Call, target string) {
	withdraw := func() {}
	if k.Monitoring() && u.o.Phone != nil {
		u.expectMode = modeOf(k)
		u.lastMonitored = c
		withdraw = u.o.Phone.ExpectMonitoringCall(monitorLabel(k, c), u.cfg.AutoAnswerMonitoring)
	}
	u.setMessage(trf("msg.sending", "Action", actionText(k), "Call", c.ID))
	a := monitor.Action{Kind: k, CallID: c.ID, Agent: target}
	u.spawn(func() {
		ctx, cancel := context.WithTimeout(u.ctx, actionTimeout)
		err := u.o.Driver.Act(ctx, a)
		cancel()
		entry := AuditEntry{Supervisor: u.supervisor(), Action: k.String(), CallID: c.ID,
			Agent: c.LastAgent, Customer: c.Customer, Target: target, Result: "ok"}
		if err != nil {
			withdraw() // no other call may be answered as this monitoring call
			entry.Result = "failed"
			entry.Error = monitor.ErrorKey(err) + ": " + monitor.Sentence(err)
			u.log.Warn("supervisor action failed", "action", k.String(), "call", c.ID, "err", err)
		} else {
			u.log.Info("supervisor action", "action", k.String(), "call", c.ID, "agent", target)
		}
		u.audit(entry)
		fyne.Do(func() {
			if err != nil {
				u.showError(trf("error.title_action", "Action", actionText(k)), errorText(err))
				u.setMessage(errorText(err))
				return
			}
			u.setMessage(doneText(k, c, target))
		})
	})
}

func doneText(k monitor.ActionKind, c monitor.Call, target string) string {
	switch {
	case k.Monitoring():
		return trf("msg.ringing_you", "Label", monitorLabel(k, c))
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

// agentPicker is the transfer dialog's list of agents with availability and search.
type agentPicker struct {
	all      []monitor.Agent
	shown    []monitor.Agent
	exclude  string
	selected string
	list     *widget.List
	search   *widget.Entry
	status   *widget.Label
	onPick   func(id string)
}

func newAgentPicker(exclude string) *agentPicker {
	p := &agentPicker{exclude: exclude}
	p.search = widget.NewEntry()
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
			label := a.ID
			if a.Name != "" && a.Name != a.ID {
				label = a.Name + " (" + a.ID + ")"
			}
			if len(a.Queues) > 0 {
				label += " · " + strings.Join(a.Queues, ", ")
			}
			name.SetText(label)
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

func (p *agentPicker) setAgents(agents []monitor.Agent) {
	p.all = nil
	for _, a := range agents {
		if a.ID != p.exclude {
			p.all = append(p.all, a)
		}
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
	p.list.UnselectAll()
	p.selected = ""
	if p.onPick != nil {
		p.onPick("")
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
	intro := widget.NewLabel(trf("transfer.body", "Call", c.ID, "Customer", fmtPhone(c.Customer), "Agent", orDash(c.LastAgent)))
	intro.Wrapping = fyne.TextWrapWord
	content := container.NewBorder(container.NewVBox(intro, p.search), p.status, nil, nil, p.list)
	u.picker = p
	sd := u.customConfirm(tr("transfer.title"), content, tr("transfer.confirm"), false, func() {
		u.picker = nil
		u.perform(monitor.ActTransfer, c, p.selected)
	}, func() {
		u.picker = nil
		u.audit(AuditEntry{Action: monitor.ActTransfer.String(), CallID: c.ID, Agent: c.LastAgent, Customer: c.Customer, Result: "cancelled"})
	})
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
	u.spawn(func() {
		ctx, cancel := context.WithTimeout(u.ctx, actionTimeout)
		agents, err := u.o.Driver.Agents(ctx)
		cancel()
		fyne.Do(func() {
			if err != nil {
				p.status.SetText(errorText(err))
				return
			}
			p.setAgents(agents)
		})
	})
}
