package audio

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Tone is a sine generator with a short fade-in, for test signals and the
// speaker test. It is not safe for concurrent use.
type Tone struct {
	rate  int
	step  float64 // phase increment per sample, radians
	phase float64
	amp   float64
	ramp  int // samples of fade-in left
	rampN int
}

// NewTone returns a generator of a sine at freq Hz with peak amplitude amp
// (0..1 of full scale) at sample rate rate. It fades in over 5 ms so that
// it starts without a click.
func NewTone(rate int, freq, amp float64) *Tone {
	r := max(1, rate/200)
	return &Tone{rate: rate, step: 2 * math.Pi * freq / float64(rate), amp: amp * 32767, ramp: r, rampN: r}
}

// Read fills out with the next samples of the tone.
func (t *Tone) Read(out []int16) {
	for i := range out {
		g := t.amp
		if t.ramp > 0 {
			g *= 1 - float64(t.ramp)/float64(t.rampN)
			t.ramp--
		}
		out[i] = int16(math.Round(g * math.Sin(t.phase)))
		t.phase += t.step
		if t.phase > 2*math.Pi {
			t.phase -= 2 * math.Pi
		}
	}
}

// Ringtone synthesises Earshot's ring: a soft two-note chime (E6 and B5,
// each a bell-like note with a few harmonics and a gentle decay) played
// twice, then a pause, repeating every [RingPeriod]. It is not safe for
// concurrent use.
type Ringtone struct {
	rate int
	pos  int // sample within the cadence
}

// Ring cadence.
const (
	// RingPeriod is the length of one ring cycle.
	RingPeriod = 3 * time.Second
	// RingOn is the part of each cycle that sounds; the rest is silence.
	RingOn = 1200 * time.Millisecond
	// RingLow and RingHigh are the chime's two notes, in Hz.
	RingLow  = 987.77  // B5
	RingHigh = 1318.51 // E6
)

// ringAmp is the peak amplitude of a note's fundamental (0..1 of full
// scale): about -18 dBFS RMS while ringing, peaks near -6 dBFS.
const ringAmp = 0.4

// ringNotes are the chime's notes: start time and frequency.
var ringNotes = [...]struct {
	at   time.Duration
	freq float64
}{
	{0, RingHigh},
	{300 * time.Millisecond, RingLow},
	{600 * time.Millisecond, RingHigh},
	{900 * time.Millisecond, RingLow},
}

// NewRingtone returns the ringtone generator at sample rate rate.
func NewRingtone(rate int) *Ringtone { return &Ringtone{rate: rate} }

// Read fills out with the next samples of the ring.
func (r *Ringtone) Read(out []int16) {
	period := durSamples(RingPeriod, r.rate)
	noteLen := durSamples(300*time.Millisecond, r.rate)
	attack := max(1, r.rate/200)
	release := max(1, r.rate/50)
	for i := range out {
		var v float64
		for _, nt := range ringNotes {
			k := r.pos - durSamples(nt.at, r.rate)
			if k < 0 || k >= noteLen {
				continue
			}
			t := float64(k) / float64(r.rate)
			env := math.Exp(-t / 0.12)
			if k < attack {
				env *= float64(k) / float64(attack)
			}
			if left := noteLen - k; left < release {
				env *= float64(left) / float64(release)
			}
			w := 2 * math.Pi * nt.freq * t
			v += env * (math.Sin(w) + 0.25*math.Sin(2*w) + 0.08*math.Sin(3*w))
		}
		out[i] = clamp16(float32(v * ringAmp * 32767))
		r.pos++
		if r.pos >= period {
			r.pos = 0
		}
	}
}

// PlayRingtone rings on the playback device dev (ID or name, "" for the
// default) until stop is called. stop may be called more than once.
func (c *Context) PlayRingtone(dev string) (stop func(), err error) {
	d, err := c.FindDevice(Playback, dev)
	if err != nil {
		return nil, fmt.Errorf("play ringtone: %w", err)
	}
	var gen atomic.Pointer[Ringtone]
	ds, err := c.open(streamSpec{
		name:     "ring",
		output:   &d,
		period:   20 * time.Millisecond,
		describe: describeDevices(&d, nil),
		data: func(out, _ []int16) {
			if g := gen.Load(); g != nil {
				g.Read(out)
			} else {
				clear(out)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("play ringtone: %w", err)
	}
	gen.Store(NewRingtone(ds.rate))
	return ds.close, nil
}

// PlayTestTone plays a 1 kHz tone at -12 dBFS on the playback device dev
// for d (or until ctx is done) and returns when it has finished: nil after
// d, ctx's error if cancelled, an error wrapping [ErrDeviceLost] if the
// device stopped.
func (c *Context) PlayTestTone(ctx context.Context, dev string, d time.Duration) error {
	dv, err := c.FindDevice(Playback, dev)
	if err != nil {
		return fmt.Errorf("play test tone: %w", err)
	}
	lost := make(chan error, 1)
	var gen atomic.Pointer[Tone]
	ds, err := c.open(streamSpec{
		name:     "test-tone",
		output:   &dv,
		period:   20 * time.Millisecond,
		describe: describeDevices(&dv, nil),
		onLost:   func(err error) { lost <- err },
		data: func(out, _ []int16) {
			if g := gen.Load(); g != nil {
				g.Read(out)
			} else {
				clear(out)
			}
		},
	})
	if err != nil {
		return fmt.Errorf("play test tone: %w", err)
	}
	defer ds.close()
	gen.Store(NewTone(ds.rate, 1000, 0.25))
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case err := <-lost:
		return fmt.Errorf("play test tone: %w", err)
	}
}

// MeterConfig configures [Context.Meter].
type MeterConfig struct {
	// Device selects the capture device by ID or name ("" for the default).
	Device string
	// Interval is how often OnLevel is called. Default 50 ms.
	Interval time.Duration
	// OnLevel receives the loudest level of each interval in dBFS, on a
	// goroutine of its own.
	OnLevel func(level float64)
	// Source, if set, replaces the microphone with PCM at the device's rate
	// (the rate is passed along); tests use it.
	Source func(out []int16, rate int)
}

// StartMeter measures the level of the microphone dev (ID or name, "" for
// the default) and calls onLevel with it in dBFS about 20 times a second,
// until stop is called.
func (c *Context) StartMeter(dev string, onLevel func(level float64)) (stop func(), err error) {
	return c.Meter(MeterConfig{Device: dev, OnLevel: onLevel})
}

// Meter is [Context.StartMeter] with every option.
func (c *Context) Meter(cfg MeterConfig) (stop func(), err error) {
	if cfg.Interval <= 0 {
		cfg.Interval = 50 * time.Millisecond
	}
	d, err := c.FindDevice(Capture, cfg.Device)
	if err != nil {
		return nil, fmt.Errorf("start level meter: %w", err)
	}
	var peak atomicFloat
	peak.Store(MinLevel)
	var rate atomic.Int64
	ds, err := c.open(streamSpec{
		name:     "meter",
		input:    &d,
		period:   10 * time.Millisecond,
		describe: describeDevices(nil, &d),
		data: func(_, in []int16) {
			if cfg.Source != nil {
				if r := int(rate.Load()); r > 0 {
					cfg.Source(in, r)
				} else {
					clear(in)
				}
			}
			l := levelOf(in)
			for {
				old := peak.bits.Load()
				if l <= math.Float64frombits(old) || peak.bits.CompareAndSwap(old, math.Float64bits(l)) {
					break
				}
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("start level meter: %w", err)
	}
	rate.Store(int64(ds.rate))
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(cfg.Interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				l := math.Float64frombits(peak.bits.Swap(math.Float64bits(MinLevel)))
				if cfg.OnLevel != nil {
					cfg.OnLevel(l)
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			ds.close()
			close(done)
			wg.Wait()
		})
	}, nil
}
