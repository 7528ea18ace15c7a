package main

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/earshot-app/earshot/config"
	"github.com/earshot-app/earshot/monitor"
	"github.com/earshot-app/earshot/monitor/ami/amitest"
)

// The command line against Asterisk: a replay server (monitor/ami/amitest) plays traffic
// recorded from a real Asterisk 22 to the commands, which connect, log in (MD5 challenge:
// the server checks the key), resync and act as they would on a PBX.

func canned(t *testing.T) *amitest.Canned {
	t.Helper()
	c, err := amitest.LoadCanned(amitest.Dir())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// resyncState is the resync recording as a PBX joined while call A (1795669110.47,
// answered by agent 1001) and call B (1795669115.50, waiting in sales while 1002 and
// 1003 ring) are up: the login and the lists recorded then, nothing after.
func resyncState(t *testing.T) *amitest.Script {
	t.Helper()
	sc, err := amitest.JoinResync(amitest.Dir(), canned(t))
	if err != nil {
		t.Fatal(err)
	}
	sc.Steps = sc.Steps[:4] // banner, login, its reply, the resync
	return sc
}

// amiFlags are the flags that point a command at the replay server, with the recorded
// account's secret in the environment (as headless use does).
func amiFlags(t *testing.T, srv *amitest.Server) []string {
	t.Setenv("EARSHOT_AMI_SECRET", canned(t).Secret)
	return []string{"--driver", "asterisk", "--ami-host", "127.0.0.1", "--ami-port", strconv.Itoa(srv.Port()), "--ami-user", "earshot"}
}

// TestWatchOnceOnAsterisk: `earshot watch --json --once` on the PBX of the resync
// recording prints both calls as the fixtures README's grid has them after the resync,
// with the times rebuilt from the lists (A's customer leg 8 s old, its agent leg 6 s
// old: the estimated answer; B waiting 1 s in sales).
func TestWatchOnceOnAsterisk(t *testing.T) {
	isolate(t)
	srv := amitest.NewServer(t)
	sc := resyncState(t)
	srv.Play(sc)
	args := append([]string{"--json", "--once"}, amiFlags(t, srv)...)
	frames := watchFrames(t, args...)
	if len(frames) != 1 {
		t.Fatalf("--once printed %d frames", len(frames))
	}
	f := frames[0]
	if f.Driver != "asterisk" || f.Feed != "connected" || f.Simulated || f.Total != 2 || len(f.Calls) != 2 {
		t.Fatalf("frame: driver %s, feed %s, simulated %v, total %d, calls %d", f.Driver, f.Feed, f.Simulated, f.Total, len(f.Calls))
	}
	rows := map[string]watchCall{}
	for _, c := range f.Calls {
		rows[c.ID] = c
	}
	a, b := rows["1795669110.47"], rows["1795669115.50"]
	if a.Customer != "0912345678" || a.Hotline != "19006000" || a.Queue != "support" || a.Status != "Answered" ||
		a.LastAgent != "Agent 1001" || a.Direction != "Inbound" || a.Campaign != "" || a.Monitor != "" {
		t.Errorf("call A: %+v", a)
	}
	if a.AnswerTime == nil || a.AnswerTime.Sub(a.StartTime) != 2*time.Second {
		t.Errorf("call A answered at %v, started %v: want the estimate 2 s after the start (channel ages 8 s and 6 s)", a.AnswerTime, a.StartTime)
	}
	if a.TimeInStatusSeconds < 6 || a.TimeInStatusSeconds > 8 {
		t.Errorf("call A talking for %d s, want about 6 (its agent leg's age)", a.TimeInStatusSeconds)
	}
	if b.Customer != "0977000111" || b.Hotline != "19006001" || b.Queue != "sales" || b.Status != "Calling" ||
		b.LastAgent != "Agent 1002" || b.Direction != "Inbound" || b.AnswerTime != nil {
		t.Errorf("call B: %+v", b)
	}
	if b.TimeInStatusSeconds < 1 || b.TimeInStatusSeconds > 3 {
		t.Errorf("call B waiting for %d s, want about 1 (QueueEntry Wait: 1)", b.TimeInStatusSeconds)
	}
	if age := time.Since(a.StartTime); age < 8*time.Second || age > 15*time.Second {
		t.Errorf("call A started %v ago, want about 8 s (on this PC's clock)", age)
	}
	if err := <-sc.Done; err != nil {
		t.Fatal(err)
	}
	names := strings.Join(sc.ActionNames(), ",")
	if !strings.HasPrefix(names, "Challenge,Login,QueueStatus,CoreShowChannels") {
		t.Errorf("actions %s", names)
	}
}

// hangupScript: the same PBX, where the command's Hangup of A's customer channel gets
// the hangup recording's reply ("Channel Hungup") and then the resync recording's own
// teardown of call A (HangupRequest ... Hangup of both legs). The hangup recording has
// no CoreShowChannels reply the command could learn its call from, so the lists and the
// teardown come from the resync recording, the Hangup's reply from the hangup one.
func hangupScript(t *testing.T) *amitest.Script {
	t.Helper()
	sc := resyncState(t)
	rec, err := amitest.Load(amitest.Dir(), "resync")
	if err != nil {
		t.Fatal(err)
	}
	want := amitest.ParseMsg([]byte("Action: Hangup\r\nActionID: hangup-02\r\nChannel: PJSIP/7001-0000002f\r\n\r\n"))
	sc.Steps = append(sc.Steps, amitest.Step{Expect: &want}, amitest.Step{Send: canned(t).HangupOK})
	end, _ := rec.ReplySpan("resync-08")
	var teardown [][]byte
	off := len(rec.Banner())
	for _, raw := range amitest.SplitRaw(rec.In[off:end]) {
		m := amitest.ParseMsg(raw)
		if len(teardown) > 0 || (m.Get("Event") == "HangupRequest" && m.Get("Channel") == "PJSIP/7001-0000002f") {
			teardown = append(teardown, raw)
		}
	}
	if len(teardown) < 5 {
		t.Fatalf("the resync recording's teardown of call A: %d messages", len(teardown))
	}
	sc.Steps = append(sc.Steps, amitest.Step{Send: teardown})
	return sc
}

// TestActHangupOnAsterisk: `earshot act hangup CALL_ID` logs in, resyncs, hangs up the
// customer's channel, sees Asterisk tear the agent's leg down, and exits 0 with the
// sentence that the PBX accepted it.
func TestActHangupOnAsterisk(t *testing.T) {
	isolate(t)
	srv := amitest.NewServer(t)
	sc := hangupScript(t)
	srv.Play(sc)
	var out, errOut bytes.Buffer
	args := append([]string{"hangup", "1795669110.47", "--timeout", "10s"}, amiFlags(t, srv)...)
	if err := runAct(context.Background(), args, &out, &errOut); err != nil {
		t.Fatalf("act hangup: %v\n%s", err, errOut.String())
	}
	if got := strings.TrimSpace(out.String()); got != "The PBX accepted: call 1795669110.47 is hung up." {
		t.Errorf("act hangup printed %q", got)
	}
	if err := <-sc.Done; err != nil {
		t.Fatal(err)
	}
	// the agent's leg went down by itself: one Hangup only
	deadline := time.Now().Add(5 * time.Second)
	for !strings.HasSuffix(strings.Join(sc.ActionNames(), ","), "Logoff") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := strings.Join(sc.ActionNames(), ","); got != "Challenge,Login,QueueStatus,CoreShowChannels,Hangup,Logoff" {
		t.Errorf("actions %s", got)
	}
}

// TestActOnAnUnknownCall: a call the PBX does not list is reported as ended (exit 3).
func TestActOnAnUnknownCall(t *testing.T) {
	isolate(t)
	srv := amitest.NewServer(t)
	srv.Play(resyncState(t))
	var out, errOut bytes.Buffer
	args := append([]string{"listen", "1795669097.44", "--timeout", "10s"}, amiFlags(t, srv)...)
	err := runAct(context.Background(), args, &out, &errOut)
	var ce exitCodeError
	if !errors.As(err, &ce) || ce.code != 3 || !strings.Contains(err.Error(), "already ended") {
		t.Fatalf("act listen on a call the PBX does not have: %v; want exit status 3", err)
	}
}

// TestWatchOnceWhenTheLoginIsRefused: `earshot watch --once` with a wrong secret, against
// the recorded refusal ("Authentication failed", then Asterisk closes the connection),
// exits at once with the login-refused status instead of retrying. (A closed port is
// TestWatchOnceFailsFastWhenThePBXIsDown in main_test.go.)
func TestWatchOnceWhenTheLoginIsRefused(t *testing.T) {
	isolate(t)
	srv := amitest.NewServer(t)
	rec, err := amitest.Load(amitest.Dir(), "login-failed")
	if err != nil {
		t.Fatal(err)
	}
	sc := amitest.Build(rec, canned(t), nil)
	sc.CloseAfter, sc.LoginMayFail = true, true
	srv.Play(sc)
	args := amiFlags(t, srv)
	t.Setenv("EARSHOT_AMI_SECRET", "wrong-secret")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	start := time.Now()
	err = runWatch(ctx, append([]string{"--once"}, args...), &out, &errOut)
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("watch --once took %v on a refused login", el)
	}
	var ce exitCodeError
	if !errors.As(err, &ce) || ce.code != 6 || !strings.Contains(err.Error(), "refused the login") || strings.Contains(err.Error(), "wrong-secret") {
		t.Fatalf("watch --once with a wrong secret: %v; want exit status 6 (login refused), never the secret", err)
	}
	if err := <-sc.Done; err != nil {
		t.Fatal(err)
	}
}

// checkPBX is the resync recording's PBX answering the Settings Test's checks: the lists
// and the recorded replies where the fixtures have them (basics' endpoints and refusals,
// supervisor-register's contacts), else amitest's replies written from Asterisk's source.
func checkPBX(t *testing.T, stealContext bool) *amitest.Script {
	c := canned(t)
	sc := resyncState(t)
	sc.Steps = sc.Steps[:3] // banner, login, its reply: the lists are replies below
	sc.Replies["QueueStatus"] = c.ResyncQueues
	sc.Replies["CoreShowChannels"] = c.ResyncChannels
	reg, err := amitest.Load(amitest.Dir(), "supervisor-register")
	if err != nil {
		t.Fatal(err)
	}
	contacts := reg.ReplyTo("supervisor-register-02")
	denied := [][]byte{amitest.ErrorReply("synth", "Permission denied")}
	sc.Reply = func(m amitest.Msg) [][]byte {
		switch m.Get("Action") {
		case "Command":
			return denied
		case "PJSIPShowEndpoints":
			return c.Endpoints
		case "PJSIPShowContacts":
			return contacts
		case "ShowDialPlan":
			if m.Get("Context") == "earshot-steal" {
				if !stealContext {
					return [][]byte{amitest.ErrorReply("synth", "Did not find context earshot-steal")}
				}
				return amitest.DialplanReply("earshot-steal", "_2XXX")
			}
			return amitest.DialplanReply("earshot-transfer", "_1XXX")
		case "Originate":
			return c.OriginateFailed
		case "Redirect":
			if !stealContext {
				return denied
			}
			return [][]byte{amitest.ErrorReply("synth", "Channel not specified")}
		case "BlindTransfer":
			return [][]byte{amitest.ErrorReply("synth", "No channel specified")}
		case "Hangup":
			return c.NoSuchChannel
		}
		return nil
	}
	return sc
}

func asteriskSettings(srv *amitest.Server) config.Config {
	cfg := config.Default()
	cfg.Driver = config.DriverAsterisk
	cfg.Asterisk.Host, cfg.Asterisk.Port, cfg.Asterisk.User = "127.0.0.1", srv.Port(), "earshot"
	return cfg
}

// TestSettingsTestChecksItAll: the Settings dialog's Test (testPBXLogin) with the secret
// typed in the dialog: nil on the lab PBX, where every check passes; on a PBX without
// the steal context and an account that may not Redirect, an error naming both fixes in
// sentences (and nothing about what passed); the recorded refusal of a wrong secret as
// the login error.
func TestSettingsTestChecksItAll(t *testing.T) {
	isolate(t)
	log := newLogger(&bytes.Buffer{})
	secret := canned(t).Secret

	srv := amitest.NewServer(t)
	sc := checkPBX(t, true)
	srv.Play(sc)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := testPBXLogin(ctx, asteriskSettings(srv), secret, log); err != nil {
		t.Fatalf("Test on the lab PBX: %v", err)
	}
	if err := <-sc.Done; err != nil {
		t.Fatal(err)
	}
	names := strings.Join(sc.ActionNames(), ",")
	for _, want := range []string{"PJSIPShowEndpoints", "PJSIPShowContacts", "ShowDialPlan", "Originate", "Redirect", "BlindTransfer", "Hangup"} {
		if !strings.Contains(names, want) {
			t.Errorf("the Test did not check with %s (actions %s)", want, names)
		}
	}

	srv2 := amitest.NewServer(t)
	sc2 := checkPBX(t, false)
	srv2.Play(sc2)
	err := testPBXLogin(ctx, asteriskSettings(srv2), secret, log)
	if err == nil {
		t.Fatal("Test passed on a PBX without the steal context")
	}
	msg := err.Error()
	for _, want := range []string{"2 of 10 PBX checks failed", "The dialplan has no context earshot-steal", `add "call" to its write classes`} {
		if !strings.Contains(msg, want) {
			t.Errorf("the Test's error %q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, "registered") || strings.Contains(msg, secret) {
		t.Errorf("the Test's error lists what passed, or the secret: %q", msg)
	}
	<-sc2.Done

	srv3 := amitest.NewServer(t)
	rec, err := amitest.Load(amitest.Dir(), "login-failed")
	if err != nil {
		t.Fatal(err)
	}
	sc3 := amitest.Build(rec, canned(t), nil)
	sc3.CloseAfter, sc3.LoginMayFail = true, true
	srv3.Play(sc3)
	err = testPBXLogin(ctx, asteriskSettings(srv3), "wrong-secret", log)
	if !errors.Is(err, monitor.ErrAuth) || strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("Test with a wrong secret: %v, want the login refusal", err)
	}
}
