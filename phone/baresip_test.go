package phone

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// baresipProc is a running baresip with a config made for the test.
type baresipProc struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

// startBaresip runs baresip on 127.0.0.1 with a 1 kHz sine as its microphone
// (module ausine) and no speaker (ALSA's null device), as account 7001, and runs
// the given commands once it is up.
func startBaresip(t *testing.T, commands ...string) *baresipProc {
	return startBaresipWith(t, "", "", commands...)
}

// startBaresipWith is startBaresip with extra account parameters (";mediaenc=...")
// and extra config lines (modules).
func startBaresipWith(t *testing.T, accountParams, extraConfig string, commands ...string) *baresipProc {
	t.Helper()
	bin := requireTool(t, "baresip")
	dir := t.TempDir()
	port := freeUDPPort(t, "127.0.0.1", false)
	config := fmt.Sprintf(`poll_method		epoll
sip_listen		127.0.0.1:%d
audio_player		alsa,null
audio_source		ausine,1000
audio_alert		alsa,null
ausrc_srate		48000
ausrc_channels		2
rtp_ports		%d-%d
module_path		/usr/lib/baresip/modules
module			g711.so
module			ausine.so
module			alsa.so
module_app		account.so
module_app		menu.so
`, port, 20000+port%20000, 20000+port%20000+20) + extraConfig
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	accounts := "<sip:7001@127.0.0.1>;regint=0;audio_codecs=PCMU,PCMA" + accountParams + "\n"
	if err := os.WriteFile(filepath.Join(dir, "accounts"), []byte(accounts), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-f", dir, "-v"}
	for _, c := range commands {
		args = append(args, "-e", c)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := startPinned(cmd); err != nil {
		t.Fatalf("start baresip: %v", err)
	}
	b := &baresipProc{cmd: cmd, out: out, done: make(chan struct{})}
	go func() { cmd.Wait(); close(b.done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-b.done:
		case <-time.After(3 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-b.done
		}
		if t.Failed() {
			t.Logf("baresip output:\n%s", tail(out.String(), 5000))
		}
	})
	return b
}

func TestBaresipCallsEarshot(t *testing.T) {
	pp := startPBXPhone(t, nil)
	// A monitoring call is expected, but baresip's INVITE carries no auto-answer
	// hint (baresip 1.0 cannot add one): it is not taken for the monitoring call
	// and rings.
	pp.ExpectMonitoringCall(MonitorExpectation{Label: "Barge: 1001"})
	bs := startBaresip(t, "/dial sip:2001@"+pp.LocalAddr())

	e := incomingEvent(t, pp.runningPhone)
	if e.CallInfo.RemoteNumber != "7001" || e.CallInfo.Monitoring || e.CallInfo.AutoAnswer {
		t.Errorf("incoming call from %q (monitoring %v, auto-answer %v), want 7001 ringing", e.CallInfo.RemoteNumber,
			e.CallInfo.Monitoring, e.CallInfo.AutoAnswer)
	}
	c := e.Call
	actx, acancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer acancel()
	if err := c.Answer(actx); err != nil {
		t.Fatalf("Answer: %v", err)
	}
	waitCallState(t, pp.runningPhone, c, CallActive)

	// baresip's microphone is a 1 kHz sine: it reaches Earshot's headset.
	var heard time.Time
	waitFor(t, 5*time.Second, "baresip's tone at the headset", func() bool {
		for _, b := range pp.tap.blocks(1000) {
			if b.tone {
				heard = b.at
				return true
			}
		}
		return false
	})
	time.Sleep(1600 * time.Millisecond)
	frac, n, _ := toneWindow(pp.tap.blocks(1000), heard.Add(100*time.Millisecond), heard.Add(1600*time.Millisecond))
	t.Logf("baresip's 1 kHz tone in %.1f%% of %d blocks at the headset", 100*frac, n)
	if n < 70 || frac < 0.97 {
		t.Errorf("baresip's tone in %.0f%% of %d blocks, want all of them", 100*frac, n)
	}

	// DTMF from Earshot reaches baresip as RFC 4733 events.
	if err := c.SendDTMF("19#"); err != nil {
		t.Fatal(err)
	}
	// baresip logs each RFC 4733 event it decodes, once when it starts and once
	// when its end bit arrives.
	re := regexp.MustCompile(`received event: '(.)' \(end=1\)`)
	waitFor(t, 5*time.Second, "baresip to log three DTMF digits", func() bool {
		return len(re.FindAllStringSubmatch(bs.out.String(), -1)) >= 3
	})
	var digits []string
	for _, m := range re.FindAllStringSubmatch(bs.out.String(), -1) {
		digits = append(digits, m[1])
	}
	if got := strings.Join(digits, ""); got != "19#" {
		t.Errorf("baresip received DTMF %q, want \"19#\"", got)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "baresip to see the hang-up", func() bool {
		return strings.Contains(bs.out.String(), "terminated")
	})
}

func TestBaresipDTLSSRTPCall(t *testing.T) {
	pp := startPBXPhone(t, func(c *Config) { c.Account.SRTP = SRTPDTLS })
	bs := startBaresipWith(t, ";mediaenc=dtls_srtp", "module\t\t\tdtls_srtp.so\n", "/dial sip:2001@"+pp.LocalAddr())
	e := incomingEvent(t, pp.runningPhone)
	actx, acancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer acancel()
	if err := e.Call.Answer(actx); err != nil {
		t.Fatalf("Answer: %v", err)
	}
	waitCallState(t, pp.runningPhone, e.Call, CallActive)
	var heard time.Time
	waitFor(t, 8*time.Second, "baresip's tone through DTLS-SRTP", func() bool {
		for _, b := range pp.tap.blocks(1000) {
			if b.tone {
				heard = b.at
				return true
			}
		}
		return false
	})
	time.Sleep(1300 * time.Millisecond)
	frac, n, _ := toneWindow(pp.tap.blocks(1000), heard.Add(200*time.Millisecond), heard.Add(1200*time.Millisecond))
	t.Logf("DTLS-SRTP: baresip's tone in %.1f%% of %d blocks", 100*frac, n)
	if frac < 0.95 {
		t.Errorf("tone through DTLS-SRTP in %.0f%% of %d blocks", 100*frac, n)
	}
	// baresip checked Earshot's certificate against the SDP fingerprint and
	// keyed SRTP from the handshake.
	for _, want := range []string{"verified SHA-256 fingerprint OK", "DTLS-SRTP complete"} {
		if !strings.Contains(bs.out.String(), want) {
			t.Errorf("baresip did not log %q: the media was not DTLS-SRTP", want)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.Call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
}
