package phone

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// A PBX re-INVITE whose SDP diago would mis-read (a c= line without an address,
// which made diago index past the end of the fields and panic) is answered 488
// with a reason; the call goes on, the next re-INVITE is handled, and the process
// is alive to see the caller hang up.
func TestMalformedReInviteGets488AndTheCallGoesOn(t *testing.T) {
	logs := &syncBuffer{}
	pp := startPBXPhone(t, func(c *Config) {
		c.AutoAnswerHints = true
		c.Logger = testLogger(t, logs)
	})
	bad := strings.Replace(strings.Replace(defaultOffer(), "c=IN IP[media_ip_type] [media_ip]", "c=IN IP4", 1),
		"a=sendrecv", "a=sendonly", 1)
	sp := pp.call(t, "127.0.0.1", uacParams{Mode: "hold", HoldMS: 400, HoldSDP: bad, HoldCode: 488,
		Headers: []string{"Answer-Mode: Auto"}}, nil)
	e := incomingEvent(t, pp.runningPhone)
	c := e.Call
	waitCallState(t, pp.runningPhone, c, CallActive)
	ended := waitCallState(t, pp.runningPhone, c, CallEnded)
	if ended.CallInfo.EndReason != "the other party hung up" {
		t.Errorf("end reason %q, want the other party hung up", ended.CallInfo.EndReason)
	}
	if code := sp.wait(10 * time.Second); code != 0 {
		t.Fatalf("caller exit %d, want 0 (488 for the bad re-INVITE, 200 for the next, BYE answered)", code)
	}
	res := sp.received(`^SIP/2.0 488`)
	if len(res) != 1 || !regexp.MustCompile(`(?mi)^Warning: 399 earshot ".*malformed SDP connection line`).MatchString(res[0]) {
		t.Errorf("the bad re-INVITE was not answered 488 with the reason:\n%q", res)
	}
	if oks := sp.received(`^SIP/2.0 200`); len(oks) != 3 {
		t.Errorf("caller got %d 200 OKs, want 3 (answer, resume re-INVITE, BYE)", len(oks))
	}
	if n := pp.events.count(func(e Event) bool { return e.Call == c && e.CallInfo.RemoteHeld }); n != 0 {
		t.Error("the refused re-INVITE put the call on hold")
	}
	if !strings.Contains(logs.String(), "refused a change of the call's media") {
		t.Error("the refusal is not logged")
	}
	// The phone still takes calls.
	sp2 := pp.call(t, "127.0.0.1", uacParams{Mode: "answer", HoldMS: 200, Headers: []string{"Answer-Mode: Auto"}}, nil)
	if code := sp2.wait(10 * time.Second); code != 0 {
		t.Errorf("a call after the bad re-INVITE: caller exit %d", code)
	}
}

// The old way to hold (RFC 2543: c=0.0.0.0) stays accepted in a re-INVITE, though
// a new call with that address is refused.
func TestReInviteHoldWithZeroAddress(t *testing.T) {
	pp := startPBXPhone(t, func(c *Config) { c.AutoAnswerHints = true })
	hold := strings.Replace(defaultOffer(), "c=IN IP[media_ip_type] [media_ip]", "c=IN IP4 0.0.0.0", 1)
	sp := pp.call(t, "127.0.0.1", uacParams{Mode: "hold", HoldMS: 400, HoldSDP: hold,
		Headers: []string{"Answer-Mode: Auto"}}, nil)
	e := incomingEvent(t, pp.runningPhone)
	pp.events.waitFor(t, 5*time.Second, "the remote hold", func(ev Event) bool {
		return ev.Call == e.Call && ev.CallInfo.RemoteHeld
	})
	waitCallState(t, pp.runningPhone, e.Call, CallEnded)
	if code := sp.wait(10 * time.Second); code != 0 {
		t.Errorf("caller exit %d", code)
	}
}

// A panic while handling a request (whatever its cause) is logged and answered
// 500 Server Internal Error; the server keeps serving. The handler behind the guard
// panics on purpose; the guard, the SIP server and the peer (sipp) are real.
func TestPanicInARequestHandlerIsAnswered500(t *testing.T) {
	logs := &syncBuffer{}
	port := freeUDPPort(t, "127.0.0.1", false)
	p, err := New(Config{Account: Account{Server: "127.0.0.1:" + strconv.Itoa(port), User: "2001"},
		Logger: testLogger(t, logs)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	p.refreshTrusted(t.Context())
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnOptions(p.guard(func(req *sip.Request, tx sip.ServerTransaction) {
		var fields []string
		_ = fields[3] // what diago's SDP reader did with a short c= line
	}))
	conn, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeUDP(conn)
	t.Cleanup(func() { conn.Close() })

	dir := t.TempDir()
	scen := filepath.Join(dir, "options.xml")
	if err := os.WriteFile(scen, []byte(optionsScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	sp := startSippIn(t, dir, scen, "127.0.0.1:"+strconv.Itoa(port), "-i", "127.0.0.1",
		"-p", strconv.Itoa(freeUDPPort(t, "127.0.0.1", false)), "-m", "2", "-l", "1", "-t", "u1")
	if code := sp.wait(10 * time.Second); code != 0 {
		t.Fatalf("sipp exit %d, want 0 (two OPTIONS, each answered 500)", code)
	}
	if n := len(sp.received(`^SIP/2.0 500`)); n != 2 {
		t.Errorf("%d answers 500, want 2", n)
	}
	if !strings.Contains(logs.String(), "panic while handling a SIP request") || !strings.Contains(logs.String(), "index out of range") {
		t.Errorf("the panic is not logged with its cause:\n%s", logs.String())
	}
}

const optionsScenario = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="options">
  <send retrans="500">
    <![CDATA[

      OPTIONS sip:2001@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:pbx@[local_ip]:[local_port]>;tag=[pid]o[call_number]
      To: <sip:2001@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 OPTIONS
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="500"/>
</scenario>
`

// An offer with video besides audio (a video phone, a PBX passing video through)
// is answered: the audio stream is taken, the video stream is refused with port 0
// in its place (RFC 3264), and the call's audio flows.
func TestAudioVideoOfferIsAnsweredWithVideoRefused(t *testing.T) {
	pp := startPBXPhone(t, func(c *Config) { c.AutoAnswerHints = true })
	session, audio, _ := strings.Cut(defaultOffer(), "m=audio")
	audio = "m=audio" + audio
	video := "m=video [media_port+2] RTP/AVP 96\na=rtpmap:96 H264/90000\na=sendrecv\n"
	for _, tc := range []struct {
		name, sdp string
		want      []string
	}{
		{"audio and video", session + audio + video, []string{`^m=audio \d+ RTP/AVP 0 8 101$`, `^m=video 0 RTP/AVP 96$`}},
		{"video and audio", session + video + audio, []string{`^m=video 0 RTP/AVP 96$`, `^m=audio \d+ RTP/AVP 0 8 101$`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp := pp.call(t, "127.0.0.1", uacParams{Mode: "answer", HoldMS: 1200, SDP: tc.sdp, Pcap: "tone.pcap",
				Headers: []string{"Answer-Mode: Auto"}}, func(dir string) {
				writeTonePcap(t, filepath.Join(dir, "tone.pcap"), pcapRTP{SSRC: 0x77, Segments: []pcapSegment{
					{Dur: time.Second, Freq: 1000, Amp: 0.5},
				}})
			})
			e := pp.events.waitFor(t, 10*time.Second, "the call", func(e Event) bool {
				return e.Kind == EventIncomingCall && e.CallInfo.SIPCallID != "" &&
					strings.Contains(sp.messages(), e.CallInfo.SIPCallID)
			})
			active := waitCallState(t, pp.runningPhone, e.Call, CallActive)
			if active.CallInfo.Codec != "PCMU" {
				t.Errorf("codec %q, want PCMU", active.CallInfo.Codec)
			}
			waitCallState(t, pp.runningPhone, e.Call, CallEnded)
			if code := sp.wait(10 * time.Second); code != 0 {
				t.Fatalf("caller exit %d, want 0 (answered 200, not 488)", code)
			}
			oks := sp.received(`^SIP/2.0 200`)
			if len(oks) == 0 {
				t.Fatal("no 200 OK")
			}
			var mlines []string
			for _, l := range strings.Split(oks[0], "\n") {
				if l = strings.TrimSpace(l); strings.HasPrefix(l, "m=") {
					mlines = append(mlines, l)
				}
			}
			if len(mlines) != len(tc.want) {
				t.Fatalf("the answer has m= lines %q, want one per offered stream", mlines)
			}
			for i, re := range tc.want {
				if !regexp.MustCompile(re).MatchString(mlines[i]) {
					t.Errorf("answer m= line %d is %q, want %s", i, mlines[i], re)
				}
			}
			if n := e.Call.MediaStats().Jitter.Received; n < 40 {
				t.Errorf("%d RTP packets received of the 50 sent", n)
			}
		})
	}
}

// Methods the phone does not handle go through the guard as well: from a stranger
// they get 403 (a scanner learns nothing), from the PBX 405 with Allow; an UPDATE
// with a bad offer gets 488 first.
func TestUnhandledMethodsPassTheGuard(t *testing.T) {
	pp := startPBXPhone(t, nil)
	msg := func(method, body string) string {
		ct := ""
		if body != "" {
			ct = "Content-Type: application/sdp\r\n"
		}
		return method + " sip:2001@" + pp.LocalAddr() + " SIP/2.0\r\n" +
			"Via: SIP/2.0/UDP {local};branch=z9hG4bK" + method + strconv.Itoa(len(body)) + "\r\n" +
			"From: <sip:scan@example.test>;tag=s1\r\nTo: <sip:2001@127.0.0.1>\r\n" +
			"Call-ID: guard-" + method + "-" + strconv.Itoa(len(body)) + "\r\nCSeq: 1 " + method + "\r\nMax-Forwards: 70\r\n" +
			ct + "Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	}
	if res := sendRawSIP(t, "127.0.0.2", pp.LocalAddr(), msg("MESSAGE", "")); !strings.HasPrefix(res, "SIP/2.0 403") {
		t.Errorf("MESSAGE from a stranger got %q, want 403", firstLine(res))
	}
	res := sendRawSIP(t, "127.0.0.1", pp.LocalAddr(), msg("SUBSCRIBE", ""))
	if !strings.HasPrefix(res, "SIP/2.0 405") || !strings.Contains(res, "Allow: INVITE") {
		t.Errorf("SUBSCRIBE from the PBX got %q, want 405 with Allow", firstLine(res))
	}
	bad := strings.Replace(strings.ReplaceAll(goodOffer, "\r\n", "\n"), "c=IN IP4 127.0.0.1", "c=IN IP4", 1)
	if res := sendRawSIP(t, "127.0.0.1", pp.LocalAddr(), msg("UPDATE", bad)); !strings.HasPrefix(res, "SIP/2.0 488") {
		t.Errorf("UPDATE with a bad offer got %q, want 488", firstLine(res))
	}
}
