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
	"github.com/earshot-app/earshot/monitor/ami/amitest"
)

// resyncListTime is the recorded time of the resync's list replies (CoreShowChannels
// said A's customer leg was 8 s old, B's 3 s, and B had waited 1 s in sales).
func resyncListTime(t testing.TB) time.Time {
	rec := loadRecording(t, "resync")
	start, _ := rec.ReplySpan("resync-02")
	return ts(fmt.Sprintf("%.6f", rec.TimeAt(start)))
}

// resyncAnswerEst is the answer time of call A the resync estimates: the list time
// (1795669118.920708) minus the age of A's agent leg (Duration 00:00:06). The real
// answer (AgentConnect) was at 1795669114.094478, 1.17 s later: the agent's phone rang
// 1.5 s before it answered, and Duration has whole seconds.
var resyncAnswerEst = time.Unix(1795669112, 920708000)

var (
	resyncA = row{customer: "0912345678", hotline: "19006000", queue: "support", status: monitor.StatusAnswered, agent: "Agent 1001", dir: monitor.Inbound,
		answerEst: resyncAnswerEst}
	resyncB = row{customer: "0977000111", hotline: "19006001", queue: "sales", status: monitor.StatusCalling, agent: "Agent 1002", dir: monitor.Inbound}
)

func resyncCase() scenarioCase { return resyncCaseSkewed(0) }

// resyncCaseSkewed is the resync scenario on a PC whose clock is skew ahead of the PBX's.
func resyncCaseSkewed(skew time.Duration) scenarioCase {
	return scenarioCase{
		name:   "resync",
		skew:   skew,
		script: func(t *testing.T) *amitest.Script { return joinScript(t) },
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
			resyncNow := resyncListTime(t).Add(skew)
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
	srv := newServer(t, 0)
	first := idleScript(t, "inbound-answered", nil)
	// play up to the answer, then the connection drops
	var cut []amitest.Step
	for _, st := range first.Steps {
		cut = append(cut, st)
		if st.Send != nil && bytes.Contains(bytes.Join(st.Send, nil), []byte("Event: AgentConnect\r\n")) {
			break
		}
	}
	first.Steps, first.CloseAfter = cut, true
	first.StopAt = []func(amitest.Msg) bool{on("AgentConnect")}
	second := joinScript(t)
	second.StopAt = []func(amitest.Msg) bool{on("RTCPSent"), on("Hangup", "Channel", "PJSIP/7001-0000002f")}
	srv.Play(first)
	srv.Play(second)

	cfg := testConfig(srv.Port())
	logs := newLogBuffer()
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.Now = srv.Clock.Now
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
	<-first.Stops
	if err := drv.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	verifyBoard(t, "before the cut", check{desc: "answered", total: 1, rows: map[string]row{"1795668852.0": {
		customer: "0912345678", hotline: "19006000", queue: "support", status: monitor.StatusAnswered,
		agent: "Agent 1001", answer: "1795668856.293194", dir: monitor.Inbound}}}, board, 0)
	first.Resume <- struct{}{}
	if err := <-first.Done; err != nil {
		t.Fatal(err)
	}

	// second connection: different calls
	select {
	case <-second.Stops:
	case err := <-second.Done:
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
	}}, board, 0)
	if f := board.Feed(); f.State != monitor.FeedConnected {
		t.Errorf("feed %v after the reconnect", f.State)
	}
	second.Resume <- struct{}{}
	<-second.Stops
	if err := drv.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := board.Len(); n != 0 {
		t.Errorf("%d calls after both ended: %+v", n, board.Snapshot(monitor.Query{}).Calls)
	}
	second.Resume <- struct{}{}
	if err := <-second.Done; err != nil {
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
	srv := amitest.NewServer(t)
	sc := buildScript(t, loadRecording(t, "login-failed"), nil)
	sc.CloseAfter, sc.LoginMayFail = true, true
	srv.Play(sc)
	cfg := testConfig(srv.Port())
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
	if err := <-sc.Done; err != nil {
		t.Fatal(err)
	}
	// the same from the command line's path (Act without Run)
	sc2 := buildScript(t, loadRecording(t, "login-failed"), nil)
	sc2.CloseAfter, sc2.LoginMayFail = true, true
	srv.Play(sc2)
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
		srv := amitest.NewServer(t)
		sc := joinScript(t)
		sc.Steps = sc.Steps[:4] // banner, login, its reply, the resync
		// the PBX's reply: recorded success of the same kind of action
		ok := hangup.ReplyTo("hangup-02")
		sc.Replies[tc.name] = ok
		srv.Play(sc)
		drv, err := New(testConfig(srv.Port()))
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
		<-sc.Done
		var names []string
		var act *amitest.Msg
		for _, m := range sc.Received() {
			names = append(names, m.Get("Action"))
			if m.Get("Action") == tc.name && act == nil {
				act = &m
			}
		}
		// the Logoff may still be on its way when the script ends
		if got := strings.Join(names, ","); !strings.HasPrefix(got, strings.TrimSuffix("Challenge,Login,QueueStatus,CoreShowChannels,"+tc.name, ",")) || tc.name == "" && strings.Contains(got, "Transfer") {
			t.Errorf("%s: actions %s", tc.a.Kind, got)
		}
		if act == nil {
			continue
		}
		for k, v := range tc.headers {
			if act.Get(k) != v {
				t.Errorf("%s: %s = %q, want %q", tc.a.Kind, k, act.Get(k), v)
			}
		}
		srv.Close()
	}
}

// TestResyncEstimatesAnswerTime checks the resync's answer time against the recording:
// the estimate (list time minus the agent leg's age) is before the real AgentConnect by
// no more than the agent's ring time and the Duration's rounding.
func TestResyncEstimatesAnswerTime(t *testing.T) {
	rec := loadRecording(t, "resync")
	_, connect := recordedAt(t, rec, on("AgentConnect", "MemberName", "Agent 1001"))
	rang, _ := recordedAt(t, rec, on("AgentCalled", "MemberName", "Agent 1001"))
	early := connect.Sub(resyncAnswerEst)
	if early < 0 || early > connect.Sub(rang)+time.Second {
		t.Errorf("estimate %v before the real answer; the ring time was %v", early, connect.Sub(rang))
	}
}

// TestResyncKeepsKnownAnswerTime: the mapper saw call A answered (the resync recording's
// events before its lists), then the lists arrive (a resync on the same connection): the
// answer time stays AgentConnect's, not the estimate.
func TestResyncKeepsKnownAnswerTime(t *testing.T) {
	now := time.Unix(1795669118, 920708000)
	clock := func() time.Time { return now }
	board := monitor.NewBoard(monitor.Options{Logger: quietLogger, Now: clock})
	mp := newMapper(mapperConfig{vars: [nVars]string{"HOTLINE", "CAMPAIGN", "DIRECTION"},
		supervisorDevice: "PJSIP/2001", supervisorName: "Supervisor", now: clock, log: quietLogger}, board.Apply)
	c := loadCanned(t)
	qs := newSyncCollector()
	for _, raw := range c.QueueStatus {
		m := parseOne(raw)
		if m.Value("Event") == "QueueMember" {
			mp.queueStatusItem(qs, m)
		}
	}
	mp.queueStatusComplete(qs)
	sc := newSyncCollector()
	list := now
	for _, raw := range splitMessages(fixture(t, "resync.ami")) {
		m := parseOne(raw)
		// read as it was stamped (the events), or at the list time (the replies)
		if stamp := ts(m.Value("Timestamp")); !stamp.IsZero() {
			now = stamp.Add(100 * time.Microsecond)
		} else if m.Value("ActionID") != "" {
			now = list
		}
		switch {
		case m.Value("ActionID") == "resync-02" && m.Value("Event") == "CoreShowChannel":
			mp.channelItem(sc, m)
		case m.Value("ActionID") == "resync-02" && m.Value("Event") == "CoreShowChannelsComplete":
			mp.channelsComplete(sc)
		case m.Value("ActionID") == "resync-03" && m.Value("Event") == "QueueEntry":
			mp.queueStatusItem(sc, m)
		case m.IsEvent() && m.Value("ActionID") == "":
			if m.Value("Event") == "QueueCallerAbandon" {
				// stop before the calls end
				a, _ := board.Get("1795669110.47")
				if want := ts("1795669114.094478"); a.AnswerTime.Sub(want) > answerTolerance || a.AnswerTime.Before(want) {
					t.Errorf("A's answer time after the resync %s, want AgentConnect's %s", fmtTime(a.AnswerTime), fmtTime(want))
				}
				if board.Len() != 2 {
					t.Errorf("%d calls after the resync", board.Len())
				}
				return
			}
			mp.handle(m)
		}
	}
	t.Fatal("the recording has no QueueCallerAbandon")
}
