package ui

import (
	"context"
	"image/color"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/earshot-app/earshot/monitor"
)

// modeDigits are the DTMF digits that switch a ChanSpy session's mode on Asterisk.
var modeDigits = map[monitor.MonitorMode]string{
	monitor.MonitorListen:  "4",
	monitor.MonitorWhisper: "5",
	monitor.MonitorBarge:   "6",
}

// callPanel is the softphone's face: registration state, the ring panel of an incoming
// call, the controls of the call in progress and a dial pad.
type callPanel struct {
	u    *UI
	root fyne.CanvasObject
	box  *fyne.Container

	regDot  *canvas.Circle
	regText *widget.Label

	ring      *fyne.Container
	ringTitle *widget.Label
	ringLabel *widget.Label
	answer    *widget.Button
	decline   *widget.Button

	active      *fyne.Container
	activeTitle *widget.Label
	activeLabel *widget.Label
	timer       *widget.Label
	mute        *widget.Button
	hold        *widget.Button
	hangup      *widget.Button
	modeRow     *fyne.Container
	modeBtns    map[monitor.MonitorMode]*widget.Button
	volume      *widget.Slider
	mic         *widget.ProgressBar
	speaker     *widget.ProgressBar

	dialEntry *widget.Entry
	dialBtn   *widget.Button
	sent      *widget.Label

	calls    map[string]PhoneCall
	ringID   string
	activeID string
	// sessions are the monitoring requests of the softphone's monitoring calls, by
	// softphone call ID.
	sessions map[string]*monitorRequest
	// requested is the mode last asked for in the monitoring session (the action, a
	// mode button, a dial pad key): shown while the board does not say.
	requested monitor.MonitorMode
	// shown is what the call card shows of the session, to redraw only on a change.
	shown sessionView
}

// sessionView is what the call card shows of a monitoring session.
type sessionView struct {
	mode   monitor.MonitorMode
	stolen bool
}

func newCallPanel(u *UI) *callPanel {
	p := &callPanel{u: u, calls: make(map[string]PhoneCall), sessions: make(map[string]*monitorRequest),
		modeBtns: make(map[monitor.MonitorMode]*widget.Button)}
	p.regDot = canvas.NewCircle(theme.Color(theme.ColorNameDisabled))
	p.regText = widget.NewLabel(tr("phone.none"))
	p.regText.Wrapping = fyne.TextWrapWord
	reg := container.NewBorder(nil, nil, dotBox(p.regDot), nil, p.regText)

	// ring panel
	p.ringTitle = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	p.ringLabel = widget.NewLabel("")
	p.ringLabel.Wrapping = fyne.TextWrapWord
	p.answer = widget.NewButtonWithIcon(tr("phone.answer"), theme.ConfirmIcon(), p.doAnswer)
	p.answer.Importance = widget.SuccessImportance
	p.decline = widget.NewButtonWithIcon(tr("phone.decline"), theme.CancelIcon(), p.doDecline)
	p.decline.Importance = widget.DangerImportance
	ringBG := canvas.NewRectangle(withAlpha(theme.Color(theme.ColorNameWarning), 0x40))
	ringBG.CornerRadius = 8
	p.ring = container.NewStack(ringBG, container.NewPadded(container.NewVBox(
		p.ringTitle, p.ringLabel, container.NewGridWithColumns(2, p.answer, p.decline))))
	p.ring.Hide()

	// call in progress
	p.activeTitle = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	p.activeLabel = widget.NewLabel("")
	p.activeLabel.Wrapping = fyne.TextWrapWord
	p.timer = widget.NewLabelWithStyle("0:00", fyne.TextAlignTrailing, fyne.TextStyle{Monospace: true})
	p.mute = widget.NewButtonWithIcon(tr("phone.mute"), theme.VolumeMuteIcon(), p.toggleMute)
	p.hold = widget.NewButtonWithIcon(tr("phone.hold"), theme.MediaPauseIcon(), p.toggleHold)
	p.hangup = widget.NewButtonWithIcon(tr("phone.hangup"), theme.CancelIcon(), p.doHangup)
	p.hangup.Importance = widget.DangerImportance
	for _, m := range []monitor.MonitorMode{monitor.MonitorListen, monitor.MonitorWhisper, monitor.MonitorBarge} {
		m := m
		p.modeBtns[m] = widget.NewButton(monitorModeText(m), func() { p.switchMode(m) })
	}
	p.modeRow = container.NewGridWithColumns(3, p.modeBtns[monitor.MonitorListen], p.modeBtns[monitor.MonitorWhisper], p.modeBtns[monitor.MonitorBarge])
	p.volume = widget.NewSlider(0, 1)
	p.volume.Step = 0.05
	p.volume.Value = 1
	p.volume.OnChanged = func(v float64) {
		if u.o.Phone != nil {
			u.o.Phone.SetVolume(v)
		}
	}
	p.mic = widget.NewProgressBar()
	p.mic.TextFormatter = func() string { return "" }
	p.speaker = widget.NewProgressBar()
	p.speaker.TextFormatter = func() string { return "" }
	activeBG := canvas.NewRectangle(withAlpha(theme.Color(theme.ColorNameSuccess), 0x30))
	activeBG.CornerRadius = 8
	p.active = container.NewStack(activeBG, container.NewPadded(container.NewVBox(
		container.NewBorder(nil, nil, nil, p.timer, p.activeTitle),
		p.activeLabel,
		p.modeRow,
		container.NewGridWithColumns(3, p.mute, p.hold, p.hangup),
		container.NewBorder(nil, nil, widget.NewIcon(theme.VolumeUpIcon()), nil, p.volume),
		container.NewBorder(nil, nil, widget.NewLabel(tr("phone.mic")), nil, p.mic),
		container.NewBorder(nil, nil, widget.NewLabel(tr("phone.speaker")), nil, p.speaker),
	)))
	p.active.Hide()

	// dial pad
	p.dialEntry = widget.NewEntry()
	p.dialEntry.PlaceHolder = tr("phone.dial_placeholder")
	p.dialEntry.OnSubmitted = func(string) { p.doDial() }
	back := widget.NewButtonWithIcon("", theme.ContentUndoIcon(), func() {
		t := p.dialEntry.Text
		if t != "" {
			_, size := lastRune(t)
			p.dialEntry.SetText(t[:len(t)-size])
		}
	})
	keys := container.NewGridWithColumns(3)
	for _, d := range []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"} {
		d := d
		keys.Add(widget.NewButton(d, func() { p.digit(d) }))
	}
	p.dialBtn = widget.NewButtonWithIcon(tr("phone.call"), theme.MediaPlayIcon(), p.doDial)
	p.dialBtn.Importance = widget.SuccessImportance
	p.sent = widget.NewLabel("")
	p.sent.Importance = widget.LowImportance
	pad := container.NewVBox(
		widget.NewLabelWithStyle(tr("phone.dial_pad"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		container.NewBorder(nil, nil, nil, back, p.dialEntry),
		keys, p.dialBtn, p.sent)

	title := widget.NewLabelWithStyle(tr("phone.title"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	p.box = container.NewVBox(title, reg, p.ring, p.active, widget.NewSeparator(), pad)
	p.root = container.NewVScroll(p.box)
	p.render()
	return p
}

// dotBox holds a status dot level with the first line of a label beside it.
func dotBox(dot *canvas.Circle) fyne.CanvasObject {
	h := widget.NewLabel("X").MinSize().Height
	return container.NewVBox(container.NewGridWrap(fyne.NewSize(12, h), container.NewCenter(container.NewGridWrap(fyne.NewSize(12, 12), dot))))
}

// withAlpha returns c with its alpha replaced by a.
func withAlpha(c color.Color, a uint8) color.Color {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	n.A = a
	return n
}

func lastRune(s string) (rune, int) {
	r := []rune(s)
	if len(r) == 0 {
		return 0, 0
	}
	return r[len(r)-1], len(string(r[len(r)-1]))
}

// setRegistration shows the softphone's registration state.
func (p *callPanel) setRegistration(r Registration) {
	switch r.State {
	case RegRegistered:
		p.regDot.FillColor = theme.Color(theme.ColorNameSuccess)
		p.regText.SetText(trf("phone.registered", "Account", r.Account))
	case RegRegistering:
		p.regDot.FillColor = theme.Color(theme.ColorNameWarning)
		p.regText.SetText(trf("phone.registering", "Account", r.Account))
	case RegFailed:
		p.regDot.FillColor = theme.Color(theme.ColorNameError)
		p.regText.SetText(trf("phone.failed", "Account", r.Account, "Reason", regFailureText(r.Failure)))
	default:
		p.regDot.FillColor = theme.Color(theme.ColorNameDisabled)
		p.regText.SetText(tr("phone.none"))
	}
	p.regDot.Refresh()
}

// onCall takes a call event: a new ringing call raises the ring panel. The first
// monitoring call after a monitoring action is that action's call.
func (p *callPanel) onCall(c PhoneCall) {
	_, seen := p.calls[c.ID]
	if req := p.u.monReq; c.Monitoring && p.sessions[c.ID] == nil && req != nil && req.phoneCallID == "" &&
		(c.Label == "" || c.Label == req.label) {
		req.phoneCallID = c.ID
		p.sessions[c.ID] = req
		p.requested = modeOf(req.kind)
	}
	if req := p.sessions[c.ID]; req != nil {
		switch {
		case c.State == CallRinging:
			req.rang = true
		case c.Live():
			req.answered = true
		case c.State == CallEnded && c.End == EndDeclined:
			req.declined = true
		}
	}
	if c.State == CallEnded {
		delete(p.calls, c.ID)
		delete(p.sessions, c.ID)
		if seen {
			p.u.callEnded(c)
		}
	} else {
		p.calls[c.ID] = c
	}
	if !seen && c.Incoming && c.State == CallRinging {
		p.u.incomingCall(c)
	}
	p.render()
}

// session describes the monitoring session of a softphone call from the board: the
// mode the PBX reports for the watched call (the mode last asked for while it does not
// say), whether the call was taken over, and the label to show.
func (p *callPanel) session(c PhoneCall) (v sessionView, label string) {
	req := p.sessions[c.ID]
	v.mode = p.requested
	if v.mode == monitor.MonitorNone {
		v.mode = monitor.MonitorListen
	}
	if req == nil {
		return v, callLabel(c)
	}
	bc, onBoard := p.u.o.Board.Get(req.call.ID)
	if req.kind == monitor.ActSteal {
		v.mode, v.stolen = monitor.MonitorNone, true
		return v, trf("label.stolen", "Customer", fmtPhone(req.call.Customer), "Agent", orDash(req.call.LastAgent))
	}
	if onBoard {
		switch bc.Monitor {
		case monitor.MonitorListen, monitor.MonitorWhisper, monitor.MonitorBarge:
			v.mode = bc.Monitor
		}
	}
	return v, monitorLabel(kindOf(v.mode), req.call)
}

// currentMode is the mode of the live monitoring session (MonitorNone without one).
func (p *callPanel) currentMode() monitor.MonitorMode {
	c, ok := p.liveCall()
	if !ok || !c.Monitoring {
		return monitor.MonitorNone
	}
	v, _ := p.session(c)
	return v.mode
}

// syncBoard redraws the call card when the board changed what it shows of the
// monitoring session (the mode switched by a dial pad key, a steal completed).
func (p *callPanel) syncBoard() {
	c, ok := p.liveCall()
	if !ok || !c.Monitoring {
		return
	}
	if v, _ := p.session(c); v != p.shown {
		p.render()
	}
}

// liveCall returns the call shown in the active card.
func (p *callPanel) liveCall() (PhoneCall, bool) {
	c, ok := p.calls[p.activeID]
	return c, ok
}

// render shows the ring panel and the call card for the calls, and lays the panel out
// again when a card appeared or went.
func (p *callPanel) render() {
	ring, active, modes := p.ring.Visible(), p.active.Visible(), p.modeRow.Visible()
	p.renderCards()
	if ring != p.ring.Visible() || active != p.active.Visible() || modes != p.modeRow.Visible() {
		p.box.Refresh()
	}
}

func (p *callPanel) renderCards() {
	p.ringID, p.activeID = "", ""
	var ringC, actC PhoneCall
	for _, c := range p.calls {
		switch {
		case c.Incoming && c.State == CallRinging:
			if p.ringID == "" || c.Created.Before(ringC.Created) {
				p.ringID, ringC = c.ID, c
			}
		case c.State == CallActive || c.State == CallHeld || c.State == CallDialing:
			if p.activeID == "" || c.Created.Before(actC.Created) {
				p.activeID, actC = c.ID, c
			}
		}
	}
	if p.ringID != "" {
		if ringC.Monitoring {
			p.ringTitle.SetText(tr("phone.incoming_monitoring"))
		} else {
			p.ringTitle.SetText(tr("phone.incoming"))
		}
		p.ringLabel.SetText(callLabel(ringC))
		p.ring.Show()
	} else {
		p.ring.Hide()
	}
	if p.activeID == "" {
		p.active.Hide()
		p.requested = monitor.MonitorNone
		p.shown = sessionView{}
		p.u.levelsOn.Store(false)
		p.mic.SetValue(0)
		p.speaker.SetValue(0)
		return
	}
	switch actC.State {
	case CallDialing:
		p.activeTitle.SetText(tr("phone.dialing"))
	case CallHeld:
		p.activeTitle.SetText(tr("phone.on_hold"))
	default:
		switch {
		case p.sessions[actC.ID] != nil && p.sessions[actC.ID].kind == monitor.ActSteal:
			p.activeTitle.SetText(tr("phone.taken_over"))
		case actC.Monitoring:
			p.activeTitle.SetText(tr("phone.monitoring"))
		default:
			p.activeTitle.SetText(tr("phone.in_call"))
		}
	}
	view, label := sessionView{}, callLabel(actC)
	if actC.Monitoring {
		view, label = p.session(actC)
	}
	p.shown = view
	p.activeLabel.SetText(label)
	if actC.Muted {
		p.mute.SetText(tr("phone.unmute"))
		p.mute.Importance = widget.WarningImportance
	} else {
		p.mute.SetText(tr("phone.mute"))
		p.mute.Importance = widget.MediumImportance
	}
	p.mute.Refresh()
	if actC.Held {
		p.hold.SetText(tr("phone.resume"))
		p.hold.SetIcon(theme.MediaPlayIcon())
	} else {
		p.hold.SetText(tr("phone.hold"))
		p.hold.SetIcon(theme.MediaPauseIcon())
	}
	live := actC.Live()
	for _, b := range []*widget.Button{p.mute, p.hold} {
		if live {
			b.Enable()
		} else {
			b.Disable()
		}
	}
	if actC.Monitoring && live && !view.stolen {
		for m, b := range p.modeBtns {
			if m == view.mode {
				b.Importance = widget.HighImportance
			} else {
				b.Importance = widget.MediumImportance
			}
			b.Refresh()
		}
		p.modeRow.Show()
	} else {
		p.modeRow.Hide()
	}
	p.tick(time.Now())
	p.u.levelsOn.Store(live)
	p.active.Show()
}

// tick updates the call timer.
func (p *callPanel) tick(now time.Time) {
	c, ok := p.liveCall()
	if !ok {
		return
	}
	if c.Answered.IsZero() {
		p.timer.SetText(fmtDuration(now.Sub(c.Created)))
		return
	}
	p.timer.SetText(fmtDuration(now.Sub(c.Answered)))
}

func (p *callPanel) setLevels(mic, spk float64) {
	p.mic.SetValue(clamp01(mic))
	p.speaker.SetValue(clamp01(spk))
}

func clamp01(v float64) float64 { return max(0, min(1, v)) }

// callLabel is how a softphone call is described to the supervisor.
func callLabel(c PhoneCall) string {
	if c.Label != "" {
		return c.Label
	}
	name, num := strings.TrimSpace(c.RemoteName), fmtPhone(c.RemoteNumber)
	switch {
	case name != "" && num != "" && name != c.RemoteNumber:
		return name + " (" + num + ")"
	case num != "":
		return num
	case name != "":
		return name
	}
	return tr("phone.unknown_caller")
}

func (p *callPanel) phoneDo(what string, f func(ctx context.Context) error) {
	ph := p.u.o.Phone
	if ph == nil {
		return
	}
	p.u.spawn(func() {
		ctx, cancel := context.WithTimeout(p.u.ctx, actionTimeout)
		err := f(ctx)
		cancel()
		if err != nil {
			p.u.log.Warn("softphone", "what", what, "err", err)
			fyne.Do(func() { p.u.setMessage(trf("phone.error", "Detail", phoneErrorText(err))) })
		}
	})
}

func (p *callPanel) doAnswer() {
	id := p.ringID
	if id == "" {
		return
	}
	p.phoneDo("answer", func(ctx context.Context) error { return p.u.o.Phone.Answer(ctx, id) })
}

func (p *callPanel) doDecline() {
	id := p.ringID
	if id == "" {
		return
	}
	if req := p.sessions[id]; req != nil {
		req.declined = true
	}
	p.phoneDo("decline", func(context.Context) error { return p.u.o.Phone.Decline(id) })
}

func (p *callPanel) doHangup() {
	id := p.activeID
	if id == "" {
		return
	}
	p.phoneDo("hangup", func(ctx context.Context) error { return p.u.o.Phone.Hangup(ctx, id) })
}

func (p *callPanel) toggleMute() {
	c, ok := p.liveCall()
	if !ok {
		return
	}
	p.phoneDo("mute", func(context.Context) error { return p.u.o.Phone.SetMuted(c.ID, !c.Muted) })
}

func (p *callPanel) toggleHold() {
	c, ok := p.liveCall()
	if !ok {
		return
	}
	p.phoneDo("hold", func(ctx context.Context) error { return p.u.o.Phone.SetHeld(ctx, c.ID, !c.Held) })
}

// switchMode changes a monitoring session between listen, whisper and barge by DTMF.
func (p *callPanel) switchMode(m monitor.MonitorMode) {
	c, ok := p.liveCall()
	if !ok || !c.Monitoring || m == p.currentMode() {
		return
	}
	p.sendMode(c, m)
}

// sendMode sends the DTMF digit of a mode on a monitoring call and writes the switch
// to the audit log.
func (p *callPanel) sendMode(c PhoneCall, m monitor.MonitorMode) {
	digit := modeDigits[m]
	ph := p.u.o.Phone
	var mc monitor.Call
	if req := p.sessions[c.ID]; req != nil {
		mc = req.call
	}
	sup := p.u.supervisor()
	p.u.spawn(func() {
		err := ph.SendDTMF(c.ID, digit)
		res := "ok"
		if err != nil {
			res = "failed"
			p.u.log.Warn("softphone", "what", "mode switch", "err", err)
		}
		p.u.audit(AuditEntry{Supervisor: sup, Action: "mode_" + strings.ToLower(m.String()), CallID: mc.ID,
			Agent: mc.LastAgent, Customer: mc.Customer, Result: res})
		fyne.Do(func() {
			if err != nil {
				p.u.setMessage(trf("phone.error", "Detail", phoneErrorText(err)))
				return
			}
			p.requested = m
			p.u.setMessage(trf("msg.mode", "Mode", monitorModeText(m)))
			p.render()
		})
	})
}

// digit handles a dial pad key: DTMF during a call, otherwise part of the number. In
// a monitoring session 4, 5 and 6 switch the mode, as the mode buttons do (the board
// then shows it).
func (p *callPanel) digit(d string) {
	if c, ok := p.liveCall(); ok && c.Live() && p.u.o.Phone != nil {
		p.sent.SetText(p.sent.Text + d)
		if req := p.sessions[c.ID]; c.Monitoring && (req == nil || req.kind != monitor.ActSteal) {
			for m, md := range modeDigits {
				if md == d {
					p.sendMode(c, m)
					return
				}
			}
		}
		p.phoneDo("dtmf", func(context.Context) error { return p.u.o.Phone.SendDTMF(c.ID, d) })
		return
	}
	p.dialEntry.SetText(p.dialEntry.Text + d)
}

func (p *callPanel) doDial() {
	target := strings.TrimSpace(p.dialEntry.Text)
	if target == "" || p.u.o.Phone == nil {
		return
	}
	p.sent.SetText("")
	ph := p.u.o.Phone
	// no timeout: the call rings as long as the far end lets it; Hang up cancels it
	p.u.spawn(func() {
		if _, err := ph.Dial(p.u.ctx, target); err != nil {
			p.u.log.Info("softphone dial", "target", target, "err", err)
			fyne.Do(func() { p.u.setMessage(trf("phone.error", "Detail", phoneErrorText(err))) })
		}
	})
}
