package phone

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emiago/diago/media"
	"github.com/pion/rtp"
)

// inject sends datagram straight to the phone's RTP address, as anyone on the
// network could.
func (r *relay) inject(datagram []byte) bool {
	r.mu.Lock()
	to := r.phone
	r.mu.Unlock()
	if to == nil {
		return false
	}
	_, err := r.a.WriteToUDP(datagram, to)
	return err == nil
}

// junkDatagrams are datagrams that reach a softphone's RTP port and are not audio
// of the call: the first unparseable, the others of kinds diago's read drops
// (and then waits for the next datagram: sent in this order, a burst of them
// would leave a reader that does not take them off the socket itself waiting
// until the next burst).
var junkDatagrams = []struct {
	name    string
	data    []byte
	dropped bool // diago's read drops it: Earshot must take it off the socket itself
}{
	// Three bytes of garbage: diago's read fails to parse it and says so.
	{"garbage", []byte{0xde, 0xad, 0x00}, false},
	// An RTCP receiver report on the RTP port (rtcp-mux the phone did not offer).
	{"RTCP receiver report", []byte{0x81, 201, 0, 7, 0, 0, 0x1a, 0x7e, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, true},
	// RTP version 0 (a scanner's probe, a STUN-like keep-alive).
	{"version 0", []byte{0x00, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff}, true},
	// Comfort noise (payload type 13), never negotiated.
	{"comfort noise", []byte{0x80, 13, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2, 0x40}, true},
	// A header with no payload: an RTP keep-alive.
	{"empty payload", []byte{0x80, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 3}, true},
}

// Datagrams that are not the call's audio arrive on the RTP port all the time
// (scanners, keep-alives, RTCP, comfort noise). While a 1 kHz tone comes back from
// the far end, each kind is injected five times a second for 3 s: the headset must
// keep playing the tone as if nothing happened, whichever way RTP is read (by the
// audio thread, which must never wait for a datagram, or by a receive goroutine).
// Then the far end's audio stops for a second (a network gap) while junk still
// comes: the headset's audio thread must keep running at its pace all along, not
// wait in a read for audio that does not come.
func TestJunkOnTheRTPPortNeverStallsTheAudio(t *testing.T) {
	for _, mode := range []struct {
		name      string
		goroutine bool
	}{{"read by the audio thread", false}, {"read by a goroutine", true}} {
		t.Run(mode.name, func(t *testing.T) {
			pp := startPBXPhone(t, func(c *Config) {
				c.Media.CaptureSource = toneSource()
				c.Media.readRTPGoroutine = mode.goroutine
			})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			rl, sp, c := dialEchoThroughRelay(ctx, t, pp, 0, 0)
			time.Sleep(time.Second) // the tone comes back; the jitter buffer settles
			sent, dropped := 0, 0
			injectAll := func() {
				for _, j := range junkDatagrams {
					if !rl.inject(j.data) {
						t.Fatal("the relay does not know the phone's RTP address yet")
					}
					sent++
					if j.dropped {
						dropped++
					}
				}
			}
			from := time.Now()
			for range 15 {
				injectAll()
				time.Sleep(200 * time.Millisecond)
			}
			to := time.Now()

			// A second with no audio from the far end, junk every 100 ms.
			before := c.MediaStats().Device.Callbacks
			gapStart := rl.gap(time.Second)
			for range 10 {
				injectAll()
				time.Sleep(100 * time.Millisecond)
			}
			gapCallbacks := c.MediaStats().Device.Callbacks - before
			gapLen := time.Since(gapStart)
			time.Sleep(200 * time.Millisecond)
			st := c.MediaStats()
			if err := c.Hangup(ctx); err != nil {
				t.Fatal(err)
			}
			if code := sp.wait(10 * time.Second); code != 0 {
				t.Errorf("far end exit code %d", code)
			}

			frac, n, _ := toneWindow(pp.tap.blocks(1000), from, to)
			t.Logf("%d junk datagrams (%d of kinds diago drops): tone in %.1f%% of %d blocks; stats %+v", sent, dropped, 100*frac, n, st)
			if frac < 0.97 {
				t.Errorf("with junk on the RTP port the tone is in only %.1f%% of the blocks", 100*frac)
			}
			// The device calls back every 10 ms.
			want := int(gapLen / (10 * time.Millisecond))
			t.Logf("during the %s gap with junk: %d device callbacks (%d expected)", gapLen.Round(time.Millisecond), gapCallbacks, want)
			if int(gapCallbacks) < want*9/10 {
				t.Errorf("the headset's audio thread stalled during the gap: %d callbacks in %s, want about %d", gapCallbacks, gapLen.Round(time.Millisecond), want)
			}
			if mode.goroutine {
				if st.RTPPolled || st.Discarded != 0 {
					t.Errorf("configured to read on a goroutine, yet RTPPolled=%v and %d discarded", st.RTPPolled, st.Discarded)
				}
				return
			}
			if !st.RTPPolled {
				t.Errorf("the audio thread stopped reading RTP (fell back to a goroutine); see the log")
			}
			if st.Discarded != uint64(dropped) {
				t.Errorf("%d datagrams discarded, want the %d that diago's read would drop", st.Discarded, dropped)
			}
		})
	}
}

// FuzzDiagoReturns checks the audio thread's pre-check against diago's own parse
// (media.RTPUnmarshal) and the rules of its RTPSession.ReadRTP: for any datagram,
// it must say "returns" exactly when diago's read fails on it or accepts it, so
// that nothing diago would drop and then wait after is ever handed to it, and no
// RTP of the call is discarded.
func FuzzDiagoReturns(f *testing.F) {
	for _, j := range junkDatagrams {
		f.Add(j.data, false)
	}
	audioPkt := []byte{0x80, 0x00, 0x10, 0x00, 0, 0, 0x12, 0x34, 0x1a, 0x7e, 0, 1, 0xff, 0xfe, 0x7f}
	f.Add(audioPkt, false)
	f.Add(audioPkt, true)
	f.Add([]byte{0xa0, 101, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 10, 0, 160, 0, 0, 0, 4}, false) // padded DTMF
	f.Add([]byte{0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}, false)                              // padding bit, nothing after the header
	f.Fuzz(func(t *testing.T, b []byte, sdes bool) {
		m := &callMedia{}
		m.rxPT[0], m.rxPT[8], m.rxPT[101] = true, true, true
		if sdes {
			m.srtpTag = 10
		}
		got := m.diagoReturns(b)
		if sdes {
			// The payload is encrypted: only the header rules and the length
			// can be checked, as the function does; no panic is the point.
			return
		}
		var pkt rtp.Packet
		want := true
		if err := media.RTPUnmarshal(b, &pkt); err == nil {
			want = pkt.Version != 0 && len(pkt.Payload) > 0 && m.rxPT[pkt.PayloadType]
		}
		if got != want {
			t.Fatalf("diagoReturns(% x) = %v, diago's read would %s", b, got, map[bool]string{true: "return", false: "drop it and wait for another"}[want])
		}
	})
}

// readModes runs a test with RTP read by the audio thread and by a receive
// goroutine.
func readModes(t *testing.T, run func(t *testing.T, goroutine bool)) {
	for _, goroutine := range []bool{false, true} {
		name := "read by the audio thread"
		if goroutine {
			name = "read by a goroutine"
		}
		t.Run(name, func(t *testing.T) { run(t, goroutine) })
	}
}

// A re-INVITE makes diago interrupt any read under way (a deadline of now on the
// socket) and re-read after the next read error. Earshot holds the call (its own
// re-INVITE) while no audio comes back, the far end's audio resumes, then stops
// again while an unparseable datagram arrives: the headset's audio thread must
// keep its pace all along, not wait in a read for audio that does not come.
func TestReInviteThenJunkNeverStallsTheAudio(t *testing.T) {
	readModes(t, func(t *testing.T, goroutine bool) {
		pp := startPBXPhone(t, func(c *Config) {
			c.Media.CaptureSource = toneSource()
			c.Media.readRTPGoroutine = goroutine
		})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		rl, sp, c := dialEchoThroughRelay(ctx, t, pp, 0, 0)
		time.Sleep(time.Second)
		rl.gap(1500 * time.Millisecond)
		time.Sleep(100 * time.Millisecond)
		if err := c.Hold(ctx); err != nil {
			t.Fatalf("Hold: %v", err)
		}
		time.Sleep(2 * time.Second) // the gap is over: the echo flows again
		before := c.MediaStats().Device.Callbacks
		start := rl.gap(2 * time.Second)
		time.Sleep(100 * time.Millisecond)
		rl.inject(junkDatagrams[0].data) // unparseable
		time.Sleep(1500 * time.Millisecond)
		got := c.MediaStats().Device.Callbacks - before
		elapsed := time.Since(start)
		st := c.MediaStats()
		if err := c.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
		sp.wait(10 * time.Second)
		want := int(elapsed / (10 * time.Millisecond))
		t.Logf("%d device callbacks in %s (%d expected); stats %+v", got, elapsed.Round(time.Millisecond), want, st)
		if int(got) < want*9/10 {
			t.Errorf("the headset's audio thread stalled: %d callbacks in %s, want about %d", got, elapsed.Round(time.Millisecond), want)
		}
		if st.RTPPolled == goroutine {
			t.Errorf("RTPPolled = %v reading on a goroutine = %v: the read mode changed during the call", st.RTPPolled, goroutine)
		}
	})
}

// An account with SRTP (SDES) also takes plain RTP calls: their packets carry no
// authentication tag, and a 4-byte telephone-event must still become a digit.
func TestSDESAccountOnAPlainCallGetsDTMF(t *testing.T) {
	readModes(t, func(t *testing.T, goroutine bool) {
		pp := startPBXPhone(t, func(c *Config) {
			c.Account.SRTP = SRTPSDES
			c.Media.readRTPGoroutine = goroutine
		})
		sp, e, _ := callPlayingDigit(t, pp)
		d := pp.events.waitFor(t, 5*time.Second, "the DTMF event", func(e Event) bool { return e.Kind == EventDTMF })
		if d.Digit != '5' {
			t.Errorf("DTMF %q, want '5'", d.Digit)
		}
		st := e.Call.MediaStats()
		waitCallState(t, pp.runningPhone, e.Call, CallEnded)
		sp.wait(10 * time.Second)
		if st.Discarded != 0 {
			t.Errorf("%d RTP packets of the call discarded", st.Discarded)
		}
	})
}

// A PBX may re-INVITE with other payload types (re-anchoring media after a
// transfer): after a re-INVITE that moves telephone-event from 101 to 96, a digit
// sent with 96 must still be a DTMF event, never sound, and never discarded.
func TestReInviteWithNewPayloadTypesIsFollowed(t *testing.T) {
	readModes(t, func(t *testing.T, goroutine bool) {
		pp := startPBXPhone(t, func(c *Config) {
			c.AutoAnswerHints = true
			c.Media.readRTPGoroutine = goroutine
		})
		moved := strings.NewReplacer("101", "96", "2353687637", "2353687638").Replace(defaultOffer())
		sp := pp.call(t, "127.0.0.1", uacParams{Mode: "hold", HoldMS: 1000, HoldSDP: moved, Pcap: "dtmf.pcap",
			Headers: []string{"Answer-Mode: Auto"}}, func(dir string) {
			writeTonePcap(t, filepath.Join(dir, "dtmf.pcap"), pcapRTP{SSRC: 99, Segments: []pcapSegment{
				{Dur: 1400 * time.Millisecond, Freq: 1000, Amp: 0.5},
				{Dur: 300 * time.Millisecond, Event: true, Digit: 7, EventPT: 96},
				{Dur: 900 * time.Millisecond, Freq: 1000, Amp: 0.5},
			}})
		})
		e := incomingEvent(t, pp.runningPhone)
		d := pp.events.waitFor(t, 8*time.Second, "the DTMF event after the re-INVITE", func(ev Event) bool { return ev.Kind == EventDTMF })
		if d.Digit != '7' {
			t.Errorf("DTMF %q, want '7'", d.Digit)
		}
		st := e.Call.MediaStats()
		waitCallState(t, pp.runningPhone, e.Call, CallEnded)
		if code := sp.wait(10 * time.Second); code != 0 {
			t.Errorf("caller exit %d", code)
		}
		if st.Discarded != 0 {
			t.Errorf("%d RTP packets of the call discarded", st.Discarded)
		}
	})
}
