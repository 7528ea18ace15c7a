package ui

import (
	"image/color"
	"strconv"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/earshot-app/earshot/monitor"
)

// wallboard is the strip of per-queue figures above the grid: calls waiting, longest
// wait, talking, answered and abandoned since start. Cards are reused between ticks.
type wallboard struct {
	box      *fyne.Container
	root     fyne.CanvasObject
	cards    []*queueCard
	total    *queueCard
	longWait time.Duration
	empty    *widget.Label
}

type queueCard struct {
	root     fyne.CanvasObject
	bg       *canvas.Rectangle
	name     *widget.Label
	waiting  *widget.Label
	longest  *canvas.Text
	talking  *widget.Label
	answered *widget.Label
}

func newWallboard() *wallboard {
	w := &wallboard{box: container.NewHBox()}
	w.total = newQueueCard()
	w.total.name.SetText(tr("wall.all_queues"))
	w.empty = widget.NewLabel(tr("wall.no_queues"))
	w.box.Add(w.total.root)
	w.box.Add(w.empty)
	scroll := container.NewHScroll(w.box)
	scroll.SetMinSize(fyne.NewSize(200, w.total.root.MinSize().Height))
	w.root = scroll
	return w
}

func newQueueCard() *queueCard {
	c := &queueCard{
		bg:       canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground)),
		name:     widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		waiting:  widget.NewLabel(""),
		longest:  canvas.NewText("", theme.Color(theme.ColorNameForeground)),
		talking:  widget.NewLabel(""),
		answered: widget.NewLabel(""),
	}
	c.bg.CornerRadius = theme.InputRadiusSize() * 2
	c.longest.TextStyle.Bold = true
	for _, l := range []*widget.Label{c.waiting, c.talking, c.answered} {
		l.SizeName = theme.SizeNameCaptionText
	}
	c.name.Truncation = fyne.TextTruncateEllipsis
	rows := container.New(&tightVBox{},
		c.name,
		container.NewHBox(c.waiting, container.NewCenter(c.longest)),
		c.talking,
		c.answered)
	c.root = container.NewStack(c.bg, container.NewPadded(container.NewGridWrap(fyne.NewSize(190, rows.MinSize().Height), rows)))
	return c
}

func (c *queueCard) set(s monitor.QueueStats, longWait time.Duration) {
	c.name.SetText(s.Queue)
	c.waiting.SetText(trf("wall.waiting", "Count", strconv.Itoa(s.Waiting)))
	if s.Waiting > 0 {
		c.longest.Text = trf("wall.longest", "Wait", fmtDuration(s.LongestWait))
	} else {
		c.longest.Text = ""
	}
	if longWait > 0 && s.LongestWait >= longWait {
		c.longest.Color = colorLongWait
	} else {
		c.longest.Color = theme.Color(theme.ColorNameForeground)
	}
	c.longest.TextSize = theme.CaptionTextSize()
	c.longest.Refresh()
	c.talking.SetText(trf("wall.talking", "Count", strconv.Itoa(s.Talking)))
	c.answered.SetText(trf("wall.answered_abandoned", "Answered", strconv.Itoa(s.Answered), "Abandoned", strconv.Itoa(s.Abandoned)))
	var bg color.Color = theme.Color(theme.ColorNameInputBackground)
	c.bg.FillColor = bg
	c.bg.Refresh()
}

// apply shows new per-queue figures.
func (w *wallboard) apply(stats []monitor.QueueStats) {
	var tot monitor.QueueStats
	for _, s := range stats {
		tot.Waiting += s.Waiting
		tot.Talking += s.Talking
		tot.Answered += s.Answered
		tot.Abandoned += s.Abandoned
		tot.LongestWait = max(tot.LongestWait, s.LongestWait)
	}
	tot.Queue = tr("wall.all_queues")
	w.total.set(tot, w.longWait)
	rebuild := len(stats) != len(w.cards)
	for len(w.cards) < len(stats) {
		w.cards = append(w.cards, newQueueCard())
	}
	w.cards = w.cards[:len(stats)]
	for i, s := range stats {
		w.cards[i].set(s, w.longWait)
	}
	if rebuild {
		objs := []fyne.CanvasObject{w.total.root}
		if len(stats) == 0 {
			objs = append(objs, w.empty)
		}
		for _, c := range w.cards {
			objs = append(objs, c.root)
		}
		w.box.Objects = objs
		w.box.Refresh()
	}
}

// tightVBox stacks objects vertically without padding between them.
type tightVBox struct{}

func (tightVBox) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var s fyne.Size
	for _, o := range objs {
		m := o.MinSize()
		s.Width = max(s.Width, m.Width)
		s.Height += m.Height - 2*theme.Padding()
	}
	return s
}

func (tightVBox) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	y := float32(0)
	for _, o := range objs {
		h := o.MinSize().Height
		o.Move(fyne.NewPos(0, y-theme.Padding()))
		o.Resize(fyne.NewSize(size.Width, h))
		y += h - 2*theme.Padding()
	}
}
