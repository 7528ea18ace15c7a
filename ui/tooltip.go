package ui

import (
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// tooltipDelay is how long the pointer rests on a button before its tooltip shows.
const tooltipDelay = 600 * time.Millisecond

// tipButton is a button with a tooltip (Fyne has none of its own): the tooltip shows
// when the pointer rests on the button, whether it is enabled or not, so a disabled
// action can say why.
type tipButton struct {
	widget.Button
	tip   string
	timer *time.Timer
	popup *tipLayer
	seq   int
}

func newTipButton(label string, icon fyne.Resource, tip string, tapped func()) *tipButton {
	b := &tipButton{tip: tip}
	b.Text = label
	b.Icon = icon
	b.OnTapped = tapped
	b.ExtendBaseWidget(b)
	return b
}

// SetTip changes the tooltip text.
func (b *tipButton) SetTip(tip string) {
	b.tip = tip
	if b.popup != nil {
		b.hideTip()
		b.showTip()
	}
}

// Tip returns the tooltip text.
func (b *tipButton) Tip() string { return b.tip }

// MouseIn starts the tooltip timer.
func (b *tipButton) MouseIn(e *desktop.MouseEvent) {
	b.Button.MouseIn(e)
	b.seq++
	seq := b.seq
	if b.timer != nil {
		b.timer.Stop()
	}
	b.timer = time.AfterFunc(tooltipDelay, func() {
		fyne.Do(func() {
			if b.seq == seq {
				b.showTip()
			}
		})
	})
}

// MouseOut hides the tooltip.
func (b *tipButton) MouseOut() {
	b.Button.MouseOut()
	b.seq++
	if b.timer != nil {
		b.timer.Stop()
	}
	b.hideTip()
}

// Tapped hides the tooltip and taps the button.
func (b *tipButton) Tapped(e *fyne.PointEvent) {
	b.seq++
	b.hideTip()
	b.Button.Tapped(e)
}

func (b *tipButton) showTip() {
	if b.tip == "" {
		return
	}
	c := fyne.CurrentApp().Driver().CanvasForObject(b)
	if c == nil {
		return
	}
	v, ok := tipLayers.Load(c)
	if !ok {
		return
	}
	layer := v.(*tipLayer)
	d := fyne.CurrentApp().Driver()
	pos := d.AbsolutePositionForObject(b).Subtract(d.AbsolutePositionForObject(layer.root))
	pos.Y += b.Size().Height + 2
	layer.show(b.tip, pos)
	b.popup = layer
}

func (b *tipButton) hideTip() {
	if b.popup != nil {
		b.popup.hide()
		b.popup = nil
	}
}

// tipLayer is a layer above a window's content where tooltips are drawn. It holds only
// a rectangle and text, which take no pointer events, so the pointer keeps reaching the
// button under it.
type tipLayer struct {
	root *fyne.Container
	bg   *canvas.Rectangle
	text *canvas.Text
}

// tipLayers maps a canvas to its tooltip layer.
var tipLayers sync.Map

// withTooltips returns content with a tooltip layer above it, registered for canvas c.
func withTooltips(c fyne.Canvas, content fyne.CanvasObject) fyne.CanvasObject {
	l := &tipLayer{
		bg:   canvas.NewRectangle(theme.Color(theme.ColorNameOverlayBackground)),
		text: canvas.NewText("", theme.Color(theme.ColorNameForeground)),
	}
	l.bg.CornerRadius = theme.InputRadiusSize()
	l.bg.StrokeColor = theme.Color(theme.ColorNameInputBorder)
	l.bg.StrokeWidth = 1
	l.text.TextSize = theme.CaptionTextSize()
	l.bg.Hide()
	l.text.Hide()
	l.root = container.NewWithoutLayout(l.bg, l.text)
	tipLayers.Store(c, l)
	return container.NewStack(content, l.root)
}

func (l *tipLayer) show(tip string, pos fyne.Position) {
	l.text.Text = tip
	l.text.Color = theme.Color(theme.ColorNameForeground)
	l.bg.FillColor = theme.Color(theme.ColorNameOverlayBackground)
	ts := l.text.MinSize()
	pad := theme.Padding()
	size := fyne.NewSize(ts.Width+3*pad, ts.Height+2*pad)
	if w := l.root.Size().Width; w > 0 && pos.X+size.Width > w {
		pos.X = max(0, w-size.Width)
	}
	l.bg.Move(pos)
	l.bg.Resize(size)
	l.text.Move(pos.AddXY(1.5*pad, pad))
	l.text.Resize(ts)
	l.bg.Show()
	l.text.Show()
	l.bg.Refresh()
	l.text.Refresh()
}

func (l *tipLayer) hide() {
	l.bg.Hide()
	l.text.Hide()
}
