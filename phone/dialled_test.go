package phone

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A call Earshot places to a SIP address outside the PBX (here 127.0.0.2; the PBX
// is 127.0.0.1) can be hung up by that far end: its BYE belongs to the call's
// dialog and passes the guard. A request with the call's Call-ID but a forged tag,
// from a third address, is still refused 403.
func TestDialledPeerOutsideThePBXHangsUp(t *testing.T) {
	pp := startPBXPhone(t, nil)
	port := freeUDPPort(t, "127.0.0.2", false)
	sp := startSipp(t, "uas_bye.xml", "-i", "127.0.0.2", "-p", strconv.Itoa(port), "-t", "u1", "-m", "1",
		"-mp", strconv.Itoa(freeUDPPort(t, "127.0.0.2", true)), "-d", "1500")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pp.Dial(ctx, "sip:7001@127.0.0.2:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}

	// A stranger who learnt the Call-ID cannot end the call.
	ci := c.Info()
	c.mu.Lock()
	ours := c.peer.localTag
	c.mu.Unlock()
	res := sendRawSIP(t, "127.0.0.3", pp.LocalAddr(), fmt.Sprintf("BYE sip:2001@%s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP {local};branch=z9hG4bKforged1\r\n"+
		"From: <sip:7001@127.0.0.2>;tag=forged\r\n"+
		"To: <sip:2001@127.0.0.1>;tag=%s\r\n"+
		"Call-ID: %s\r\nCSeq: 9 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n", pp.LocalAddr(), ours, ci.SIPCallID))
	if !strings.HasPrefix(res, "SIP/2.0 403") {
		t.Errorf("a forged BYE from 127.0.0.3 got %q, want 403", firstLine(res))
	}
	if st := c.State(); st != CallActive {
		t.Fatalf("after the forged BYE the call is %s, want active", st)
	}

	ended := waitCallState(t, pp.runningPhone, c, CallEnded)
	if ended.CallInfo.EndReason != "the other party hung up" {
		t.Errorf("end reason %q, want the other party hung up", ended.CallInfo.EndReason)
	}
	if d := ended.CallInfo.Duration(); d < 1400*time.Millisecond || d > 5*time.Second {
		t.Errorf("the call lasted %s, want about the far end's 1.5 s", d)
	}
	if code := sp.wait(10 * time.Second); code != 0 {
		t.Errorf("far end exit %d, want 0 (its BYE answered 200)", code)
	}
	if got := sp.received(`^SIP/2.0 403`); len(got) != 0 {
		t.Errorf("the far end's BYE was refused: %s", got[0])
	}
}

// A call on which no RTP arrives (the far end vanished without a BYE) is hung up
// after Config.RTPTimeout with a reason; a call on hold is exempt while held.
func TestNoRTPHangsUpTheCall(t *testing.T) {
	pp := startPBXPhone(t, func(c *Config) { c.RTPTimeout = 1500 * time.Millisecond })
	mp := freeUDPPort(t, "127.0.0.2", true)
	port := freeUDPPort(t, "127.0.0.2", false)
	// sipp's uas.xml without -rtp_echo sends no RTP at all.
	sp := startSipp(t, "uas.xml", "-i", "127.0.0.2", "-p", strconv.Itoa(port), "-t", "u1", "-m", "1",
		"-mp", strconv.Itoa(mp), "-key", "rtp_port", strconv.Itoa(mp), "-d", "100")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := pp.Dial(ctx, "sip:7001@127.0.0.2:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	// On hold, silence is expected: the call stays.
	if err := c.Hold(ctx); err != nil {
		t.Fatalf("Hold: %v", err)
	}
	time.Sleep(2500 * time.Millisecond)
	if st := c.State(); st != CallHeld {
		t.Fatalf("a held call without RTP is %s after 2.5 s, want held (%s)", st, c.Info().EndReason)
	}
	if err := c.Resume(ctx); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	resumed := time.Now()
	ended := waitCallState(t, pp.runningPhone, c, CallEnded)
	after := ended.Time.Sub(resumed)
	if !regexp.MustCompile(`^no audio from the other party for 1\.[5-9] s`).MatchString(ended.CallInfo.EndReason) {
		t.Errorf("end reason %q, want no audio for 1.5 s", ended.CallInfo.EndReason)
	}
	if after < 1400*time.Millisecond || after > 3*time.Second {
		t.Errorf("hung up %s after the resume, want about 1.5 s", after)
	}
	if code := sp.wait(10 * time.Second); code != 0 {
		t.Errorf("far end exit %d, want 0 (the phone's BYE)", code)
	}
	if len(sp.received(`^BYE `)) != 1 {
		t.Error("the far end got no BYE")
	}
}

// sendRawSIP sends one SIP request over UDP from ip ({local} in msg becomes the
// socket's address) and returns the first answer that is not 100 Trying.
func sendRawSIP(t *testing.T, ip, to, msg string) string {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dst, err := net.ResolveUDPAddr("udp", to)
	if err != nil {
		t.Fatal(err)
	}
	msg = strings.ReplaceAll(msg, "{local}", c.LocalAddr().String())
	if _, err := c.WriteToUDP([]byte(msg), dst); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	for {
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, _, err := c.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("no answer to the request from %s: %v", ip, err)
		}
		if s := string(buf[:n]); !strings.HasPrefix(s, "SIP/2.0 100") {
			return s
		}
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\r\n")
	return l
}

// A far end that answers with SDP diago would mis-read (here c= without an
// address) makes the dial fail with a reason; it cannot crash the phone.
func TestMalformedAnswerFailsTheDial(t *testing.T) {
	pp := startPBXPhone(t, nil)
	port := freeUDPPort(t, "127.0.0.2", false)
	dir := t.TempDir()
	scen := filepath.Join(dir, "bad_answer.xml")
	if err := os.WriteFile(scen, []byte(badAnswerScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	startSippIn(t, dir, scen, "-i", "127.0.0.2", "-p", strconv.Itoa(port), "-t", "u1", "-m", "1")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pp.Dial(ctx, "sip:7001@127.0.0.2:"+strconv.Itoa(port))
	if err == nil || !strings.Contains(err.Error(), "malformed SDP connection line") {
		t.Fatalf("Dial = %v, want an error about the malformed answer", err)
	}
	if c == nil || c.State() != CallEnded || !strings.HasPrefix(c.Info().EndReason, "the far end's answer is unusable") {
		t.Errorf("call %v ended with %q", c, c.Info().EndReason)
	}
	if st := pp.State(); st.State != RegRegistered {
		t.Errorf("the phone is %s after the bad answer", st.State)
	}
}

const badAnswerScenario = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="far end with a malformed answer">
  <recv request="INVITE" crlf="true"/>
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]B[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:7001@[local_ip]:[local_port]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=farend 1 1 IN IP4 [local_ip]
      s=-
      c=IN IP4
      t=0 0
      m=audio 4000 RTP/AVP 0
      a=rtpmap:0 PCMU/8000

    ]]>
  </send>
  <recv request="ACK" timeout="20000"/>
</scenario>
`
