package ui

import (
	"image/color"
	"strconv"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/earshot-app/earshot/monitor"
)

// defaultWidths are the grid's column widths before the user resizes them.
var defaultWidths = map[monitor.Column]float32{
	monitor.ColID:           142,
	monitor.ColCustomer:     125,
	monitor.ColHotline:      115,
	monitor.ColQueue:        130,
	monitor.ColStatus:       105,
	monitor.ColTimeInStatus: 100,
	monitor.ColLastAgent:    230,
	monitor.ColAnswerTime:   100,
	monitor.ColStartTime:    100,
	monitor.ColDirection:    90,
	monitor.ColCampaign:     150,
}

// Status chip colours.
var (
	colorCalling  = color.NRGBA{0xD9, 0x77, 0x06, 0xff} // amber
	colorRinging  = color.NRGBA{0x25, 0x63, 0xEB, 0xff} // blue
	colorAnswered = color.NRGBA{0x16, 0xA3, 0x4A, 0xff} // green
	colorLongWait = color.NRGBA{0xDC, 0x26, 0x26, 0xff} // red: waiting longer than the threshold
)

func statusColor(c *monitor.Call, now time.Time, longWait time.Duration) color.Color {
	switch c.Status {
	case monitor.StatusRinging:
		return colorRinging
	case monitor.StatusAnswered:
		return colorAnswered
	}
	if longWait > 0 && c.Waiting() && now.Sub(c.QueueJoinTime) >= longWait {
		return colorLongWait
	}
	return colorCalling
}

// callGrid is the live table of calls. It renders one immutable monitor.Snapshot at a
// time: Length and UpdateCell index the snapshot's slice, so their cost does not depend
// on the number of calls. The selection is kept by call ID.
type callGrid struct {
	table *gridTable
	prefs fyne.Preferences

	cols     []monitor.Column
	snap     monitor.Snapshot
	sortCol  monitor.Column
	desc     bool
	selected string
	selRow   int
	longWait time.Duration
	widths   map[monitor.Column]float32
	// applying is true while applyWidths sets the table's widths column by column:
	// the layouts in between mix old and new columns and must not be read back.
	applying bool
	me       string // the supervisor's name, to mark calls they monitor
	cells    []*gridCell
	// exists reports whether a call is still on the board (a selected call that a
	// filter hides stays selected until it ends); nil keeps a selection only while
	// the call is shown.
	exists func(id string) bool

	// onSelect receives the selected call after every change of selection or
	// snapshot (nil when nothing is selected).
	onSelect func(c *monitor.Call)
	// onSort receives a new sort order chosen by clicking a header.
	onSort func(col monitor.Column, desc bool)
	// onMenu opens the context menu for a call at a position on the canvas.
	onMenu func(c monitor.Call, at fyne.Position)
}

func newCallGrid(prefs fyne.Preferences) *callGrid {
	g := &callGrid{prefs: prefs, selRow: -1, cols: append([]monitor.Column(nil), monitor.Columns...),
		widths: make(map[monitor.Column]float32)}
	for _, c := range monitor.Columns {
		w := max(defaultWidths[c], headerWidth(c))
		if prefs != nil {
			if v := prefs.Float("grid.width." + c.String()); v >= 40 {
				w = float32(v)
			}
		}
		g.widths[c] = w
	}
	t := &gridTable{g: g}
	t.Length = g.length
	t.CreateCell = g.createCell
	t.UpdateCell = g.updateCell
	t.ShowHeaderRow = true
	t.CreateHeader = g.createHeader
	t.UpdateHeader = g.updateHeader
	t.ExtendBaseWidget(t)
	g.table = t
	g.applyWidths()
	return g
}

// headerWidth is the width a column needs to show its header in full, with the sort
// arrow.
func headerWidth(c monitor.Column) float32 {
	ts := fyne.MeasureText(columnText(c), theme.TextSize(), fyne.TextStyle{Bold: true})
	return ts.Width + theme.IconInlineSize() + 4*theme.Padding()
}

// setColumns chooses the visible columns, in order.
func (g *callGrid) setColumns(cols []monitor.Column) {
	if len(cols) == 0 {
		cols = monitor.Columns
	}
	g.cols = append(g.cols[:0], cols...)
	g.applyWidths()
	g.table.Refresh()
}

func (g *callGrid) applyWidths() {
	g.applying = true
	for i, c := range g.cols {
		g.table.SetColumnWidth(i, g.widths[c])
	}
	g.applying = false
}

func (g *callGrid) length() (int, int) { return len(g.snap.Calls), len(g.cols) }

// apply shows a new snapshot: one Refresh of the table, and the selection followed by
// call ID to its new row. A selected call that the filters hide stays selected (by ID,
// with no row) and is selected again when it comes back into view; the selection ends
// with the call.
func (g *callGrid) apply(s monitor.Snapshot) {
	g.snap = s
	g.selRow = -1
	if g.selected != "" {
		for i := range s.Calls {
			if s.Calls[i].ID == g.selected {
				g.selRow = i
				break
			}
		}
		if g.selRow < 0 && (g.exists == nil || !g.exists(g.selected)) {
			g.selected = ""
		}
	}
	g.table.Refresh()
	g.fireSelect()
}

func (g *callGrid) fireSelect() {
	if g.onSelect == nil {
		return
	}
	if g.selRow < 0 {
		g.onSelect(nil)
		return
	}
	c := g.snap.Calls[g.selRow]
	g.onSelect(&c)
}

// selectedCall returns the selected call as the current snapshot shows it.
func (g *callGrid) selectedCall() (monitor.Call, bool) {
	if g.selRow < 0 || g.selRow >= len(g.snap.Calls) {
		return monitor.Call{}, false
	}
	return g.snap.Calls[g.selRow], true
}

// selectRow selects the call shown on row (or nothing for -1).
func (g *callGrid) selectRow(row int) {
	if row < 0 || row >= len(g.snap.Calls) {
		g.selected, g.selRow = "", -1
	} else {
		g.selected, g.selRow = g.snap.Calls[row].ID, row
	}
	g.table.Refresh()
	g.fireSelect()
}

// selectID selects the call with the given ID if the snapshot shows it.
func (g *callGrid) selectID(id string) bool {
	for i := range g.snap.Calls {
		if g.snap.Calls[i].ID == id {
			g.selectRow(i)
			return true
		}
	}
	return false
}

// cellText is the text of one cell, as the grid shows it.
func (g *callGrid) cellText(c *monitor.Call, col monitor.Column) string {
	switch col {
	case monitor.ColID:
		return c.ID
	case monitor.ColCustomer:
		return fmtPhone(c.Customer)
	case monitor.ColHotline:
		return fmtPhone(c.Hotline)
	case monitor.ColQueue:
		return c.Queue
	case monitor.ColStatus:
		return statusText(c.Status)
	case monitor.ColTimeInStatus:
		return fmtDuration(c.TimeInStatus(g.snap.At))
	case monitor.ColLastAgent:
		// a monitored call's mode is the marker chip before the name (markerOf)
		if c.Stolen {
			return trf("grid.stolen_by", "Supervisor", supervisorName(c.Supervisor))
		}
		return c.LastAgent
	case monitor.ColAnswerTime:
		return fmtClock(c.AnswerTime)
	case monitor.ColStartTime:
		return fmtClock(c.StartTime)
	case monitor.ColDirection:
		return directionText(c.Direction)
	case monitor.ColCampaign:
		return c.Campaign
	}
	return ""
}

func (g *callGrid) createCell() fyne.CanvasObject {
	c := newGridCell(g)
	g.cells = append(g.cells, c)
	return c
}

// renderedRows counts the rows whose cells the table has drawn with a call.
func (g *callGrid) renderedRows() int {
	seen := make(map[int]bool)
	for _, c := range g.cells {
		if c.row >= 0 && c.row < len(g.snap.Calls) && c.Visible() && (c.label.Text != "" || c.text.Text != "") {
			seen[c.row] = true
		}
	}
	return len(seen)
}

func (g *callGrid) updateCell(id widget.TableCellID, o fyne.CanvasObject) {
	cell := o.(*gridCell)
	cell.row = id.Row
	if id.Row < 0 || id.Row >= len(g.snap.Calls) || id.Col < 0 || id.Col >= len(g.cols) {
		cell.set("", nil, false)
		return
	}
	c := &g.snap.Calls[id.Row]
	col := g.cols[id.Col]
	var chip color.Color
	var mark fyne.Resource
	switch col {
	case monitor.ColStatus:
		chip = statusColor(c, g.snap.At, g.longWait)
	case monitor.ColLastAgent:
		mark = markerOf(c)
	}
	cell.set(g.cellText(c, col), chip, id.Row == g.selRow)
	cell.setMark(mark, markerTip(c))
}

// markerOf is the icon of the marker chip shown before a call's agent: how a
// supervisor is attached to it (the icons of the actions), or nil.
func markerOf(c *monitor.Call) fyne.Resource {
	if c.Stolen {
		return actionIcon(monitor.ActSteal)
	}
	switch c.Monitor {
	case monitor.MonitorListen:
		return actionIcon(monitor.ActListen)
	case monitor.MonitorWhisper:
		return actionIcon(monitor.ActWhisper)
	case monitor.MonitorBarge:
		return actionIcon(monitor.ActBarge)
	case monitor.MonitorPending:
		return theme.MoreHorizontalIcon()
	}
	return nil
}

// markerTip says in words what the marker chip shows ("Listen · Mai").
func markerTip(c *monitor.Call) string {
	if c.Stolen {
		return actionText(monitor.ActSteal) + " · " + supervisorName(c.Supervisor)
	}
	if c.Monitor == monitor.MonitorNone {
		return ""
	}
	return monitorModeText(c.Monitor) + " · " + supervisorName(c.Supervisor)
}

func (g *callGrid) createHeader() fyne.CanvasObject {
	h := &headerButton{g: g, col: -1}
	h.Alignment = widget.ButtonAlignLeading
	h.IconPlacement = widget.ButtonIconTrailingText
	h.Importance = widget.LowImportance
	h.ExtendBaseWidget(h)
	return h
}

func (g *callGrid) updateHeader(id widget.TableCellID, o fyne.CanvasObject) {
	h := o.(*headerButton)
	if id.Col < 0 || id.Col >= len(g.cols) {
		h.col = -1
		h.SetText("")
		return
	}
	col := g.cols[id.Col]
	h.col = int(col)
	if !g.applying {
		// the table has just laid this header out at its column's width: the real
		// width, however it changed (a border dragged on the header row)
		g.noteWidth(col, h.Size().Width)
	}
	var icon fyne.Resource
	if col == g.sortCol {
		if g.desc {
			icon = theme.MenuDropDownIcon()
		} else {
			icon = theme.MenuDropUpIcon()
		}
	}
	h.Text = columnText(col)
	h.Icon = icon
	h.OnTapped = func() { g.sortBy(col) }
	h.Refresh()
}

// sortBy sorts by col; a second click on the sorted column reverses the order.
func (g *callGrid) sortBy(col monitor.Column) {
	if col == g.sortCol {
		g.desc = !g.desc
	} else {
		// the longest time in status first: what a supervisor looks for
		g.sortCol, g.desc = col, col == monitor.ColTimeInStatus
	}
	if g.onSort != nil {
		g.onSort(g.sortCol, g.desc)
	}
	g.table.Refresh()
}

// noteWidth records the width the table gives a column and saves it in the
// preferences when it changed: the user dragged the column's border. Fyne's table
// delivers the drag to its header row, not to the table, so the width is read back
// from the table's own layout rather than from drag events.
func (g *callGrid) noteWidth(col monitor.Column, w float32) {
	if w < 40 || g.widths[col] == w {
		return
	}
	g.widths[col] = w
	if g.prefs != nil {
		g.prefs.SetFloat("grid.width."+col.String(), float64(w))
	}
}

// gridTable is the widget.Table of the grid, extended to move the selection with the
// arrow keys.
type gridTable struct {
	widget.Table
	g *callGrid
}

// TypedKey moves the selected row with the arrow keys.
func (t *gridTable) TypedKey(e *fyne.KeyEvent) {
	g := t.g
	n := len(g.snap.Calls)
	move := func(row int) {
		if n == 0 {
			return
		}
		row = max(0, min(n-1, row))
		g.selectRow(row)
		t.ScrollTo(widget.TableCellID{Row: row, Col: 0})
	}
	switch e.Name {
	case fyne.KeyDown:
		move(g.selRow + 1)
	case fyne.KeyUp:
		if g.selRow < 0 {
			move(0)
		} else {
			move(g.selRow - 1)
		}
	case fyne.KeyPageDown:
		move(g.selRow + 20)
	case fyne.KeyPageUp:
		move(g.selRow - 20)
	case fyne.KeyHome:
		move(0)
	case fyne.KeyEnd:
		move(n - 1)
	default:
		t.Table.TypedKey(e)
	}
}

// headerButton is a column header: a button that sorts by its column.
type headerButton struct {
	widget.Button
	g   *callGrid
	col int
}

// gridCell is one cell: a label, or a coloured chip for the status column, over a
// background that marks the selected row. The agent column puts a small marker chip
// (an icon) before the name of a monitored or stolen call.
type gridCell struct {
	widget.BaseWidget
	g     *callGrid
	row   int
	bg    *canvas.Rectangle
	chip  *canvas.Rectangle
	text  *canvas.Text
	label *widget.Label
	mark  *canvas.Rectangle
	icon  *canvas.Image
	// markTip says in words what the marker shows ("" without a marker).
	markTip string
}

// markSize is the marker chip's size.
var markSize = fyne.NewSize(24, 18)

func newGridCell(g *callGrid) *gridCell {
	c := &gridCell{g: g, row: -1,
		bg:    canvas.NewRectangle(color.Transparent),
		chip:  canvas.NewRectangle(color.Transparent),
		text:  canvas.NewText("", color.White),
		label: widget.NewLabel("000000000000"),
		mark:  canvas.NewRectangle(withAlpha(theme.Color(theme.ColorNamePrimary), 0x60)),
		icon:  canvas.NewImageFromResource(theme.VolumeUpIcon()),
	}
	c.label.Truncation = fyne.TextTruncateEllipsis
	c.mark.CornerRadius = 6
	c.icon.FillMode = canvas.ImageFillContain
	c.mark.Hide()
	c.icon.Hide()
	c.chip.CornerRadius = 9
	c.text.TextStyle.Bold = true
	c.text.TextSize = theme.TextSize() - 1
	c.chip.Hide()
	c.text.Hide()
	c.ExtendBaseWidget(c)
	return c
}

func (c *gridCell) set(text string, chip color.Color, selected bool) {
	if selected {
		c.bg.FillColor = theme.Color(theme.ColorNameSelection)
	} else {
		c.bg.FillColor = color.Transparent
	}
	c.bg.Refresh()
	if chip != nil {
		c.label.Hide()
		c.chip.FillColor = chip
		c.text.Text = text
		c.chip.Show()
		c.text.Show()
		c.chip.Refresh()
		c.text.Refresh()
		c.layout(c.Size())
		return
	}
	c.chip.Hide()
	c.text.Hide()
	c.label.Show()
	if c.label.Text != text {
		c.label.SetText(text)
	}
}

// setMark shows the marker chip with icon before the text, or hides it (nil).
func (c *gridCell) setMark(icon fyne.Resource, tip string) {
	c.markTip = tip
	if icon == nil {
		if c.mark.Visible() {
			c.mark.Hide()
			c.icon.Hide()
			c.layout(c.Size())
		}
		return
	}
	if c.icon.Resource != icon {
		c.icon.Resource = icon
		c.icon.Refresh()
	}
	if !c.mark.Visible() {
		c.mark.Show()
		c.icon.Show()
		c.layout(c.Size())
	}
}

func (c *gridCell) layout(s fyne.Size) {
	c.bg.Resize(s)
	if c.mark.Visible() {
		pad := theme.Padding()
		y := (s.Height - markSize.Height) / 2
		c.mark.Move(fyne.NewPos(pad, y))
		c.mark.Resize(markSize)
		is := markSize.Height - 4
		c.icon.Move(fyne.NewPos(pad+(markSize.Width-is)/2, y+2))
		c.icon.Resize(fyne.NewSize(is, is))
		x := pad + markSize.Width
		c.label.Move(fyne.NewPos(x, 0))
		c.label.Resize(fyne.NewSize(max(0, s.Width-x), s.Height))
	} else {
		c.label.Move(fyne.NewPos(0, 0))
		c.label.Resize(s)
	}
	ts := c.text.MinSize()
	pad := theme.Padding()
	chipW := ts.Width + 4*pad
	chipH := ts.Height + pad
	y := (s.Height - chipH) / 2
	c.chip.Move(fyne.NewPos(pad, y))
	c.chip.Resize(fyne.NewSize(chipW, chipH))
	c.text.Move(fyne.NewPos(pad+2*pad, y+pad/2))
	c.text.Resize(ts)
}

// Tapped selects the cell's row and gives the grid the keyboard focus.
func (c *gridCell) Tapped(*fyne.PointEvent) {
	c.g.selectRow(c.row)
	if cv := fyne.CurrentApp().Driver().CanvasForObject(c.g.table); cv != nil {
		cv.Focus(c.g.table)
	}
}

// TappedSecondary selects the row and opens the action menu.
func (c *gridCell) TappedSecondary(e *fyne.PointEvent) {
	c.g.selectRow(c.row)
	call, ok := c.g.selectedCall()
	if ok && c.g.onMenu != nil {
		c.g.onMenu(call, e.AbsolutePosition)
	}
}

// MouseIn implements desktop.Hoverable so the table shows no resize cursor over cells.
func (c *gridCell) MouseIn(*desktop.MouseEvent) {}

// MouseMoved implements desktop.Hoverable.
func (c *gridCell) MouseMoved(*desktop.MouseEvent) {}

// MouseOut implements desktop.Hoverable.
func (c *gridCell) MouseOut() {}

// CreateRenderer implements fyne.Widget.
func (c *gridCell) CreateRenderer() fyne.WidgetRenderer {
	return &gridCellRenderer{c: c, objs: []fyne.CanvasObject{c.bg, c.chip, c.text, c.mark, c.icon, c.label}}
}

type gridCellRenderer struct {
	c    *gridCell
	objs []fyne.CanvasObject
}

func (r *gridCellRenderer) Layout(s fyne.Size)           { r.c.layout(s) }
func (r *gridCellRenderer) MinSize() fyne.Size           { return r.c.label.MinSize() }
func (r *gridCellRenderer) Refresh()                     { r.c.layout(r.c.Size()) }
func (r *gridCellRenderer) Objects() []fyne.CanvasObject { return r.objs }
func (r *gridCellRenderer) Destroy()                     {}

// rowCount is the grid's row count text for the status bar.
func rowCountText(shown, total int) string {
	if shown == total {
		return trf("status.calls", "Count", strconv.Itoa(total))
	}
	return trf("status.calls_filtered", "Shown", strconv.Itoa(shown), "Count", strconv.Itoa(total))
}
