package ami

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/earshot-app/earshot/monitor"
	"github.com/earshot-app/earshot/monitor/ami/amitest"
)

// on matches the next message that is the event (or, with event "", the response) and
// has the given header values (key, value, key, value...).
func on(event string, kv ...string) func(amitest.Msg) bool {
	return func(m amitest.Msg) bool {
		if event != "" && m.Get("Event") != event {
			return false
		}
		if event == "" && m.IsEvent() {
			return false
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if m.Get(kv[i]) != kv[i+1] {
				return false
			}
		}
		return true
	}
}

// row is the expected grid row of a call (the fixtures README's tables).
type row struct {
	gone       bool
	customer   string
	hotline    string
	queue      string
	status     monitor.Status
	agent      string
	answer     string // the recorded Timestamp of the answer, "" when not answered
	dir        monitor.Direction
	campaign   string
	mon        monitor.MonitorMode
	supervisor string
	stolen     bool
	// answerEst is the answer time a resync estimates (on the PBX's clock); with
	// checkTIS, inStatus is the time in status expected at the checkpoint (within 10 ms)
	answerEst time.Time
	checkTIS  bool
	inStatus  time.Duration
}

type check struct {
	desc  string
	after func(amitest.Msg) bool
	rows  map[string]row
	total int // calls on the board; -1: do not check
}

type plannedAct struct {
	kind    monitor.ActionKind
	call    string
	agent   string
	wantErr error
}

type scenarioCase struct {
	name    string
	foreign map[string]bool
	cfg     func(*Config)
	checks  []check
	acts    []plannedAct
	// queues: the expected answered/abandoned counters at the end, per queue
	queues map[string][2]int
	// script, when set, builds the server's script instead of a plain replay
	script func(t *testing.T) *amitest.Script
	// skew is how far the PC's clock (the driver's and the board's) is ahead of the
	// PBX's; the replay's clock follows the recorded time
	skew time.Duration
	// extra checks at checkpoint i (b.Now() is the replay's time plus the skew)
	verify func(t *testing.T, i int, b *monitor.Board)
	// totals, when set, are the expected answered/abandoned counts over all queues
	totals *[2]int
	// speed overrides the replay's time compression
	speed float64
}

func ts(s string) time.Time { return parseTimestamp([]byte(s)) }

func testConfig(port int) Config {
	return Config{
		Host: "127.0.0.1", Port: port, User: "earshot", Secret: "earshot-lab-secret",
		HotlineVar: "HOTLINE", CampaignVar: "CAMPAIGN", DirectionVar: "DIRECTION",
		SupervisorEndpoint: "PJSIP/2001", SupervisorName: "Supervisor",
		StealContext: "earshot-steal", StealExten: "2001", TransferContext: "earshot-transfer",
		ActionTimeout: 5 * time.Second, PingInterval: time.Hour, HangupGrace: time.Second,
		BackoffMin: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// logBuffer collects the driver's logs for assertions.
type logBuffer struct {
	mu  chanMutex
	buf bytes.Buffer
}

type chanMutex chan struct{}

func (m chanMutex) Lock()   { m <- struct{}{} }
func (m chanMutex) Unlock() { <-m }

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func newLogBuffer() *logBuffer { return &logBuffer{mu: make(chanMutex, 1)} }

// answerTolerance bounds how far a converted answer time may be from the recorded one:
// the driver maps the PBX's clock onto the PC's with the smallest delay it measured
// (the fixtures' reads came 0.02 to 3 ms after the events' Timestamps).
const answerTolerance = 10 * time.Millisecond

func verifyBoard(t *testing.T, scenario string, c check, b *monitor.Board, skew time.Duration) {
	t.Helper()
	if c.total >= 0 && b.Len() != c.total {
		s := b.Snapshot(monitor.Query{})
		t.Errorf("%s, %s: %d calls on the board, want %d: %+v", scenario, c.desc, b.Len(), c.total, s.Calls)
	}
	for id, w := range c.rows {
		got, ok := b.Get(id)
		if w.gone {
			if ok {
				t.Errorf("%s, %s: call %s still on the board: %+v", scenario, c.desc, id, got)
			}
			continue
		}
		if !ok {
			t.Errorf("%s, %s: call %s is not on the board", scenario, c.desc, id)
			continue
		}
		var diffs []string
		cmp := func(field string, g, w any) {
			if g != w {
				diffs = append(diffs, fmt.Sprintf("%s = %v, want %v", field, g, w))
			}
		}
		cmp("customer", got.Customer, w.customer)
		cmp("hotline", got.Hotline, w.hotline)
		cmp("queue", got.Queue, w.queue)
		cmp("status", got.Status, w.status)
		cmp("last agent", got.LastAgent, w.agent)
		cmp("direction", got.Direction, w.dir)
		cmp("campaign", got.Campaign, w.campaign)
		cmp("monitor", got.Monitor, w.mon)
		cmp("stolen", got.Stolen, w.stolen)
		if w.supervisor != "" {
			cmp("supervisor", got.Supervisor, w.supervisor)
		}
		switch {
		case w.answer == "" && w.answerEst.IsZero():
			if !got.AnswerTime.IsZero() {
				diffs = append(diffs, fmt.Sprintf("answer time = %v, want none", got.AnswerTime))
			}
		case w.answer != "":
			want := ts(w.answer).Add(skew)
			if d := got.AnswerTime.Sub(want); d < 0 || d > answerTolerance {
				diffs = append(diffs, fmt.Sprintf("answer time = %s, want %s (the recorded %s on the PC's clock)", fmtTime(got.AnswerTime), fmtTime(want), w.answer))
			}
		default:
			if want := w.answerEst.Add(skew); !got.AnswerTime.Equal(want) {
				diffs = append(diffs, fmt.Sprintf("estimated answer time = %s, want %s", fmtTime(got.AnswerTime), fmtTime(want)))
			}
		}
		if w.checkTIS {
			if d := got.TimeInStatus(b.Now()) - w.inStatus; d < -answerTolerance || d > answerTolerance {
				diffs = append(diffs, fmt.Sprintf("time in status = %v, want %v", got.TimeInStatus(b.Now()), w.inStatus))
			}
		}
		if len(diffs) > 0 {
			t.Errorf("%s, %s: call %s: %s", scenario, c.desc, id, strings.Join(diffs, "; "))
		}
	}
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "none"
	}
	return fmt.Sprintf("%d.%06d", t.Unix(), t.Nanosecond()/1000)
}

// runReplay plays a script against a running driver and checks the board at every
// checkpoint and the actions' results.
func runReplay(t *testing.T, sc scenarioCase, script *amitest.Script, drv *Driver, board *monitor.Board, runErr chan error) {
	t.Helper()
	ctx := context.Background()
	actErrs := make(chan error, len(sc.acts))
	nextAct := 0
	pendingActs := 0
	for {
		select {
		case i := <-script.Stops:
			if err := drv.Flush(ctx); err != nil {
				t.Fatalf("%s: flush at %q: %v", sc.name, sc.checks[i].desc, err)
			}
			verifyBoard(t, sc.name, sc.checks[i], board, sc.skew)
			if sc.verify != nil {
				sc.verify(t, i, board)
			}
			script.Resume <- struct{}{}
		case m := <-script.Due:
			if nextAct >= len(sc.acts) {
				t.Fatalf("%s: the recording has an action the test does not plan:\n%s", sc.name, m)
			}
			p := sc.acts[nextAct]
			nextAct++
			pendingActs++
			go func() {
				err := drv.Act(ctx, monitor.Action{Kind: p.kind, CallID: p.call, Agent: p.agent})
				if (err == nil) != (p.wantErr == nil) || (err != nil && !errorsIs(err, p.wantErr)) {
					actErrs <- fmt.Errorf("%s %s: got %v, want %v", p.kind, p.call, err, p.wantErr)
					return
				}
				actErrs <- nil
			}()
		case err := <-script.Done:
			if err != nil {
				t.Fatalf("%s: replay: %v", sc.name, err)
			}
			for ; pendingActs > 0; pendingActs-- {
				if err := <-actErrs; err != nil {
					t.Errorf("%s: %v", sc.name, err)
				}
			}
			if nextAct != len(sc.acts) {
				t.Errorf("%s: %d planned actions, the recording had %d", sc.name, len(sc.acts), nextAct)
			}
			return
		case err := <-runErr:
			t.Fatalf("%s: Run returned early: %v", sc.name, err)
		}
	}
}

func startDriver(t *testing.T, cfg Config) (*Driver, *monitor.Board, context.CancelFunc, chan error) {
	t.Helper()
	drv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	board := monitor.NewBoard(monitor.Options{Logger: cfg.Logger, Now: cfg.Now})
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- drv.Run(ctx, board) }()
	return drv, board, cancel, runErr
}

func stopDriver(t *testing.T, cancel context.CancelFunc, runErr chan error) {
	t.Helper()
	cancel()
	select {
	case err := <-runErr:
		if err != context.Canceled {
			t.Errorf("Run after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// newServer starts a replay server whose clock (given to the driver and the board)
// follows the recording, skew ahead of the PBX's.
func newServer(t testing.TB, skew time.Duration) *amitest.Server {
	srv := amitest.NewServer(t)
	srv.Clock.SetSkew(skew)
	return srv
}

func playScenario(t *testing.T, sc scenarioCase) {
	srv := newServer(t, sc.skew)
	if sc.speed > 0 {
		srv.Speed = sc.speed
	}
	var script *amitest.Script
	if sc.script != nil {
		script = sc.script(t)
	} else {
		script = idleScript(t, sc.name, sc.foreign)
	}
	for _, c := range sc.checks {
		script.StopAt = append(script.StopAt, c.after)
	}
	srv.Play(script)
	cfg := testConfig(srv.Port())
	logs := newLogBuffer()
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.Now = srv.Clock.Now
	if sc.cfg != nil {
		sc.cfg(&cfg)
	}
	drv, board, cancel, runErr := startDriver(t, cfg)
	runReplay(t, sc, script, drv, board, runErr)
	if err := drv.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := board.Len(); n != 0 {
		t.Errorf("%s: %d calls left on the board at the end: %+v", sc.name, n, board.Snapshot(monitor.Query{}).Calls)
	}
	var total [2]int
	for _, st := range board.Stats() {
		total[0] += st.Answered
		total[1] += st.Abandoned
		if sc.totals != nil {
			continue
		}
		want := sc.queues[st.Queue]
		if st.Answered != want[0] || st.Abandoned != want[1] {
			t.Errorf("%s: queue %s answered/abandoned = %d/%d, want %d/%d", sc.name, st.Queue, st.Answered, st.Abandoned, want[0], want[1])
		}
	}
	if sc.totals != nil && total != *sc.totals {
		t.Errorf("%s: answered/abandoned %d/%d, want %d/%d", sc.name, total[0], total[1], sc.totals[0], sc.totals[1])
	}
	if f := board.Feed(); f.State != monitor.FeedConnected {
		t.Errorf("%s: feed %v (%v), want connected", sc.name, f.State, f.Err)
	}
	stopDriver(t, cancel, runErr)
	if t.Failed() {
		t.Logf("driver log:\n%s", logs.String())
	}
}

// spyChecks are the checks of the monitoring scenarios: an answered inbound call from
// 0912345678 on 19006000, queue support, agent 1001; the supervisor 2001 attaches.
func spyChecks(call, answer, supChan, custChan string, mode monitor.MonitorMode) []check {
	answered := row{customer: "0912345678", hotline: "19006000", queue: "support", status: monitor.StatusAnswered,
		agent: "Agent 1001", answer: answer, dir: monitor.Inbound}
	pending, live := answered, answered
	pending.mon, pending.supervisor = monitor.MonitorPending, "Supervisor"
	live.mon, live.supervisor = mode, "Supervisor"
	return []check{
		{desc: "agent answered", after: on("AgentConnect"), rows: map[string]row{call: answered}, total: 1},
		{desc: "originate accepted", after: on("", "Message", "Originate successfully queued"), rows: map[string]row{call: pending}, total: 1},
		{desc: "supervisor's phone rings", after: on("Newchannel", "Channel", supChan), rows: map[string]row{call: pending}, total: 1},
		{desc: "ChanSpy started", after: on("ChanSpyStart"), rows: map[string]row{call: live}, total: 1},
		{desc: "ChanSpy stopped", after: on("ChanSpyStop"), rows: map[string]row{call: answered}, total: 1},
		{desc: "supervisor hung up", after: on("Hangup", "Channel", supChan), rows: map[string]row{call: answered}, total: 1},
		{desc: "customer hung up", after: on("Hangup", "Channel", custChan), rows: map[string]row{call: {gone: true}}, total: 0},
	}
}

var scenarioCases = []scenarioCase{
	{
		name: "inbound-answered",
		checks: []check{
			{desc: "t1.52 Newchannel", after: on("Newchannel", "Channel", "PJSIP/7001-00000000"), total: 1, rows: map[string]row{
				"1795668852.0": {customer: "0912345678", hotline: "19006000", status: monitor.StatusCalling, dir: monitor.Inbound}}},
			{desc: "t1.52 VarSet __DIRECTION", after: on("VarSet", "Variable", "__DIRECTION"), total: 1, rows: map[string]row{
				"1795668852.0": {customer: "0912345678", hotline: "19006000", status: monitor.StatusCalling, dir: monitor.Inbound}}},
			{desc: "t3.82 QueueCallerJoin", after: on("QueueCallerJoin"), total: 1, rows: map[string]row{
				"1795668852.0": {customer: "0912345678", hotline: "19006000", queue: "support", status: monitor.StatusCalling, dir: monitor.Inbound}}},
			{desc: "t3.83 1002 rung", after: on("AgentCalled", "MemberName", "Agent 1002"), total: 1, rows: map[string]row{
				"1795668852.0": {customer: "0912345678", hotline: "19006000", queue: "support", status: monitor.StatusCalling, agent: "Agent 1002", dir: monitor.Inbound}}},
			{desc: "t3.83 1001 rung", after: on("AgentCalled", "MemberName", "Agent 1001"), total: 1, rows: map[string]row{
				"1795668852.0": {customer: "0912345678", hotline: "19006000", queue: "support", status: monitor.StatusCalling, agent: "Agent 1001", dir: monitor.Inbound}}},
			{desc: "t5.34 AgentConnect", after: on("AgentConnect"), total: 1, rows: map[string]row{
				"1795668852.0": {customer: "0912345678", hotline: "19006000", queue: "support", status: monitor.StatusAnswered, agent: "Agent 1001", answer: "1795668856.293194", dir: monitor.Inbound}}},
			{desc: "t10.53 customer Hangup", after: on("Hangup", "Channel", "PJSIP/7001-00000000"), total: 0, rows: map[string]row{
				"1795668852.0": {gone: true}}},
		},
		queues: map[string][2]int{"support": {1, 0}},
	},
	{
		name: "inbound-abandoned",
		checks: []check{
			{desc: "t1.52 Newchannel", after: on("Newchannel", "Channel", "PJSIP/7002-00000003"), total: 1, rows: map[string]row{
				"1795668867.3": {customer: "0987654321", hotline: "19006001", status: monitor.StatusCalling, dir: monitor.Inbound}}},
			{desc: "t3.83 1002 rung", after: on("AgentCalled", "MemberName", "Agent 1002"), total: 1, rows: map[string]row{
				"1795668867.3": {customer: "0987654321", hotline: "19006001", queue: "sales", status: monitor.StatusCalling, agent: "Agent 1002", dir: monitor.Inbound}}},
			{desc: "t4.83 1003 busy", after: on("Hangup", "Channel", "PJSIP/1003-00000004"), total: 1, rows: map[string]row{
				"1795668867.3": {customer: "0987654321", hotline: "19006001", queue: "sales", status: monitor.StatusCalling, agent: "Agent 1002", dir: monitor.Inbound}}},
			{desc: "t11.83 abandon", after: on("QueueCallerAbandon"), total: 1, rows: map[string]row{
				"1795668867.3": {customer: "0987654321", hotline: "19006001", queue: "sales", status: monitor.StatusCalling, agent: "Agent 1002", dir: monitor.Inbound}}},
			{desc: "t11.83 customer Hangup", after: on("Hangup", "Channel", "PJSIP/7002-00000003"), total: 0, rows: map[string]row{
				"1795668867.3": {gone: true}}},
		},
		queues: map[string][2]int{"sales": {0, 1}},
	},
	{
		name:    "outbound-campaign",
		foreign: map[string]bool{"outbound-campaign-02": true},
		// the hotline of an outbound call is the number presented to the customer: the
		// Originate's CallerID <19006000>, on the agent leg from its NewCallerid at t0.51
		// (the README's grid leaves the column empty)
		checks: []check{
			{desc: "t0.51 agent leg", after: on("Newchannel", "Channel", "PJSIP/1002-00000006"), total: 1, rows: map[string]row{
				"1795668882.6": {status: monitor.StatusCalling, agent: "Agent 1002", dir: monitor.Outbound}}},
			{desc: "t0.51 campaign known", after: on("DialBegin", "DestChannel", "PJSIP/1002-00000006"), total: 1, rows: map[string]row{
				"1795668882.6": {hotline: "19006000", status: monitor.StatusCalling, agent: "Agent 1002", dir: monitor.Outbound, campaign: "Khuyen-mai-T12"}}},
			{desc: "t2.02 customer rings", after: on("DialBegin", "DestChannel", "PJSIP/7002-00000007"), total: 1, rows: map[string]row{
				"1795668882.6": {customer: "7002", hotline: "19006000", status: monitor.StatusRinging, agent: "Agent 1002", dir: monitor.Outbound, campaign: "Khuyen-mai-T12"}}},
			{desc: "t4.03 customer answers", after: on("DialEnd", "DestChannel", "PJSIP/7002-00000007", "DialStatus", "ANSWER"), total: 1, rows: map[string]row{
				"1795668882.6": {customer: "7002", hotline: "19006000", status: monitor.StatusAnswered, agent: "Agent 1002", answer: "1795668885.568401", dir: monitor.Outbound, campaign: "Khuyen-mai-T12"}}},
			{desc: "t9.03 agent leg hung up", after: on("Hangup", "Channel", "PJSIP/1002-00000006"), total: 1, rows: map[string]row{
				"1795668882.6": {customer: "7002", hotline: "19006000", status: monitor.StatusAnswered, agent: "Agent 1002", answer: "1795668885.568401", dir: monitor.Outbound, campaign: "Khuyen-mai-T12"}}},
			{desc: "t9.04 customer Hangup", after: on("Hangup", "Channel", "PJSIP/7002-00000007"), total: 0, rows: map[string]row{
				"1795668882.6": {gone: true}}},
		},
	},
	{
		name:   "spy",
		checks: spyChecks("1795668897.8", "1795668900.912732", "PJSIP/2001-0000000b", "PJSIP/7001-00000008", monitor.MonitorListen),
		acts:   []plannedAct{{kind: monitor.ActListen, call: "1795668897.8"}},
		queues: map[string][2]int{"support": {1, 0}},
	},
	{
		name:   "whisper",
		checks: spyChecks("1795668919.12", "1795668923.522037", "PJSIP/2001-0000000f", "PJSIP/7001-0000000c", monitor.MonitorWhisper),
		acts:   []plannedAct{{kind: monitor.ActWhisper, call: "1795668919.12"}},
		queues: map[string][2]int{"support": {1, 0}},
	},
	{
		name:   "barge",
		checks: spyChecks("1795668942.16", "1795668946.132898", "PJSIP/2001-00000013", "PJSIP/7001-00000010", monitor.MonitorBarge),
		acts:   []plannedAct{{kind: monitor.ActBarge, call: "1795668942.16"}},
		queues: map[string][2]int{"support": {1, 0}},
	},
	{
		name:   "spy-by-uniqueid",
		checks: spyChecks("1795668990.24", "1795668994.416676", "PJSIP/2001-0000001b", "PJSIP/7001-00000018", monitor.MonitorListen),
		acts:   []plannedAct{{kind: monitor.ActListen, call: "1795668990.24"}},
		queues: map[string][2]int{"support": {1, 0}},
	},
	{
		// the recorder's own actions (Ping, CoreSettings, Command, errors...): their
		// replies carry ActionIDs the driver never used and must be ignored
		name: "basics",
		foreign: map[string]bool{"basics-02": true, "basics-03": true, "basics-04": true, "basics-05": true,
			"basics-06": true, "basics-07": true, "basics-08": true, "basics-09": true, "basics-10": true,
			"basics-11": true, "basics-12": true},
		checks: []check{{desc: "no call", after: on("", "ActionID", "basics-12"), total: 0}},
	},
	{
		name:    "supervisor-register",
		foreign: map[string]bool{"supervisor-register-02": true, "supervisor-register-03": true},
		checks:  []check{{desc: "a REGISTER is no call", after: on("ContactStatus"), total: 0}},
	},
	{
		name:  "burst",
		speed: 400,
		checks: []check{
			{desc: "first answer", after: on("AgentConnect"), total: -1},
		},
		verify: func(t *testing.T, i int, b *monitor.Board) {
			if n := b.Len(); n < 10 {
				t.Errorf("burst: only %d calls on the board at the first answer", n)
			}
		},
		totals: &[2]int{25, 125},
	},
	dtmfCase(),
	spyCallEndsCase(),
	resyncCase(),
	stealCase(),
	transferCase("transfer", "1795669054.36", "1795669058.332977", "PJSIP/1003-00000027", "1795669062.844346", "PJSIP/7001-00000024", nil),
	transferCase("transfer-redirect", "1795669076.40", "1795669079.954141", "PJSIP/1003-0000002b", "1795669084.464432", "PJSIP/7001-00000028",
		func(c *Config) { c.TransferMethod = TransferRedirect }),
	{
		name: "hangup",
		checks: []check{
			{desc: "answered", after: on("AgentConnect"), total: 1, rows: map[string]row{
				"1795669097.44": {customer: "0912345678", hotline: "19006000", queue: "support", status: monitor.StatusAnswered, agent: "Agent 1001", answer: "1795669101.605760", dir: monitor.Inbound}}},
			{desc: "Hangup accepted (before any event)", after: on("", "Message", "Channel Hungup"), total: 1, rows: map[string]row{
				"1795669097.44": {customer: "0912345678", hotline: "19006000", queue: "support", status: monitor.StatusAnswered, agent: "Agent 1001", answer: "1795669101.605760", dir: monitor.Inbound}}},
			{desc: "t8.35 customer Hangup", after: on("Hangup", "Channel", "PJSIP/7001-0000002c"), total: 0, rows: map[string]row{
				"1795669097.44": {gone: true}}},
		},
		acts:   []plannedAct{{kind: monitor.ActHangup, call: "1795669097.44"}},
		queues: map[string][2]int{"support": {1, 0}},
	},
	{
		name: "agent-manual-outbound",
		checks: []check{
			{desc: "agent dials", after: on("Newchannel", "Channel", "PJSIP/1001-00000035"), total: 1, rows: map[string]row{
				"1795669146.53": {status: monitor.StatusCalling, agent: "Agent 1001", dir: monitor.Outbound}}},
			{desc: "customer rings", after: on("DialBegin"), total: 1, rows: map[string]row{
				"1795669146.53": {customer: "7003", status: monitor.StatusRinging, agent: "Agent 1001", dir: monitor.Outbound}}},
			{desc: "customer answers", after: on("DialEnd", "DialStatus", "ANSWER"), total: 1, rows: map[string]row{
				"1795669146.53": {customer: "7003", status: monitor.StatusAnswered, agent: "Agent 1001", answer: "1795669148.563850", dir: monitor.Outbound}}},
			{desc: "customer Hangup", after: on("Hangup", "Channel", "PJSIP/7003-00000036"), total: 0, rows: map[string]row{
				"1795669146.53": {gone: true}}},
		},
	},
}

func dtmfCase() scenarioCase {
	call := "1795668964.20"
	base := row{customer: "0912345678", hotline: "19006000", queue: "support", status: monitor.StatusAnswered,
		agent: "Agent 1001", answer: "1795668968.765037", dir: monitor.Inbound, supervisor: "Supervisor"}
	mode := func(m monitor.MonitorMode) map[string]row {
		r := base
		r.mon = m
		if m == monitor.MonitorNone {
			r.supervisor = ""
		}
		return map[string]row{call: r}
	}
	return scenarioCase{
		name: "spy-dtmf-modes",
		checks: []check{
			{desc: "ChanSpy started (listen)", after: on("ChanSpyStart"), rows: mode(monitor.MonitorListen), total: 1},
			{desc: "DTMF 5: whisper", after: on("DTMFEnd", "Digit", "5"), rows: mode(monitor.MonitorWhisper), total: 1},
			{desc: "DTMF 6: barge", after: on("DTMFEnd", "Digit", "6"), rows: mode(monitor.MonitorBarge), total: 1},
			{desc: "DTMF 4: listen", after: on("DTMFEnd", "Digit", "4"), rows: mode(monitor.MonitorListen), total: 1},
			{desc: "ChanSpy stopped", after: on("ChanSpyStop"), rows: mode(monitor.MonitorNone), total: 1},
			{desc: "customer Hangup", after: on("Hangup", "Channel", "PJSIP/7001-00000014"), rows: map[string]row{call: {gone: true}}, total: 0},
		},
		acts:   []plannedAct{{kind: monitor.ActListen, call: call}},
		queues: map[string][2]int{"support": {1, 0}},
	}
}

func spyCallEndsCase() scenarioCase {
	call := "1795669013.28"
	live := row{customer: "0912345678", hotline: "19006000", queue: "support", status: monitor.StatusAnswered,
		agent: "Agent 1001", answer: "1795669017.053721", dir: monitor.Inbound, mon: monitor.MonitorListen, supervisor: "Supervisor"}
	return scenarioCase{
		name: "spy-call-ends",
		checks: []check{
			{desc: "ChanSpy started", after: on("ChanSpyStart"), rows: map[string]row{call: live}, total: 1},
			{desc: "customer hung up first", after: on("Hangup", "Channel", "PJSIP/7001-0000001c"), rows: map[string]row{call: {gone: true}}, total: 0},
			{desc: "ChanSpyStop after the call", after: on("ChanSpyStop"), rows: map[string]row{call: {gone: true}}, total: 0},
			{desc: "supervisor leg ended by E", after: on("Hangup", "Channel", "PJSIP/2001-0000001f"), rows: map[string]row{call: {gone: true}}, total: 0},
		},
		acts:   []plannedAct{{kind: monitor.ActListen, call: call}},
		queues: map[string][2]int{"support": {1, 0}},
	}
}

func stealCase() scenarioCase {
	call := "1795669032.32"
	answered := row{customer: "0912345678", hotline: "19006000", queue: "support", status: monitor.StatusAnswered,
		agent: "Agent 1001", answer: "1795669036.713298", dir: monitor.Inbound}
	ringing := answered
	ringing.mon, ringing.supervisor = monitor.MonitorPending, "Supervisor"
	stolen := answered
	stolen.agent, stolen.stolen, stolen.supervisor = "Supervisor", true, "Supervisor"
	return scenarioCase{
		name: "steal",
		checks: []check{
			{desc: "t5.33 answered", after: on("AgentConnect"), rows: map[string]row{call: answered}, total: 1},
			{desc: "Redirect accepted", after: on("", "Message", "Redirect successful"), rows: map[string]row{call: answered}, total: 1},
			{desc: "t8.34 agent dropped", after: on("Hangup", "Channel", "PJSIP/1001-00000022"), rows: map[string]row{call: answered}, total: 1},
			{desc: "t8.34 supervisor's phone rings", after: on("DialBegin", "DestChannel", "PJSIP/2001-00000023"), rows: map[string]row{call: ringing}, total: 1},
			{desc: "t9.84 supervisor answers", after: on("DialEnd", "DestChannel", "PJSIP/2001-00000023", "DialStatus", "ANSWER"), rows: map[string]row{call: stolen}, total: 1},
			{desc: "t17.53 AgentComplete", after: on("AgentComplete"), rows: map[string]row{call: stolen}, total: 1},
			{desc: "t17.53 customer Hangup", after: on("Hangup", "Channel", "PJSIP/7001-00000020"), rows: map[string]row{call: {gone: true}}, total: 0},
		},
		acts:   []plannedAct{{kind: monitor.ActSteal, call: call}},
		queues: map[string][2]int{"support": {1, 0}},
	}
}

func transferCase(name, call, answer, newAgentChan, newAnswer, custChan string, cfg func(*Config)) scenarioCase {
	answered := row{customer: "0912345678", hotline: "19006000", queue: "support", status: monitor.StatusAnswered,
		agent: "Agent 1001", answer: answer, dir: monitor.Inbound}
	ringing := answered
	ringing.status, ringing.agent = monitor.StatusCalling, "Agent 1003"
	moved := answered
	moved.agent, moved.answer = "Agent 1003", newAnswer
	return scenarioCase{
		name: name,
		cfg:  cfg,
		checks: []check{
			{desc: "t5.33 answered", after: on("AgentConnect"), rows: map[string]row{call: answered}, total: 1},
			{desc: "t8.34 agent 1001 dropped", after: on("Hangup", "Channel", "PJSIP/1001-"+hexPrev(newAgentChan)), rows: map[string]row{call: answered}, total: 1},
			{desc: "t8.34 ringing agent 1003", after: on("DialBegin", "DestChannel", newAgentChan), rows: map[string]row{call: ringing}, total: 1},
			{desc: "t9.85 agent 1003 answers", after: on("DialEnd", "DestChannel", newAgentChan, "DialStatus", "ANSWER"), rows: map[string]row{call: moved}, total: 1},
			{desc: "t17.53 customer Hangup", after: on("Hangup", "Channel", custChan), rows: map[string]row{call: {gone: true}}, total: 0},
		},
		acts:   []plannedAct{{kind: monitor.ActTransfer, call: call, agent: "1003"}},
		queues: map[string][2]int{"support": {1, 0}},
	}
}

// hexPrev returns the channel sequence number just before the one of name
// ("PJSIP/1003-00000027" → "00000026"): the agent leg that was transferred away.
func hexPrev(name string) string {
	_, seq, _ := strings.Cut(name, "-")
	var n int
	fmt.Sscanf(seq, "%x", &n)
	return fmt.Sprintf("%08x", n-1)
}

func TestReplayScenarios(t *testing.T) {
	for _, sc := range scenarioCases {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			playScenario(t, sc)
		})
	}
}

func errorsIs(err, target error) bool {
	for e := err; e != nil; {
		if e == target {
			return true
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		e = u.Unwrap()
	}
	return false
}
