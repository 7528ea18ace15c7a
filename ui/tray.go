package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"

	"github.com/earshot-app/earshot/monitor"
)

// trayState is what the tray icon shows.
type trayState uint8

const (
	trayIdle    trayState = iota // connecting
	trayOK                       // feed connected, softphone registered (or none configured)
	trayInCall                   // the supervisor is in a call
	trayProblem                  // feed lost or registration failed
)

// tray is the system tray icon and its menu: Show Earshot, Do not disturb, Auto-answer
// monitoring calls, Quit. Platforms without a tray (and tests) get a tray that only
// tracks its state.
type tray struct {
	u     *UI
	desk  desktop.App
	state trayState
	set   bool
	menu  *fyne.Menu
	dnd   *fyne.MenuItem
	auto  *fyne.MenuItem
}

func newTray(u *UI) *tray {
	t := &tray{u: u}
	t.dnd = fyne.NewMenuItem(tr("tray.dnd"), func() { t.toggleDND() })
	t.auto = fyne.NewMenuItem(tr("tray.auto_answer"), func() { t.toggleAuto() })
	t.dnd.Checked = u.cfg.SIP.DoNotDisturb
	t.auto.Checked = u.cfg.AutoAnswerMonitoring
	show := fyne.NewMenuItem(tr("tray.show"), func() {
		u.win.Show()
		u.win.RequestFocus()
	})
	quit := fyne.NewMenuItem(tr("Quit"), func() { u.app.Quit() })
	quit.IsQuit = true
	t.menu = fyne.NewMenu("Earshot", show, fyne.NewMenuItemSeparator(), t.dnd, t.auto, fyne.NewMenuItemSeparator(), quit)
	if d, ok := u.app.(desktop.App); ok {
		t.desk = d
		d.SetSystemTrayMenu(t.menu)
	}
	t.update()
	return t
}

func (t *tray) toggleDND() {
	c := t.u.cfg
	c.SIP.DoNotDisturb = !c.SIP.DoNotDisturb
	t.u.setConfig(c)
	t.dnd.Checked = c.SIP.DoNotDisturb
	t.u.saveConfig()
	t.menu.Refresh()
	t.u.auditLater(AuditEntry{Action: "do_not_disturb", Result: onOff(t.dnd.Checked)})
}

func (t *tray) toggleAuto() {
	c := t.u.cfg
	c.AutoAnswerMonitoring = !c.AutoAnswerMonitoring
	t.u.setConfig(c)
	t.auto.Checked = c.AutoAnswerMonitoring
	t.u.saveConfig()
	t.menu.Refresh()
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// current works out the state from the feed, the registration and the calls: OK only
// once the feed is connected and the softphone (when there is one) registered.
func (t *tray) current() trayState {
	u := t.u
	feed := u.lastSnap.Feed.State
	if feed == monitor.FeedLost || (u.o.Phone != nil && u.reg.State == RegFailed) {
		return trayProblem
	}
	if _, ok := u.panel.liveCall(); ok || u.panel.ringID != "" {
		return trayInCall
	}
	if feed == monitor.FeedConnected && (u.o.Phone == nil || u.reg.State == RegRegistered) {
		return trayOK
	}
	return trayIdle
}

func (t *tray) update() {
	s := t.current()
	if t.set && s == t.state {
		return
	}
	t.state, t.set = s, true
	if t.desk == nil {
		return
	}
	switch s {
	case trayOK:
		t.desk.SetSystemTrayIcon(trayIconOK)
	case trayInCall:
		t.desk.SetSystemTrayIcon(trayIconCall)
	case trayProblem:
		t.desk.SetSystemTrayIcon(trayIconProblem)
	default:
		t.desk.SetSystemTrayIcon(trayIconIdle)
	}
}
