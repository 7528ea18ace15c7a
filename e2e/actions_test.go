package e2e

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/earshot-app/earshot/monitor"
	"github.com/earshot-app/earshot/phone"
)

// Hang-up and transfer change the simulated call without calling the supervisor; a
// hang-up on a monitored call ends the supervisor's call with it, a transfer ends the
// monitoring session (the agent spied on is gone).
func TestHangupAndTransferNeedNoSupervisorCall(t *testing.T) {
	r := newRig(t, rigOptions{})

	// Hang-up: the call leaves the grid, the phone stays quiet.
	c := r.talkingCalls()[0]
	_, res := r.request(monitor.ActHangup, c.ID)
	if err := r.result(res); err != nil {
		t.Fatalf("hang up: %v", err)
	}
	if _, ok := r.boardCall(c.ID); ok {
		t.Error("the hung-up call is still on the grid")
	}

	// Transfer to a free agent: the call rings that agent, the phone stays quiet.
	free := r.freeAgent()
	c = r.talkingCalls()[0]
	if err := r.result(actAsync(r, monitor.Action{Kind: monitor.ActTransfer, CallID: c.ID, Agent: free.ID})); err != nil {
		t.Fatalf("transfer: %v", err)
	}
	if row, _ := r.boardCall(c.ID); row.LastAgent != free.Name {
		t.Errorf("after the transfer the row shows %q, want %q", row.LastAgent, free.Name)
	}
	r.noIncoming(300 * time.Millisecond)

	// Hang-up of a call the supervisor listens to: the supervisor's call ends too.
	c = r.talkingCalls()[0]
	_, res = r.request(monitor.ActListen, c.ID)
	in := r.nextIncoming(2 * time.Second)
	if err := r.result(res); err != nil {
		t.Fatalf("listen: %v", err)
	}
	_, res = r.request(monitor.ActHangup, c.ID)
	if err := r.result(res); err != nil {
		t.Fatalf("hang up: %v", err)
	}
	if err := within(in.call.Done(), 2*time.Second); err != nil {
		t.Fatal("the supervisor's call went on after the monitored call was hung up")
	}

	// Transfer of a call the supervisor listens to: the agent spied on leaves, so
	// does the supervisor; the call goes on with the new agent.
	free = r.freeAgent()
	c = r.talkingCalls()[0]
	_, res = r.request(monitor.ActListen, c.ID)
	in = r.nextIncoming(2 * time.Second)
	if err := r.result(res); err != nil {
		t.Fatalf("listen: %v", err)
	}
	if err := r.result(actAsync(r, monitor.Action{Kind: monitor.ActTransfer, CallID: c.ID, Agent: free.ID})); err != nil {
		t.Fatalf("transfer: %v", err)
	}
	if err := within(in.call.Done(), 2*time.Second); err != nil {
		t.Fatal("the supervisor's call went on after the call was transferred")
	}
	if _, ok := r.boardCall(c.ID); !ok {
		t.Error("the transferred call left the grid")
	}
	r.noIncoming(200 * time.Millisecond)
}

// freeAgent returns an available agent, letting simulated time pass until one is.
func (r *rig) freeAgent() monitor.Agent {
	r.t.Helper()
	for range 120 {
		agents, err := r.drv.Agents(r.ctx)
		if err != nil {
			r.t.Fatal(err)
		}
		for _, a := range agents {
			if a.State == monitor.AgentAvailable {
				return a
			}
		}
		r.drv.Advance(5 * time.Second)
	}
	r.t.Fatal("no agent became free")
	return monitor.Agent{}
}

func actAsync(r *rig, a monitor.Action) <-chan error {
	res := make(chan error, 1)
	go func() { res <- r.drv.Act(r.ctx, a) }()
	return res
}

// Without auto-answer the supervisor's phone rings (180) and the supervisor decides:
// declining fails the action and leaves the call as it was; answering by hand connects
// the mode asked for; the window's own announcement (ExpectMonitoringCall) answers by
// itself.
func TestRingingDeclineAndAnnouncedCall(t *testing.T) {
	r := newRig(t, rigOptions{noAutoAnswer: true})
	c := r.talkingCalls()[0]

	_, res := r.request(monitor.ActListen, c.ID)
	in := r.nextIncoming(2 * time.Second)
	if in.info.AutoAnswer || in.info.State != phone.CallRinging {
		t.Fatalf("with auto-answer off the call should ring, got %+v", in.info)
	}
	if row, _ := r.boardCall(c.ID); row.Monitor != monitor.MonitorPending {
		t.Errorf("while the phone rings the grid shows %q, want Pending", row.Monitor)
	}
	if err := in.call.Decline(phone.DeclineRejected); err != nil {
		t.Fatal(err)
	}
	err := r.result(res)
	if !errors.Is(err, monitor.ErrRejected) || !strings.Contains(err.Error(), "declined") {
		t.Errorf("declined listen returned %v, want ErrRejected saying the supervisor declined", err)
	}
	if row, _ := r.boardCall(c.ID); row.Monitor != monitor.MonitorNone || row.LastAgent != c.LastAgent || row.Stolen {
		t.Errorf("after the decline the grid shows %+v, want the call as it was", row)
	}
	if len(r.pbx.Sessions()) != 0 {
		t.Error("the demo PBX has a session after the decline")
	}

	// Answered by hand: the grid shows the mode asked for; hanging up clears it.
	_, res = r.request(monitor.ActBarge, c.ID)
	in = r.nextIncoming(2 * time.Second)
	if row, _ := r.boardCall(c.ID); row.Monitor != monitor.MonitorPending {
		t.Errorf("while the phone rings the grid shows %q, want Pending", row.Monitor)
	}
	if err := in.call.Answer(r.ctx); err != nil {
		t.Fatalf("answer: %v", err)
	}
	if err := r.result(res); err != nil {
		t.Fatalf("barge answered by hand: %v", err)
	}
	if row, _ := r.boardCall(c.ID); row.Monitor != monitor.MonitorBarge {
		t.Errorf("after the answer the grid shows %q, want Barge", row.Monitor)
	}
	if err := in.call.Hangup(r.ctx); err != nil {
		t.Fatal(err)
	}
	r.waitFor("the marker goes when the supervisor hangs up", 2*time.Second, func() bool {
		row, _ := r.boardCall(c.ID)
		return row.Monitor == monitor.MonitorNone && len(r.pbx.Sessions()) == 0
	})

	cancel := r.ph.ExpectMonitoringCall(phone.MonitorExpectation{Label: "Listening: " + c.LastAgent})
	defer cancel()
	_, res = r.request(monitor.ActListen, c.ID)
	in = r.nextIncoming(2 * time.Second)
	if err := r.result(res); err != nil {
		t.Fatalf("announced listen: %v", err)
	}
	if !in.info.Monitoring || !in.info.AutoAnswer || in.info.MonitorLabel != "Listening: "+c.LastAgent {
		t.Errorf("announced call: monitoring=%v auto=%v label=%q", in.info.Monitoring, in.info.AutoAnswer, in.info.MonitorLabel)
	}
	r.waitFor("the announced call is up", time.Second, func() bool { return in.call.State() == phone.CallActive })
}
