package audio

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func newNullContext(t testing.TB) *Context {
	t.Helper()
	c, err := NewContext(BackendNull)
	if err != nil {
		t.Fatalf("NewContext(BackendNull): %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

// pcmRecorder collects PCM from an audio thread.
type pcmRecorder struct {
	mu   sync.Mutex
	pcm  []int16
	rate int
}

func (r *pcmRecorder) add(pcm []int16, rate int) {
	r.mu.Lock()
	r.pcm = append(r.pcm, pcm...)
	r.rate = rate
	r.mu.Unlock()
}

func (r *pcmRecorder) snapshot() ([]int16, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int16(nil), r.pcm...), r.rate
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestNullBackendDevices(t *testing.T) {
	c := newNullContext(t)
	devs, err := c.Devices()
	if err != nil {
		t.Fatal(err)
	}
	var play, capt int
	for _, d := range devs {
		if d.ID == "" || d.Name == "" {
			t.Errorf("device without ID or name: %+v", d)
		}
		switch d.Kind {
		case Playback:
			play++
		case Capture:
			capt++
		default:
			t.Errorf("device of unknown kind: %+v", d)
		}
	}
	if play == 0 || capt == 0 {
		t.Fatalf("null backend should offer a playback and a capture device, got %+v", devs)
	}
	// Selecting by ID and by name finds the same device.
	for _, d := range devs {
		byID, err := c.FindDevice(d.Kind, d.ID)
		if err != nil || byID.Name != d.Name {
			t.Errorf("FindDevice(%v, ID %q) = %+v, %v", d.Kind, d.ID, byID, err)
		}
		byName, err := c.FindDevice(d.Kind, d.Name)
		if err != nil || byName.ID != d.ID {
			t.Errorf("FindDevice(%v, name %q) = %+v, %v", d.Kind, d.Name, byName, err)
		}
	}
}

func TestDeviceSelection(t *testing.T) {
	list := []Device{
		{ID: "616c73615f6f7574707574", Name: "Built-in Audio Analog Stereo", Kind: Playback, Default: true},
		{ID: "6a616272615f31", Name: "Jabra Evolve2 65", Kind: Playback},
		{ID: "6a616272615f32", Name: "Jabra Evolve2 65 (2)", Kind: Playback},
	}
	cases := []struct {
		sel  string
		want string // ID, or "" for no match
	}{
		{"", "616c73615f6f7574707574"},                            // the default
		{"6a616272615f31", "6a616272615f31"},                      // by ID
		{"jabra evolve2 65 (2)", "6a616272615f32"},                // by name, any case
		{"Built-in", "616c73615f6f7574707574"},                    // the only name containing it
		{"Jabra", ""},                                             // ambiguous
		{"6a616272615f32|Jabra Evolve2 65 (2)", "6a616272615f32"}, // selector, by ID
		{"deadbeef|Jabra Evolve2 65", "6a616272615f31"},           // stale ID: by name
		{"deadbeef|Plantronics", ""},                              // neither
		{list[1].Selector(), "6a616272615f31"},                    // round trip
	}
	for _, c := range cases {
		d, ok := matchDevice(list, c.sel)
		if got := map[bool]string{true: d.ID}[ok]; got != c.want {
			t.Errorf("select %q: got %q (%v), want %q", c.sel, got, ok, c.want)
		}
	}
	// On the real (null) backend, a stored selector finds the device.
	ctx := newNullContext(t)
	devs, err := ctx.Devices()
	if err != nil {
		t.Fatal(err)
	}
	stale := "ffff|" + devs[0].Name
	if d, err := ctx.FindDevice(devs[0].Kind, stale); err != nil || d.ID != devs[0].ID {
		t.Errorf("FindDevice(%q) = %+v, %v", stale, d, err)
	}
}

func TestMissingDeviceIsReadable(t *testing.T) {
	c := newNullContext(t)
	_, err := c.StartCall(CallConfig{Output: "Jabra Evolve2 65"}, nil, nil)
	if !errors.Is(err, ErrNoDevice) {
		t.Fatalf("StartCall with a missing headset: err = %v, want ErrNoDevice", err)
	}
	msg := err.Error()
	for _, want := range []string{"Jabra Evolve2 65", "playback", "NULL Playback Device"} {
		if !contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	if _, err := c.PlayRingtone("no such speaker"); !errors.Is(err, ErrNoDevice) {
		t.Errorf("PlayRingtone on a missing device: %v", err)
	}
	if _, err := c.StartMeter("no such mic", func(float64) {}); !errors.Is(err, ErrNoDevice) {
		t.Errorf("StartMeter on a missing device: %v", err)
	}
	if err := c.PlayTestTone(context.Background(), "no such speaker", time.Second); !errors.Is(err, ErrNoDevice) {
		t.Errorf("PlayTestTone on a missing device: %v", err)
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && (s[:len(sub)] == sub || contains(s[1:], sub)))
}

func TestCallStreamPlaysAndCaptures(t *testing.T) {
	for _, rate := range []int{0, 44100, 16000} {
		t.Run(fmt.Sprintf("device rate %d", rate), func(t *testing.T) { testCallStream(t, rate) })
	}
}

func testCallStream(t *testing.T, deviceRate int) {
	c := newNullContext(t)

	// Far end: a 1 kHz tone arriving as network-rate PCM.
	far := NewTone(8000, 1000, 0.5)
	playback := func(out []int16) int { far.Read(out); return len(out) }

	// Microphone: a 700 Hz test source.
	mic := NewTone(8000, 700, 0.5)
	var tap pcmRecorder
	var capMu sync.Mutex
	var captured []int16
	var frameLens []int
	cs, err := c.StartCall(CallConfig{
		PlaybackTap:   tap.add,
		CaptureSource: mic.Read,
		DeviceRate:    deviceRate,
	}, playback, func(in []int16) {
		capMu.Lock()
		captured = append(captured, in...)
		frameLens = append(frameLens, len(in))
		capMu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if cs.DeviceRate() <= 0 || (deviceRate != 0 && cs.DeviceRate() != deviceRate) {
		t.Fatalf("device rate %d, asked for %d", cs.DeviceRate(), deviceRate)
	}
	waitFor(t, 5*time.Second, "half a second of playback and capture", func() bool {
		pcm, _ := tap.snapshot()
		capMu.Lock()
		n := len(captured)
		capMu.Unlock()
		return len(pcm) >= cs.DeviceRate()/2 && n >= 4000
	})
	if err := cs.Close(); err != nil {
		t.Fatal(err)
	}

	pcm, rate := tap.snapshot()
	if rate != cs.DeviceRate() {
		t.Errorf("tap rate %d, device rate %d", rate, cs.DeviceRate())
	}
	// Skip the resampler's start-up, then the headset must hear the tone.
	seg := pcm[rate/20:]
	if r := ToneRatio(seg, rate, 1000); r < 0.9 {
		t.Errorf("1 kHz tone ratio at the device = %.3f, want >= 0.9", r)
	}
	if l := Level(seg); l < -12 || l > -6 {
		t.Errorf("playback level %.1f dBFS, want about -9 (a 0.5 sine)", l)
	}

	capMu.Lock()
	defer capMu.Unlock()
	// The device's clock paces capture: a 20 ms frame every second 10 ms
	// period, handed over in the callback that completes it.
	st := cs.Stats()
	if d := int64(st.Callbacks/2) - int64(len(frameLens)); d < -1 || d > 1 || st.Frames != uint64(len(frameLens)) {
		t.Errorf("%d capture frames (Stats.Frames %d) for %d device periods of 10 ms", len(frameLens), st.Frames, st.Callbacks)
	}
	for i, n := range frameLens {
		if n != 160 {
			t.Fatalf("capture frame %d has %d samples, want 160", i, n)
		}
	}
	if r := ToneRatio(captured[400:], 8000, 700); r < 0.9 {
		t.Errorf("700 Hz capture tone ratio = %.3f, want >= 0.9", r)
	}
	if cs.Err() != nil {
		t.Errorf("Err() = %v on a healthy stream", cs.Err())
	}
}

func TestRingtoneStartsAndStops(t *testing.T) {
	c := newNullContext(t)
	var rec pcmRecorder
	c.SetPlaybackTap(func(stream string, pcm []int16, rate int) {
		if stream == "ring" {
			rec.add(pcm, rate)
		}
	})
	stop, err := c.PlayRingtone("")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the first 800 ms of ring", func() bool {
		pcm, rate := rec.snapshot()
		return rate > 0 && len(pcm) >= rate*8/10
	})
	pcm, rate := rec.snapshot()
	// The speaker hears the chime: find where it starts, then the first
	// note is the high one and the second the low one.
	on := -1
	for i, s := range pcm {
		if s > 300 || s < -300 {
			on = i
			break
		}
	}
	if on < 0 || on > rate/5 {
		t.Fatalf("ring did not start within 200 ms (onset at sample %d)", on)
	}
	note := rate * 3 / 10
	if len(pcm) < on+2*note {
		waitFor(t, 5*time.Second, "two notes", func() bool { p, _ := rec.snapshot(); return len(p) >= on+2*note })
		pcm, _ = rec.snapshot()
	}
	first, second := pcm[on:on+note], pcm[on+note:on+2*note]
	if l := Level(first); l < -30 {
		t.Errorf("ring level %.1f dBFS: inaudible", l)
	}
	if hi, lo := Goertzel(first, rate, RingHigh), Goertzel(first, rate, RingLow); hi < 100*lo {
		t.Errorf("first note: high %.3g, low %.3g", hi, lo)
	}
	if hi, lo := Goertzel(second, rate, RingHigh), Goertzel(second, rate, RingLow); lo < 100*hi {
		t.Errorf("second note: high %.3g, low %.3g", hi, lo)
	}
	stop()
	stop() // twice is harmless
	pcm, _ = rec.snapshot()
	n := len(pcm)
	time.Sleep(100 * time.Millisecond)
	if after, _ := rec.snapshot(); len(after) != n {
		t.Errorf("ring kept playing after stop: %d more samples", len(after)-n)
	}
}
