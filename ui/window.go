// Package ui is Earshot's desktop interface on Fyne: the supervisor window with the
// wallboard, the filter bar, the live call grid and its actions, the softphone's call
// panel, the tray icon, notifications, settings and the activity (audit) view.
//
// Widgets never hold the truth: the grid renders immutable monitor.Snapshot values taken
// from the monitor.Board, and every change made from another goroutine goes through
// fyne.Do. The package talks to the PBX through monitor.Driver, to the softphone through
// the Softphone interface and to sound devices through AudioSettings.
package ui

import (
	"context"
	"image/color"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/earshot-app/earshot/config"
	"github.com/earshot-app/earshot/monitor"
)

// AppID is Earshot's application ID (the same as in FyneApp.toml); Fyne keeps the
// preferences under it.
const AppID = "app.earshot.desktop"

// Options are what the supervisor window is built from.
type Options struct {
	// App is the Fyne application (app.NewWithID(AppID), or test.NewTempApp in tests).
	App fyne.App
	// Driver is the PBX driver the board is fed by; actions go to it.
	Driver monitor.Driver
	// Board is the live call table the driver feeds.
	Board *monitor.Board
	// Phone is the softphone, or nil when none is configured.
	Phone Softphone
	// Audio offers devices, a test tone and a microphone meter to the settings
	// dialog, or is nil.
	Audio AudioSettings
	// Config is the settings the app started with.
	Config config.Config
	// SaveConfig writes the settings (config.Save); nil disables saving.
	SaveConfig func(config.Config) error
	// TestPBX logs in to the PBX described by cfg with the given secret and returns
	// nil on success; it backs the Test button of the PBX settings.
	TestPBX func(ctx context.Context, cfg config.Config, secret string) error
	// TestSIP registers the SIP account described by cfg with the given password once.
	TestSIP func(ctx context.Context, cfg config.Config, password string) error
	// Audit receives every supervisor action; nil disables the audit log.
	Audit *AuditLog
	// Logger receives the window's logs (slog.Default when nil).
	Logger *slog.Logger
	// Tick is the period of the grid's update (time in status); one second when zero.
	Tick time.Duration
}

// UI is the supervisor window and everything around it.
type UI struct {
	o     Options
	app   fyne.App
	win   fyne.Window
	log   *slog.Logger
	cfg   config.Config
	prefs fyne.Preferences
	ctx   context.Context

	grid     *callGrid
	filter   *filterBar
	wall     *wallboard
	actions  *actionBar
	panel    *callPanel
	activity *activityView
	tabs     *container.AppTabs

	feedDot   *canvas.Circle
	feedText  *widget.Label
	countText *widget.Label
	message   *widget.Label
	empty     *widget.Label
	emptyBox  *fyne.Container
	demoBadge fyne.CanvasObject

	notify *notifier
	tray   *tray

	dialog   *shownDialog
	picker   *agentPicker
	settings *settingsForm

	qmu   sync.Mutex
	query monitor.Query

	reg Registration
	// monReq is the last monitoring action sent to the PBX.
	monReq *monitorRequest
	// supName is the supervisor's name for goroutines (u.cfg belongs to the UI
	// goroutine); setConfig keeps it current.
	supName atomic.Pointer[string]
	// longWait is the long-wait threshold for the refresh goroutine.
	longWait atomic.Int64
	// waitScan is when the board was last scanned for long waits (Unix ns).
	waitScan    atomic.Int64
	levelsOn    atomic.Bool
	pending     atomic.Bool
	lastStats   []monitor.QueueStats
	lastSnap    monitor.Snapshot
	started     bool
	readyLogged bool
	// bg counts the goroutines started for actions, so tests can wait for them.
	bg sync.WaitGroup
}

// New builds the supervisor window (not shown yet). Call Start to connect it to the
// board and the softphone, then ShowAndRun the window.
func New(o Options) *UI {
	loadTranslations()
	u := &UI{o: o, app: o.App, cfg: o.Config, log: o.Logger, ctx: context.Background()}
	if u.log == nil {
		u.log = slog.Default()
	}
	if u.o.Tick <= 0 {
		u.o.Tick = time.Second
	}
	u.setConfig(o.Config)
	u.prefs = u.app.Preferences()
	u.win = u.app.NewWindow(tr("app.title"))
	u.win.SetIcon(appIcon)

	u.grid = newCallGrid(u.prefs)
	u.grid.longWait = time.Duration(u.cfg.LongWait)
	u.grid.me = u.cfg.Supervisor
	u.grid.onSelect = u.selectionChanged
	u.grid.exists = func(id string) bool { _, ok := u.o.Board.Get(id); return ok }
	u.grid.onMenu = u.showActionMenu
	u.grid.onSort = func(col monitor.Column, desc bool) {
		u.prefs.SetString(prefSortCol, col.String())
		u.prefs.SetBool(prefSortDesc, desc)
		u.setQuery()
		u.refreshNow()
	}
	if col, ok := monitor.ParseColumn(u.prefs.StringWithFallback(prefSortCol, monitor.ColStartTime.String())); ok {
		u.grid.sortCol = col
	} else {
		u.grid.sortCol = monitor.ColStartTime
	}
	u.grid.desc = u.prefs.Bool(prefSortDesc)
	u.grid.setColumns(visibleColumns(u.prefs))

	u.filter = newFilterBar(u.prefs, func() fyne.Window { return u.win })
	u.filter.onChange = func() { u.setQuery(); u.refreshNow() }
	u.wall = newWallboard()
	u.wall.longWait = time.Duration(u.cfg.LongWait)
	u.actions = newActionBar(u.requestAction)
	u.panel = newCallPanel(u)
	u.activity = newActivityView(u.o.Audit)
	u.notify = newNotifier(u.app)
	u.notify.longWait = time.Duration(u.cfg.LongWait)
	u.setQuery()

	u.feedDot = canvas.NewCircle(theme.Color(theme.ColorNameDisabled))
	u.feedText = widget.NewLabel(tr("feed.connecting"))
	u.countText = widget.NewLabel("")
	u.message = widget.NewLabel("")
	u.message.Truncation = fyne.TextTruncateEllipsis

	u.buildLayout()
	u.installShortcuts()
	u.win.SetMainMenu(u.mainMenu())
	u.tray = newTray(u)
	u.actions.update(nil, u.o.Driver.Permissions(), u.phoneReg(), u.cfg.Supervisor)
	if u.o.Phone != nil {
		u.reg = u.o.Phone.Registration()
		u.panel.setRegistration(u.reg)
	}
	return u
}

// Window returns the supervisor window.
func (u *UI) Window() fyne.Window { return u.win }

func (u *UI) buildLayout() {
	title := widget.NewLabelWithStyle(tr("app.heading"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	title.SizeName = theme.SizeNameSubHeadingText
	var badge fyne.CanvasObject = layoutSpacer()
	if u.o.Driver.Name() == "demo" {
		bg := canvas.NewRectangle(withAlpha(theme.Color(theme.ColorNamePrimary), 0x50))
		bg.CornerRadius = 6
		l := widget.NewLabelWithStyle(tr("app.demo_badge"), fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
		badge = container.NewStack(bg, l)
	}
	u.demoBadge = badge
	settings := newTipButton(tr("menu.settings"), theme.SettingsIcon(), tr("tip.settings"), u.showSettings)
	head := container.NewBorder(nil, nil, container.NewHBox(title, container.NewCenter(badge)), settings)

	status := container.NewBorder(nil, nil,
		container.NewHBox(dotBox(u.feedDot), u.feedText, widget.NewSeparator(), u.countText),
		nil, u.message)

	u.empty = widget.NewLabelWithStyle("", fyne.TextAlignCenter, fyne.TextStyle{Italic: true})
	u.empty.Importance = widget.LowImportance
	u.empty.Hide()
	u.emptyBox = container.NewCenter(u.empty)
	callsTab := container.NewBorder(container.NewVBox(u.filter.root, u.actions.root), nil, nil, nil,
		container.NewStack(u.grid.table, u.emptyBox))
	u.tabs = container.NewAppTabs(
		container.NewTabItemWithIcon(tr("tab.calls"), theme.ListIcon(), callsTab),
		container.NewTabItemWithIcon(tr("tab.activity"), theme.HistoryIcon(), u.activity.root),
	)
	split := container.NewHSplit(u.tabs, u.panel.root)
	split.SetOffset(0.8)
	body := container.NewBorder(container.NewVBox(head, u.wall.root), status, nil, nil, split)
	u.win.SetContent(withTooltips(u.win.Canvas(), body))
	u.win.Resize(fyne.NewSize(1500, 860))
}

func layoutSpacer() fyne.CanvasObject { return canvas.NewRectangle(color.Transparent) }

func (u *UI) mainMenu() *fyne.MainMenu {
	settings := fyne.NewMenuItem(tr("menu.settings_ellipsis"), u.showSettings)
	settings.Icon = theme.SettingsIcon()
	file := fyne.NewMenu(tr("menu.file"), settings)
	find := fyne.NewMenuItem(tr("menu.find"), u.focusSearch)
	find.Shortcut = &desktopShortcutFind
	view := fyne.NewMenu(tr("menu.view"),
		fyne.NewMenuItem(tr("tab.calls"), func() { u.tabs.SelectIndex(0) }),
		fyne.NewMenuItem(tr("tab.activity"), func() { u.tabs.SelectIndex(1) }),
		fyne.NewMenuItemSeparator(),
		find,
		fyne.NewMenuItem(tr("filter.clear"), func() { u.filter.reset() }),
	)
	// The actions with their shortcuts: the desktop driver looks main-menu shortcuts
	// up before the focused widget, so they work while the search box has the focus.
	var calls []*fyne.MenuItem
	for _, k := range monitor.ActionKinds {
		k := k
		label := actionText(k)
		if k == monitor.ActTransfer {
			label = tr("action.transfer_ellipsis")
		}
		it := fyne.NewMenuItem(label, func() { u.requestAction(k) })
		it.Icon = actionIcon(k)
		it.Shortcut = actionShortcuts[k]
		if k == monitor.ActSteal {
			calls = append(calls, fyne.NewMenuItemSeparator())
		}
		calls = append(calls, it)
	}
	call := fyne.NewMenu(tr("menu.call"), calls...)
	about := fyne.NewMenuItem(tr("menu.about"), u.showAbout)
	help := fyne.NewMenu(tr("menu.help"), about)
	return fyne.NewMainMenu(file, view, call, help)
}

// focusSearch puts the keyboard focus in the search box (not while a dialog is open).
func (u *UI) focusSearch() {
	if u.dialogOpen() {
		return
	}
	u.tabs.SelectIndex(0)
	u.win.Canvas().Focus(u.filter.search)
}

// installShortcuts registers the action shortcuts on the canvas too (for drivers
// without a main menu).
func (u *UI) installShortcuts() {
	c := u.win.Canvas()
	for k, sc := range actionShortcuts {
		k := k
		c.AddShortcut(sc, func(fyne.Shortcut) { u.requestAction(k) })
	}
	c.AddShortcut(&desktopShortcutFind, func(fyne.Shortcut) { u.focusSearch() })
}

// setQuery rebuilds the query from the filter bar and the sort order.
func (u *UI) setQuery() {
	q := u.filter.query()
	q.Sort, q.Desc = u.grid.sortCol, u.grid.desc
	u.qmu.Lock()
	u.query = q
	u.qmu.Unlock()
}

func (u *UI) currentQuery() monitor.Query {
	u.qmu.Lock()
	defer u.qmu.Unlock()
	q := u.query
	q.Queues = append([]string(nil), q.Queues...)
	q.Agents = append([]string(nil), q.Agents...)
	q.Statuses = append([]monitor.Status(nil), q.Statuses...)
	q.Directions = append([]monitor.Direction(nil), q.Directions...)
	return q
}

// refreshNow takes a snapshot and shows it at once (on the UI goroutine).
func (u *UI) refreshNow() {
	s := u.o.Board.Snapshot(u.currentQuery())
	stats := u.o.Board.Stats()
	waits, ok := u.longWaiting(stats, s)
	u.apply(s, stats, waits, ok)
}

// longWait is a call waiting in a queue for longer than the long-wait threshold.
type longWait struct {
	id, customer, queue string
	wait                time.Duration
}

// longWaiting returns the calls (of every queue, whatever the filters) waiting in a
// queue for longer than the long-wait threshold; ok is false when it did not look
// (the notifier then keeps what it knows). It reads the window's own snapshot when
// that holds every call (no filter), and otherwise takes a snapshot of the waiting
// calls, at most once a second; it looks only when a queue's longest wait says there
// are some. It may run on any goroutine.
func (u *UI) longWaiting(stats []monitor.QueueStats, s monitor.Snapshot) (waits []longWait, ok bool) {
	lw := time.Duration(u.longWait.Load())
	n := 0 // at most this many
	for _, q := range stats {
		if q.Waiting > 0 && q.LongestWait >= lw {
			n += q.Waiting
		}
	}
	if lw <= 0 || n == 0 {
		return nil, true
	}
	calls, at := s.Calls, s.At
	if len(s.Calls) != s.Total {
		now := time.Now().UnixNano()
		if last := u.waitScan.Load(); now-last < int64(time.Second) || !u.waitScan.CompareAndSwap(last, now) {
			return nil, false
		}
		ws := u.o.Board.Snapshot(monitor.Query{Statuses: []monitor.Status{monitor.StatusCalling}})
		calls, at = ws.Calls, ws.At
	}
	waits = make([]longWait, 0, n)
	for i := range calls {
		c := &calls[i]
		if c.Waiting() && at.Sub(c.QueueJoinTime) >= lw {
			waits = append(waits, longWait{id: c.ID, customer: c.Customer, queue: c.Queue, wait: at.Sub(c.QueueJoinTime)})
		}
	}
	return waits, true
}

// apply shows a snapshot and the queue figures, and notifies of the calls waiting
// too long: the per-tick update path.
func (u *UI) apply(s monitor.Snapshot, stats []monitor.QueueStats, waits []longWait, waitsKnown bool) {
	u.lastSnap = s
	u.lastStats = stats
	u.grid.apply(s)
	u.wall.apply(stats)
	queues := make([]string, len(stats))
	for i := range stats {
		queues[i] = stats[i].Queue
	}
	u.filter.setKnownQueues(queues)
	u.countText.SetText(rowCountText(len(s.Calls), s.Total))
	wasEmpty, text := u.empty.Visible(), u.empty.Text
	switch {
	case len(s.Calls) > 0:
		u.empty.Hide()
	case s.Total > 0:
		u.empty.SetText(tr("grid.empty_filtered"))
		u.empty.Show()
	default:
		u.empty.SetText(tr("grid.empty"))
		u.empty.Show()
	}
	if wasEmpty != u.empty.Visible() || text != u.empty.Text {
		u.emptyBox.Refresh()
	}
	u.setFeed(s.Feed)
	if waitsKnown {
		u.notify.longWaits(waits, s.At)
	}
	u.panel.tick(s.At)
	u.panel.syncBoard()
	u.closeIfCallGone()
	u.refreshPicker()
	u.tray.update()
	if !u.readyLogged && len(s.Calls) > 0 {
		// rows drawn by the previous refresh: the window really shows calls
		if n := u.grid.renderedRows(); n >= min(len(s.Calls), 10) {
			u.readyLogged = true
			// where the first column's right border is on the window (in pixels), for
			// a test that drags it from outside
			first := u.grid.cols[0]
			pos := u.app.Driver().AbsolutePositionForObject(u.grid.table)
			scale := u.win.Canvas().Scale()
			u.log.Info("grid ready", "rendered_rows", n, "calls", len(s.Calls), "total", s.Total,
				"first_column", first.String(), "first_width", u.grid.widths[first],
				"border_x", int((pos.X+u.grid.widths[first]+theme.Padding()/2)*scale),
				"header_y", int((pos.Y+theme.Padding()+8)*scale))
		}
	}
}

func (u *UI) setFeed(f monitor.Feed) {
	name := u.o.Driver.Name()
	if name == "demo" {
		name = tr("feed.demo_name")
	} else if name == "asterisk" {
		name = tr("feed.asterisk_name")
	}
	var text string
	var col fyne.ThemeColorName
	switch f.State {
	case monitor.FeedConnected:
		text, col = trf("feed.connected", "Driver", name), theme.ColorNameSuccess
	case monitor.FeedLost:
		text, col = trf("feed.lost", "Driver", name, "Reason", errorText(f.Err)), theme.ColorNameError
	default:
		text, col = trf("feed.connecting_to", "Driver", name), theme.ColorNameWarning
	}
	if u.feedText.Text != text {
		u.feedText.SetText(text)
	}
	c := theme.Color(col)
	if u.feedDot.FillColor != c {
		u.feedDot.FillColor = c
		u.feedDot.Refresh()
	}
	u.notify.feed(f, name)
}

func (u *UI) selectionChanged(c *monitor.Call) {
	u.actions.update(c, u.o.Driver.Permissions(), u.phoneReg(), u.cfg.Supervisor)
}

// phoneReg is the softphone's registration for the action checks (nil: no softphone).
func (u *UI) phoneReg() *Registration {
	if u.o.Phone == nil {
		return nil
	}
	r := u.reg
	return &r
}

// setConfig makes c the settings in use (on the UI goroutine).
func (u *UI) setConfig(c config.Config) {
	u.cfg = c
	name := c.Supervisor
	if name == "" {
		name = defaultSupervisor
	}
	u.supName.Store(&name)
	u.longWait.Store(int64(c.LongWait))
}

// supervisor is the supervisor's name for the audit log; it may be called on any
// goroutine.
func (u *UI) supervisor() string {
	if p := u.supName.Load(); p != nil {
		return *p
	}
	return defaultSupervisor
}

func (u *UI) setMessage(s string) { u.message.SetText(s) }

// spawn runs f on a new goroutine, counted in u.bg.
func (u *UI) spawn(f func()) {
	u.bg.Add(1)
	go func() {
		defer u.bg.Done()
		f()
	}()
}

// Start connects the window to the board (a snapshot on every change, at most four
// times a second, and every Tick for the ticking times) and to the softphone's events,
// until ctx is done.
func (u *UI) Start(ctx context.Context) {
	if u.started {
		return
	}
	u.started = true
	u.ctx = ctx
	u.refreshNow()
	go u.refreshLoop(ctx)
	go u.loadAgents(ctx)
	if u.o.Phone != nil {
		ch, cancel := u.o.Phone.Subscribe()
		go func() {
			<-ctx.Done()
			cancel()
		}()
		go func() {
			for ev := range ch {
				fyne.Do(func() { u.onPhoneEvent(ev) })
			}
		}()
		go u.levelsLoop(ctx)
	}
}

func (u *UI) refreshLoop(ctx context.Context) {
	changed := u.o.Board.Subscribe(ctx, 250*time.Millisecond)
	t := time.NewTicker(u.o.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-changed:
			if !ok {
				return
			}
		case <-t.C:
		}
		if u.pending.Load() {
			continue // the UI has not shown the previous snapshot yet
		}
		s := u.o.Board.Snapshot(u.currentQuery())
		stats := u.o.Board.Stats()
		waits, known := u.longWaiting(stats, s)
		u.pending.Store(true)
		fyne.Do(func() {
			u.pending.Store(false)
			u.apply(s, stats, waits, known)
		})
	}
}

func (u *UI) loadAgents(ctx context.Context) {
	actx, cancel := context.WithTimeout(ctx, actionTimeout)
	agents, err := u.o.Driver.Agents(actx)
	cancel()
	if err != nil {
		u.log.Debug("agent list", "err", err)
		return
	}
	fyne.Do(func() {
		u.filter.setAgents(agents)
		u.setQuery() // an agent typed before the list came may now match by ID or name
		u.refreshNow()
	})
}

func (u *UI) levelsLoop(ctx context.Context) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !u.levelsOn.Load() {
			continue
		}
		mic, spk := u.o.Phone.Levels()
		fyne.Do(func() { u.panel.setLevels(mic, spk) })
	}
}

// onPhoneEvent takes one softphone event on the UI goroutine.
func (u *UI) onPhoneEvent(ev PhoneEvent) {
	switch ev.Kind {
	case PhoneRegistration:
		u.reg = ev.Registration
		u.panel.setRegistration(ev.Registration)
		u.notify.registration(ev.Registration)
		u.selectionChanged(u.selectedPtr())
	case PhoneCallChanged:
		u.panel.onCall(ev.Call)
	}
	u.tray.update()
}

func (u *UI) selectedPtr() *monitor.Call {
	c, ok := u.grid.selectedCall()
	if !ok {
		return nil
	}
	return &c
}

// incomingCall handles a call that starts ringing: do-not-disturb declines ordinary
// calls; otherwise the window comes to the front and a notification says who calls.
func (u *UI) incomingCall(c PhoneCall) {
	if u.cfg.SIP.DoNotDisturb && !c.Monitoring {
		u.setMessage(trf("msg.declined_dnd", "Caller", callLabel(c)))
		if u.o.Phone != nil {
			id := c.ID
			u.spawn(func() {
				if err := u.o.Phone.Decline(id); err != nil {
					u.log.Warn("decline (do not disturb)", "err", err)
				}
			})
		}
		return
	}
	u.win.Show()
	u.win.RequestFocus()
	u.notify.incoming(c)
}

// callEnded says that a softphone call ended, and why, in the interface language.
func (u *UI) callEnded(c PhoneCall) {
	u.log.Info("softphone call ended", "call", c.ID, "reason", c.EndReason)
	if r := endText(c.End); r != "" {
		u.setMessage(trf("msg.call_ended_reason", "Caller", callLabel(c), "Reason", r))
	} else {
		u.setMessage(trf("msg.call_ended", "Caller", callLabel(c)))
	}
}

func (u *UI) showAbout() {
	u.showError(tr("menu.about"), tr("about.body"))
}
