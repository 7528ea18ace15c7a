package phone

import (
	"context"
	"net"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/earshot-app/earshot/audio"
)

// toneSource is a microphone replacement: a 1 kHz tone at network rate.
func toneSource() func([]int16) {
	var mu sync.Mutex
	g := audio.NewTone(clockRate, 1000, 0.5)
	return func(out []int16) {
		mu.Lock()
		g.Read(out)
		mu.Unlock()
	}
}

// startFarEnd runs testdata/uas.xml on 127.0.0.1: with echo, sipp echoes the
// RTP it receives on rtpPort; otherwise rtpPort belongs to the test.
func startFarEnd(t testing.TB, rtpPort, mediaPort int, echo bool) (*sippProc, string) {
	t.Helper()
	port := freeUDPPort(t, "127.0.0.1", false)
	args := []string{"-i", "127.0.0.1", "-p", strconv.Itoa(port), "-t", "u1", "-m", "1",
		"-mp", strconv.Itoa(mediaPort), "-key", "rtp_port", strconv.Itoa(rtpPort), "-d", "300"}
	if echo {
		args = append(args, "-rtp_echo")
	}
	sp := startSipp(t, "uas.xml", args...)
	return sp, "sip:7001@127.0.0.1:" + strconv.Itoa(port)
}

// toneWindow reports the fraction of 20 ms blocks played in [from, to) that carry
// the tone, and the loudest level among them.
func toneWindow(bs []block, from, to time.Time) (frac float64, n int, maxLevel float64) {
	maxLevel = audio.MinLevel
	tone := 0
	for _, b := range bs {
		if b.at.Before(from) || !b.at.Before(to) {
			continue
		}
		n++
		if b.tone {
			tone++
		}
		maxLevel = max(maxLevel, b.level)
	}
	if n == 0 {
		return 0, 0, maxLevel
	}
	return float64(tone) / float64(n), n, maxLevel
}

func TestOutgoingCallEchoMuteHold(t *testing.T) {
	pp := startPBXPhone(t, func(c *Config) { c.Media.CaptureSource = toneSource() })
	mp := freeUDPPort(t, "127.0.0.1", true)
	sp, target := startFarEnd(t, mp, mp, true)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := pp.Dial(ctx, target)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	for _, st := range []CallState{CallDialing, CallAlerting, CallActive} {
		waitCallState(t, pp.runningPhone, c, st)
	}
	ci := c.Info()
	if ci.Direction != Outgoing || ci.RemoteNumber != "7001" || ci.Codec != "PCMU" {
		t.Errorf("call info %+v, want outgoing to 7001 with PCMU", ci)
	}
	inv := sp.received(`^INVITE `)
	if len(inv) == 0 {
		t.Fatal("the far end got no INVITE")
	}
	if !regexp.MustCompile(`(?m)^From: "Supervisor" <sip:2001@`).MatchString(inv[0]) ||
		!regexp.MustCompile(`(?m)^m=audio \d+ RTP/AVP 0 8 101`).MatchString(inv[0]) {
		t.Errorf("INVITE does not come from 2001 offering PCMU, PCMA, telephone-event:\n%s", inv[0])
	}

	// The microphone (a 1 kHz test tone) goes out, the far end echoes it back and
	// the headset plays it.
	start := time.Now()
	time.Sleep(1500 * time.Millisecond)
	frac, n, _ := toneWindow(pp.tap.blocks(1000), start.Add(500*time.Millisecond), time.Now())
	if n < 40 || frac < 0.97 {
		t.Fatalf("echoed tone in %.0f%% of %d blocks, want it all the time", 100*frac, n)
	}

	// Mute: the far end gets true silence (PCM zeroed before G.711 encoding), so
	// the echo is silent; zeroed G.711 bytes would come back as a loud buzz.
	c.SetMuted(true)
	if !c.Muted() || !c.Info().Muted {
		t.Error("Muted() is false after SetMuted(true)")
	}
	muteAt := time.Now()
	time.Sleep(700 * time.Millisecond)
	frac, n, lvl := toneWindow(pp.tap.blocks(1000), muteAt.Add(250*time.Millisecond), time.Now())
	if frac > 0 || lvl > -70 {
		t.Errorf("while muted: tone in %.0f%% of %d blocks, loudest %.1f dBFS; want silence", 100*frac, n, lvl)
	}
	c.SetMuted(false)
	unmuteAt := time.Now()
	time.Sleep(700 * time.Millisecond)
	if frac, n, _ := toneWindow(pp.tap.blocks(1000), unmuteAt.Add(250*time.Millisecond), time.Now()); frac < 0.97 {
		t.Errorf("after unmute: tone in %.0f%% of %d blocks", 100*frac, n)
	}

	// Hold: re-INVITE with a=sendonly; nothing is played while held.
	if err := c.Hold(ctx); err != nil {
		t.Fatalf("Hold: %v", err)
	}
	held := waitCallState(t, pp.runningPhone, c, CallHeld)
	if !held.CallInfo.Held {
		t.Error("CallInfo.Held is false on hold")
	}
	holdAt := time.Now()
	time.Sleep(700 * time.Millisecond)
	if frac, n, lvl := toneWindow(pp.tap.blocks(1000), holdAt.Add(250*time.Millisecond), time.Now()); frac > 0 || lvl > -70 {
		t.Errorf("on hold: tone in %.0f%% of %d blocks, loudest %.1f dBFS; want silence", 100*frac, n, lvl)
	}
	if err := c.Resume(ctx); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	if c.State() != CallActive || c.Info().Held {
		t.Errorf("after Resume the call is %s (held %v)", c.State(), c.Info().Held)
	}
	resumeAt := time.Now()
	time.Sleep(800 * time.Millisecond)
	if frac, n, _ := toneWindow(pp.tap.blocks(1000), resumeAt.Add(300*time.Millisecond), time.Now()); frac < 0.97 {
		t.Errorf("after resume: tone in %.0f%% of %d blocks", 100*frac, n)
	}
	reinv := sp.received(`^INVITE `)
	if len(reinv) != 3 {
		t.Fatalf("far end got %d INVITEs, want the call, the hold and the resume", len(reinv))
	}
	if !regexp.MustCompile(`(?m)^a=sendonly`).MatchString(reinv[1]) || !regexp.MustCompile(`(?m)^a=sendrecv`).MatchString(reinv[2]) {
		t.Errorf("hold/resume re-INVITEs do not say sendonly then sendrecv:\n%s\n%s", reinv[1], reinv[2])
	}

	if err := c.Hangup(ctx); err != nil {
		t.Fatalf("Hangup: %v", err)
	}
	ended := waitCallState(t, pp.runningPhone, c, CallEnded)
	if ended.CallInfo.EndReason != "hung up" || ended.CallInfo.Duration() < 3*time.Second {
		t.Errorf("end %q after %s, want hung up after the whole call", ended.CallInfo.EndReason, ended.CallInfo.Duration())
	}
	if code := sp.wait(10 * time.Second); code != 0 {
		t.Errorf("far end exit code %d, want 0", code)
	}
}

func TestOutgoingCallUnreachableAndCancelled(t *testing.T) {
	pp := startPBXPhone(t, nil)
	// Nothing listens at the target: the dial times out with ctx.
	port := freeUDPPort(t, "127.0.0.1", false)
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	c, err := pp.Dial(ctx, "sip:7009@127.0.0.1:"+strconv.Itoa(port))
	if err == nil {
		t.Fatal("Dial to nobody succeeded")
	}
	if c == nil || c.State() != CallEnded || c.Info().EndReason != "cancelled" {
		t.Fatalf("Dial to nobody: call %v, err %v; want an ended, cancelled call", c, err)
	}

	// Hang up while the far end rings: the INVITE is cancelled.
	mp := freeUDPPort(t, "127.0.0.1", true)
	port2 := freeUDPPort(t, "127.0.0.1", false)
	sp := startSipp(t, "uas_cancel.xml", "-i", "127.0.0.1", "-p", strconv.Itoa(port2), "-t", "u1", "-m", "1",
		"-mp", strconv.Itoa(mp))
	var dialed *Call
	var dialErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		dialed, dialErr = pp.Dial(context.Background(), "sip:7001@127.0.0.1:"+strconv.Itoa(port2))
	}()
	e := pp.events.waitFor(t, 5*time.Second, "the outgoing call ringing", func(e Event) bool {
		return e.Kind == EventCallState && e.CallInfo.Direction == Outgoing && e.CallInfo.State == CallAlerting
	})
	hctx, hcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer hcancel()
	if err := e.Call.Hangup(hctx); err != nil {
		t.Fatalf("Hangup while ringing: %v", err)
	}
	<-done
	if dialErr == nil || dialed.Info().EndReason != "cancelled" {
		t.Errorf("Dial after hang-up while ringing: err %v, reason %q; want cancelled", dialErr, dialed.Info().EndReason)
	}
	if code := sp.wait(10 * time.Second); code != 0 {
		t.Errorf("ringing far end exit code %d, want 0 (CANCEL, 487, ACK)", code)
	}
}

// rtpListener is a raw UDP socket playing the far end's RTP port: it records every
// packet the phone sends.
type rtpListener struct {
	conn *net.UDPConn
	mu   sync.Mutex
	pkts []rtp.Packet
	at   []time.Time
}

func listenRTP(t *testing.T) *rtpListener {
	t.Helper()
	port := freeUDPPort(t, "127.0.0.1", true)
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Fatal(err)
	}
	l := &rtpListener{conn: c}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, _, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			var p rtp.Packet
			if p.Unmarshal(buf[:n]) != nil {
				continue
			}
			p.Payload = append([]byte(nil), p.Payload...)
			l.mu.Lock()
			l.pkts = append(l.pkts, p)
			l.at = append(l.at, time.Now())
			l.mu.Unlock()
		}
	}()
	t.Cleanup(func() { c.Close() })
	return l
}

func (l *rtpListener) port() int { return l.conn.LocalAddr().(*net.UDPAddr).Port }

func (l *rtpListener) packets() []rtp.Packet {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]rtp.Packet(nil), l.pkts...)
}

// dtmfEvent is one RFC 4733 event as the far end reassembles it.
type dtmfEvent struct {
	digit     rune
	ts        uint32
	marker    bool
	ends      int
	duration  int
	firstSeq  uint16
	durations []int
}

func TestSendDTMFReachesPeerAsRFC4733(t *testing.T) {
	pp := startPBXPhone(t, nil)
	l := listenRTP(t)
	sp, target := startFarEnd(t, l.port(), freeUDPPort(t, "127.0.0.1", true), false)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := pp.Dial(ctx, target)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	time.Sleep(200 * time.Millisecond)
	if err := c.SendDTMF("1#5"); err != nil {
		t.Fatalf("SendDTMF: %v", err)
	}
	if err := c.SendDTMF("x"); err == nil {
		t.Error("SendDTMF accepted a non-digit")
	}
	waitFor(t, 5*time.Second, "three digits sent", func() bool { return c.MediaStats().DTMFSent == 3 })
	time.Sleep(200 * time.Millisecond)
	if err := c.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if code := sp.wait(10 * time.Second); code != 0 {
		t.Errorf("far end exit code %d", code)
	}

	pkts := l.packets()
	if len(pkts) < 40 {
		t.Fatalf("the far end got %d RTP packets", len(pkts))
	}
	// One stream: one SSRC, no sequence gaps, audio never stops.
	var events []*dtmfEvent
	byTS := map[uint32]*dtmfEvent{}
	lastAudioTS := uint32(0)
	for i, p := range pkts {
		if p.SSRC != pkts[0].SSRC {
			t.Fatalf("packet %d has SSRC %x, want one stream %x", i, p.SSRC, pkts[0].SSRC)
		}
		if i > 0 && p.SequenceNumber != pkts[i-1].SequenceNumber+1 {
			t.Errorf("sequence jumps from %d to %d", pkts[i-1].SequenceNumber, p.SequenceNumber)
		}
		switch p.PayloadType {
		case 0:
			if len(p.Payload) != 160 {
				t.Errorf("audio packet of %d bytes, want 160", len(p.Payload))
			}
			if lastAudioTS != 0 && int32(p.Timestamp-lastAudioTS) < 160 {
				t.Errorf("audio timestamp %d does not advance past %d", p.Timestamp, lastAudioTS)
			}
			lastAudioTS = p.Timestamp
		case 101:
			if len(p.Payload) != 4 {
				t.Fatalf("telephone-event payload of %d bytes", len(p.Payload))
			}
			ev := byTS[p.Timestamp]
			if ev == nil {
				ev = &dtmfEvent{digit: audio.EventDigit(p.Payload[0]), ts: p.Timestamp, marker: p.Marker, firstSeq: p.SequenceNumber}
				byTS[p.Timestamp] = ev
				events = append(events, ev)
				if int32(p.Timestamp-lastAudioTS) < 160 {
					t.Errorf("event timestamp %d does not follow the audio (%d)", p.Timestamp, lastAudioTS)
				}
			}
			if p.Payload[1]&0x80 != 0 {
				ev.ends++
			}
			d := int(p.Payload[2])<<8 | int(p.Payload[3])
			ev.durations = append(ev.durations, d)
			ev.duration = d
			if audio.EventDigit(p.Payload[0]) != ev.digit {
				t.Errorf("event at ts %d changes digit", p.Timestamp)
			}
			// Audio after the event must start after its end.
			lastAudioTS = p.Timestamp + uint32(d) - 160
		default:
			t.Errorf("unexpected payload type %d", p.PayloadType)
		}
	}
	var got []rune
	for _, ev := range events {
		got = append(got, ev.digit)
		if !ev.marker {
			t.Errorf("digit %c: first packet has no marker bit", ev.digit)
		}
		if ev.ends != 3 {
			t.Errorf("digit %c: %d end packets, want 3", ev.digit, ev.ends)
		}
		if ev.duration < 800 {
			t.Errorf("digit %c lasts %d samples, want at least 100 ms", ev.digit, ev.duration)
		}
		for i := 1; i < len(ev.durations); i++ {
			if ev.durations[i] < ev.durations[i-1] {
				t.Errorf("digit %c: duration goes down %v", ev.digit, ev.durations)
				break
			}
		}
	}
	if string(got) != "1#5" {
		t.Fatalf("far end decoded digits %q, want \"1#5\"", string(got))
	}
	for i := 1; i < len(events); i++ {
		if events[i].ts == events[i-1].ts {
			t.Errorf("digits %d and %d share a timestamp (the receiver would drop the second)", i-1, i)
		}
	}
}
