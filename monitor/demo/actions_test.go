package demo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/earshot-app/earshot/monitor"
)

// actionRig is a driver feeding a board and a recorder, as the app wires it.
type actionRig struct {
	d     *Driver
	board *monitor.Board
	rec   *recorder
}

func newRig(t *testing.T, cfg Config) *actionRig {
	t.Helper()
	if cfg.Calls == 0 {
		cfg.Calls = 300
	}
	if cfg.Seed == 0 {
		cfg.Seed = 21
	}
	d := newTestDriver(cfg)
	r := &actionRig{d: d, board: newBoard(d), rec: &recorder{}}
	d.Attach(tee{r.board, r.rec})
	return r
}

// check compares the whole board with the truth.
func (r *actionRig) check(t *testing.T, when string) {
	t.Helper()
	compareAll(t, when, r.board.Snapshot(monitor.Query{}).Calls, r.d.Truth(), r.d.Now())
}

func (r *actionRig) row(t *testing.T, id string) monitor.Call {
	t.Helper()
	c, ok := r.board.Get(id)
	if !ok {
		t.Fatalf("call %s is not on the board", id)
	}
	return c
}

// eventsFor returns the events recorded for a call from index from on.
func (r *actionRig) eventsFor(id string, from int) []monitor.Event {
	var out []monitor.Event
	for _, e := range r.rec.all()[from:] {
		if e.CallID == id {
			out = append(out, e)
		}
	}
	return out
}

func answeredInbound(c monitor.Call) bool {
	return c.Direction == monitor.Inbound && c.Status == monitor.StatusAnswered && !c.Stolen && c.Monitor == monitor.MonitorNone
}

func wantActionErr(t *testing.T, err error, want error) {
	t.Helper()
	var ae *monitor.ActionError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not a *monitor.ActionError", err, err)
	}
	if !errors.Is(err, want) {
		t.Fatalf("error %v does not wrap %v", err, want)
	}
	if monitor.Sentence(err) == "" || monitor.ErrorKey(err) == "error.other" {
		t.Fatalf("error %v has no clear sentence", err)
	}
}

func freeAgent(t *testing.T, d *Driver, except ...string) monitor.Agent {
	t.Helper()
	for range 120 {
		ags, err := d.Agents(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range ags {
			if a.State == monitor.AgentAvailable && !slices.Contains(except, a.Name) {
				return a
			}
		}
		d.Advance(time.Second)
	}
	t.Fatal("no agent became available within two simulated minutes")
	return monitor.Agent{}
}

func TestStealMakesTheSupervisorTheParty(t *testing.T) {
	r := newRig(t, Config{Supervisor: "Lê Minh Tâm"})
	call := waitForCall(t, r.d, time.Minute, answeredInbound)
	agent := agentByName(t, r.d, call.LastAgent)
	mark := len(r.rec.all())

	if err := r.d.Act(t.Context(), monitor.Action{Kind: monitor.ActSteal, CallID: call.ID}); err != nil {
		t.Fatalf("steal: %v", err)
	}
	evs := r.eventsFor(call.ID, mark)
	if len(evs) != 1 || evs[0].Kind != monitor.EventStolen || evs[0].Supervisor != "Lê Minh Tâm" {
		t.Fatalf("steal emitted %v", evs)
	}
	row := r.row(t, call.ID)
	if !row.Stolen || row.LastAgent != "Lê Minh Tâm" || row.Status != monitor.StatusAnswered || !row.AnswerTime.Equal(call.AnswerTime) {
		t.Fatalf("stolen call on the board: %+v", row)
	}
	// the agent was cut off and is free for other calls
	if a := agentByName(t, r.d, agent.Name); a.State != monitor.AgentAvailable && a.State != monitor.AgentRinging {
		t.Fatalf("agent %s is %s after the steal", a.ID, a.State)
	}
	for _, c := range r.d.Truth() {
		if c.LastAgent == agent.Name && c.Status == monitor.StatusAnswered {
			t.Fatalf("agent %s still talks on %s", agent.Name, c.ID)
		}
	}
	r.check(t, "after steal")

	// stealing again, or listening in on the supervisor's own call, makes no sense
	wantActionErr(t, r.d.Act(t.Context(), monitor.Action{Kind: monitor.ActSteal, CallID: call.ID}), monitor.ErrNotApplicable)
	wantActionErr(t, r.d.Act(t.Context(), monitor.Action{Kind: monitor.ActListen, CallID: call.ID}), monitor.ErrNotApplicable)

	// the customer hangs up on the supervisor eventually
	for range 40 * 60 {
		if _, ok := r.d.TruthCall(call.ID); !ok {
			break
		}
		r.d.Advance(time.Second)
	}
	if _, ok := r.board.Get(call.ID); ok {
		t.Fatal("the stolen call never ended")
	}
	wantActionErr(t, r.d.Act(t.Context(), monitor.Action{Kind: monitor.ActSteal, CallID: call.ID}), monitor.ErrCallGone)
	r.check(t, "after the stolen call ended")
}

func TestTransferRingsTheChosenAgentWhoAnswers(t *testing.T) {
	r := newRig(t, Config{})
	call := waitForCall(t, r.d, time.Minute, answeredInbound)
	old := agentByName(t, r.d, call.LastAgent)
	target := freeAgent(t, r.d, old.Name)
	if _, ok := r.d.TruthCall(call.ID); !ok {
		call = waitForCall(t, r.d, time.Minute, answeredInbound)
		old = agentByName(t, r.d, call.LastAgent)
	}
	mark := len(r.rec.all())
	at := r.d.Now()
	if err := r.d.Act(t.Context(), monitor.Action{Kind: monitor.ActTransfer, CallID: call.ID, Agent: target.ID}); err != nil {
		t.Fatalf("transfer: %v", err)
	}
	evs := r.eventsFor(call.ID, mark)
	if len(evs) != 1 || evs[0].Kind != monitor.EventAgentRinging || evs[0].Agent != target.Name {
		t.Fatalf("transfer emitted %v", evs)
	}
	row := r.row(t, call.ID)
	if row.Status != monitor.StatusCalling || row.LastAgent != target.Name || !row.StatusSince.Equal(at) {
		t.Fatalf("call being transferred: %+v", row)
	}
	if a := agentByName(t, r.d, target.Name); a.State != monitor.AgentRinging {
		t.Fatalf("target agent is %s while the transfer rings", a.State)
	}
	if a := agentByName(t, r.d, old.Name); a.State != monitor.AgentAvailable && a.State != monitor.AgentRinging {
		t.Fatalf("old agent is %s after being cut off", a.State)
	}
	// a second transfer while the first rings is refused
	other := freeAgent(t, r.d, old.Name, target.Name)
	if _, ok := r.d.TruthCall(call.ID); ok && r.row(t, call.ID).Status == monitor.StatusCalling {
		wantActionErr(t, r.d.Act(t.Context(), monitor.Action{Kind: monitor.ActTransfer, CallID: call.ID, Agent: other.ID}), monitor.ErrNotApplicable)
	}
	r.check(t, "while the transfer rings")

	var answered monitor.Event
	for range 10 {
		r.d.Advance(time.Second)
		if evs := r.eventsFor(call.ID, mark); evs[len(evs)-1].Kind == monitor.EventAnswered {
			answered = evs[len(evs)-1]
			break
		}
	}
	if answered.Agent != target.Name {
		t.Fatalf("the chosen agent did not answer within 10 s: %v", r.eventsFor(call.ID, mark))
	}
	row = r.row(t, call.ID)
	if row.Status != monitor.StatusAnswered || row.LastAgent != target.Name || !row.AnswerTime.Equal(answered.At) || row.Stolen {
		t.Fatalf("transferred call: %+v", row)
	}
	if a := agentByName(t, r.d, target.Name); a.State != monitor.AgentBusy {
		t.Fatalf("target agent is %s while talking", a.State)
	}
	r.check(t, "after the transfer")
}

func TestTransferErrors(t *testing.T) {
	r := newRig(t, Config{})
	ctx := t.Context()
	call := waitForCall(t, r.d, time.Minute, answeredInbound)
	wantActionErr(t, r.d.Act(ctx, monitor.Action{Kind: monitor.ActTransfer, CallID: call.ID, Agent: "99999"}), monitor.ErrAgentUnavailable)
	wantActionErr(t, r.d.Act(ctx, monitor.Action{Kind: monitor.ActTransfer, CallID: call.ID}), monitor.ErrAgentUnavailable)
	// to the agent already on the call, or to any busy agent
	self := agentByName(t, r.d, call.LastAgent)
	wantActionErr(t, r.d.Act(ctx, monitor.Action{Kind: monitor.ActTransfer, CallID: call.ID, Agent: self.ID}), monitor.ErrAgentUnavailable)
	ags, _ := r.d.Agents(ctx)
	for _, a := range ags {
		if a.State == monitor.AgentPaused {
			wantActionErr(t, r.d.Act(ctx, monitor.Action{Kind: monitor.ActTransfer, CallID: call.ID, Agent: a.ID}), monitor.ErrAgentUnavailable)
			break
		}
	}
	// a call no agent answered
	target := freeAgent(t, r.d)
	inIVR := waitForCall(t, r.d, time.Minute, func(c monitor.Call) bool {
		return c.Direction == monitor.Inbound && c.Status == monitor.StatusCalling
	})
	wantActionErr(t, r.d.Act(ctx, monitor.Action{Kind: monitor.ActTransfer, CallID: inIVR.ID, Agent: target.ID}), monitor.ErrNotApplicable)
	ringing := waitForCall(t, r.d, time.Minute, func(c monitor.Call) bool { return c.Status == monitor.StatusRinging })
	wantActionErr(t, r.d.Act(ctx, monitor.Action{Kind: monitor.ActTransfer, CallID: ringing.ID, Agent: target.ID}), monitor.ErrNotApplicable)
	// unknown call
	wantActionErr(t, r.d.Act(ctx, monitor.Action{Kind: monitor.ActTransfer, CallID: "1234.5", Agent: target.ID}), monitor.ErrCallGone)
	r.check(t, "after refused transfers")
}

func TestHangupEndsTheCall(t *testing.T) {
	r := newRig(t, Config{})
	ctx := t.Context()
	for _, pick := range []func(monitor.Call) bool{
		answeredInbound,
		func(c monitor.Call) bool { return c.Direction == monitor.Inbound && c.Status == monitor.StatusCalling },
		func(c monitor.Call) bool { return c.Status == monitor.StatusRinging },
	} {
		call := waitForCall(t, r.d, time.Minute, pick)
		mark := len(r.rec.all())
		if err := r.d.Act(ctx, monitor.Action{Kind: monitor.ActHangup, CallID: call.ID}); err != nil {
			t.Fatalf("hang up %s: %v", call.ID, err)
		}
		evs := r.eventsFor(call.ID, mark)
		if len(evs) != 1 || evs[0].Kind != monitor.EventCallEnded || evs[0].Reason != monitor.EndCompleted {
			t.Fatalf("hang-up emitted %v", evs)
		}
		if _, ok := r.board.Get(call.ID); ok {
			t.Fatalf("call %s still on the board after hang-up", call.ID)
		}
		if _, ok := r.d.TruthCall(call.ID); ok {
			t.Fatalf("call %s still in the simulation after hang-up", call.ID)
		}
		if call.LastAgent != "" {
			// the agent is off the call (in after-call work, or free)
			for _, c := range r.d.Truth() {
				if c.LastAgent == call.LastAgent && c.Status == monitor.StatusAnswered {
					t.Fatalf("agent %s still talks on %s after hang-up", call.LastAgent, c.ID)
				}
			}
		}
		wantActionErr(t, r.d.Act(ctx, monitor.Action{Kind: monitor.ActHangup, CallID: call.ID}), monitor.ErrCallGone)
		r.d.Advance(time.Minute)
		if _, ok := r.board.Get(call.ID); ok {
			t.Fatalf("call %s came back", call.ID)
		}
		r.check(t, "after hang-up")
	}
}

func TestMonitoringSessions(t *testing.T) {
	r := newRig(t, Config{Supervisor: "Phạm Thu Hà"})
	ctx := t.Context()
	a := waitForCall(t, r.d, time.Minute, answeredInbound)
	mark := len(r.rec.all())
	for _, k := range []monitor.ActionKind{monitor.ActListen, monitor.ActWhisper, monitor.ActBarge, monitor.ActListen} {
		if err := r.d.Act(ctx, monitor.Action{Kind: k, CallID: a.ID}); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		row := r.row(t, a.ID)
		if row.Monitor != modeOf(k) || row.Supervisor != "Phạm Thu Hà" {
			t.Fatalf("after %s the board shows monitor %s by %q", k, row.Monitor, row.Supervisor)
		}
		r.check(t, "after "+k.String())
	}
	// the same mode again changes nothing
	if err := r.d.Act(ctx, monitor.Action{Kind: monitor.ActListen, CallID: a.ID}); err != nil {
		t.Fatal(err)
	}
	var modes []monitor.MonitorMode
	for _, e := range r.eventsFor(a.ID, mark) {
		if e.Kind == monitor.EventMonitorStarted {
			modes = append(modes, e.Mode)
		}
	}
	if want := []monitor.MonitorMode{monitor.MonitorListen, monitor.MonitorWhisper, monitor.MonitorBarge, monitor.MonitorListen}; !slices.Equal(modes, want) {
		t.Fatalf("monitor events %v, want %v", modes, want)
	}

	// one session at a time: listening to another call ends the first session
	b := waitForCall(t, r.d, time.Minute, func(c monitor.Call) bool { return answeredInbound(c) && c.ID != a.ID })
	if _, ok := r.d.TruthCall(a.ID); ok {
		if err := r.d.Act(ctx, monitor.Action{Kind: monitor.ActWhisper, CallID: b.ID}); err != nil {
			t.Fatal(err)
		}
		if row := r.row(t, a.ID); row.Monitor != monitor.MonitorNone || row.Supervisor != "" {
			t.Fatalf("first call still monitored: %+v", row)
		}
		if row := r.row(t, b.ID); row.Monitor != monitor.MonitorWhisper {
			t.Fatalf("second call: %+v", row)
		}
	}
	// the session ends when the call ends: MonitorStopped, then CallEnded
	mark = len(r.rec.all())
	for range 40 * 60 {
		if _, ok := r.d.TruthCall(b.ID); !ok {
			break
		}
		r.d.Advance(time.Second)
	}
	evs := r.eventsFor(b.ID, mark)
	if len(evs) < 2 || evs[len(evs)-2].Kind != monitor.EventMonitorStopped || evs[len(evs)-1].Kind != monitor.EventCallEnded {
		t.Fatalf("end of a monitored call emitted %v", evs)
	}
	// a new session can start afterwards
	c := waitForCall(t, r.d, time.Minute, answeredInbound)
	if err := r.d.Act(ctx, monitor.Action{Kind: monitor.ActBarge, CallID: c.ID}); err != nil {
		t.Fatal(err)
	}
	// a transfer ends the session (the agent spied on is gone); so does a steal
	target := freeAgent(t, r.d, c.LastAgent)
	if _, ok := r.d.TruthCall(c.ID); ok {
		mark = len(r.rec.all())
		if err := r.d.Act(ctx, monitor.Action{Kind: monitor.ActTransfer, CallID: c.ID, Agent: target.ID}); err != nil {
			t.Fatal(err)
		}
		evs = r.eventsFor(c.ID, mark)
		if len(evs) != 2 || evs[0].Kind != monitor.EventMonitorStopped || evs[1].Kind != monitor.EventAgentRinging {
			t.Fatalf("transfer of a monitored call emitted %v", evs)
		}
	}
	e := waitForCall(t, r.d, time.Minute, answeredInbound)
	if err := r.d.Act(ctx, monitor.Action{Kind: monitor.ActListen, CallID: e.ID}); err != nil {
		t.Fatal(err)
	}
	mark = len(r.rec.all())
	if err := r.d.Act(ctx, monitor.Action{Kind: monitor.ActSteal, CallID: e.ID}); err != nil {
		t.Fatal(err)
	}
	evs = r.eventsFor(e.ID, mark)
	if len(evs) != 2 || evs[0].Kind != monitor.EventMonitorStopped || evs[1].Kind != monitor.EventStolen {
		t.Fatalf("steal of a monitored call emitted %v", evs)
	}
	r.check(t, "after the monitoring sessions")

	// StopMonitor (the supervisor hung up the monitoring call)
	f := waitForCall(t, r.d, time.Minute, answeredInbound)
	if err := r.d.Act(ctx, monitor.Action{Kind: monitor.ActListen, CallID: f.ID}); err != nil {
		t.Fatal(err)
	}
	if err := r.d.StopMonitor(f.ID); err != nil {
		t.Fatal(err)
	}
	if row := r.row(t, f.ID); row.Monitor != monitor.MonitorNone {
		t.Fatalf("StopMonitor left %+v", row)
	}
	wantActionErr(t, r.d.StopMonitor("1.1"), monitor.ErrCallGone)
}

func TestMonitoringNeedsAnAgentOnTheCall(t *testing.T) {
	r := newRig(t, Config{})
	ctx := t.Context()
	waiting := waitForCall(t, r.d, time.Minute, func(c monitor.Call) bool {
		return c.Direction == monitor.Inbound && c.Status == monitor.StatusCalling
	})
	// as on Asterisk, where ChanSpy needs the agent's channel: no monitoring, steal or
	// transfer before an agent talks
	notYet := []monitor.ActionKind{monitor.ActListen, monitor.ActWhisper, monitor.ActBarge, monitor.ActSteal, monitor.ActTransfer}
	for _, k := range notYet {
		wantActionErr(t, r.d.Act(ctx, monitor.Action{Kind: k, CallID: waiting.ID, Agent: "1001"}), monitor.ErrNotApplicable)
	}
	ringing := waitForCall(t, r.d, time.Minute, func(c monitor.Call) bool { return c.Status == monitor.StatusRinging })
	for _, k := range notYet {
		wantActionErr(t, r.d.Act(ctx, monitor.Action{Kind: k, CallID: ringing.ID, Agent: "1001"}), monitor.ErrNotApplicable)
	}
	if row := r.row(t, ringing.ID); row.Monitor != monitor.MonitorNone {
		t.Fatalf("a refused listen left a monitoring marker: %+v", row)
	}
	for _, k := range monitor.ActionKinds {
		wantActionErr(t, r.d.Act(ctx, monitor.Action{Kind: k, CallID: "1795668852.0"}), monitor.ErrCallGone)
	}
	wantActionErr(t, r.d.Act(ctx, monitor.Action{Kind: monitor.ActionKind(99), CallID: waiting.ID}), monitor.ErrRejected)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := r.d.Act(cancelled, monitor.Action{Kind: monitor.ActHangup, CallID: waiting.ID}); !errors.Is(err, context.Canceled) {
		t.Fatalf("act with a cancelled context: %v", err)
	}
	if _, err := r.d.Agents(cancelled); !errors.Is(err, context.Canceled) {
		t.Fatalf("agents with a cancelled context: %v", err)
	}
	r.check(t, "after refused actions")
}

// phoneHook plays the SIP side of issue 5: it records requests, shows what the board
// says while "the phone rings", and answers at once (through the ticket), fails as told,
// or, with ringOnly, returns while the phone rings, leaving the ticket to the test.
type phoneHook struct {
	mu       sync.Mutex
	requests []MonitorRequest
	during   []monitor.Call
	board    *monitor.Board
	fail     error
	ringOnly bool
	while    func()
}

func (h *phoneHook) ring(ctx context.Context, req MonitorRequest) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests = append(h.requests, req)
	if c, ok := h.board.Get(req.Call.ID); ok {
		h.during = append(h.during, c)
	}
	if h.while != nil {
		h.while()
	}
	if h.fail != nil || h.ringOnly {
		return h.fail
	}
	return req.Ticket.Answered()
}

// last is the last request the hook was given.
func (h *phoneHook) last(t *testing.T) MonitorRequest {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.requests) == 0 {
		t.Fatal("the hook was never called")
	}
	return h.requests[len(h.requests)-1]
}

func TestOnMonitorHookRingsTheSupervisor(t *testing.T) {
	h := &phoneHook{}
	r := newRig(t, Config{OnMonitor: h.ring, Supervisor: "Đỗ Quang Huy"})
	h.board = r.board
	ctx := t.Context()

	call := waitForCall(t, r.d, time.Minute, answeredInbound)
	agent := agentByName(t, r.d, call.LastAgent)
	if err := r.d.Act(ctx, monitor.Action{Kind: monitor.ActWhisper, CallID: call.ID}); err != nil {
		t.Fatal(err)
	}
	if len(h.requests) != 1 {
		t.Fatalf("hook called %d times", len(h.requests))
	}
	req := h.requests[0]
	if req.Kind != monitor.ActWhisper || req.Mode != monitor.MonitorWhisper || req.Call.ID != call.ID ||
		req.AgentID != agent.ID || req.Supervisor != "Đỗ Quang Huy" {
		t.Fatalf("hook request %+v", req)
	}
	if h.during[0].Monitor != monitor.MonitorPending {
		t.Fatalf("while the phone rang the board showed %s", h.during[0].Monitor)
	}
	if row := r.row(t, call.ID); row.Monitor != monitor.MonitorWhisper {
		t.Fatalf("after answer: %+v", row)
	}
	// switching mode does not ring again
	if err := r.d.Act(ctx, monitor.Action{Kind: monitor.ActBarge, CallID: call.ID}); err != nil || len(h.requests) != 1 {
		t.Fatalf("mode switch: %v, hook calls %d", err, len(h.requests))
	}
	r.check(t, "after a hooked whisper")

	// the phone cannot be reached: the error says so and the call is as it was
	other := waitForCall(t, r.d, time.Minute, func(c monitor.Call) bool { return answeredInbound(c) && c.ID != call.ID })
	h.fail = fmt.Errorf("softphone: %w", monitor.ErrUnreachable)
	wantActionErr(t, r.d.Act(ctx, monitor.Action{Kind: monitor.ActListen, CallID: other.ID}), monitor.ErrUnreachable)
	if row := r.row(t, other.ID); row.Monitor != monitor.MonitorNone || row.Supervisor != "" {
		t.Fatalf("after a failed ring: %+v", row)
	}
	h.fail = errors.New("declined")
	wantActionErr(t, r.d.Act(ctx, monitor.Action{Kind: monitor.ActSteal, CallID: other.ID}), monitor.ErrRejected)
	if row := r.row(t, other.ID); row.Stolen || row.LastAgent != other.LastAgent || row.Monitor != monitor.MonitorNone {
		t.Fatalf("after a failed steal: %+v", row)
	}
	r.check(t, "after failed rings")

	// a steal that the supervisor answers, with the hook connected after New as the
	// app does once its softphone runs
	r.d.SetOnMonitor(nil)
	asked := len(h.requests)
	plain := waitForCall(t, r.d, time.Minute, answeredInbound)
	if err := r.d.Act(ctx, monitor.Action{Kind: monitor.ActListen, CallID: plain.ID}); err != nil {
		t.Fatal(err)
	}
	if row := r.row(t, plain.ID); row.Monitor != monitor.MonitorListen || len(h.requests) != asked {
		t.Fatalf("without a hook: %+v, hook calls %d → %d", row, asked, len(h.requests))
	}
	h.fail = nil
	r.d.SetOnMonitor(h.ring)
	if _, ok := r.d.TruthCall(other.ID); !ok {
		other = waitForCall(t, r.d, time.Minute, answeredInbound)
	}
	if err := r.d.Act(ctx, monitor.Action{Kind: monitor.ActSteal, CallID: other.ID}); err != nil {
		t.Fatal(err)
	}
	if row := r.row(t, other.ID); !row.Stolen || row.LastAgent != "Đỗ Quang Huy" {
		t.Fatalf("after a hooked steal: %+v", row)
	}

	// the customer hangs up while the supervisor's phone rings
	third := waitForCall(t, r.d, time.Minute, answeredInbound)
	h.while = func() {
		go func() { _ = r.d.Act(context.Background(), monitor.Action{Kind: monitor.ActHangup, CallID: third.ID}) }()
		for {
			if _, ok := r.d.TruthCall(third.ID); !ok {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	wantActionErr(t, r.d.Act(ctx, monitor.Action{Kind: monitor.ActListen, CallID: third.ID}), monitor.ErrCallGone)
	h.while = nil
	r.check(t, "after a hang-up during the ring")

	// a cancelled ring
	fourth := waitForCall(t, r.d, time.Minute, answeredInbound)
	h.fail = context.Canceled
	if err := r.d.Act(ctx, monitor.Action{Kind: monitor.ActBarge, CallID: fourth.ID}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled ring: %v", err)
	}
	if row := r.row(t, fourth.ID); row.Monitor != monitor.MonitorNone {
		t.Fatalf("after a cancelled ring: %+v", row)
	}
	r.check(t, "after a cancelled ring")
}
