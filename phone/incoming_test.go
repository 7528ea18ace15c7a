package phone

import (
	"context"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/earshot-app/earshot/audio"
)

// nullAudio opens the paced null audio backend (no sound card needed).
func nullAudio(t testing.TB) *audio.Context {
	t.Helper()
	ac, err := audio.NewContext(audio.BackendNull)
	if err != nil {
		t.Fatalf("open the null audio backend: %v", err)
	}
	t.Cleanup(func() { ac.Close() })
	return ac
}

// pbxPhone is a phone registered with a sipp registrar, with null-backend audio
// whose headset output is recorded.
type pbxPhone struct {
	*runningPhone
	audio *audio.Context
	tap   *tap
}

func startPBXPhone(t testing.TB, mutate func(*Config)) *pbxPhone {
	t.Helper()
	_, addr := startRegistrar(t, "sup-2001-lab", 300)
	ac := nullAudio(t)
	tp := &tap{}
	cfg := Config{
		Account: Account{Server: addr, User: "2001", Password: "sup-2001-lab", DisplayName: "Supervisor"},
		Media:   MediaConfig{Audio: ac, PlaybackTap: tp.fn},
	}
	if mutate != nil {
		mutate(&cfg)
	}
	ph := startPhone(t, cfg)
	ph.waitRegistered(t, 10*time.Second)
	return &pbxPhone{runningPhone: ph, audio: ac, tap: tp}
}

// call starts a sipp caller towards the phone from ip (127.0.0.1 is the PBX).
func (pp *pbxPhone) call(t *testing.T, ip string, p uacParams, files func(dir string)) *sippProc {
	t.Helper()
	dir := t.TempDir()
	if files != nil {
		files(dir)
	}
	scen := writeUAC(t, dir, p)
	return startSippIn(t, dir, scen, pp.LocalAddr(), "-s", "2001", "-m", "1",
		"-i", ip, "-p", strconv.Itoa(freeUDPPort(t, ip, false)),
		"-mp", strconv.Itoa(freeUDPPort(t, ip, true)), "-t", "u1")
}

func incomingEvent(t *testing.T, ph *runningPhone) Event {
	t.Helper()
	return ph.events.waitFor(t, 10*time.Second, "an incoming call", func(e Event) bool { return e.Kind == EventIncomingCall })
}

func waitCallState(t *testing.T, ph *runningPhone, c *Call, st CallState) Event {
	t.Helper()
	return ph.events.waitFor(t, 15*time.Second, "call "+c.ID()+" "+st.String(), func(e Event) bool {
		return e.Kind == EventCallState && e.Call == c && e.CallInfo.State == st
	})
}

func TestIncomingCallRingsAnswersAndPlaysTone(t *testing.T) {
	var ringMu sync.Mutex
	var ringPCM []int16
	pp := startPBXPhone(t, nil)
	pp.audio.SetPlaybackTap(func(stream string, pcm []int16, rate int) {
		if stream == "ring" {
			ringMu.Lock()
			ringPCM = append(ringPCM, pcm...)
			ringMu.Unlock()
		}
	})
	ringLen := func() (n int, loud bool) {
		ringMu.Lock()
		defer ringMu.Unlock()
		for _, s := range ringPCM {
			if s > 1000 || s < -1000 {
				loud = true
			}
		}
		return len(ringPCM), loud
	}

	const toneDur = 3 * time.Second
	sp := pp.call(t, "127.0.0.1", uacParams{Mode: "answer", CallerName: "Listen: 1001", Caller: "0912345678",
		Pcap: "tone.pcap", HoldMS: int((toneDur + 800*time.Millisecond) / time.Millisecond)}, func(dir string) {
		writeTonePcap(t, filepath.Join(dir, "tone.pcap"), pcapRTP{SSRC: 0x1234, Segments: []pcapSegment{
			{Dur: toneDur, Freq: 1000, Amp: 0.5},
		}})
	})

	e := incomingEvent(t, pp.runningPhone)
	ci := e.CallInfo
	if ci.RemoteName != "Listen: 1001" || ci.RemoteNumber != "0912345678" {
		t.Errorf("caller shown as %q <%s>, want \"Listen: 1001\" <0912345678>", ci.RemoteName, ci.RemoteNumber)
	}
	if ci.Direction != Incoming || ci.State != CallRinging || ci.Monitoring || ci.AutoAnswer {
		t.Errorf("incoming call info %+v, want a ringing, not auto-answered, non-monitoring incoming call", ci)
	}
	c := e.Call
	// It rings on the ring device while waiting.
	waitFor(t, 3*time.Second, "the ringtone", func() bool { _, loud := ringLen(); return loud })
	if got := sp.received(`^SIP/2.0 180`); len(got) == 0 {
		waitFor(t, 2*time.Second, "180 Ringing at the caller", func() bool { return len(sp.received(`^SIP/2.0 180`)) > 0 })
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Answer(ctx); err != nil {
		t.Fatalf("Answer: %v", err)
	}
	active := waitCallState(t, pp.runningPhone, c, CallActive)
	if active.CallInfo.Codec != "PCMU" || active.CallInfo.Answered.IsZero() {
		t.Errorf("active call info: codec %q answered %v, want PCMU (the PBX's first choice) and an answer time",
			active.CallInfo.Codec, active.CallInfo.Answered)
	}
	n1, _ := ringLen()
	time.Sleep(300 * time.Millisecond)
	if n2, _ := ringLen(); n2 != n1 {
		t.Errorf("the ringtone went on after the answer (%d more samples)", n2-n1)
	}

	ended := waitCallState(t, pp.runningPhone, c, CallEnded)
	if ended.CallInfo.EndReason != "the other party hung up" {
		t.Errorf("end reason %q, want the other party hung up", ended.CallInfo.EndReason)
	}
	if code := sp.wait(10 * time.Second); code != 0 {
		t.Errorf("sipp caller exit code %d, want 0 (call completed)", code)
	}

	bs := pp.tap.blocks(1000)
	first, last, present, total := toneStats(bs)
	if first < 0 {
		t.Fatal("the 1 kHz tone never reached the headset")
	}
	heard := time.Duration(last-first+1) * 20 * time.Millisecond
	lost := 1 - float64(present)/float64(total)
	st := c.MediaStats()
	t.Logf("tone heard for %s; lost audio (20 ms blocks without the tone) %.2f%%; jitter buffer: %d packets, %d lost, %d concealed frames, depth max %s",
		heard, 100*lost, st.Jitter.Received, st.Jitter.Lost, st.Jitter.Concealed, st.Jitter.MaxDepth)
	if heard < toneDur-100*time.Millisecond || heard > toneDur+100*time.Millisecond {
		t.Errorf("tone heard for %s, want about %s", heard, toneDur)
	}
	if lost > 0.01 {
		t.Errorf("%.1f%% of the tone is missing at the headset on a clean network", 100*lost)
	}
	if st.Jitter.Received < 140 || st.Jitter.Lost > 0 {
		t.Errorf("jitter buffer got %d packets, lost %d; want all 150", st.Jitter.Received, st.Jitter.Lost)
	}
	if st.PacketsSent < 100 {
		t.Errorf("the phone sent %d RTP packets during the call, want one every 20 ms", st.PacketsSent)
	}
}

func TestIncomingCallCancelledByCaller(t *testing.T) {
	pp := startPBXPhone(t, nil)
	sp := pp.call(t, "127.0.0.1", uacParams{Mode: "cancel", CancelMS: 600}, nil)
	e := incomingEvent(t, pp.runningPhone)
	ended := waitCallState(t, pp.runningPhone, e.Call, CallEnded)
	if ended.CallInfo.EndReason != "cancelled by the caller" || ended.CallInfo.EndCode != 487 {
		t.Errorf("end %q (%d), want cancelled by the caller (487)", ended.CallInfo.EndReason, ended.CallInfo.EndCode)
	}
	if code := sp.wait(10 * time.Second); code != 0 {
		t.Errorf("sipp caller exit code %d, want 0 (CANCEL answered 200, INVITE 487)", code)
	}
	if err := e.Call.Answer(context.Background()); err != ErrCallEnded {
		t.Errorf("Answer after cancel = %v, want ErrCallEnded", err)
	}
	if len(pp.Calls()) != 0 {
		t.Errorf("%d calls left after the cancel", len(pp.Calls()))
	}
}

func TestIncomingCallDeclined(t *testing.T) {
	for _, tc := range []struct {
		name   string
		reason DeclineReason
		code   int
		want   string
	}{
		{"busy", DeclineBusy, 486, "declined as busy"},
		{"decline", DeclineRejected, 603, "declined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pp := startPBXPhone(t, nil)
			sp := pp.call(t, "127.0.0.1", uacParams{Mode: "refuse", Code: tc.code}, nil)
			e := incomingEvent(t, pp.runningPhone)
			if err := e.Call.Decline(tc.reason); err != nil {
				t.Fatalf("Decline: %v", err)
			}
			ended := waitCallState(t, pp.runningPhone, e.Call, CallEnded)
			if ended.CallInfo.EndReason != tc.want || ended.CallInfo.EndCode != tc.code {
				t.Errorf("end %q (%d), want %q (%d)", ended.CallInfo.EndReason, ended.CallInfo.EndCode, tc.want, tc.code)
			}
			if code := sp.wait(10 * time.Second); code != 0 {
				t.Errorf("sipp caller exit code %d, want 0 (got %d)", code, tc.code)
			}
		})
	}
}

func TestIncomingFromStrangerGets403WithoutRinging(t *testing.T) {
	pp := startPBXPhone(t, nil)
	// 127.0.0.2 is loopback too, but it is not the PBX (127.0.0.1).
	sp := pp.call(t, "127.0.0.2", uacParams{Mode: "refuse", Code: 403}, nil)
	if code := sp.wait(10 * time.Second); code != 0 {
		t.Fatalf("sipp caller from 127.0.0.2 exit code %d, want 0 (403 Forbidden)", code)
	}
	if got := sp.received(`^SIP/2.0 18`); len(got) != 0 {
		t.Errorf("the stranger got a provisional answer: %s", got[0])
	}
	time.Sleep(200 * time.Millisecond)
	if n := pp.events.count(func(e Event) bool { return e.Kind == EventIncomingCall || e.Kind == EventCallState }); n != 0 {
		t.Errorf("%d call events for a stranger's INVITE, want none", n)
	}
}

func TestUnacceptableOffersGet488(t *testing.T) {
	for _, tc := range []struct {
		name        string
		sdp         string
		contentType string
		warning     string
	}{
		{"garbage", "this is not SDP at all\nc=IN\n", "", "malformed SDP"},
		{"short connection line", strings.Replace(defaultOffer(), "c=IN IP[media_ip_type] [media_ip]", "c=IN IP4", 1), "", "connection"},
		{"only G.729", "v=0\no=pbx 1 1 IN IP4 [local_ip]\ns=-\nc=IN IP4 [media_ip]\nt=0 0\nm=audio [media_port] RTP/AVP 18\na=rtpmap:18 G729/8000\n", "", "no common audio codec"},
		{"SRTP required", strings.Replace(defaultOffer(), "RTP/AVP", "RTP/SAVP", 1) + "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\n", "", "SRTP"},
		{"not sdp", "hello", "text/plain", "not SDP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pp := startPBXPhone(t, nil)
			sp := pp.call(t, "127.0.0.1", uacParams{Mode: "refuse", Code: 488, SDP: tc.sdp, ContentType: tc.contentType}, nil)
			if code := sp.wait(10 * time.Second); code != 0 {
				t.Fatalf("sipp caller exit code %d, want 0 (488)", code)
			}
			res := sp.received(`^SIP/2.0 488`)
			if len(res) == 0 {
				t.Fatal("no 488 in the caller's trace")
			}
			if !regexp.MustCompile(`(?mi)^Warning: 399 earshot ".*` + regexp.QuoteMeta(tc.warning)).MatchString(res[0]) {
				t.Errorf("488 does not explain %q:\n%s", tc.warning, res[0])
			}
			if n := pp.events.count(func(e Event) bool { return e.Kind == EventIncomingCall }); n != 0 {
				t.Errorf("an unacceptable offer rang the phone")
			}
			// The phone is still fine: a good call rings afterwards.
			sp2 := pp.call(t, "127.0.0.1", uacParams{Mode: "refuse", Code: 603}, nil)
			e := incomingEvent(t, pp.runningPhone)
			if err := e.Call.Decline(DeclineRejected); err != nil {
				t.Fatal(err)
			}
			if code := sp2.wait(10 * time.Second); code != 0 {
				t.Errorf("follow-up call exit code %d", code)
			}
		})
	}
}

// phoneAddr is the phone's SIP address as a UDP address.
func phoneAddr(t *testing.T, ph *runningPhone) *net.UDPAddr {
	a, err := net.ResolveUDPAddr("udp", ph.LocalAddr())
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestHoldByTheOtherPartyIsReported(t *testing.T) {
	pp := startPBXPhone(t, func(c *Config) { c.AutoAnswerHints = true })
	sp := pp.call(t, "127.0.0.1", uacParams{Mode: "hold", HoldMS: 400, Headers: []string{"Answer-Mode: Auto"}}, nil)
	e := incomingEvent(t, pp.runningPhone)
	c := e.Call
	waitCallState(t, pp.runningPhone, c, CallActive)
	held := pp.events.waitFor(t, 5*time.Second, "the remote hold", func(e Event) bool {
		return e.Call == c && e.CallInfo.RemoteHeld
	})
	if held.CallInfo.State != CallActive {
		t.Errorf("state on remote hold %s, want active (the phone itself did not hold)", held.CallInfo.State)
	}
	pp.events.waitFor(t, 5*time.Second, "the remote resume", func(e Event) bool {
		return e.Call == c && !e.CallInfo.RemoteHeld && e.Time.After(held.Time)
	})
	waitCallState(t, pp.runningPhone, c, CallEnded)
	if code := sp.wait(10 * time.Second); code != 0 {
		t.Errorf("caller exit %d", code)
	}
	oks := sp.received(`^SIP/2.0 200`)
	if len(oks) < 3 || !regexp.MustCompile(`(?m)^a=recvonly`).MatchString(oks[1]) {
		t.Errorf("the phone did not answer the hold with a=recvonly:\n%q", oks)
	}
}
