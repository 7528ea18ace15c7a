package ami

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/earshot-app/earshot/monitor"
)

// replySpan returns where the recorded reply to ActionID id begins and ends.
func (r *recording) replySpan(t testing.TB, id string) (start, end int) {
	t.Helper()
	off := bytes.Index(r.in, []byte("\r\n")) + 2
	start, end = -1, -1
	for _, raw := range splitMessages(r.in) {
		if parseOne(raw).Value("ActionID") == id {
			if start < 0 {
				start = off
			}
			end = off + len(raw)
		}
		off += len(raw)
	}
	if end < 0 {
		t.Fatalf("%s has no reply to %s", r.name, id)
	}
	return start, end
}

// joinScript plays the resync recording as a PBX the driver connects to while calls
// A and B are up: the login is answered, the driver's QueueStatus and CoreShowChannels
// get the replies recorded while both calls were up, then the recorded events after
// those replies follow (B is abandoned, A ends).
func joinScript(t testing.TB) *script {
	loadCanned(t)
	rec := loadRecording(t, "resync")
	sc := newScript("resync (joined)")
	banner := rec.in[:bytes.Index(rec.in, []byte("\r\n"))+2]
	sc.steps = append(sc.steps, step{send: [][]byte{banner}})
	login := parseOne(rec.out[:bytes.Index(rec.out, []byte("\r\n\r\n"))+4])
	sc.steps = append(sc.steps, step{expect: login, login: true})
	sc.steps = append(sc.steps, step{send: rec.replyTo("resync-01")})
	sc.steps = append(sc.steps, step{resync: true})
	_, from := rec.replySpan(t, "resync-07")
	goodbye, _ := rec.replySpan(t, "resync-08")
	for _, e := range rec.timeline {
		if e.Dir != "in" || e.Off < from || e.Off >= goodbye {
			continue
		}
		end := e.Off + e.Len
		if end > goodbye {
			end = goodbye
		}
		sc.steps = append(sc.steps, step{at: e.T, send: splitRaw(rec.in[e.Off:end])})
	}
	sc.queueStatus = cannedResyncQueues
	sc.coreShowChannels = cannedResyncChannels
	// the Goodbye must not be part of it
	for _, st := range sc.steps {
		for _, raw := range st.send {
			if parseOne(raw).Value("Response") == "Goodbye" {
				t.Fatal("join script includes the recorded Goodbye")
			}
		}
	}
	return sc
}

// resyncNow is the recorded time of the list replies (CoreShowChannels said A's
// customer leg was 8 s old, B's 3 s, and B had waited 1 s in sales).
var resyncNow = time.Unix(1795669118, 920000000)

var (
	resyncA = row{customer: "0912345678", hotline: "19006000", queue: "support", status: monitor.StatusAnswered, agent: "Agent 1001", dir: monitor.Inbound}
	resyncB = row{customer: "0977000111", hotline: "19006001", queue: "sales", status: monitor.StatusCalling, agent: "Agent 1002", dir: monitor.Inbound}
)

func resyncCase() scenarioCase {
	return scenarioCase{
		name:   "resync",
		script: func(t *testing.T) *script { return joinScript(t) },
		now:    resyncNow,
		checks: []check{
			{desc: "rebuilt from the lists", after: on("RTCPSent"), total: 2, rows: map[string]row{"1795669110.47": resyncA, "1795669115.50": resyncB}},
			{desc: "t20.36 B abandoned", after: on("QueueCallerAbandon"), total: 2, rows: map[string]row{"1795669110.47": resyncA, "1795669115.50": resyncB}},
			{desc: "t20.36 B's customer hangs up", after: on("Hangup", "Channel", "PJSIP/7003-00000032"), total: 1, rows: map[string]row{"1795669110.47": resyncA, "1795669115.50": {gone: true}}},
			{desc: "t23.53 A ends", after: on("Hangup", "Channel", "PJSIP/7001-0000002f"), total: 0, rows: map[string]row{"1795669110.47": {gone: true}}},
		},
		verify: func(t *testing.T, i int, b *monitor.Board) {
			if i != 0 {
				return
			}
			a, _ := b.Get("1795669110.47")
			bb, _ := b.Get("1795669115.50")
			if want := resyncNow.Add(-8 * time.Second); !a.StartTime.Equal(want) {
				t.Errorf("A start time %v, want %v (channel age 8 s)", a.StartTime, want)
			}
			if want := resyncNow.Add(-3 * time.Second); !bb.StartTime.Equal(want) {
				t.Errorf("B start time %v, want %v (channel age 3 s)", bb.StartTime, want)
			}
			if want := resyncNow.Add(-time.Second); !bb.QueueJoinTime.Equal(want) || !bb.Waiting() {
				t.Errorf("B queue join %v (waiting %v), want %v (QueueEntry Wait 1)", bb.QueueJoinTime, bb.Waiting(), want)
			}
		},
		queues: map[string][2]int{"sales": {0, 1}},
	}
}

func TestReplayResync(t *testing.T) {
	playScenario(t, resyncCase())
}

// TestReconnectResync cuts the connection in the middle of inbound-answered; the PBX
// comes back with other calls (the resync recording); the board must then be exactly
// the new truth: the old call dropped, A and B added.
func TestReconnectResync(t *testing.T) {
	loadCanned(t)
	srv := newReplayServer(t)
	first := buildScript(t, loadRecording(t, "inbound-answered"), nil)
	first.insertResync()
	first.queueStatus, first.coreShowChannels = cannedQueueStatus, cannedNoChannels
	// play up to the answer, then the connection drops
	var cut []step
	for _, st := range first.steps {
		cut = append(cut, st)
		if st.send != nil && bytes.Contains(bytes.Join(st.send, nil), []byte("Event: AgentConnect\r\n")) {
			break
		}
	}
	first.steps, first.closeAfter = cut, true
	first.stopAt = []func(*Message) bool{on("AgentConnect")}
	second := joinScript(t)
	second.stopAt = []func(*Message) bool{on("RTCPSent"), on("Hangup", "Channel", "PJSIP/7001-0000002f")}
	srv.scripts <- first
	srv.scripts <- second

	cfg := testConfig(srv.port())
	logs := newLogBuffer()
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	now := resyncNow
	cfg.Now = func() time.Time { return now }
	var feeds []monitor.FeedState
	drv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	board := monitor.NewBoard(monitor.Options{Logger: cfg.Logger, Now: cfg.Now})
	sink := monitor.SinkFunc(func(e monitor.Event) {
		if e.Kind == monitor.EventFeed {
			feeds = append(feeds, e.Feed.State)
		}
		board.Apply(e)
	})
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- drv.Run(ctx, sink) }()
	defer func() {
		if t.Failed() {
			t.Logf("driver log:\n%s", logs.String())
		}
	}()

	// first connection: the call is answered, then the PBX goes away
	<-first.stops
	if err := drv.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	verifyBoard(t, "before the cut", check{desc: "answered", total: 1, rows: map[string]row{"1795668852.0": {
		customer: "0912345678", hotline: "19006000", queue: "support", status: monitor.StatusAnswered,
		agent: "Agent 1001", answer: "1795668856.293194", dir: monitor.Inbound}}}, board)
	first.resume <- struct{}{}
	if err := <-first.done; err != nil {
		t.Fatal(err)
	}

	// second connection: different calls
	select {
	case <-second.stops:
	case err := <-second.done:
		t.Fatalf("second connection ended: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the driver did not reconnect")
	}
	if err := drv.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	verifyBoard(t, "after the resync", check{desc: "new truth", total: 2, rows: map[string]row{
		"1795668852.0":  {gone: true},
		"1795669110.47": resyncA,
		"1795669115.50": resyncB,
	}}, board)
	if f := board.Feed(); f.State != monitor.FeedConnected {
		t.Errorf("feed %v after the reconnect", f.State)
	}
	second.resume <- struct{}{}
	<-second.stops
	if err := drv.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := board.Len(); n != 0 {
		t.Errorf("%d calls after both ended: %+v", n, board.Snapshot(monitor.Query{}).Calls)
	}
	second.resume <- struct{}{}
	if err := <-second.done; err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-runErr; err != context.Canceled {
		t.Errorf("Run: %v", err)
	}
	// connecting, connected, lost, connecting, connected
	want := []monitor.FeedState{monitor.FeedConnecting, monitor.FeedConnected, monitor.FeedLost, monitor.FeedConnecting, monitor.FeedConnected}
	if fmt.Sprint(feeds) != fmt.Sprint(want) {
		t.Errorf("feed states %v, want %v", feeds, want)
	}
}

func TestLoginFailed(t *testing.T) {
	srv := newReplayServer(t)
	sc := buildScript(t, loadRecording(t, "login-failed"), nil)
	sc.closeAfter = true
	srv.scripts <- sc
	cfg := testConfig(srv.port())
	cfg.Secret = "wrong-secret"
	drv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	board := monitor.NewBoard(monitor.Options{})
	done := make(chan error, 1)
	go func() { done <- drv.Run(context.Background(), board) }()
	var runErr error
	select {
	case runErr = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run kept retrying a refused login")
	}
	if !errors.Is(runErr, monitor.ErrAuth) {
		t.Fatalf("Run: %v, want ErrAuth", runErr)
	}
	if !strings.Contains(runErr.Error(), "Authentication failed") || strings.Contains(runErr.Error(), "wrong-secret") {
		t.Errorf("error %q should quote the PBX and never the secret", runErr)
	}
	if got := monitor.Sentence(runErr); got != "The PBX refused the login. Check the user name and secret." {
		t.Errorf("sentence %q", got)
	}
	f := board.Feed()
	if f.State != monitor.FeedLost || !errors.Is(f.Err, monitor.ErrAuth) {
		t.Errorf("feed %v %v, want lost with ErrAuth", f.State, f.Err)
	}
	if err := <-sc.done; err != nil {
		t.Fatal(err)
	}
	// the same from the command line's path (Act without Run)
	sc2 := buildScript(t, loadRecording(t, "login-failed"), nil)
	sc2.closeAfter = true
	srv.scripts <- sc2
	drv2, _ := New(cfg)
	err = drv2.Act(context.Background(), monitor.Action{Kind: monitor.ActHangup, CallID: "1795668852.0"})
	var ae *monitor.ActionError
	if !errors.As(err, &ae) || !errors.Is(err, monitor.ErrAuth) {
		t.Errorf("Act with a wrong secret: %v, want an ActionError with ErrAuth", err)
	}
}

func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // nothing listens there any more
	cfg := testConfig(port)
	cfg.DialTimeout = time.Second
	drv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	lost := make(chan monitor.Feed, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- drv.Run(ctx, monitor.SinkFunc(func(e monitor.Event) {
			if e.Kind == monitor.EventFeed && e.Feed.State == monitor.FeedLost {
				lost <- e.Feed
			}
		}))
	}()
	for i := 0; i < 2; i++ { // it keeps retrying
		select {
		case f := <-lost:
			if !errors.Is(f.Err, monitor.ErrUnreachable) || f.Driver != "asterisk" {
				t.Fatalf("feed lost with %v (driver %q), want ErrUnreachable", f.Err, f.Driver)
			}
			if got := monitor.Sentence(f.Err); got != "The PBX cannot be reached. Check the address and the network." {
				t.Errorf("sentence %q", got)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no FeedLost for an unreachable PBX")
		}
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("Run: %v", err)
	}
	// the command line's path
	err = drv.Act(context.Background(), monitor.Action{Kind: monitor.ActListen, CallID: "1.1"})
	if !errors.Is(err, monitor.ErrUnreachable) {
		t.Errorf("Act: %v, want ErrUnreachable", err)
	}
}

func TestNotAsterisk(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Write([]byte("SSH-2.0-OpenSSH_9.6\r\n"))
		time.Sleep(time.Second)
		c.Close()
	}()
	drv, _ := New(testConfig(ln.Addr().(*net.TCPAddr).Port))
	err = drv.Act(context.Background(), monitor.Action{Kind: monitor.ActHangup, CallID: "1.1"})
	if !errors.Is(err, monitor.ErrUnreachable) || !strings.Contains(err.Error(), "does not speak AMI") {
		t.Errorf("Act against a non-AMI port: %v", err)
	}
}

// TestActWithoutRun is the command line's path (earshot act): no Run, so Act connects,
// logs in, learns the calls from the resync lists, acts and logs off.
func TestActWithoutRun(t *testing.T) {
	hangup := loadRecording(t, "hangup")
	for _, tc := range []struct {
		a       monitor.Action
		name    string
		headers map[string]string
	}{
		{monitor.Action{Kind: monitor.ActHangup, CallID: "1795669110.47"}, "Hangup", map[string]string{"Channel": "PJSIP/7001-0000002f"}},
		{monitor.Action{Kind: monitor.ActBarge, CallID: "1795669110.47"}, "Originate", map[string]string{
			"Channel": "PJSIP/2001", "Application": "ChanSpy", "Data": "PJSIP/1001-00000031,qEuBd",
			"CallerID": `"Barge: 1001 ↔ 0912345678" <1001>`, "Timeout": "20000", "Async": "true",
			"Variable": "PJSIP_HEADER(add,Call-Info)=<sip:127.0.0.1>;answer-after=0"}},
		// 1002 and 1003 are ringing for call B (QueueMember Status 6): refused here
		{monitor.Action{Kind: monitor.ActTransfer, CallID: "1795669110.47", Agent: "1003"}, "", nil},
		{monitor.Action{Kind: monitor.ActSteal, CallID: "1795669110.47"}, "Redirect", map[string]string{
			"Channel": "PJSIP/7001-0000002f", "Context": "earshot-steal", "Exten": "2001", "Priority": "1"}},
	} {
		srv := newReplayServer(t)
		sc := joinScript(t)
		sc.steps = sc.steps[:4] // banner, login, its reply, the resync
		// the PBX's reply: recorded success of the same kind of action
		ok := hangup.replyTo("hangup-02")
		sc.replies[tc.name] = ok
		srv.scripts <- sc
		drv, err := New(testConfig(srv.port()))
		if err != nil {
			t.Fatal(err)
		}
		err = drv.Act(context.Background(), tc.a)
		if tc.name == "" {
			if !errors.Is(err, monitor.ErrAgentUnavailable) {
				t.Errorf("%s: %v, want ErrAgentUnavailable", tc.a.Kind, err)
			}
		} else if err != nil {
			t.Fatalf("%s: %v", tc.a.Kind, err)
		}
		<-sc.done
		sc.mu.Lock()
		var names []string
		var act *Message
		for _, m := range sc.received {
			names = append(names, m.Value("Action"))
			if m.Value("Action") == tc.name {
				act = m
			}
		}
		sc.mu.Unlock()
		// the Logoff may still be on its way when the script ends
		if got := strings.Join(names, ","); !strings.HasPrefix(got, strings.TrimSuffix("Login,QueueStatus,CoreShowChannels,"+tc.name, ",")) || tc.name == "" && strings.Contains(got, "Transfer") {
			t.Errorf("%s: actions %s", tc.a.Kind, got)
		}
		if act == nil {
			continue
		}
		for k, v := range tc.headers {
			if act.Value(k) != v {
				t.Errorf("%s: %s = %q, want %q", tc.a.Kind, k, act.Value(k), v)
			}
		}
		srv.close()
	}
}
