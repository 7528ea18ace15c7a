package ui

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/earshot-app/earshot/audio"
)

// The audio adapter on the real audio package with the null backend (no sound card).
func TestAudioAdapterOnTheNullBackend(t *testing.T) {
	actx, err := audio.NewContext(audio.BackendNull)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { actx.Close() })
	a := NewAudioAdapter(actx)
	devs, err := a.Devices()
	if err != nil {
		t.Fatal(err)
	}
	var in, out bool
	for _, d := range devs {
		in = in || d.Input
		out = out || d.Output
		if d.ID == "" || d.Name == "" {
			t.Errorf("device without ID or name: %+v", d)
		}
	}
	if !in || !out {
		t.Fatalf("devices %+v lack an input or an output", devs)
	}
	if err := a.PlayTestTone(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	// The tone lasts a second: a request given less time is still playing when it
	// runs out (no wall-clock measurement: the deadline comes first either way).
	short, cancelShort := context.WithTimeout(context.Background(), 300*time.Millisecond)
	err = a.PlayTestTone(short, "")
	cancelShort()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a test tone given 300 ms returned %v, want it still playing (deadline exceeded)", err)
	}
	var calls atomic.Int32
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if err := a.MicMeter(ctx, "", func(v float64) {
		if v < 0 || v > 1 {
			t.Errorf("meter level %v outside 0..1", v)
		}
		calls.Add(1)
	}); err != nil {
		t.Fatal(err)
	}
	if calls.Load() < 3 {
		t.Fatalf("the microphone meter reported %d levels in half a second", calls.Load())
	}

	// The settings dialog lists those devices.
	tu := newTestUI(t, 3, func(o *Options) { o.Audio = a })
	tu.showSettings()
	f := tu.settings
	if len(f.audioIn.Options) < 2 || len(f.audioOut.Options) < 2 || f.audioIn.Selected != "System default" {
		t.Fatalf("audio tab: inputs %q, outputs %q, selected %q", f.audioIn.Options, f.audioOut.Options, f.audioIn.Selected)
	}
	tu.tap(tu.dialog.cancel)
}
