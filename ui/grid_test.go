package ui

import (
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"github.com/earshot-app/earshot/monitor"
)

// saveCapture writes the window's rendering to $EARSHOT_UI_CAPTURE_DIR (for a person
// to look at), when that is set.
func saveCapture(t *testing.T, tu *testUI, name string) {
	dir := os.Getenv("EARSHOT_UI_CAPTURE_DIR")
	if dir == "" {
		return
	}
	img := tu.win.Canvas().Capture()
	f, err := os.Create(filepath.Join(dir, name+".png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

func TestGridRendersTheBoard(t *testing.T) {
	tu := newTestUI(t, 60)
	saveCapture(t, tu, "grid")
	if got := len(tu.grid.snap.Calls); got != 60 {
		t.Fatalf("grid holds %d rows, want 60", got)
	}
	rows := tu.renderedRows()
	if len(rows) < 10 {
		t.Fatalf("only %d rows rendered in a 1500×860 window", len(rows))
	}
	// Default order is by start time: row 0 is the first call.
	c0, _ := tu.board.Get(callID(0))
	r0 := rows[0]
	if len(r0) < 9 {
		t.Fatalf("row 0 shows %d cells, want at least 9 in a 1500-wide window: %q", len(r0), r0)
	}
	want := []string{c0.ID, fmtPhone(c0.Customer), "1900 1234", c0.Queue, "Calling"}
	for i, w := range want {
		if r0[i] != w {
			t.Errorf("row 0 column %s = %q, want %q", monitor.Columns[i], r0[i], w)
		}
	}
	// Time in status: call 0 joined its queue at t0+5s; the board's clock is later.
	wait := tu.clk.Now().Sub(c0.QueueJoinTime)
	if got := r0[5]; got != fmtDuration(wait) {
		t.Errorf("time in status = %q, want %q", got, fmtDuration(wait))
	}
	// An answered call shows its agent and answer time; an outbound campaign call its campaign.
	c2, _ := tu.board.Get(callID(2))
	r2 := rows[tu.rowOf(c2.ID)]
	if r2[4] != "Answered" || r2[6] != c2.LastAgent || r2[7] != fmtClock(c2.AnswerTime) {
		t.Errorf("answered call row = %q", r2)
	}
	// Scrolled to the right, the last columns show; the outbound campaign call has its campaign.
	tu.grid.table.ScrollToTrailing()
	c4, _ := tu.board.Get(callID(4))
	r4 := tu.renderedRows()[tu.rowOf(c4.ID)]
	if r0 := tu.renderedRows()[0]; r0[len(r0)-2] != "Inbound" || r0[len(r0)-1] != "" {
		t.Errorf("row 0 (scrolled right) = %q, want type Inbound and no campaign", r0)
	}
	if r4[len(r4)-1] != "Gia hạn hợp đồng" || r4[len(r4)-2] != "Outbound" || !slices.Contains(r4, "Ringing") {
		t.Errorf("outbound call row (scrolled right) = %q", r4)
	}
	if !strings.Contains(tu.countText.Text, "60") {
		t.Errorf("status bar says %q", tu.countText.Text)
	}
}

func TestTimeInStatusTicks(t *testing.T) {
	tu := newTestUI(t, 5)
	before := tu.renderedRows()[0][5]
	tu.clk.Add(61e9)
	tu.refreshNow()
	after := tu.renderedRows()[0][5]
	if before == after {
		t.Fatalf("time in status did not move: %q", after)
	}
	c0, _ := tu.board.Get(callID(0))
	if want := fmtDuration(tu.clk.Now().Sub(c0.QueueJoinTime)); after != want {
		t.Fatalf("time in status = %q, want %q", after, want)
	}
}

func TestFilterBarNarrowsTheGrid(t *testing.T) {
	tu := newTestUI(t, 60)
	tu.filter.status.SetSelectedIndex(int(monitor.StatusAnswered) + 1)
	if len(tu.grid.snap.Calls) == 0 {
		t.Fatal("no answered calls shown")
	}
	for _, c := range tu.grid.snap.Calls {
		if c.Status != monitor.StatusAnswered {
			t.Fatalf("status filter let through %s (%s)", c.ID, c.Status)
		}
	}
	for _, r := range tu.renderedRows() {
		if r[4] != "Answered" {
			t.Fatalf("rendered row %q under the Answered filter", r)
		}
	}
	tu.filter.status.SetSelectedIndex(0)
	tu.filter.setQueues([]string{"Sales", "Billing"})
	for _, c := range tu.grid.snap.Calls {
		if c.Queue != "Sales" && c.Queue != "Billing" {
			t.Fatalf("queue filter let through %s in %q", c.ID, c.Queue)
		}
	}
	if tu.filter.queueBtn.Text != "2 queues" {
		t.Errorf("queue button says %q", tu.filter.queueBtn.Text)
	}
	tu.filter.setQueues(nil)
	tu.filter.dir.SetSelectedIndex(2)
	for _, c := range tu.grid.snap.Calls {
		if c.Direction != monitor.Outbound {
			t.Fatalf("direction filter let through %s", c.ID)
		}
	}
	tu.filter.dir.SetSelectedIndex(0)
	c7, _ := tu.board.Get(callID(7))
	test.Type(tu.filter.search, c7.Customer[4:])
	if len(tu.grid.snap.Calls) != 1 || tu.grid.snap.Calls[0].ID != c7.ID {
		t.Fatalf("search for %q shows %d calls", c7.Customer[4:], len(tu.grid.snap.Calls))
	}
	if !strings.Contains(tu.countText.Text, "1 of 60") {
		t.Errorf("status bar says %q", tu.countText.Text)
	}
	test.Type(tu.filter.search, "no such call")
	if !tu.empty.Visible() || tu.empty.Text != "No call matches the filters." {
		t.Errorf("empty grid says %q (visible %v)", tu.empty.Text, tu.empty.Visible())
	}
	tu.filter.reset()
	if tu.empty.Visible() {
		t.Error("the empty-grid line stays over rows")
	}
	if len(tu.grid.snap.Calls) != 60 {
		t.Fatalf("clear filters shows %d calls", len(tu.grid.snap.Calls))
	}
}

func TestFiltersAndSortPersist(t *testing.T) {
	a := test.NewTempApp(t)
	tu := newTestUIOn(t, a, 30)
	tu.filter.setQueues([]string{"Support"})
	tu.filter.status.SetSelectedIndex(int(monitor.StatusAnswered) + 1)
	test.Type(tu.filter.search, "0912")
	headers(tu.grid)[monitor.ColCustomer].Tapped(nil)
	headers(tu.grid)[monitor.ColCustomer].Tapped(nil)

	again := newTestUIOn(t, a, 30)
	q := again.currentQuery()
	if !slices.Equal(q.Queues, []string{"Support"}) || len(q.Statuses) != 1 || q.Statuses[0] != monitor.StatusAnswered ||
		q.Text != "0912" || q.Sort != monitor.ColCustomer || !q.Desc {
		t.Fatalf("restored query = %+v", q)
	}
	if again.filter.queueBtn.Text != "Support" || again.filter.search.Text != "0912" {
		t.Fatalf("restored filter bar shows %q / %q", again.filter.queueBtn.Text, again.filter.search.Text)
	}
}

func TestHeaderClickSorts(t *testing.T) {
	tu := newTestUI(t, 60)
	h := headers(tu.grid)
	h[monitor.ColCustomer].Tapped(nil)
	calls := tu.grid.snap.Calls
	if !slices.IsSortedFunc(calls, func(a, b monitor.Call) int { return strings.Compare(a.Customer, b.Customer) }) {
		t.Fatal("rows are not sorted by customer after a click on its header")
	}
	if r := tu.renderedRows()[0]; r[1] != fmtPhone(calls[0].Customer) {
		t.Fatalf("first rendered row shows %q, want %q", r[1], fmtPhone(calls[0].Customer))
	}
	if h[monitor.ColCustomer].Icon == nil {
		t.Error("the sorted column's header shows no sort arrow")
	}
	headers(tu.grid)[monitor.ColCustomer].Tapped(nil)
	calls = tu.grid.snap.Calls
	if !slices.IsSortedFunc(calls, func(a, b monitor.Call) int { return strings.Compare(b.Customer, a.Customer) }) {
		t.Fatal("a second click did not reverse the order")
	}
	// The first click on time in status puts the longest first.
	headers(tu.grid)[monitor.ColTimeInStatus].Tapped(nil)
	calls = tu.grid.snap.Calls
	now := tu.grid.snap.At
	for i := 1; i < len(calls); i++ {
		if calls[i-1].TimeInStatus(now) < calls[i].TimeInStatus(now) {
			t.Fatalf("time in status sort: row %d (%v) before row %d (%v)", i-1, calls[i-1].TimeInStatus(now), i, calls[i].TimeInStatus(now))
		}
	}
}

func TestSelectionFollowsTheCall(t *testing.T) {
	tu := newTestUI(t, 60)
	tu.cellAt(t, 5).Tapped(nil)
	sel, ok := tu.grid.selectedCall()
	if !ok || sel.ID != callID(5) {
		t.Fatalf("tapping row 5 selected %q", sel.ID)
	}
	if !tu.cellAt(t, 5).bg.Visible() || tu.cellAt(t, 5).bg.FillColor == nil {
		t.Fatal("selected row not highlighted")
	}
	headers(tu.grid)[monitor.ColQueue].Tapped(nil)
	row := tu.rowOf(sel.ID)
	if row == 5 {
		t.Fatal("test needs the call to move; it stayed on row 5")
	}
	if got, _ := tu.grid.selectedCall(); got.ID != sel.ID || tu.grid.selRow != row {
		t.Fatalf("after re-sorting the selection is %q on row %d; want %q on row %d", got.ID, tu.grid.selRow, sel.ID, row)
	}
	// New calls arrive and others end: the selection stays on the same call.
	tu.board.ApplyAll(append(callEvents(60), monitor.Event{Kind: monitor.EventCallEnded, CallID: callID(0)}))
	tu.refreshNow()
	if got, _ := tu.grid.selectedCall(); got.ID != sel.ID {
		t.Fatalf("after board changes the selection is %q, want %q", got.ID, sel.ID)
	}
	// When the call ends, nothing is selected and the actions are disabled.
	tu.board.Apply(monitor.Event{Kind: monitor.EventCallEnded, CallID: sel.ID})
	tu.refreshNow()
	if _, ok := tu.grid.selectedCall(); ok {
		t.Fatal("an ended call stays selected")
	}
	if !tu.actions.buttons[monitor.ActHangup].Disabled() {
		t.Fatal("hang up is enabled with no call selected")
	}
}

// headerRow is the table's header row as the desktop driver sees it: the draggable
// object holding the header buttons, which receives a drag on a column border.
func headerRow(t *testing.T, g *callGrid) fyne.Draggable {
	t.Helper()
	for _, o := range walk(g.table) {
		d, ok := o.(fyne.Draggable)
		if !ok || o == fyne.CanvasObject(g.table) {
			continue
		}
		for _, in := range walk(o) {
			if _, ok := in.(*headerButton); ok {
				return d
			}
		}
	}
	t.Fatal("no draggable header row in the table")
	return nil
}

// dragBorder drags the right border of the grid's first column by dx, as the desktop
// driver delivers it: the pointer moves onto the border and presses (the table), the
// drag goes to the header row and ends there.
func dragBorder(t *testing.T, g *callGrid, dx float32) {
	t.Helper()
	tbl := g.table
	border := fyne.NewPos(g.widths[g.cols[0]]+theme.Padding()/2, 10)
	tbl.MouseMoved(&desktop.MouseEvent{PointEvent: fyne.PointEvent{Position: border}})
	tbl.MouseDown(&desktop.MouseEvent{PointEvent: fyne.PointEvent{Position: border}})
	row := headerRow(t, g)
	for x := float32(10); x <= dx; x += 10 {
		row.Dragged(&fyne.DragEvent{PointEvent: fyne.PointEvent{Position: border.AddXY(x, 0)}, Dragged: fyne.NewDelta(10, 0)})
	}
	row.DragEnd()
}

func TestColumnWidthsPersist(t *testing.T) {
	a := test.NewTempApp(t)
	tu := newTestUIOn(t, a, 10)
	w0 := tu.grid.widths[monitor.ColID]
	dragBorder(t, tu.grid, 60)
	if got := tu.grid.widths[monitor.ColID]; got < w0+50 || got > w0+70 {
		t.Fatalf("dragging the border by 60 made the call ID column %v wide (was %v)", got, w0)
	}
	if got := a.Preferences().Float("grid.width.id"); float32(got) != tu.grid.widths[monitor.ColID] {
		t.Fatalf("preferences hold %v for the call ID column, want %v", got, tu.grid.widths[monitor.ColID])
	}
	again := newTestUIOn(t, a, 10)
	if got := again.grid.widths[monitor.ColID]; got != tu.grid.widths[monitor.ColID] {
		t.Fatalf("after a restart the call ID column is %v wide, want %v", got, tu.grid.widths[monitor.ColID])
	}
	if got := again.grid.widths[monitor.ColCustomer]; got != tu.grid.widths[monitor.ColCustomer] {
		t.Fatalf("an untouched column changed width: %v", got)
	}
}

// Saving the settings (which sets the visible columns again) keeps a dragged width.
func TestSavingSettingsKeepsDraggedWidths(t *testing.T) {
	a := test.NewTempApp(t)
	tu := newTestUIOn(t, a, 10)
	w0 := tu.grid.widths[monitor.ColID]
	dragBorder(t, tu.grid, 80)
	dragged := tu.grid.widths[monitor.ColID]
	if dragged < w0+70 {
		t.Fatalf("the drag made the column %v wide (was %v)", dragged, w0)
	}
	tu.showSettings()
	tu.bg.Wait()
	tu.settings.columns[monitor.ColHotline].SetChecked(false) // a different column set
	tu.tap(tu.dialog.confirm)
	if tu.dialog != nil {
		t.Fatalf("settings not saved: %q", tu.settings.problem.Text)
	}
	if got := tu.grid.widths[monitor.ColID]; got != dragged {
		t.Fatalf("after saving the settings the call ID column is %v wide, want %v", got, dragged)
	}
	// the table itself lays the first column out at the dragged width
	if h := headers(tu.grid)[monitor.ColID]; h == nil || h.Size().Width != dragged {
		t.Fatalf("the call ID header is %v wide on screen, want %v", h.Size().Width, dragged)
	}
	if h := headers(tu.grid)[monitor.ColQueue]; h == nil || h.Size().Width != tu.grid.widths[monitor.ColQueue] {
		t.Fatal("the queue column (now third) does not have its own width")
	}
	if got := float32(a.Preferences().Float("grid.width.id")); got != dragged {
		t.Fatalf("preferences hold %v", got)
	}
}

func TestArrowKeysMoveTheSelection(t *testing.T) {
	tu := newTestUI(t, 30)
	tu.grid.table.TypedKey(&fyne.KeyEvent{Name: fyne.KeyDown})
	if tu.grid.selRow != 0 {
		t.Fatalf("Down with nothing selected selected row %d", tu.grid.selRow)
	}
	tu.grid.table.TypedKey(&fyne.KeyEvent{Name: fyne.KeyDown})
	tu.grid.table.TypedKey(&fyne.KeyEvent{Name: fyne.KeyDown})
	if c, _ := tu.grid.selectedCall(); c.ID != callID(2) {
		t.Fatalf("two Downs selected %q", c.ID)
	}
	tu.grid.table.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEnd})
	if tu.grid.selRow != 29 {
		t.Fatalf("End selected row %d", tu.grid.selRow)
	}
	tu.grid.table.TypedKey(&fyne.KeyEvent{Name: fyne.KeyUp})
	if tu.grid.selRow != 28 || tu.actions.reason.Text == "Select a call in the list." {
		t.Fatalf("Up selected row %d; reason %q", tu.grid.selRow, tu.actions.reason.Text)
	}
}

func TestTooltipsShowShortcutsAndReasons(t *testing.T) {
	tu := newTestUI(t, 10)
	b := tu.actions.buttons[monitor.ActSteal]
	b.showTip()
	v, _ := tipLayers.Load(tu.win.Canvas())
	layer := v.(*tipLayer)
	if !layer.text.Visible() || layer.text.Text != b.Tip() {
		t.Fatalf("tooltip shows %q (visible %v), want %q", layer.text.Text, layer.text.Visible(), b.Tip())
	}
	if !strings.Contains(layer.text.Text, "Ctrl+Shift+S") || !strings.Contains(layer.text.Text, "Select a call in the list.") {
		t.Fatalf("steal tooltip %q lacks the shortcut or the reason", layer.text.Text)
	}
	b.MouseOut()
	if layer.text.Visible() {
		t.Fatal("the tooltip stays after the pointer left")
	}
}

// A monitored call shows a marker chip before its agent, inside the cell and beside
// the name (which still shows in full) at the default column width.
func TestMonitoringMarkerBeforeTheAgent(t *testing.T) {
	tu := newTestUI(t, 10)
	id := "1741942900.500"
	tu.board.ApplyAll([]monitor.Event{
		{Kind: monitor.EventCallStarted, CallID: id, At: t0, Direction: monitor.Inbound, Customer: "0905675483", Hotline: "02873002468"},
		{Kind: monitor.EventQueueJoined, CallID: id, At: t0, Queue: "Sales"},
		{Kind: monitor.EventAgentRinging, CallID: id, At: t0, Agent: "Nguyễn Bảo Nhung (1058)"},
		{Kind: monitor.EventAnswered, CallID: id, At: t0, Agent: "Nguyễn Bảo Nhung (1058)"},
		{Kind: monitor.EventMonitorStarted, CallID: id, Mode: monitor.MonitorWhisper, Supervisor: "Mai"},
		{Kind: monitor.EventStolen, CallID: callID(3), Supervisor: "Mai"},
	})
	tu.refreshNow()
	saveCapture(t, tu, "marker")
	for _, tc := range []struct {
		call, text, tip string
		icon            fyne.Resource
	}{
		{id, "Nguyễn Bảo Nhung (1058)", "Whisper · Mai", actionIcon(monitor.ActWhisper)},
		{callID(3), "Mai (stolen)", "Steal · Mai", actionIcon(monitor.ActSteal)},
	} {
		cell := tu.cellIn(t, tu.rowOf(tc.call), monitor.ColLastAgent)
		if !cell.mark.Visible() || !cell.icon.Visible() || cell.icon.Resource != tc.icon || cell.markTip != tc.tip {
			t.Errorf("%s: marker shown %v, tip %q", tc.call, cell.mark.Visible(), cell.markTip)
			continue
		}
		m, l := cell.mark, cell.label
		if m.Position().X < 0 || m.Position().X+m.Size().Width > l.Position().X || l.Position().X+l.Size().Width > cell.Size().Width+0.5 {
			t.Errorf("%s: marker at %v+%v, name at %v+%v, cell %v wide", tc.call, m.Position(), m.Size(), l.Position(), l.Size(), cell.Size().Width)
		}
		// a truncating label's MinSize is small: measure the text itself
		need := fyne.MeasureText(l.Text, theme.TextSize(), l.TextStyle).Width + 2*theme.InnerPadding()
		if l.Text != tc.text || need > l.Size().Width {
			t.Errorf("%s: name %q needs %v, has %v", tc.call, l.Text, need, l.Size().Width)
		}
	}
	if cell := tu.cellIn(t, tu.rowOf(callID(2)), monitor.ColLastAgent); cell.mark.Visible() {
		t.Error("a call nobody monitors shows a marker")
	}
}

// A number typed the way the grid shows it ("0912 361 5", with spaces, dots or
// dashes) finds the call; call IDs keep their dot.
func TestSearchFindsNumbersAsTheGridShowsThem(t *testing.T) {
	tu := newTestUI(t, 60)
	c7, _ := tu.board.Get(callID(7))
	shown := fmtPhone(c7.Customer) // "0912 4xx xxx"
	for _, typed := range []string{shown, shown[:8], strings.ReplaceAll(shown, " ", "."), strings.ReplaceAll(shown, " ", "-")} {
		tu.filter.search.SetText(typed)
		if len(tu.grid.snap.Calls) != 1 || tu.grid.snap.Calls[0].ID != c7.ID {
			t.Errorf("search %q shows %d calls", typed, len(tu.grid.snap.Calls))
		}
	}
	tu.filter.search.SetText(callID(7))
	if len(tu.grid.snap.Calls) != 1 || tu.grid.snap.Calls[0].ID != c7.ID {
		t.Errorf("search by call ID %q shows %d calls", callID(7), len(tu.grid.snap.Calls))
	}
	for _, tc := range [][2]string{{"0813 553", "0813553"}, {"(028) 3812-3456", "02838123456"}, {"+84 912.345", "+84912345"},
		{"1741942800.102", "1741942800.102"}, {"Nguyễn Văn", "Nguyễn Văn"}, {"Gia hạn", "Gia hạn"}} {
		if got := searchText(tc[0]); got != tc[1] {
			t.Errorf("searchText(%q) = %q, want %q", tc[0], got, tc[1])
		}
	}
}

// A selected call that a filter hides is selected again when it comes back into view.
func TestSelectionSurvivesAFilter(t *testing.T) {
	tu := newTestUI(t, 60)
	c := tu.selectCall(t, 2) // answered
	tu.filter.status.SetSelectedIndex(int(monitor.StatusCalling) + 1)
	if _, ok := tu.grid.selectedCall(); ok {
		t.Fatal("a hidden call still counts as selected for the actions")
	}
	if !tu.actions.buttons[monitor.ActHangup].Disabled() {
		t.Fatal("actions enabled for a call not shown")
	}
	tu.filter.status.SetSelectedIndex(0)
	if got, ok := tu.grid.selectedCall(); !ok || got.ID != c.ID {
		t.Fatalf("after clearing the filter the selection is %q", got.ID)
	}
	if tu.actions.buttons[monitor.ActHangup].Disabled() {
		t.Fatal("actions stay disabled for the reselected call")
	}
}

// The agent filter offers agents by the name the grid shows, and finds a call by the
// agent's ID too (the demo's board names agents by display name).
func TestAgentFilterByNameOrID(t *testing.T) {
	tu := newTestUI(t, 10)
	id := "1741942900.700"
	tu.board.ApplyAll([]monitor.Event{
		{Kind: monitor.EventCallStarted, CallID: id, At: t0, Direction: monitor.Inbound, Customer: "0905675483"},
		{Kind: monitor.EventQueueJoined, CallID: id, At: t0, Queue: "Sales"},
		{Kind: monitor.EventAgentRinging, CallID: id, At: t0, Agent: "Nguyễn Bảo Nhung (1058)"},
		{Kind: monitor.EventAnswered, CallID: id, At: t0, Agent: "Nguyễn Bảo Nhung (1058)"},
	})
	tu.filter.setAgents([]monitor.Agent{{ID: "1058", Name: "Nguyễn Bảo Nhung (1058)"}, {ID: "1059"}})
	for _, typed := range []string{"1058", "Nguyễn Bảo Nhung (1058)"} {
		tu.filter.agent.SetText(typed)
		if len(tu.grid.snap.Calls) != 1 || tu.grid.snap.Calls[0].ID != id {
			t.Errorf("agent filter %q shows %d calls", typed, len(tu.grid.snap.Calls))
		}
	}
}
