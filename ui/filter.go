package ui

import (
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/earshot-app/earshot/monitor"
)

// Preference keys of the filter bar and the sort order (view state, kept in Fyne's
// preferences; connection settings live in the shared config file instead).
const (
	prefQueues    = "filter.queues"
	prefStatus    = "filter.status"
	prefDirection = "filter.direction"
	prefAgent     = "filter.agent"
	prefText      = "filter.text"
	prefSortCol   = "sort.column"
	prefSortDesc  = "sort.desc"
)

// filterBar selects which calls the grid shows: queues (several), status, direction,
// agent and free text. Every change is saved in the preferences at once.
type filterBar struct {
	prefs    fyne.Preferences
	win      func() fyne.Window
	queues   []string // selected queues; empty means all
	known    []string // queues seen on the board
	queueBtn *widget.Button
	status   *widget.Select
	dir      *widget.Select
	agent    *widget.SelectEntry
	agents   []monitor.Agent // offered in the agent filter
	search   *widget.Entry
	clear    *widget.Button
	root     fyne.CanvasObject
	loading  bool

	onChange func()
}

func newFilterBar(prefs fyne.Preferences, win func() fyne.Window) *filterBar {
	f := &filterBar{prefs: prefs, win: win, loading: true}
	f.queueBtn = widget.NewButtonWithIcon("", theme.MenuDropDownIcon(), f.showQueues)
	f.queueBtn.IconPlacement = widget.ButtonIconTrailingText
	statusOpts := []string{tr("filter.any_status")}
	for _, s := range monitor.Statuses {
		statusOpts = append(statusOpts, statusText(s))
	}
	f.status = widget.NewSelect(statusOpts, func(string) { f.changed() })
	f.dir = widget.NewSelect([]string{tr("filter.any_direction"), directionText(monitor.Inbound), directionText(monitor.Outbound)},
		func(string) { f.changed() })
	f.agent = widget.NewSelectEntry(nil)
	f.agent.PlaceHolder = tr("filter.agent")
	f.agent.OnChanged = func(string) { f.changed() }
	f.search = widget.NewEntry()
	f.search.PlaceHolder = tr("filter.search")
	f.search.ActionItem = widget.NewIcon(theme.SearchIcon())
	f.search.OnChanged = func(string) { f.changed() }
	f.clear = widget.NewButtonWithIcon(tr("filter.clear"), theme.ContentClearIcon(), f.reset)

	// restore
	if prefs != nil {
		f.queues = prefs.StringList(prefQueues)
		f.status.SetSelectedIndex(0)
		if s, err := monitor.ParseStatus(prefs.String(prefStatus)); err == nil {
			f.status.SetSelectedIndex(int(s) + 1)
		}
		f.dir.SetSelectedIndex(0)
		if d, err := monitor.ParseDirection(prefs.String(prefDirection)); err == nil {
			f.dir.SetSelectedIndex(int(d))
		}
		f.agent.SetText(prefs.String(prefAgent))
		f.search.SetText(prefs.String(prefText))
	} else {
		f.status.SetSelectedIndex(0)
		f.dir.SetSelectedIndex(0)
	}
	f.updateQueueButton()
	f.loading = false

	h := f.agent.MinSize().Height
	f.root = container.NewBorder(nil, nil,
		container.NewHBox(widget.NewLabel(tr("filter.queue")), f.queueBtn,
			container.NewGridWrap(fyne.NewSize(selectWidth(f.status.Options), h), f.status),
			container.NewGridWrap(fyne.NewSize(selectWidth(f.dir.Options), h), f.dir),
			container.NewGridWrap(fyne.NewSize(150, h), f.agent)),
		f.clear, f.search)
	return f
}

// selectWidth is the width a drop-down needs to show its longest option in full.
func selectWidth(opts []string) float32 {
	w := float32(0)
	for _, o := range opts {
		w = max(w, fyne.MeasureText(o, theme.TextSize(), fyne.TextStyle{}).Width)
	}
	return w + theme.IconInlineSize() + 6*theme.Padding()
}

// query returns the filter as a monitor.Query (without the sort order).
func (f *filterBar) query() monitor.Query {
	var q monitor.Query
	q.Queues = append(q.Queues, f.queues...)
	if i := f.status.SelectedIndex(); i > 0 {
		q.Statuses = []monitor.Status{monitor.Statuses[i-1]}
	}
	switch f.dir.SelectedIndex() {
	case 1:
		q.Directions = []monitor.Direction{monitor.Inbound}
	case 2:
		q.Directions = []monitor.Direction{monitor.Outbound}
	}
	if a := strings.TrimSpace(f.agent.Text); a != "" {
		q.Agents = f.agentNames(a)
	}
	q.Text = searchText(f.search.Text)
	return q
}

// searchText is the search box's text as the board matches it: a phone number typed
// the way the grid shows it ("0813 553", "0813.553.123", "+84-813") loses its
// spaces, dots and dashes, since the board holds numbers as bare digits.
func searchText(s string) string {
	s = strings.TrimSpace(s)
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == ' ' || r == '.' || r == '-' || r == '(' || r == ')' || r == '+':
		default:
			return s // not a number: call IDs ("1741942800.102"), names, queues
		}
	}
	if digits == 0 {
		return s
	}
	if before, _, ok := strings.Cut(s, "."); ok && strings.Count(s, ".") == 1 && !strings.ContainsAny(s, " -()+") &&
		len(before) >= 9 {
		return s // an Asterisk call ID: seconds since 1970, a dot, a sequence number
	}
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '.' || r == '-' || r == '(' || r == ')' {
			return -1
		}
		return r
	}, s)
}

func (f *filterBar) changed() {
	if f.loading {
		return
	}
	f.save()
	if f.onChange != nil {
		f.onChange()
	}
}

func (f *filterBar) save() {
	if f.prefs == nil {
		return
	}
	f.prefs.SetStringList(prefQueues, f.queues)
	st := ""
	if i := f.status.SelectedIndex(); i > 0 {
		st = monitor.Statuses[i-1].String()
	}
	f.prefs.SetString(prefStatus, st)
	dir := ""
	switch f.dir.SelectedIndex() {
	case 1:
		dir = monitor.Inbound.String()
	case 2:
		dir = monitor.Outbound.String()
	}
	f.prefs.SetString(prefDirection, dir)
	f.prefs.SetString(prefAgent, strings.TrimSpace(f.agent.Text))
	f.prefs.SetString(prefText, f.search.Text)
}

// reset clears every filter.
func (f *filterBar) reset() {
	f.loading = true
	f.queues = nil
	f.status.SetSelectedIndex(0)
	f.dir.SetSelectedIndex(0)
	f.agent.SetText("")
	f.search.SetText("")
	f.updateQueueButton()
	f.loading = false
	f.changed()
}

// setKnownQueues offers the queues seen on the board in the queue picker.
func (f *filterBar) setKnownQueues(qs []string) {
	if slices.Equal(qs, f.known) {
		return
	}
	f.known = append(f.known[:0], qs...)
}

// setAgents offers the agents in the agent filter, by the name the board shows as the
// last agent (the display name, or the ID when there is none).
func (f *filterBar) setAgents(agents []monitor.Agent) {
	f.agents = agents
	opts := make([]string, len(agents))
	for i, a := range agents {
		opts[i] = orDefault(a.Name, a.ID)
	}
	f.agent.SetOptions(opts)
}

// agentNames is what the agent filter matches the board's last agent against: the text,
// and when it names a known agent by ID or by name, both (the board shows one or the
// other, depending on the PBX).
func (f *filterBar) agentNames(text string) []string {
	out := []string{text}
	for _, a := range f.agents {
		if a.ID == text || (a.Name != "" && a.Name == text) {
			for _, s := range []string{a.ID, a.Name} {
				if s != "" && !slices.Contains(out, s) {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// setQueues selects queues (nil: all).
func (f *filterBar) setQueues(qs []string) {
	f.queues = append([]string(nil), qs...)
	slices.Sort(f.queues)
	f.updateQueueButton()
	f.changed()
}

func (f *filterBar) updateQueueButton() {
	switch len(f.queues) {
	case 0:
		f.queueBtn.SetText(tr("filter.all_queues"))
	case 1:
		f.queueBtn.SetText(f.queues[0])
	default:
		f.queueBtn.SetText(trf("filter.n_queues", "Count", len(f.queues)))
	}
}

// showQueues opens the queue picker: a check box per queue.
func (f *filterBar) showQueues() {
	w := f.win()
	if w == nil {
		return
	}
	opts := append([]string(nil), f.known...)
	for _, q := range f.queues {
		if !slices.Contains(opts, q) {
			opts = append(opts, q)
		}
	}
	slices.Sort(opts)
	check := widget.NewCheckGroup(opts, nil)
	check.Selected = append([]string(nil), f.queues...)
	check.OnChanged = func(sel []string) { f.setQueues(sel) }
	var pop *widget.PopUp
	all := widget.NewButton(tr("filter.all_queues"), func() {
		check.SetSelected(nil)
		f.setQueues(nil)
		pop.Hide()
	})
	var body fyne.CanvasObject = check
	if len(opts) == 0 {
		body = widget.NewLabel(tr("filter.no_queues"))
	}
	scroll := container.NewVScroll(body)
	scroll.SetMinSize(fyne.NewSize(200, min(float32(len(opts)+1)*38, 320)))
	pop = widget.NewPopUp(container.NewBorder(nil, all, nil, nil, scroll), w.Canvas())
	pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(f.queueBtn)
	pos.Y += f.queueBtn.Size().Height
	pop.ShowAtPosition(pos)
}
