// Command gen draws Earshot's icons (the application icon and the tray state icons) with
// signed-distance shapes and writes them as PNG files into the assets folder. Run it with
// `go generate ./assets` after changing the design.
package main

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
)

type vec struct{ x, y float64 }

func (a vec) sub(b vec) vec           { return vec{a.x - b.x, a.y - b.y} }
func (a vec) add(b vec) vec           { return vec{a.x + b.x, a.y + b.y} }
func (a vec) mul(s float64) vec       { return vec{a.x * s, a.y * s} }
func (a vec) dot(b vec) float64       { return a.x*b.x + a.y*b.y }
func (a vec) length() float64         { return math.Hypot(a.x, a.y) }
func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

// Signed distances in the 100-unit design space (negative inside).
func circle(p, c vec, r float64) float64 { return p.sub(c).length() - r }

func capsule(p, a, b vec, r float64) float64 {
	pa, ba := p.sub(a), b.sub(a)
	h := clamp(pa.dot(ba)/ba.dot(ba), 0, 1)
	return pa.sub(ba.mul(h)).length() - r
}

func roundRect(p, c vec, hw, hh, r float64) float64 {
	q := vec{math.Abs(p.x-c.x) - hw + r, math.Abs(p.y-c.y) - hh + r}
	out := vec{math.Max(q.x, 0), math.Max(q.y, 0)}.length()
	return out + math.Min(math.Max(q.x, q.y), 0) - r
}

// upperArc is a stroke of half-thickness t along the upper half of a circle.
func upperArc(p, c vec, r, t float64) float64 {
	if p.y <= c.y {
		return math.Abs(p.sub(c).length()-r) - t
	}
	return math.Min(circle(p, vec{c.x - r, c.y}, t), circle(p, vec{c.x + r, c.y}, t))
}

// headset is the glyph: a band, two ear cups and a microphone boom.
func headset(p vec) float64 {
	d := upperArc(p, vec{50, 54}, 29, 4.2)
	d = math.Min(d, roundRect(p, vec{21, 62}, 8, 14, 5))
	d = math.Min(d, roundRect(p, vec{79, 62}, 8, 14, 5))
	d = math.Min(d, capsule(p, vec{79, 72}, vec{72, 82}, 2.6))
	d = math.Min(d, capsule(p, vec{72, 82}, vec{58, 85}, 2.6))
	d = math.Min(d, circle(p, vec{54, 85}, 5.5))
	return d
}

func cover(d, px float64) float64 { return clamp(0.5-d/px, 0, 1) }

func blend(dst color.NRGBA, src color.NRGBA, a float64) color.NRGBA {
	sa := a * float64(src.A) / 255
	da := float64(dst.A) / 255
	oa := sa + da*(1-sa)
	if oa == 0 {
		return color.NRGBA{}
	}
	mix := func(s, d uint8) uint8 {
		return uint8(math.Round((float64(s)*sa + float64(d)*da*(1-sa)) / oa))
	}
	return color.NRGBA{mix(src.R, dst.R), mix(src.G, dst.G), mix(src.B, dst.B), uint8(math.Round(oa * 255))}
}

func lerp(a, b color.NRGBA, t float64) color.NRGBA {
	f := func(x, y uint8) uint8 { return uint8(math.Round(float64(x) + (float64(y)-float64(x))*t)) }
	return color.NRGBA{f(a.R, b.R), f(a.G, b.G), f(a.B, b.B), f(a.A, b.A)}
}

// appIcon: a rounded square with a teal gradient and a white headset.
func appIcon(size int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	s := float64(size) / 100
	top, bottom := color.NRGBA{0x14, 0xB8, 0xA6, 0xff}, color.NRGBA{0x0F, 0x5E, 0x8C, 0xff}
	white := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	shadow := color.NRGBA{0x06, 0x2a, 0x3a, 0x70}
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			p := vec{(float64(x) + 0.5) / s, (float64(y) + 0.5) / s}
			var c color.NRGBA
			bg := roundRect(p, vec{50, 50}, 46, 46, 21)
			c = blend(c, lerp(top, bottom, clamp((p.y-4)/92, 0, 1)), cover(bg, 1/s))
			// a soft shadow under the glyph, inside the tile only
			if bg < 0 {
				c = blend(c, shadow, cover(headset(p.sub(vec{0, 1.6}))-0.8, 2.5/s)*0.6)
			}
			c = blend(c, white, cover(headset(p), 1/s))
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

// trayIcon: a coloured disc with a white headset, one colour per state.
func trayIcon(size int, bg color.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	s := float64(size) / 100
	white := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			p := vec{(float64(x) + 0.5) / s, (float64(y) + 0.5) / s}
			var c color.NRGBA
			c = blend(c, bg, cover(circle(p, vec{50, 50}, 48), 1/s))
			q := vec{50 + (p.x-50)*1.18, 53 + (p.y-50)*1.18}
			c = blend(c, white, cover(headset(q)/1.18, 1/s))
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

func write(dir, name string, img image.Image) error {
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("encode %s: %w", name, err)
	}
	return f.Close()
}

func main() {
	dir := flag.String("out", ".", "folder to write the PNG files into")
	flag.Parse()
	files := map[string]image.Image{
		"icon.png":         appIcon(512),
		"tray-ok.png":      trayIcon(64, color.NRGBA{0x16, 0xA3, 0x4A, 0xff}),
		"tray-call.png":    trayIcon(64, color.NRGBA{0x25, 0x63, 0xEB, 0xff}),
		"tray-problem.png": trayIcon(64, color.NRGBA{0xDC, 0x26, 0x26, 0xff}),
		"tray-idle.png":    trayIcon(64, color.NRGBA{0x6B, 0x72, 0x80, 0xff}),
	}
	for name, img := range files {
		if err := write(*dir, name, img); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
	}
}
