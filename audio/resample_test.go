package audio

import (
	"math"
	"testing"
)

// resampleAll runs a whole signal through a resampler in uneven chunks, as
// a device would deliver it.
func resampleAll(r *Resampler, in []int16) []int16 {
	var out []int16
	chunks := []int{80, 160, 7, 441, 1, 960}
	for i, c := 0, 0; i < len(in); c++ {
		n := min(chunks[c%len(chunks)], len(in)-i)
		out = r.Process(in[i:i+n], out)
		i += n
	}
	return out
}

func tone(rate int, freq, amp float64, n int) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(math.Round(amp * 32767 * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))))
	}
	return s
}

// gainDB is the level of freq in out relative to in (both measured with
// Goertzel, skipping the first 50 ms of start-up).
func gainDB(in []int16, inRate int, out []int16, outRate int, freq float64) float64 {
	pi := Goertzel(in[inRate/20:], inRate, freq)
	po := Goertzel(out[outRate/20:], outRate, freq)
	return 10 * math.Log10(po/pi)
}

func TestResamplerKeepsTone(t *testing.T) {
	for _, c := range [][2]int{{8000, 48000}, {48000, 8000}, {8000, 44100}, {44100, 8000}, {16000, 48000}, {48000, 16000}, {8000, 16000}, {16000, 8000}, {8000, 8000}} {
		in := tone(c[0], 1000, 0.5, c[0]) // one second
		r := NewResampler(c[0], c[1])
		out := resampleAll(r, in)
		// Length: one second of output (give or take a sample).
		if d := len(out) - c[1]; d < -1 || d > c[1]/c[0]+1 {
			t.Errorf("%d->%d: %d samples out of %d in", c[0], c[1], len(out), len(in))
		}
		seg := out[c[1]/20:]
		if r := ToneRatio(seg, c[1], 1000); r < 0.98 {
			t.Errorf("%d->%d: 1 kHz tone ratio %.4f, want >= 0.98", c[0], c[1], r)
		}
		if g := gainDB(in, c[0], out, c[1], 1000); math.Abs(g) > 0.2 {
			t.Errorf("%d->%d: 1 kHz gain %.2f dB", c[0], c[1], g)
		}
		// Nothing else but the tone: distortion and images below -50 dB.
		p := MeanSquare(seg)
		residual := p - Goertzel(seg, c[1], 1000)
		if snr := 10 * math.Log10(p/max(residual, 1e-9)); snr < 40 {
			t.Errorf("%d->%d: tone to residual %.1f dB, want >= 40", c[0], c[1], snr)
		}
	}
}

func TestResamplerFrequencyResponse(t *testing.T) {
	// Telephone band passes flat (within 1 dB, 300-3400 Hz) both ways
	// between 8 kHz and 48 kHz.
	for _, c := range [][2]int{{8000, 48000}, {48000, 8000}, {8000, 44100}} {
		for _, f := range []float64{300, 1000, 2000, 3000, 3400} {
			in := tone(c[0], f, 0.5, c[0]/2)
			out := resampleAll(NewResampler(c[0], c[1]), in)
			if g := gainDB(in, c[0], out, c[1], f); math.Abs(g) > 1 {
				t.Errorf("%d->%d: %v Hz gain %.2f dB, want within ±1 dB", c[0], c[1], f, g)
			}
		}
	}
}

func TestResamplerAntiAliasing(t *testing.T) {
	// 6 kHz at 48 kHz would fold to 2 kHz at 8 kHz: it must be filtered out.
	in := tone(48000, 6000, 0.5, 48000)
	out := resampleAll(NewResampler(48000, 8000), in)
	seg := out[400:]
	if l := Level(seg); l > -60 {
		t.Errorf("6 kHz tone downsampled to 8 kHz left %.1f dBFS, want below -60 (from -9)", l)
	}
	// Upsampling 3 kHz from 8 kHz must not leave its image at 5 kHz.
	in = tone(8000, 3000, 0.5, 8000)
	out = resampleAll(NewResampler(8000, 48000), in)
	seg = out[2400:]
	if img := 10 * math.Log10(Goertzel(seg, 48000, 5000)/Goertzel(seg, 48000, 3000)); img > -50 {
		t.Errorf("image at 5 kHz is %.1f dB below the 3 kHz tone, want at least 50", -img)
	}
}

func TestResamplerDelay(t *testing.T) {
	// A click at input sample 1000 comes out at 1000+Delay input samples,
	// converted to the output rate.
	for _, c := range [][2]int{{8000, 48000}, {48000, 8000}, {8000, 44100}} {
		in := make([]int16, c[0]/2)
		for i := 1000 * c[0] / 8000; i < len(in); i++ {
			in[i] = 10000 // a step, so decimation keeps it
		}
		r := NewResampler(c[0], c[1])
		out := r.Process(in, nil)
		want := float64(1000*c[0]/8000+r.Delay()) * float64(c[1]) / float64(c[0])
		half := -1
		for i, s := range out {
			if s >= 5000 {
				half = i
				break
			}
		}
		if math.Abs(float64(half)-want) > float64(c[1])/float64(c[0])+1 {
			t.Errorf("%d->%d: step crosses half height at %d, want %.0f (Delay %d)", c[0], c[1], half, want, r.Delay())
		}
	}
}

func TestResamplerStreamingMatchesOneShot(t *testing.T) {
	in := tone(8000, 440, 0.5, 4000)
	a := NewResampler(8000, 44100).Process(in, nil)
	b := resampleAll(NewResampler(8000, 44100), in)
	if len(a) != len(b) {
		t.Fatalf("one-shot %d samples, chunked %d", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("sample %d: one-shot %d, chunked %d", i, a[i], b[i])
		}
	}
}

func TestResamplerNoAllocation(t *testing.T) {
	r := NewResampler(8000, 48000)
	in := tone(8000, 440, 0.5, 160)
	out := make([]int16, 0, r.MaxOut(len(in)))
	r.Process(in, out) // warm up
	if n := testing.AllocsPerRun(100, func() { out = r.Process(in, out[:0]) }); n != 0 {
		t.Errorf("Process allocates %.1f times per frame", n)
	}
	d := NewResampler(48000, 8000)
	big := tone(48000, 440, 0.5, 480)
	dout := make([]int16, 0, d.MaxOut(len(big)))
	d.Process(big, dout)
	if n := testing.AllocsPerRun(100, func() { dout = d.Process(big, dout[:0]) }); n != 0 {
		t.Errorf("downsampling allocates %.1f times per period", n)
	}
}

func TestGoertzelAndLevel(t *testing.T) {
	s := tone(8000, 1000, 0.5, 800)
	if r := ToneRatio(s, 8000, 1000); r < 0.95 || r > 1.1 {
		t.Errorf("ToneRatio at the tone = %.3f", r)
	}
	if r := ToneRatio(s, 8000, 1500); r > 0.01 {
		t.Errorf("ToneRatio away from the tone = %.3f", r)
	}
	if r := ToneRatio(make([]int16, 100), 8000, 1000); r != 0 {
		t.Errorf("ToneRatio of silence = %v", r)
	}
	if l := Level(s); math.Abs(l-(-9.03)) > 0.1 {
		t.Errorf("Level of a 0.5 sine = %.2f dBFS, want -9.03", l)
	}
	if l := Level(make([]int16, 10)); l != MinLevel {
		t.Errorf("Level of silence = %v", l)
	}
	if u := LevelUnit(-30); math.Abs(u-0.5) > 1e-9 {
		t.Errorf("LevelUnit(-30) = %v", u)
	}
}
