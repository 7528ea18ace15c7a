package audio

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// The headset disappears mid-call: the stream reports a readable error,
// calls OnError, stops asking for audio, and closes cleanly. (Stopping the
// malgo device underneath the stream takes the same path miniaudio takes
// when a backend loses a device.)
func TestCallStreamDeviceLost(t *testing.T) {
	c := newNullContext(t)
	var pulls atomic.Int64
	lost := make(chan error, 1)
	cs, err := c.StartCall(CallConfig{OnError: func(err error) { lost <- err }},
		func(out []int16) int { pulls.Add(1); clear(out); return len(out) }, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the stream to run", func() bool { return pulls.Load() > 5 })
	if err := cs.ds.dev.Stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-lost:
		if !errors.Is(err, ErrDeviceLost) || !contains(err.Error(), "NULL Playback Device") {
			t.Errorf("OnError got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("OnError not called after the device stopped")
	}
	if err := cs.Err(); !errors.Is(err, ErrDeviceLost) {
		t.Errorf("Err() = %v, want ErrDeviceLost", err)
	}
	n := pulls.Load()
	time.Sleep(60 * time.Millisecond)
	if pulls.Load() != n {
		t.Error("playback still pulled after the device was lost")
	}
	if err := cs.Close(); err != nil {
		t.Errorf("Close after loss: %v", err)
	}
	// The context still works: a new stream opens on the same device.
	cs2, err := c.StartCall(CallConfig{}, nil, nil)
	if err != nil {
		t.Fatalf("reopening after loss: %v", err)
	}
	cs2.Close()
}

func TestCallStreamMuteAndVolume(t *testing.T) {
	c := newNullContext(t)
	mic := NewTone(8000, 700, 0.5)
	var mu sync.Mutex
	var frames [][]int16
	var muteAt atomic.Int64
	muteAt.Store(-1)
	var tap pcmRecorder
	cs, err := c.StartCall(CallConfig{CaptureSource: mic.Read, PlaybackTap: tap.add},
		func(out []int16) int { NewTone(8000, 1000, 0.5).Read(out); return len(out) },
		func(in []int16) {
			mu.Lock()
			frames = append(frames, append([]int16(nil), in...))
			mu.Unlock()
		})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	waitFor(t, 5*time.Second, "10 microphone frames", func() bool { mu.Lock(); defer mu.Unlock(); return len(frames) >= 10 })
	if l := cs.InputLevel(); l < -12 || l > -6 {
		t.Errorf("InputLevel %.1f dBFS for a 0.5 sine", l)
	}
	cs.SetMuted(true)
	mu.Lock()
	muteAt.Store(int64(len(frames)))
	mu.Unlock()
	waitFor(t, 5*time.Second, "10 more frames", func() bool { mu.Lock(); defer mu.Unlock(); return len(frames) >= int(muteAt.Load())+10 })
	mu.Lock()
	for i, f := range frames[muteAt.Load()+2:] {
		for _, s := range f {
			if s != 0 {
				t.Fatalf("muted frame %d carries sound", i)
			}
		}
	}
	mu.Unlock()
	if l := cs.InputLevel(); l != MinLevel {
		t.Errorf("InputLevel while muted = %v", l)
	}
	if l := cs.OutputLevel(); l < -12 || l > -6 {
		t.Errorf("OutputLevel %.1f dBFS for a 0.5 sine", l)
	}
	cs.SetVolume(0.5)
	time.Sleep(50 * time.Millisecond)
	if l := cs.OutputLevel(); l < -18 || l > -12 {
		t.Errorf("OutputLevel at volume 0.5 = %.1f dBFS, want about -15", l)
	}
	cs.SetVolume(math.NaN())
	if v := cs.Volume(); v != 0.5 {
		t.Errorf("NaN volume accepted: %v", v)
	}
}

// RTP in, device out: G.711 packets paced at 20 ms go through the jitter
// buffer and the call stream; the headset hears the 1 kHz tone.
func TestCallStreamFromRTP(t *testing.T) {
	c := newNullContext(t)
	jb := NewJitterBuffer(JitterConfig{})
	var tap pcmRecorder
	cs, err := c.StartCall(CallConfig{PlaybackTap: tap.add}, jb.Pull, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	gen := NewTone(8000, 1000, 0.5)
	pcm := make([]int16, 160)
	payload := make([]byte, 160)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := range 40 {
		<-tick.C
		gen.Read(pcm)
		EncodeULaw(payload, pcm)
		jb.Push(&rtp.Packet{Header: rtp.Header{PayloadType: PayloadPCMU, SSRC: 42, SequenceNumber: uint16(i), Timestamp: uint32(i * 160)}, Payload: payload})
	}
	cs.Close()
	out, rate := tap.snapshot()
	// Find the audio and check it is the tone, continuous.
	start := -1
	for i, s := range out {
		if s > 1000 || s < -1000 {
			start = i
			break
		}
	}
	if start < 0 {
		t.Fatal("no audio reached the device")
	}
	seg := out[start+rate/50 : min(len(out), start+rate/2)]
	if r := ToneRatio(seg, rate, 1000); r < 0.9 {
		t.Errorf("tone ratio at the device %.3f", r)
	}
	st := jb.Stats()
	t.Logf("jitter stats: %+v", st)
	if st.Received != 40 || st.Lost != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestMeter(t *testing.T) {
	c := newNullContext(t)
	levels := make(chan float64, 100)
	gen := (*Tone)(nil)
	stop, err := c.Meter(MeterConfig{
		OnLevel: func(l float64) {
			select {
			case levels <- l:
			default:
			}
		},
		Source: func(out []int16, rate int) {
			if gen == nil {
				gen = NewTone(rate, 1000, 0.5)
			}
			gen.Read(out)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []float64
	for len(got) < 5 {
		select {
		case l := <-levels:
			got = append(got, l)
		case <-time.After(5 * time.Second):
			t.Fatalf("meter reported only %v", got)
		}
	}
	stop()
	stop()
	for _, l := range got[1:] {
		if l < -10 || l > -8 {
			t.Errorf("meter level %.2f dBFS for a 0.5 sine, want about -9", l)
		}
	}
	// The real (null) microphone is silent.
	silent := make(chan float64, 10)
	stop2, err := c.StartMeter("", func(l float64) {
		select {
		case silent <- l:
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stop2()
	select {
	case l := <-silent:
		if l != MinLevel {
			t.Errorf("null microphone level %v, want %v", l, MinLevel)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no level from the null microphone")
	}
}

func TestPlayTestTone(t *testing.T) {
	c := newNullContext(t)
	var rec pcmRecorder
	c.SetPlaybackTap(func(stream string, pcm []int16, rate int) {
		if stream == "test-tone" {
			rec.add(pcm, rate)
		}
	})
	start := time.Now()
	if err := c.PlayTestTone(context.Background(), "", 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("returned after %v", d)
	}
	pcm, rate := rec.snapshot()
	if len(pcm) < rate/10 {
		t.Fatalf("only %d samples played", len(pcm))
	}
	if r := ToneRatio(pcm[rate/100:], rate, 1000); r < 0.9 {
		t.Errorf("test tone ratio %.3f", r)
	}
	if l := Level(pcm[rate/100:]); l < -16 || l > -12 {
		t.Errorf("test tone level %.1f dBFS, want about -15", l)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	start = time.Now()
	err := c.PlayTestTone(ctx, "", 10*time.Second)
	if !errors.Is(err, context.Canceled) || time.Since(start) > 2*time.Second {
		t.Errorf("cancelled test tone: %v after %v", err, time.Since(start))
	}
}

// The call's audio thread work (playout, resampling both ways, meters,
// framing, and the capture function the phone sends from) allocates
// nothing, so that the device's callback never waits for the garbage
// collector.
func TestCallPathDoesNotAllocate(t *testing.T) {
	jb := NewJitterBuffer(JitterConfig{})
	enc := make([]byte, 160)
	frames := 0
	cs := newCallPath(48000, 10*time.Millisecond, jb.Pull, func(in []int16) {
		EncodeULaw(enc, in)
		frames++
	})
	out := make([]int16, 480)
	mic := tone(48000, 700, 0.3, 480)
	payload := make([]byte, 160)
	pkt := &rtp.Packet{Header: rtp.Header{SSRC: 1}, Payload: payload}
	i := 0
	if n := testing.AllocsPerRun(200, func() {
		if i%2 == 0 {
			pkt.SequenceNumber = uint16(i / 2)
			pkt.Timestamp = uint32(i / 2 * 160)
			jb.Push(pkt)
		}
		cs.process(out, mic)
		i++
	}); n != 0 {
		t.Errorf("a device period allocates %.1f times", n)
	}
	if frames < 99 {
		t.Errorf("%d capture frames for 201 periods of 10 ms", frames)
	}
}

func TestContextCloseStopsStreams(t *testing.T) {
	c, err := NewContext(BackendNull)
	if err != nil {
		t.Fatal(err)
	}
	stop, err := c.PlayRingtone("")
	if err != nil {
		t.Fatal(err)
	}
	var pulls, frames atomic.Int64
	cs, err := c.StartCall(CallConfig{CaptureSource: func(o []int16) { clear(o) }},
		func(o []int16) int { pulls.Add(1); return 0 },
		func([]int16) { frames.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "a captured frame", func() bool { return frames.Load() > 0 })
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	n, f := pulls.Load(), frames.Load()
	time.Sleep(50 * time.Millisecond)
	if pulls.Load() != n || frames.Load() != f {
		t.Error("call stream still running after Context.Close")
	}
	if err := cs.Close(); err != nil {
		t.Errorf("CallStream.Close after Context.Close: %v", err)
	}
	stop() // after Close: harmless
	if _, err := c.Devices(); !errors.Is(err, ErrClosed) {
		t.Errorf("Devices after Close: %v", err)
	}
	if _, err := c.StartCall(CallConfig{}, nil, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("StartCall after Close: %v", err)
	}
}

func TestParseBackend(t *testing.T) {
	for in, want := range map[string]Backend{"": BackendAuto, "auto": BackendAuto, "NULL": BackendNull} {
		if b, err := ParseBackend(in); err != nil || b != want {
			t.Errorf("ParseBackend(%q) = %v, %v", in, b, err)
		}
	}
	if _, err := ParseBackend("pulse"); err == nil {
		t.Error("ParseBackend accepted pulse")
	}
}
