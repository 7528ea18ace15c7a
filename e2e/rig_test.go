package e2e

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/earshot-app/earshot/audio"
	"github.com/earshot-app/earshot/monitor"
	"github.com/earshot-app/earshot/monitor/demo"
	"github.com/earshot-app/earshot/monitor/demo/demosip"
	"github.com/earshot-app/earshot/phone"
)

// Test signal frequencies. The supervisor's microphone is a tone; the pilot
// conversation marks each voice with a faint tone of its own, so what reaches the
// headset can be traced to the agent's or the customer's track. The frequencies are
// where the embedded speech is weak: over any 300 ms its amplitude there stays below
// 450 (1.9 kHz) and 230 (2.9 and 3.3 kHz), against 6000 and 1500 for the tones.
const (
	supervisorTone = 1900.0
	agentPilot     = 2900.0
	customerPilot  = 3300.0
	pilotAmp       = 1500.0
	supervisorAmp  = 6000.0
)

// speechLevel is the level (dBFS, over one device period) above which the headset
// plays sound: the conversation's speech is around -25 dBFS, the silence before the
// first packet is digital zero.
const speechLevel = -50.0

func testLogger() *slog.Logger {
	if os.Getenv("E2E_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// headset records what the softphone plays to the (null) headset.
type headset struct {
	mu     sync.Mutex
	rate   int
	pcm    []int16
	chunks []chunk
}

type chunk struct {
	at    time.Time
	start int // index in pcm
	level float64
}

const headsetKeep = 20 * time.Second

func (h *headset) add(pcm []int16, rate int) {
	now := time.Now()
	lvl := audio.Level(pcm)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rate = rate
	if keep := int(headsetKeep.Seconds()) * rate; len(h.pcm) > 2*keep {
		drop := len(h.pcm) - keep
		h.pcm = slices.Delete(h.pcm, 0, drop)
		i := 0
		for i < len(h.chunks) && h.chunks[i].start < drop {
			i++
		}
		h.chunks = slices.Delete(h.chunks, 0, i)
		for k := range h.chunks {
			h.chunks[k].start -= drop
		}
	}
	h.chunks = append(h.chunks, chunk{at: now, start: len(h.pcm), level: lvl})
	h.pcm = append(h.pcm, pcm...)
}

// firstSound is when the headset first played sound louder than speechLevel after t.
func (h *headset) firstSound(after time.Time) (time.Time, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.chunks {
		if c.at.After(after) && c.level > speechLevel {
			return c.at, true
		}
	}
	return time.Time{}, false
}

// since returns what the headset played after t, and the device rate.
func (h *headset) since(t time.Time) ([]int16, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.chunks {
		if c.at.After(t) {
			return slices.Clone(h.pcm[c.start:]), h.rate
		}
	}
	return nil, h.rate
}

// toneSource is the supervisor's microphone: a steady tone.
type toneSource struct {
	phase float64 // audio thread only
	on    atomic.Bool
}

func (s *toneSource) fill(out []int16) {
	if !s.on.Load() {
		clear(out)
		return
	}
	for i := range out {
		out[i] = int16(supervisorAmp * math.Sin(s.phase))
		s.phase += 2 * math.Pi * supervisorTone / demosip.SampleRate
		if s.phase > 2*math.Pi {
			s.phase -= 2 * math.Pi
		}
	}
}

// toneAmp is the amplitude of the tone at freq in pcm (a sine of amplitude A gives A).
func toneAmp(pcm []int16, rate int, freq float64) float64 {
	return math.Sqrt(2 * audio.Goertzel(pcm, rate, freq))
}

// pilotConversation is the embedded conversation with a faint pilot tone on each voice's
// track, so that the headset's audio tells which tracks are routed to it.
func pilotConversation(t testing.TB) *demosip.Conversation {
	t.Helper()
	base, err := demosip.DefaultConversation()
	if err != nil {
		t.Fatal(err)
	}
	c := &demosip.Conversation{
		Agent:    slices.Clone(base.Agent),
		Customer: slices.Clone(base.Customer),
		Turns:    base.Turns,
	}
	for i := range c.Agent {
		ti := float64(i) / demosip.SampleRate
		c.Agent[i] = sat(int32(c.Agent[i]) + int32(pilotAmp*math.Sin(2*math.Pi*agentPilot*ti)))
		c.Customer[i] = sat(int32(c.Customer[i]) + int32(pilotAmp*math.Sin(2*math.Pi*customerPilot*ti)))
	}
	return c
}

func sat(v int32) int16 { return int16(max(-32768, min(32767, v))) }

type rigOptions struct {
	conversation *demosip.Conversation
	// noAutoAnswer turns the phone's auto-answer hints off (the supervisor must answer
	// or the call must be announced with ExpectMonitoringCall).
	noAutoAnswer bool
	// realTime runs the centre as the app does (Driver.Run on the wall clock) instead
	// of stepping it from the test.
	realTime bool
}

// rig is one supervisor's desk: the demo centre, its PBX, the softphone and its headset.
type rig struct {
	t     testing.TB
	ctx   context.Context
	drv   *demo.Driver
	board *monitor.Board
	pbx   *demosip.PBX
	ph    *phone.Phone
	hs    *headset
	mic   *toneSource

	incoming chan incomingCall
	digits   chan rune
}

type incomingCall struct {
	call *phone.Call
	info phone.CallInfo
	at   time.Time
}

func newRig(t testing.TB, o rigOptions) *rig {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := testLogger()
	pbx, err := demosip.Start(ctx, demosip.Config{Conversation: o.conversation, Logger: log})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	drv := demo.New(demo.Config{Seed: 11, Calls: 24, Supervisor: "Lan Supervisor", OnMonitor: pbx.OnMonitor, Logger: log})
	pbx.Attach(drv)
	board := monitor.NewBoard(monitor.Options{Now: drv.Now, Logger: log})
	runDone := make(chan struct{})
	if o.realTime {
		go func() {
			defer close(runDone)
			_ = drv.Run(ctx, board)
		}()
	} else {
		close(runDone)
		drv.Attach(board)
	}

	actx, err := audio.NewContext(audio.BackendNull)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	r := &rig{t: t, ctx: ctx, drv: drv, board: board, pbx: pbx, hs: &headset{}, mic: &toneSource{},
		incoming: make(chan incomingCall, 16), digits: make(chan rune, 16)}
	ph, err := phone.New(phone.Config{
		Account:         phone.Account{Server: pbx.Addr(), User: "2001", DisplayName: "Lan Supervisor"},
		AutoAnswerHints: !o.noAutoAnswer,
		Media: phone.MediaConfig{
			Audio:         actx,
			PlaybackTap:   r.hs.add,
			CaptureSource: r.mic.fill,
			NoRingtone:    true,
		},
		Logger: log,
	})
	if err != nil {
		cancel()
		actx.Close()
		t.Fatal(err)
	}
	r.ph = ph
	events, unsub := ph.Subscribe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range events {
			if e.Kind == phone.EventIncomingCall {
				r.incoming <- incomingCall{call: e.Call, info: e.CallInfo, at: e.Time}
			}
		}
	}()
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		if err := ph.Run(ctx); err != nil {
			t.Errorf("phone stopped: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-runDone
		<-ran
		unsub()
		<-done
		pbx.Close()
		actx.Close()
	})
	r.waitFor("the softphone registers with the demo PBX", 5*time.Second, func() bool {
		return ph.State().State == phone.RegRegistered && len(pbx.Registrations()) == 1
	})
	return r
}

// waitFor polls cond every 5 ms until it holds or d has passed.
func (r *rig) waitFor(what string, d time.Duration, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out after %s waiting until %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// talkingCalls returns calls where an agent talks with the customer and nobody monitors.
func (r *rig) talkingCalls() []monitor.Call {
	var out []monitor.Call
	for _, c := range r.drv.Truth() {
		if c.Status == monitor.StatusAnswered && !c.Stolen && c.Monitor == monitor.MonitorNone && c.LastAgent != "" {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		r.t.Fatal("the demo centre has no call with an agent talking")
	}
	return out
}

// request asks the demo driver for an action as the supervisor window does, and returns
// when it was asked and a channel with the result.
func (r *rig) request(k monitor.ActionKind, callID string) (time.Time, <-chan error) {
	res := make(chan error, 1)
	at := time.Now()
	go func() {
		ctx, cancel := context.WithTimeout(r.ctx, 10*time.Second)
		defer cancel()
		res <- r.drv.Act(ctx, monitor.Action{Kind: k, CallID: callID})
	}()
	return at, res
}

// nextIncoming waits for the softphone to ring.
func (r *rig) nextIncoming(d time.Duration) incomingCall {
	r.t.Helper()
	select {
	case in := <-r.incoming:
		return in
	case <-time.After(d):
		r.t.Fatalf("the softphone did not ring within %s", d)
	}
	return incomingCall{}
}

// noIncoming checks that the softphone does not ring for d.
func (r *rig) noIncoming(d time.Duration) {
	r.t.Helper()
	select {
	case in := <-r.incoming:
		r.t.Fatalf("the softphone rang (%q) but no call to the supervisor was due", in.info.RemoteName)
	case <-time.After(d):
	}
}

func (r *rig) result(res <-chan error) error {
	r.t.Helper()
	select {
	case err := <-res:
		return err
	case <-time.After(15 * time.Second):
		r.t.Fatal("the action did not complete")
	}
	return nil
}

// boardCall is the grid's row for the call.
func (r *rig) boardCall(id string) (monitor.Call, bool) { return r.board.Get(id) }

// endCall runs the simulation until the call ends by itself (the customer or the
// agent hangs up), as much simulated time as it takes.
func (r *rig) endCall(id string) {
	r.t.Helper()
	for range 24 * 60 {
		if _, ok := r.drv.TruthCall(id); !ok {
			return
		}
		r.drv.Advance(5 * time.Second)
	}
	r.t.Fatalf("call %s never ended", id)
}

// session waits for the PBX's session on the call.
func (r *rig) session(id string) *demosip.Session {
	r.t.Helper()
	var s *demosip.Session
	r.waitFor("the demo PBX has a session on call "+id, 2*time.Second, func() bool {
		var ok bool
		s, ok = r.pbx.Session(id)
		return ok
	})
	return s
}

func isEnded(c *phone.Call) bool {
	select {
	case <-c.Done():
		return true
	default:
		return false
	}
}

var errTimeout = errors.New("timed out")

// within waits for ch to close within d.
func within[T any](ch <-chan T, d time.Duration) error {
	select {
	case <-ch:
		return nil
	case <-time.After(d):
		return errTimeout
	}
}

func level(pcm []int16) float64 { return audio.Level(pcm) }

// Thresholds on toneAmp: a tone routed to a side is well above "present", a tone not
// routed there (only the speech's own energy at its frequency) well below "absent".
const (
	supervisorPresent = 2500.0
	supervisorAbsent  = 1000.0
	pilotPresent      = 900.0
	pilotAbsent       = 500.0
)
