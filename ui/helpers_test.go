package ui

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/earshot-app/earshot/config"
	"github.com/earshot-app/earshot/monitor"
)

// t0 is the simulated clock's start in the tests.
var t0 = time.Date(2025, 3, 14, 9, 0, 0, 0, time.Local)

// clock is a settable clock for the board.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

var queues = []string{"Billing", "Sales", "Support"}

// callEvents returns the events of call i of a simulated contact centre: inbound calls
// waiting in a queue, ringing an agent or answered; outbound campaign calls ringing the
// customer or answered. Every call differs in its numbers and times.
func callEvents(i int) []monitor.Event {
	id := fmt.Sprintf("1741942800.%d", 100+i)
	at := t0.Add(time.Duration(i) * 7 * time.Second)
	cust := fmt.Sprintf("09%08d", 12345678+i*7919%90000000)
	agent := fmt.Sprintf("%d", 1001+i%40)
	q := queues[i%len(queues)]
	if i%5 == 4 { // outbound campaign call
		ev := []monitor.Event{{Kind: monitor.EventCallStarted, CallID: id, At: at, Direction: monitor.Outbound,
			Customer: cust, Hotline: "02873001234", Agent: agent, Campaign: "Gia hạn hợp đồng"}}
		ev = append(ev, monitor.Event{Kind: monitor.EventCustomerRinging, CallID: id, At: at.Add(2 * time.Second)})
		if i%10 == 9 {
			ev = append(ev, monitor.Event{Kind: monitor.EventAnswered, CallID: id, At: at.Add(9 * time.Second)})
		}
		return ev
	}
	ev := []monitor.Event{
		{Kind: monitor.EventCallStarted, CallID: id, At: at, Direction: monitor.Inbound, Customer: cust, Hotline: "19001234"},
		{Kind: monitor.EventQueueJoined, CallID: id, At: at.Add(5 * time.Second), Queue: q},
	}
	switch i % 5 {
	case 1:
		ev = append(ev, monitor.Event{Kind: monitor.EventAgentRinging, CallID: id, At: at.Add(8 * time.Second), Agent: agent})
	case 2, 3:
		ev = append(ev, monitor.Event{Kind: monitor.EventAgentRinging, CallID: id, At: at.Add(8 * time.Second), Agent: agent},
			monitor.Event{Kind: monitor.EventAnswered, CallID: id, At: at.Add(12 * time.Second), Agent: agent})
	}
	return ev
}

func callID(i int) string { return fmt.Sprintf("1741942800.%d", 100+i) }

// newTestBoard returns a board with n calls and its clock, set after the last event.
func newTestBoard(n int) (*monitor.Board, *clock) {
	clk := &clock{now: t0}
	b := monitor.NewBoard(monitor.Options{Now: clk.Now})
	b.Apply(monitor.Event{Kind: monitor.EventFeed, Feed: monitor.Feed{State: monitor.FeedConnected, Driver: "test", Since: t0}})
	var all []monitor.Event
	for i := 0; i < n; i++ {
		all = append(all, callEvents(i)...)
	}
	b.ApplyAll(all)
	clk.now = t0.Add(time.Duration(n)*7*time.Second + 30*time.Second)
	return b, clk
}

// recDriver is a monitor.Driver that records the actions it is asked for and answers
// with a set error; it stands for a PBX at the driver boundary.
type recDriver struct {
	mu      sync.Mutex
	acts    []monitor.Action
	err     error
	perms   monitor.Permissions
	agents  []monitor.Agent
	name    string
	actDone chan monitor.Action
	// hold, when set, makes Act wait for the PBX's answer to come through it (nil
	// for success), like a monitoring action waiting for the supervisor to answer.
	hold chan error
	// left records the time each action had before its context's deadline.
	left []time.Duration
}

func newRecDriver() *recDriver {
	return &recDriver{perms: monitor.AllPermissions, name: "test", actDone: make(chan monitor.Action, 16),
		agents: []monitor.Agent{
			{ID: "1001", Name: "Nguyễn Văn An", Queues: []string{"Sales"}, State: monitor.AgentBusy},
			{ID: "1002", Name: "Trần Thị Bình", Queues: []string{"Sales", "Support"}, State: monitor.AgentAvailable},
			{ID: "1003", Name: "Lê Hoàng Cường", Queues: []string{"Support"}, State: monitor.AgentPaused},
			{ID: "1004", Name: "Phạm Minh Dũng", Queues: []string{"Billing"}, State: monitor.AgentAvailable},
			{ID: "1005", Name: "Võ Thu Hà", Queues: []string{"Billing"}, State: monitor.AgentUnavailable},
		}}
}

func (d *recDriver) Name() string { return d.name }
func (d *recDriver) Run(ctx context.Context, _ monitor.Sink) error {
	<-ctx.Done()
	return ctx.Err()
}
func (d *recDriver) Act(ctx context.Context, a monitor.Action) error {
	d.mu.Lock()
	d.acts = append(d.acts, a)
	err := d.err
	hold := d.hold
	if dl, ok := ctx.Deadline(); ok {
		d.left = append(d.left, time.Until(dl))
	}
	d.mu.Unlock()
	d.actDone <- a
	if hold != nil {
		select {
		case err = <-hold:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err != nil {
		return &monitor.ActionError{Action: a, Err: err, Detail: "Response: Error\r\nMessage: No such channel"}
	}
	return nil
}
func (d *recDriver) Agents(context.Context) ([]monitor.Agent, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]monitor.Agent(nil), d.agents...), nil
}
func (d *recDriver) Permissions() monitor.Permissions {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.perms
}
func (d *recDriver) actions() []monitor.Action {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]monitor.Action(nil), d.acts...)
}

// waitAction waits for the driver to receive an action.
func (d *recDriver) waitAction(t *testing.T) monitor.Action {
	t.Helper()
	select {
	case a := <-d.actDone:
		return a
	case <-time.After(5 * time.Second):
		t.Fatal("the driver received no action")
	}
	return monitor.Action{}
}

// testUI builds the window on a test app with a board of n calls.
type testUI struct {
	*UI
	board  *monitor.Board
	clk    *clock
	drv    *recDriver
	app    fyne.App
	audit  *AuditLog
	cancel context.CancelFunc
}

func newTestUI(t *testing.T, n int, mod ...func(*Options)) *testUI {
	t.Helper()
	a := test.NewTempApp(t)
	return newTestUIOn(t, a, n, mod...)
}

func newTestUIOn(t *testing.T, a fyne.App, n int, mod ...func(*Options)) *testUI {
	t.Helper()
	b, clk := newTestBoard(n)
	drv := newRecDriver()
	audit, err := OpenAuditLog(t.TempDir() + "/audit.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Supervisor = "Mai"
	o := Options{App: a, Driver: drv, Board: b, Config: cfg, Audit: audit}
	for _, m := range mod {
		m(&o)
	}
	u := New(o)
	u.win.Resize(fyne.NewSize(1500, 860))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	u.ctx = ctx
	u.refreshNow()
	return &testUI{UI: u, board: b, clk: clk, drv: drv, app: a, audit: audit, cancel: cancel}
}

// renderedRows returns the text of each rendered grid row, by row index.
func (tu *testUI) renderedRows() map[int][]string {
	rows := map[int][]string{}
	cells := renderedCells(tu.grid)
	sort.Slice(cells, func(i, j int) bool { return cells[i].Position().X < cells[j].Position().X })
	for _, c := range cells {
		if !c.Visible() || c.row < 0 {
			continue
		}
		text := c.label.Text
		if c.chip.Visible() {
			text = c.text.Text
		}
		rows[c.row] = append(rows[c.row], text)
	}
	return rows
}

func renderedCells(g *callGrid) []*gridCell {
	var out []*gridCell
	for _, o := range walk(g.table) {
		if c, ok := o.(*gridCell); ok {
			out = append(out, c)
		}
	}
	return out
}

// walk returns o and every object rendered inside it.
func walk(o fyne.CanvasObject) []fyne.CanvasObject {
	out := []fyne.CanvasObject{o}
	switch x := o.(type) {
	case *fyne.Container:
		for _, c := range x.Objects {
			out = append(out, walk(c)...)
		}
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(x).Objects() {
			out = append(out, walk(c)...)
		}
	}
	return out
}

// headers returns the rendered header buttons by column.
func headers(g *callGrid) map[monitor.Column]*headerButton {
	out := map[monitor.Column]*headerButton{}
	for _, o := range walk(g.table) {
		if h, ok := o.(*headerButton); ok && h.col >= 0 && h.Visible() {
			out[monitor.Column(h.col)] = h
		}
	}
	return out
}

// rowOf returns the grid row showing the call with the given ID, or -1.
func (tu *testUI) rowOf(id string) int {
	for i, c := range tu.grid.snap.Calls {
		if c.ID == id {
			return i
		}
	}
	return -1
}

// cellAt returns a rendered cell of the given row.
func (tu *testUI) cellAt(t *testing.T, row int) *gridCell {
	t.Helper()
	for _, c := range renderedCells(tu.grid) {
		if c.row == row && c.Visible() {
			return c
		}
	}
	t.Fatalf("row %d is not rendered", row)
	return nil
}

// cellIn returns the rendered cell of a row in a column.
func (tu *testUI) cellIn(t *testing.T, row int, col monitor.Column) *gridCell {
	t.Helper()
	var cells []*gridCell
	for _, c := range renderedCells(tu.grid) {
		if c.row == row && c.Visible() {
			cells = append(cells, c)
		}
	}
	sort.Slice(cells, func(i, j int) bool { return cells[i].Position().X < cells[j].Position().X })
	for i, c := range tu.grid.cols {
		if c == col && i < len(cells) {
			return cells[i]
		}
	}
	t.Fatalf("column %s of row %d is not rendered", col, row)
	return nil
}

// tap taps a button and waits for what it started in the background.
func (tu *testUI) tap(o fyne.Tappable) {
	test.Tap(o)
	tu.bg.Wait()
}

// action waits for the driver to receive an action and for the window to show the result.
func (tu *testUI) action(t *testing.T) monitor.Action {
	t.Helper()
	a := tu.drv.waitAction(t)
	tu.bg.Wait()
	return a
}

// waitPhone waits for the softphone to be asked to do something, and for the window.
func (tu *testUI) waitPhone(t *testing.T, ph *fakePhone, want string) {
	t.Helper()
	ph.waitDone(t, want)
	tu.bg.Wait()
}
