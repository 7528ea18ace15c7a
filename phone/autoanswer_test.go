package phone

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/earshot-app/earshot/audio"
)

func TestAutoAnswerPolicy(t *testing.T) {
	pp := startPBXPhone(t, nil)
	// The tap runs on the audio thread.
	var ring atomic.Int64
	pp.audio.SetPlaybackTap(func(stream string, pcm []int16, rate int) {
		if stream == "ring" {
			ring.Add(1)
		}
	})
	hints := map[string]string{
		"Call-Info":   "Call-Info: <sip:127.0.0.1>;answer-after=0",
		"Alert-Info":  "Alert-Info: <http://127.0.0.1>;info=alert-autoanswer",
		"Answer-Mode": "Answer-Mode: Auto",
	}
	lastCall := func() Event {
		evs := pp.events.all()
		for i := len(evs) - 1; i >= 0; i-- {
			if evs[i].Kind == EventIncomingCall {
				return evs[i]
			}
		}
		t.Fatal("no incoming call")
		return Event{}
	}
	seen := 0
	nextIncoming := func() Event {
		t.Helper()
		seen++
		want := seen
		pp.events.waitFor(t, 10*time.Second, "incoming call", func(e Event) bool {
			return e.Kind == EventIncomingCall && pp.events.count(func(e Event) bool { return e.Kind == EventIncomingCall }) >= want
		})
		return lastCall()
	}

	// Hints are ignored unless the user enabled them: the call rings.
	for name, h := range hints {
		sp := pp.call(t, "127.0.0.1", uacParams{Mode: "refuse", Code: 603, Headers: []string{h}}, nil)
		e := nextIncoming()
		if e.CallInfo.AutoAnswer || e.CallInfo.AutoAnswerHint == "" {
			t.Errorf("%s with hints off: AutoAnswer %v, hint %q; want ringing with the hint noted", name, e.CallInfo.AutoAnswer, e.CallInfo.AutoAnswerHint)
		}
		time.Sleep(300 * time.Millisecond)
		if e.Call.State() != CallRinging {
			t.Errorf("%s with hints off: call is %s, want ringing", name, e.Call.State())
		}
		if err := e.Call.Decline(DeclineRejected); err != nil {
			t.Fatal(err)
		}
		if code := sp.wait(10 * time.Second); code != 0 {
			t.Errorf("%s: caller exit %d", name, code)
		}
	}

	// Enabled: each hint answers at once, without ringing.
	pp.SetAutoAnswerHints(true)
	for name, h := range hints {
		before := ring.Load()
		sp := pp.call(t, "127.0.0.1", uacParams{Mode: "answer", HoldMS: 300, Headers: []string{h}}, nil)
		e := nextIncoming()
		if !e.CallInfo.AutoAnswer || e.CallInfo.Monitoring {
			t.Errorf("%s with hints on: AutoAnswer %v Monitoring %v", name, e.CallInfo.AutoAnswer, e.CallInfo.Monitoring)
		}
		waitCallState(t, pp.runningPhone, e.Call, CallActive)
		if code := sp.wait(10 * time.Second); code != 0 {
			t.Errorf("%s: caller exit %d (not answered?)", name, code)
		}
		if len(sp.received(`^SIP/2.0 180`)) != 0 {
			t.Errorf("%s: an auto-answered call sent 180 Ringing", name)
		}
		if ring.Load() != before {
			t.Errorf("%s: the ringtone played for an auto-answered call", name)
		}
	}
	pp.SetAutoAnswerHints(false)

	// With an expectation open, a call from the PBX without the auto-answer hint
	// is not the monitoring call (the PBX may ring the supervisor for anything):
	// it rings, and the expectation stays open for the real one.
	cancel := pp.ExpectMonitoringCall(MonitorExpectation{Label: "Listen: 1001"})
	sp := pp.call(t, "127.0.0.1", uacParams{Mode: "refuse", Code: 603}, nil)
	e := nextIncoming()
	if e.CallInfo.Monitoring || e.CallInfo.AutoAnswer {
		t.Errorf("a call without the hint was taken for the monitoring call: %+v", e.CallInfo)
	}
	time.Sleep(300 * time.Millisecond)
	if e.Call.State() != CallRinging {
		t.Errorf("a call without the hint is %s, want ringing", e.Call.State())
	}
	if len(sp.received(`^SIP/2.0 180`)) == 0 {
		t.Error("a call without the hint got no 180 Ringing")
	}
	if err := e.Call.Decline(DeclineRejected); err != nil {
		t.Fatal(err)
	}
	if code := sp.wait(10 * time.Second); code != 0 {
		t.Errorf("call without hint: caller exit %d", code)
	}

	// The monitoring call Earshot asked for (the PBX marks it with its hint) is
	// answered even with hints off.
	sp = pp.call(t, "127.0.0.1", uacParams{Mode: "answer", HoldMS: 300,
		Headers: []string{"Call-Info: <sip:127.0.0.1>;answer-after=0"}}, nil)
	e = nextIncoming()
	if !e.CallInfo.Monitoring || !e.CallInfo.AutoAnswer || e.CallInfo.MonitorLabel != "Listen: 1001" {
		t.Errorf("expected monitoring call: %+v", e.CallInfo)
	}
	waitCallState(t, pp.runningPhone, e.Call, CallActive)
	if code := sp.wait(10 * time.Second); code != 0 {
		t.Errorf("monitoring call: caller exit %d", code)
	}
	cancel()

	// An expectation is used once, and only within its window.
	pp.ExpectMonitoringCall(MonitorExpectation{Label: "late", Within: 200 * time.Millisecond})
	time.Sleep(400 * time.Millisecond)
	sp = pp.call(t, "127.0.0.1", uacParams{Mode: "refuse", Code: 486,
		Headers: []string{"Call-Info: <sip:127.0.0.1>;answer-after=0"}}, nil)
	e = nextIncoming()
	if e.CallInfo.Monitoring || e.CallInfo.AutoAnswer {
		t.Errorf("a call after the window closed was auto-answered: %+v", e.CallInfo)
	}
	if err := e.Call.Decline(DeclineBusy); err != nil {
		t.Fatal(err)
	}
	sp.wait(10 * time.Second)

	// With a token, only the INVITE that carries it is the monitoring call.
	pp.ExpectMonitoringCall(MonitorExpectation{Label: "Whisper: 1002", Token: "tok-42"})
	sp = pp.call(t, "127.0.0.1", uacParams{Mode: "refuse", Code: 603, Headers: []string{"X-Earshot-Token: other"}}, nil)
	e = nextIncoming()
	if e.CallInfo.Monitoring {
		t.Error("an INVITE with the wrong token was taken as the monitoring call")
	}
	if err := e.Call.Decline(DeclineRejected); err != nil {
		t.Fatal(err)
	}
	sp.wait(10 * time.Second)
	sp = pp.call(t, "127.0.0.1", uacParams{Mode: "answer", HoldMS: 300, Headers: []string{"X-Earshot-Token: tok-42"}}, nil)
	e = nextIncoming()
	if !e.CallInfo.Monitoring || e.CallInfo.MonitorLabel != "Whisper: 1002" {
		t.Errorf("the INVITE with the token is not the monitoring call: %+v", e.CallInfo)
	}
	if code := sp.wait(10 * time.Second); code != 0 {
		t.Errorf("token call: caller exit %d", code)
	}
}

// callPlayingDigit has the PBX call the phone, which answers, and play 1 s of
// tone, the digit 5 for 400 ms, then 1 s of tone. It returns the caller, the
// ringing event and when each of the three parts starts in the stream.
func callPlayingDigit(t *testing.T, pp *pbxPhone) (*sippProc, Event, []time.Duration) {
	t.Helper()
	var starts []time.Duration
	sp := pp.call(t, "127.0.0.1", uacParams{Mode: "answer", Pcap: "dtmf.pcap", HoldMS: 2700}, func(dir string) {
		starts = writeTonePcap(t, filepath.Join(dir, "dtmf.pcap"), pcapRTP{SSRC: 99, Segments: []pcapSegment{
			{Dur: time.Second, Freq: 1000, Amp: 0.5},
			{Dur: 400 * time.Millisecond, Event: true, Digit: 5},
			{Dur: time.Second, Freq: 1000, Amp: 0.5},
		}})
	})
	e := incomingEvent(t, pp.runningPhone)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.Call.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	return sp, e, starts
}

func TestIncomingDTMFIsAnEventNotSound(t *testing.T) {
	pp := startPBXPhone(t, nil)
	sp, e, starts := callPlayingDigit(t, pp)
	d := pp.events.waitFor(t, 5*time.Second, "the DTMF event", func(e Event) bool { return e.Kind == EventDTMF })
	if d.Digit != '5' || d.Call != e.Call {
		t.Errorf("DTMF event %q on %v, want '5' on the call", d.Digit, d.Call)
	}
	waitCallState(t, pp.runningPhone, e.Call, CallEnded)
	if code := sp.wait(10 * time.Second); code != 0 {
		t.Errorf("caller exit %d", code)
	}
	if n := pp.events.count(func(e Event) bool { return e.Kind == EventDTMF }); n != 1 {
		t.Errorf("%d DTMF events for one digit, want 1", n)
	}
	// While the digit lasts, the headset gets silence (after the concealment of
	// the last audio fades), not the event payloads decoded as audio.
	bs := pp.tap.blocks(1000)
	first := -1
	for i, b := range bs {
		if b.tone {
			first = i
			break
		}
	}
	if first < 0 {
		t.Fatal("no tone at the headset")
	}
	t0 := bs[first].at
	evFrom := t0.Add(starts[1] + 120*time.Millisecond)
	evTo := t0.Add(starts[2] - 80*time.Millisecond)
	peak, n := 0, 0
	for _, b := range bs {
		if !b.at.Before(evFrom) && b.at.Before(evTo) {
			peak = max(peak, b.peak)
			n++
		}
	}
	if n < 6 {
		t.Fatalf("only %d blocks inside the event window", n)
	}
	if peak > 300 {
		t.Errorf("the headset played sound (peak %d) while only telephone-events arrived", peak)
	}
	// Event payloads decoded as µ-law would be loud clicks (|sample| > 20000,
	// louder than the tone) at the start of the digit, while concealment fades.
	click := 0
	for _, b := range bs {
		if !b.at.Before(t0.Add(starts[1]-40*time.Millisecond)) && b.at.Before(evTo) {
			click = max(click, b.peak)
		}
	}
	if click > 20000 {
		t.Errorf("a click of %d at the start of the digit: telephone-event payloads were played as audio", click)
	}
	if frac, _, _ := toneWindow(bs, t0.Add(starts[2]+100*time.Millisecond), t0.Add(starts[2]+900*time.Millisecond)); frac < 0.95 {
		t.Errorf("the tone after the digit is in %.0f%% of blocks", 100*frac)
	}
}

func TestAnswerRacesAutoAnswer(t *testing.T) {
	pp := startPBXPhone(t, nil)
	pp.ExpectMonitoringCall(MonitorExpectation{Label: "Listen: 1001"})
	sp := pp.call(t, "127.0.0.1", uacParams{Mode: "answer", HoldMS: 800,
		Headers: []string{"Alert-Info: <http://127.0.0.1>;info=alert-autoanswer"}}, nil)
	e := incomingEvent(t, pp.runningPhone)
	// The user clicks Answer on a call the phone is answering by itself: it
	// reports success once the call is up instead of blocking.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.Call.Answer(ctx); err != nil {
		t.Errorf("Answer on an auto-answered call: %v", err)
	}
	if err := e.Call.Decline(DeclineBusy); err == nil {
		t.Error("Decline on an active call succeeded")
	}
	waitCallState(t, pp.runningPhone, e.Call, CallEnded)
	if err := e.Call.Answer(ctx); err != ErrCallEnded {
		t.Errorf("Answer after the end = %v, want ErrCallEnded", err)
	}
	if code := sp.wait(10 * time.Second); code != 0 {
		t.Errorf("caller exit %d", code)
	}
}

func TestAnswerFollowsPBXCodecOrder(t *testing.T) {
	pp := startPBXPhone(t, func(c *Config) { c.AutoAnswerHints = true })
	alawFirst := strings.Replace(defaultOffer(), "RTP/AVP 0 8 101", "RTP/AVP 8 0 101", 1)
	sp := pp.call(t, "127.0.0.1", uacParams{Mode: "answer", HoldMS: 1300, SDP: alawFirst, Pcap: "alaw.pcap",
		Headers: []string{"Answer-Mode: Auto"}}, func(dir string) {
		writeTonePcap(t, filepath.Join(dir, "alaw.pcap"), pcapRTP{SSRC: 8, PCMA: true, Segments: []pcapSegment{
			{Dur: time.Second, Freq: 1000, Amp: 0.5},
		}})
	})
	e := incomingEvent(t, pp.runningPhone)
	active := waitCallState(t, pp.runningPhone, e.Call, CallActive)
	if active.CallInfo.Codec != "PCMA" {
		t.Errorf("codec %q, want PCMA, the PBX's first choice", active.CallInfo.Codec)
	}
	if code := sp.wait(10 * time.Second); code != 0 {
		t.Errorf("caller exit %d", code)
	}
	ok := sp.received(`^SIP/2.0 200`)
	if len(ok) == 0 || !regexp.MustCompile(`(?m)^m=audio \d+ RTP/AVP 8 0 101`).MatchString(ok[0]) {
		t.Errorf("the answer does not keep the PBX's order 8 0 101:\n%q", ok)
	}
	// The A-law tone is decoded as A-law: decoded as µ-law it would be missing from
	// (nearly) every block. A few blocks may miss it on a loaded machine (a late
	// packet is concealed), which says nothing about the codec.
	_, _, present, total := toneStats(pp.tap.blocks(1000))
	if total < 45 || present < total*9/10 {
		t.Errorf("A-law tone in %d of %d blocks, want about 50 blocks, nearly all with the tone", present, total)
	}
}

func TestMissingHeadsetKeepsTheCallUp(t *testing.T) {
	pp := startPBXPhone(t, func(c *Config) {
		c.AutoAnswerHints = true
		c.Media.Output = "headset that is not plugged in"
	})
	sp := pp.call(t, "127.0.0.1", uacParams{Mode: "answer", HoldMS: 1000, Headers: []string{"Answer-Mode: Auto"}}, nil)
	e := incomingEvent(t, pp.runningPhone)
	active := waitCallState(t, pp.runningPhone, e.Call, CallActive)
	err := e.Call.AudioError()
	if err == nil || !errors.Is(err, audio.ErrNoDevice) || !strings.Contains(err.Error(), "headset that is not plugged in") {
		t.Errorf("AudioError() = %v, want a readable missing-device error", err)
	}
	if active.CallInfo.AudioError == "" {
		t.Error("the active-call event does not carry the audio error")
	}
	time.Sleep(500 * time.Millisecond)
	if e.Call.State() != CallActive {
		t.Errorf("the call is %s without a headset, want it to stay up", e.Call.State())
	}
	if n := e.Call.MediaStats().PacketsSent; n < 15 {
		t.Errorf("%d RTP packets sent in 0.5 s without a headset, want silence every 20 ms", n)
	}
	waitCallState(t, pp.runningPhone, e.Call, CallEnded)
	if code := sp.wait(10 * time.Second); code != 0 {
		t.Errorf("caller exit %d", code)
	}
}

// answer-after=N > 0: the PBX wants the call answered after N seconds. Meanwhile
// the phone rings (180, and the ringtone on the ring device) so the user hears
// that the microphone is about to open; then it answers and the ringtone stops.
func TestDelayedAutoAnswerRingsFirst(t *testing.T) {
	pp := startPBXPhone(t, func(c *Config) { c.AutoAnswerHints = true })
	var mu sync.Mutex
	var loudAt []time.Time
	pp.audio.SetPlaybackTap(func(stream string, pcm []int16, rate int) {
		if stream != "ring" {
			return
		}
		for _, s := range pcm {
			if s > 1000 || s < -1000 {
				mu.Lock()
				loudAt = append(loudAt, time.Now())
				mu.Unlock()
				return
			}
		}
	})
	lastLoud := func() (time.Time, int) {
		mu.Lock()
		defer mu.Unlock()
		if len(loudAt) == 0 {
			return time.Time{}, 0
		}
		return loudAt[len(loudAt)-1], len(loudAt)
	}
	sp := pp.call(t, "127.0.0.1", uacParams{Mode: "answer", HoldMS: 800,
		Headers: []string{"Call-Info: <sip:127.0.0.1>;answer-after=1"}}, nil)
	e := incomingEvent(t, pp.runningPhone)
	if !e.CallInfo.AutoAnswer || !strings.Contains(e.CallInfo.AutoAnswerHint, "answer-after=1") {
		t.Errorf("call info %+v, want auto-answer with the hint", e.CallInfo)
	}
	active := waitCallState(t, pp.runningPhone, e.Call, CallActive)
	if d := active.Time.Sub(e.Time); d < 900*time.Millisecond || d > 2*time.Second {
		t.Errorf("answered %s after it arrived, want after the 1 s the PBX asked for", d)
	}
	last, n := lastLoud()
	if n == 0 {
		t.Fatal("no ringtone during the auto-answer delay")
	}
	if last.After(active.Time.Add(100 * time.Millisecond)) {
		t.Errorf("the ringtone still played %s after the answer", last.Sub(active.Time))
	}
	time.Sleep(300 * time.Millisecond)
	if _, n2 := lastLoud(); n2 != n {
		t.Errorf("the ringtone went on after the answer (%d more loud buffers)", n2-n)
	}
	if len(sp.received(`^SIP/2.0 180`)) == 0 {
		t.Error("no 180 Ringing during the delay")
	}
	waitCallState(t, pp.runningPhone, e.Call, CallEnded)
	if code := sp.wait(10 * time.Second); code != 0 {
		t.Errorf("caller exit %d", code)
	}
}

// The headset disappears in the middle of a call: the call stays up, RTP goes on
// both ways, and the reason reaches CallInfo.AudioError in an event. The loss is
// delivered the way package audio reports it (the stream's OnError, with an
// error wrapping audio.ErrDeviceLost); stopping a device under a stream is
// audio's own test.
func TestHeadsetLostMidCall(t *testing.T) {
	pp := startPBXPhone(t, func(c *Config) { c.AutoAnswerHints = true })
	sp := pp.call(t, "127.0.0.1", uacParams{Mode: "answer", HoldMS: 2500, Pcap: "tone.pcap",
		Headers: []string{"Answer-Mode: Auto"}}, func(dir string) {
		writeTonePcap(t, filepath.Join(dir, "tone.pcap"), pcapRTP{SSRC: 5, Segments: []pcapSegment{
			{Dur: 2 * time.Second, Freq: 1000, Amp: 0.5},
		}})
	})
	e := incomingEvent(t, pp.runningPhone)
	c := e.Call
	waitCallState(t, pp.runningPhone, c, CallActive)
	if err := c.AudioError(); err != nil {
		t.Fatalf("AudioError before the loss: %v", err)
	}
	time.Sleep(500 * time.Millisecond)
	c.mu.Lock()
	m := c.media
	c.mu.Unlock()
	if m == nil || m.stream == nil {
		t.Fatal("the call has no headset stream")
	}
	lost := fmt.Errorf("audio: device %q: %w", "USB headset", audio.ErrDeviceLost)
	go m.deviceLost(lost)

	ev := pp.events.waitFor(t, 3*time.Second, "the audio error event", func(ev Event) bool {
		return ev.Call == c && ev.Kind == EventCallState && ev.CallInfo.AudioError != ""
	})
	if ev.CallInfo.State != CallActive || !strings.Contains(ev.CallInfo.AudioError, "USB headset") {
		t.Errorf("event after the loss: state %s, audio error %q", ev.CallInfo.State, ev.CallInfo.AudioError)
	}
	if err := c.AudioError(); !errors.Is(err, audio.ErrDeviceLost) {
		t.Errorf("AudioError() = %v, want it to wrap audio.ErrDeviceLost", err)
	}
	before := c.MediaStats()
	time.Sleep(600 * time.Millisecond)
	after := c.MediaStats()
	if c.State() != CallActive {
		t.Fatalf("the call is %s after the headset was lost, want it to stay up", c.State())
	}
	if sent := after.PacketsSent - before.PacketsSent; sent < 20 {
		t.Errorf("%d RTP packets sent in 0.6 s after the loss, want one every 20 ms", sent)
	}
	if got := after.Jitter.Received - before.Jitter.Received; got < 20 {
		t.Errorf("%d RTP packets received in 0.6 s after the loss", got)
	}
	ended := waitCallState(t, pp.runningPhone, c, CallEnded)
	if ended.CallInfo.EndReason != "the other party hung up" || ended.CallInfo.AudioError == "" {
		t.Errorf("end %q, audio error %q", ended.CallInfo.EndReason, ended.CallInfo.AudioError)
	}
	if code := sp.wait(10 * time.Second); code != 0 {
		t.Errorf("caller exit %d", code)
	}
}
