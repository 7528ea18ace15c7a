package demo

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/earshot-app/earshot/monitor"
)

// The OnMonitor hook returns while the supervisor's phone rings and reports the rest
// through the request's ticket; the driver applies each report at once. These tests
// drive the ticket as the SIP side does, including in the orders a busy machine can
// produce, and check the grid (a Board fed by the driver) against the truth.

func ticketRig(t *testing.T) (*actionRig, *phoneHook) {
	t.Helper()
	h := &phoneHook{ringOnly: true}
	r := newRig(t, Config{OnMonitor: h.ring, Supervisor: "Trần Thu Hà"})
	h.board = r.board
	return r, h
}

func wantMarker(t *testing.T, r *actionRig, id string, want monitor.MonitorMode, when string) {
	t.Helper()
	if row := r.row(t, id); row.Monitor != want {
		t.Fatalf("%s: the grid shows %q, want %q", when, row.Monitor, want)
	}
	if c, _ := r.d.TruthCall(id); c.Monitor != want {
		t.Fatalf("%s: the centre shows %q, want %q", when, c.Monitor, want)
	}
	r.check(t, when)
}

func TestTicketAnswerModeSwitchAndHangUp(t *testing.T) {
	r, h := ticketRig(t)
	ctx := t.Context()
	call := waitForCall(t, r.d, time.Minute, answeredInbound)

	if err := r.d.Act(ctx, monitor.Action{Kind: monitor.ActListen, CallID: call.ID}); err != nil {
		t.Fatalf("listen while the phone rings: %v", err)
	}
	tk := h.last(t).Ticket
	wantMarker(t, r, call.ID, monitor.MonitorPending, "while the phone rings")
	if m, live := tk.Live(); !live || m != monitor.MonitorPending {
		t.Fatalf("ringing ticket: %v %v", m, live)
	}
	// a second request while it rings is refused and does not ring again
	wantActionErr(t, r.d.Act(ctx, monitor.Action{Kind: monitor.ActWhisper, CallID: call.ID}), monitor.ErrNotApplicable)
	if len(h.requests) != 1 {
		t.Fatalf("hook called %d times", len(h.requests))
	}

	if err := tk.Answered(); err != nil {
		t.Fatalf("answered: %v", err)
	}
	wantMarker(t, r, call.ID, monitor.MonitorListen, "after the answer")
	if err := tk.Answered(); !errors.Is(err, monitor.ErrNotApplicable) {
		t.Fatalf("a second answer: %v", err)
	}

	// DTMF 5, then the window's own switch to barge: the ticket follows the driver.
	if err := tk.SwitchMode(monitor.MonitorWhisper); err != nil {
		t.Fatal(err)
	}
	wantMarker(t, r, call.ID, monitor.MonitorWhisper, "after DTMF 5")
	if err := r.d.Act(ctx, monitor.Action{Kind: monitor.ActBarge, CallID: call.ID}); err != nil {
		t.Fatal(err)
	}
	if m, live := tk.Live(); !live || m != monitor.MonitorBarge {
		t.Fatalf("after a switch from the window the ticket says %v %v", m, live)
	}
	if err := tk.SwitchMode(monitor.MonitorPending); !errors.Is(err, monitor.ErrNotApplicable) {
		t.Fatalf("switch to pending: %v", err)
	}

	// The supervisor hangs up: the marker goes, the call goes on with its agent.
	from := len(r.rec.all())
	tk.Ended()
	wantMarker(t, r, call.ID, monitor.MonitorNone, "after the supervisor hung up")
	if row := r.row(t, call.ID); row.LastAgent != call.LastAgent || row.Status != monitor.StatusAnswered || row.Supervisor != "" {
		t.Fatalf("after the hang-up: %+v", row)
	}
	if ev := r.eventsFor(call.ID, from); len(ev) != 1 || ev[0].Kind != monitor.EventMonitorStopped {
		t.Fatalf("events on hang-up: %+v", ev)
	}
	// A digit handled after the hang-up changes nothing and rings nobody.
	if err := tk.SwitchMode(monitor.MonitorWhisper); !errors.Is(err, monitor.ErrNotApplicable) {
		t.Fatalf("DTMF after the hang-up: %v", err)
	}
	tk.Ended()
	tk.Failed(errors.New("late"))
	if _, live := tk.Live(); live {
		t.Fatal("the ticket is live after the hang-up")
	}
	if len(h.requests) != 1 || len(r.eventsFor(call.ID, from)) != 1 {
		t.Fatalf("after late reports: hook calls %d, events %+v", len(h.requests), r.eventsFor(call.ID, from))
	}
	wantMarker(t, r, call.ID, monitor.MonitorNone, "after late reports")
}

// A supervisor who answers and hangs up at once, in whatever order against the driver
// finishing Act (the SIP side reports on its own goroutine, as the demo PBX does):
// the marker always goes, and a stolen call always ends.
func TestTicketHangUpAtOnceNeverLeavesAMarker(t *testing.T) {
	for _, kind := range []monitor.ActionKind{monitor.ActListen, monitor.ActSteal} {
		t.Run(kind.String(), func(t *testing.T) {
			var sip sync.WaitGroup
			hook := func(_ context.Context, req MonitorRequest) error {
				sip.Add(1)
				go func() {
					defer sip.Done()
					if err := req.Ticket.Answered(); err != nil {
						t.Errorf("answered: %v", err)
					}
					req.Ticket.Ended()
				}()
				return nil
			}
			r := newRig(t, Config{OnMonitor: hook})
			ctx := t.Context()
			for i := range 100 {
				call := waitForCall(t, r.d, time.Minute, answeredInbound)
				if err := r.d.Act(ctx, monitor.Action{Kind: kind, CallID: call.ID}); err != nil {
					t.Fatalf("round %d: %s: %v", i, kind, err)
				}
				sip.Wait()
				got, ok := r.d.TruthCall(call.ID)
				switch {
				case kind == monitor.ActSteal && ok:
					t.Fatalf("round %d: the stolen call goes on without anybody: %+v", i, got)
				case kind == monitor.ActListen && (!ok || got.Monitor != monitor.MonitorNone || got.LastAgent != call.LastAgent):
					t.Fatalf("round %d: after the hang-up the call shows %+v", i, got)
				}
				r.check(t, "after a hang-up at once")
			}
		})
	}
}

func TestTicketRingFailsOrIsOvertaken(t *testing.T) {
	r, h := ticketRig(t)
	ctx := t.Context()

	// declined after ringing: the marker goes, the call is as it was
	a := waitForCall(t, r.d, time.Minute, answeredInbound)
	if err := r.d.Act(ctx, monitor.Action{Kind: monitor.ActBarge, CallID: a.ID}); err != nil {
		t.Fatal(err)
	}
	tk := h.last(t).Ticket
	tk.Failed(&monitor.ActionError{Err: monitor.ErrRejected, Detail: "declined"})
	wantMarker(t, r, a.ID, monitor.MonitorNone, "after a decline")
	if err := tk.Answered(); !errors.Is(err, monitor.ErrNotApplicable) {
		t.Fatalf("answer after the failure: %v", err)
	}
	wantMarker(t, r, a.ID, monitor.MonitorNone, "after an answer that came too late")

	// the call ends while the phone rings: a late answer is refused as ErrCallGone
	b := waitForCall(t, r.d, time.Minute, answeredInbound)
	if err := r.d.Act(ctx, monitor.Action{Kind: monitor.ActSteal, CallID: b.ID}); err != nil {
		t.Fatal(err)
	}
	tk = h.last(t).Ticket
	if err := r.d.Act(ctx, monitor.Action{Kind: monitor.ActHangup, CallID: b.ID}); err != nil {
		t.Fatal(err)
	}
	if _, live := tk.Live(); live {
		t.Fatal("the ticket of an ended call is live")
	}
	if err := tk.Answered(); !errors.Is(err, monitor.ErrCallGone) {
		t.Fatalf("answer after the call ended: %v", err)
	}
	tk.Ended()
	r.check(t, "after the call ended while ringing")

	// a request on another call withdraws the ringing one (one session at a time)
	c := waitForCall(t, r.d, time.Minute, answeredInbound)
	if err := r.d.Act(ctx, monitor.Action{Kind: monitor.ActListen, CallID: c.ID}); err != nil {
		t.Fatal(err)
	}
	tc := h.last(t).Ticket
	d := waitForCall(t, r.d, time.Minute, func(x monitor.Call) bool { return answeredInbound(x) && x.ID != c.ID })
	if err := r.d.Act(ctx, monitor.Action{Kind: monitor.ActListen, CallID: d.ID}); err != nil {
		t.Fatal(err)
	}
	td := h.last(t).Ticket
	if err := tc.Answered(); !errors.Is(err, monitor.ErrNotApplicable) {
		t.Fatalf("answer of a withdrawn request: %v", err)
	}
	wantMarker(t, r, c.ID, monitor.MonitorNone, "after the request was withdrawn")
	if err := td.Answered(); err != nil {
		t.Fatal(err)
	}
	wantMarker(t, r, d.ID, monitor.MonitorListen, "the new request")

	// a steal replaces the listen on the same call; if the steal is declined, the call
	// is left without monitoring (the listening call was hung up for it), with its agent
	if err := r.d.Act(ctx, monitor.Action{Kind: monitor.ActSteal, CallID: d.ID}); err != nil {
		t.Fatal(err)
	}
	ts := h.last(t).Ticket
	if _, live := td.Live(); live {
		t.Fatal("the listen replaced by a steal is still live")
	}
	td.Ended() // the PBX hangs the listening call up: nothing changes
	wantMarker(t, r, d.ID, monitor.MonitorPending, "while the steal rings")
	ts.Failed(errors.New("declined"))
	wantMarker(t, r, d.ID, monitor.MonitorNone, "after the steal was declined")
	if row := r.row(t, d.ID); row.Stolen || row.LastAgent != d.LastAgent {
		t.Fatalf("after a declined steal: %+v", row)
	}
}

func TestTicketStealThenTransferOrHangUp(t *testing.T) {
	r, h := ticketRig(t)
	ctx := t.Context()

	// steal answered, then transferred: the supervisor's call no longer holds it, and
	// hanging it up leaves the call with the new agent
	a := waitForCall(t, r.d, time.Minute, answeredInbound)
	if err := r.d.Act(ctx, monitor.Action{Kind: monitor.ActSteal, CallID: a.ID}); err != nil {
		t.Fatal(err)
	}
	tk := h.last(t).Ticket
	if err := tk.Answered(); err != nil {
		t.Fatal(err)
	}
	if row := r.row(t, a.ID); !row.Stolen || row.LastAgent != "Trần Thu Hà" {
		t.Fatalf("after the steal: %+v", row)
	}
	if m, live := tk.Live(); !live || m != monitor.MonitorNone {
		t.Fatalf("stolen ticket: %v %v", m, live)
	}
	if err := tk.SwitchMode(monitor.MonitorBarge); !errors.Is(err, monitor.ErrNotApplicable) {
		t.Fatalf("DTMF on a stolen call: %v", err)
	}
	free := freeAgent(t, r.d)
	if err := r.d.Act(ctx, monitor.Action{Kind: monitor.ActTransfer, CallID: a.ID, Agent: free.ID}); err != nil {
		t.Fatal(err)
	}
	if _, live := tk.Live(); live {
		t.Fatal("the steal is live after a transfer")
	}
	tk.Ended()
	if row := r.row(t, a.ID); row.LastAgent != free.Name {
		t.Fatalf("after the supervisor hung up the transferred call: %+v", row)
	}
	r.check(t, "after a transferred steal")

	// steal answered, the supervisor hangs up: the call ends
	b := waitForCall(t, r.d, time.Minute, answeredInbound)
	if err := r.d.Act(ctx, monitor.Action{Kind: monitor.ActSteal, CallID: b.ID}); err != nil {
		t.Fatal(err)
	}
	tk = h.last(t).Ticket
	if err := tk.Answered(); err != nil {
		t.Fatal(err)
	}
	tk.Ended()
	if _, ok := r.d.TruthCall(b.ID); ok {
		t.Fatal("the stolen call goes on after the supervisor hung up")
	}
	if _, ok := r.board.Get(b.ID); ok {
		t.Fatal("the stolen call is still on the grid")
	}
	r.check(t, "after the supervisor hung up a stolen call")
}
