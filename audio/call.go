package audio

import (
	"fmt"
	"math"
	"sync/atomic"
	"time"
)

// CallConfig configures the audio of one call. Zero fields take the
// defaults given on each field.
type CallConfig struct {
	// Output and Input select the headset's playback and capture devices by
	// ID or name ("" is the system default); see [Context.FindDevice].
	Output, Input string
	// NetworkRate is the sample rate of the PCM exchanged with the phone.
	// Default 8000.
	NetworkRate int
	// Frame is the duration of the microphone frames handed to capture (the
	// RTP packet time): capture is called once per Frame of device audio.
	// Default 20 ms.
	Frame time.Duration
	// Period is the device's period, the audio it asks for at once.
	// Default 10 ms.
	Period time.Duration
	// DeviceRate forces the device's sample rate; 0 uses its native rate.
	DeviceRate int
	// PlaybackTap, if set, sees exactly the PCM sent to the playback device,
	// at the device's rate, on the audio thread: it must be quick and must
	// not keep pcm. Tests use it to check what a user would hear.
	PlaybackTap func(pcm []int16, rate int)
	// CaptureSource, if set, replaces the microphone: it is called on the
	// audio thread, at the device's pace, to fill network-rate PCM that then
	// goes through the same path as microphone audio (resampled to the
	// device rate and back, muted, metered). Tests use it as a test signal.
	CaptureSource func(out []int16)
	// OnError, if set, is called on its own goroutine when the device stops
	// by itself (for example an unplugged headset) with an error wrapping
	// [ErrDeviceLost]. The stream then stays silent; the call may go on.
	OnError func(error)
}

// CallStream is the running audio of one call: the playback function's PCM
// goes to the headset, the microphone's PCM goes to the capture function.
type CallStream struct {
	ds       *deviceStream
	netRate  int
	devRate  int
	chunk    int // network samples pulled per playback call
	frameLen int // network samples per capture frame

	playback      func([]int16) int
	capture       func([]int16)
	tap           func([]int16, int)
	captureSource func([]int16)

	// playback path (audio thread only)
	up      *Resampler
	netBuf  []int16
	upBuf   []int16
	fifo    []int16 // device-rate samples waiting to be played
	fifoOff int

	// capture path (audio thread only)
	down    *Resampler
	srcUp   *Resampler
	srcBuf  []int16
	srcFifo []int16
	srcOff  int
	downBuf []int16
	capAcc  []int16 // network-rate microphone samples of the frame being filled

	volume   atomicFloat
	muted    atomic.Bool
	inLevel  atomicFloat
	outLevel atomicFloat

	underruns atomic.Uint64 // playback calls that returned fewer samples than asked
	frames    atomic.Uint64 // microphone frames handed to capture
	callbacks atomic.Uint64
}

// CallStats are counters of a [CallStream].
type CallStats struct {
	Callbacks uint64 // device periods processed
	Underruns uint64 // playback returned fewer samples than asked (the rest was silence)
	Frames    uint64 // microphone frames handed to the capture function
}

// StartCall opens the headset (cfg.Output and cfg.Input) in duplex at the
// device's native rate and starts the call's audio. Both functions run on
// the audio thread and must return quickly, without blocking and without
// allocating. playback is called for network-rate PCM, one device period at
// a time (typically 10 ms), and must fill out and return len(out):
// [JitterBuffer.Pull] is such a function. capture is called with each
// network-rate microphone frame of cfg.Frame as soon as the device has
// delivered it, in order, and must not keep in: the device's capture clock
// is the call's clock, and what capture does (encode and send a packet) is
// paced by it with no goroutine hand-off. Either function may be nil.
//
// A missing device gives an error wrapping [ErrNoDevice]; a device that
// stops later is reported by [CallStream.Err] and cfg.OnError.
func (c *Context) StartCall(cfg CallConfig, playback func(out []int16) int, capture func(in []int16)) (*CallStream, error) {
	if cfg.NetworkRate <= 0 {
		cfg.NetworkRate = 8000
	}
	if cfg.Frame <= 0 {
		cfg.Frame = 20 * time.Millisecond
	}
	if cfg.Period <= 0 {
		cfg.Period = 10 * time.Millisecond
	}
	out, err := c.FindDevice(Playback, cfg.Output)
	if err != nil {
		return nil, fmt.Errorf("start call audio: %w", err)
	}
	in, err := c.FindDevice(Capture, cfg.Input)
	if err != nil {
		return nil, fmt.Errorf("start call audio: %w", err)
	}
	cs := newCallStream(cfg, playback, capture)

	// The device's rate is known only once it is open, so the buffers are
	// sized in the first callback's stead: open, then prepare before the
	// audio path runs (prepared flag).
	var ready atomic.Bool
	ds, err := c.open(streamSpec{
		name:     "call",
		output:   &out,
		input:    &in,
		rate:     cfg.DeviceRate,
		period:   cfg.Period,
		periods:  2, // double buffering: the device adds one period of delay
		describe: describeDevices(&out, &in),
		onLost:   cfg.OnError,
		data: func(o, i []int16) {
			if !ready.Load() {
				clear(o)
				return
			}
			cs.process(o, i)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("start call audio: %w", err)
	}
	cs.ds = ds
	cs.prepare(ds.rate, cfg.Period)
	ready.Store(true)
	return cs, nil
}

// newCallStream makes the stream's state that does not depend on the
// device (cfg has its defaults filled in).
func newCallStream(cfg CallConfig, playback func([]int16) int, capture func([]int16)) *CallStream {
	cs := &CallStream{
		netRate:       cfg.NetworkRate,
		playback:      playback,
		capture:       capture,
		tap:           cfg.PlaybackTap,
		captureSource: cfg.CaptureSource,
		frameLen:      max(1, durSamples(cfg.Frame, cfg.NetworkRate)),
	}
	cs.volume.Store(1)
	cs.inLevel.Store(MinLevel)
	cs.outLevel.Store(MinLevel)
	cs.capAcc = make([]int16, 0, cs.frameLen)
	return cs
}

// prepare sizes every buffer of the audio path for device rate r.
func (cs *CallStream) prepare(r int, period time.Duration) {
	cs.devRate = r
	cs.chunk = max(1, durSamples(period, cs.netRate))
	devPeriod := max(1, durSamples(period, r))
	cs.up = NewResampler(cs.netRate, r)
	cs.down = NewResampler(r, cs.netRate)
	cs.srcUp = NewResampler(cs.netRate, r)
	cs.netBuf = make([]int16, cs.chunk)
	cs.upBuf = make([]int16, 0, cs.up.MaxOut(cs.chunk))
	// Device periods can be larger than asked; leave ample room.
	cs.fifo = make([]int16, 0, 8*devPeriod+cs.up.MaxOut(cs.chunk))
	cs.srcBuf = make([]int16, cs.chunk)
	cs.srcFifo = make([]int16, 0, 8*devPeriod+cs.srcUp.MaxOut(cs.chunk))
	cs.downBuf = make([]int16, 0, cs.down.MaxOut(8*devPeriod))
}

// process is the audio thread's work for one device period.
func (cs *CallStream) process(out, in []int16) {
	cs.callbacks.Add(1)
	if out != nil {
		cs.fill(out)
		if cs.tap != nil {
			cs.tap(out, cs.devRate)
		}
	}
	if cs.captureSource != nil {
		n := len(out)
		if in != nil {
			n = len(in)
		}
		in = cs.sourceFrames(n)
	}
	if in != nil {
		cs.captured(in)
	}
}

// fill writes len(out) device-rate samples of the far end's audio.
func (cs *CallStream) fill(out []int16) {
	for len(cs.fifo)-cs.fifoOff < len(out) {
		if cs.fifoOff > 0 {
			n := copy(cs.fifo, cs.fifo[cs.fifoOff:])
			cs.fifo = cs.fifo[:n]
			cs.fifoOff = 0
		}
		got := 0
		if cs.playback != nil {
			got = max(0, min(cs.playback(cs.netBuf), len(cs.netBuf)))
		}
		if got < len(cs.netBuf) {
			clear(cs.netBuf[got:])
			if cs.playback != nil {
				cs.underruns.Add(1)
			}
		}
		cs.upBuf = cs.up.Process(cs.netBuf, cs.upBuf[:0])
		if len(cs.fifo)+len(cs.upBuf) > cap(cs.fifo) {
			// A device period larger than planned: never allocate here,
			// drop what does not fit.
			cs.upBuf = cs.upBuf[:cap(cs.fifo)-len(cs.fifo)]
		}
		cs.fifo = append(cs.fifo, cs.upBuf...)
		if len(cs.upBuf) == 0 {
			break
		}
	}
	n := copy(out, cs.fifo[cs.fifoOff:])
	clear(out[n:])
	cs.fifoOff += n
	vol := float32(cs.volume.Load())
	if vol != 1 {
		for i, s := range out {
			out[i] = clamp16(float32(s) * vol)
		}
	}
	cs.outLevel.Store(levelOf(out))
}

// sourceFrames returns n device-rate samples of the test capture source.
func (cs *CallStream) sourceFrames(n int) []int16 {
	for len(cs.srcFifo)-cs.srcOff < n {
		if cs.srcOff > 0 {
			k := copy(cs.srcFifo, cs.srcFifo[cs.srcOff:])
			cs.srcFifo = cs.srcFifo[:k]
			cs.srcOff = 0
		}
		cs.captureSource(cs.srcBuf)
		room := cap(cs.srcFifo) - len(cs.srcFifo)
		before := len(cs.srcFifo)
		cs.srcFifo = cs.srcUp.Process(cs.srcBuf, cs.srcFifo)
		if len(cs.srcFifo)-before > room || len(cs.srcFifo) == before {
			break
		}
	}
	k := min(n, len(cs.srcFifo)-cs.srcOff)
	s := cs.srcFifo[cs.srcOff : cs.srcOff+k]
	cs.srcOff += k
	return s
}

// captured takes device-rate microphone samples.
func (cs *CallStream) captured(in []int16) {
	muted := cs.muted.Load()
	if muted {
		cs.inLevel.Store(MinLevel)
	} else {
		cs.inLevel.Store(levelOf(in))
	}
	if len(in) > cap(cs.downBuf)*cs.devRate/cs.netRate {
		in = in[:cap(cs.downBuf)*cs.devRate/cs.netRate]
	}
	cs.downBuf = cs.down.Process(in, cs.downBuf[:0])
	net := cs.downBuf
	if muted {
		clear(net)
	}
	for len(net) > 0 {
		k := copy(cs.capAcc[len(cs.capAcc):cs.frameLen], net)
		cs.capAcc = cs.capAcc[:len(cs.capAcc)+k]
		net = net[k:]
		if len(cs.capAcc) == cs.frameLen {
			cs.frames.Add(1)
			if cs.capture != nil {
				cs.capture(cs.capAcc)
			}
			cs.capAcc = cs.capAcc[:0]
		}
	}
}

// DeviceRate is the sample rate the headset runs at.
func (cs *CallStream) DeviceRate() int { return cs.devRate }

// NetworkRate is the sample rate of the PCM exchanged with the phone.
func (cs *CallStream) NetworkRate() int { return cs.netRate }

// SetVolume sets the playback gain: 0 is silent, 1 unchanged (the
// default), up to 4 (+12 dB).
func (cs *CallStream) SetVolume(v float64) {
	if math.IsNaN(v) {
		return
	}
	cs.volume.Store(min(4, max(0, v)))
}

// Volume is the playback gain.
func (cs *CallStream) Volume() float64 { return cs.volume.Load() }

// SetMuted mutes the microphone: capture then receives true silence
// (zero samples), which the phone encodes as G.711 silence. Frames keep
// coming at the device's pace.
func (cs *CallStream) SetMuted(m bool) { cs.muted.Store(m) }

// Muted reports whether the microphone is muted.
func (cs *CallStream) Muted() bool { return cs.muted.Load() }

// InputLevel is the microphone's level over the last device period, in
// dBFS ([MinLevel] when silent or muted).
func (cs *CallStream) InputLevel() float64 { return cs.inLevel.Load() }

// OutputLevel is the level sent to the headset over the last device
// period, in dBFS.
func (cs *CallStream) OutputLevel() float64 { return cs.outLevel.Load() }

// Stats returns the stream's counters.
func (cs *CallStream) Stats() CallStats {
	return CallStats{
		Callbacks: cs.callbacks.Load(),
		Underruns: cs.underruns.Load(),
		Frames:    cs.frames.Load(),
	}
}

// Err is nil while the device runs; once it stopped by itself it is an
// error wrapping [ErrDeviceLost].
func (cs *CallStream) Err() error { return cs.ds.err() }

// Close stops the call's audio. The playback and capture functions are not
// called after it returns. It is safe to call more than once. Closing the
// [Context] closes its call streams too.
func (cs *CallStream) Close() error {
	cs.ds.close()
	return nil
}
