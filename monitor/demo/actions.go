package demo

import (
	"context"
	"errors"
	"fmt"

	"github.com/earshot-app/earshot/monitor"
)

// Act carries out a supervisor action on a simulated call, as a PBX would:
//   - listen, whisper and barge open a monitoring session on the call (EventMonitorStarted
//     with the mode), or switch the mode of the session already on it; the supervisor has
//     one session at a time, so a session on another call ends first. The session ends
//     when the call ends, is stolen or transferred (EventMonitorStopped).
//   - steal cuts the agent off and makes the supervisor the customer's party (EventStolen);
//     the agent is free at once.
//   - with Config.OnMonitor, listen, whisper, barge and steal first ring the supervisor:
//     the call shows MonitorPending, the session or the steal happens when the
//     supervisor answers, and a ring that fails clears the marker (EventMonitorStopped).
//     Act returns when the hook does (see Config.OnMonitor).
//   - transfer cuts the agent (or the supervisor, after a steal) off and rings the chosen
//     agent (EventAgentRinging), who answers a few seconds later (EventAnswered); the
//     agent cut off is free at once.
//   - hangup ends the call (EventCallEnded).
//
// Errors are *monitor.ActionError wrapping monitor.ErrCallGone (unknown or ended call),
// monitor.ErrNotApplicable (for example whisper, barge, steal or transfer on a call no
// agent answered) or monitor.ErrAgentUnavailable (transfer to an unknown or busy agent).
func (d *Driver) Act(ctx context.Context, a monitor.Action) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("demo: %s call %s: %w", a.Kind, a.CallID, err)
	}
	d.mu.Lock()
	s := &d.sim
	c := s.calls[a.CallID]
	if c == nil {
		d.mu.Unlock()
		return actionErr(a, monitor.ErrCallGone, "no call in progress has this ID")
	}
	switch a.Kind {
	case monitor.ActHangup:
		s.endCall(c, monitor.EndCompleted)
		d.mu.Unlock()
		d.log.Info("demo: call hung up by the supervisor", "call", a.CallID)
		return nil
	case monitor.ActTransfer:
		err := d.transferLocked(c, a)
		d.mu.Unlock()
		if err == nil {
			d.log.Info("demo: call transferred by the supervisor", "call", a.CallID, "agent", a.Agent)
		}
		return err
	case monitor.ActListen, monitor.ActWhisper, monitor.ActBarge:
		return d.monitorCall(ctx, c, a)
	case monitor.ActSteal:
		return d.steal(ctx, c, a)
	}
	d.mu.Unlock()
	return actionErr(a, monitor.ErrRejected, fmt.Sprintf("unknown action %d", a.Kind))
}

func actionErr(a monitor.Action, err error, detail string) error {
	return &monitor.ActionError{Action: a, Err: err, Detail: detail}
}

func modeOf(k monitor.ActionKind) monitor.MonitorMode {
	switch k {
	case monitor.ActWhisper:
		return monitor.MonitorWhisper
	case monitor.ActBarge:
		return monitor.MonitorBarge
	}
	return monitor.MonitorListen
}

// agentTalking reports whether an agent (not the supervisor) is talking on the call.
func agentTalking(c *call) bool {
	return c.ph == phTalking && c.agent != nil && !c.stolen
}

// monitorApplies says why a monitoring mode cannot be used on c, or "" if it can.
func monitorApplies(c *call, mode monitor.MonitorMode) string {
	if c.stolen {
		return "the supervisor is already the party of this call"
	}
	if !agentTalking(c) {
		// as on a real PBX: monitoring spies on the agent's channel, so there must be one
		return "no agent is talking on this call"
	}
	return ""
}

// monitorCall runs listen, whisper and barge; it is entered with d.mu held and returns
// with it released.
func (d *Driver) monitorCall(ctx context.Context, c *call, a monitor.Action) error {
	s := &d.sim
	mode := modeOf(a.Kind)
	if why := monitorApplies(c, mode); why != "" {
		d.mu.Unlock()
		return actionErr(a, monitor.ErrNotApplicable, why)
	}
	switch c.mon {
	case monitor.MonitorPending:
		d.mu.Unlock()
		return actionErr(a, monitor.ErrNotApplicable, "the supervisor's phone is already ringing for this call")
	case monitor.MonitorListen, monitor.MonitorWhisper, monitor.MonitorBarge:
		// the supervisor is connected: switch the mode (DTMF on a real PBX)
		if c.mon != mode {
			c.mon = mode
			s.emit(monitor.Event{Kind: monitor.EventMonitorStarted, CallID: c.id, At: s.at(s.now), Mode: mode, Supervisor: s.supervisor})
		}
		d.mu.Unlock()
		return nil
	}
	if s.session != nil && s.session != c {
		s.stopMonitor(s.session)
	}
	s.session = c
	if hook := d.hook; hook != nil {
		return d.ring(ctx, hook, c, a, mode)
	}
	c.mon = mode
	c.monGen++
	s.emit(monitor.Event{Kind: monitor.EventMonitorStarted, CallID: c.id, At: s.at(s.now), Mode: mode, Supervisor: s.supervisor})
	d.mu.Unlock()
	d.log.Info("demo: monitoring started", "call", c.id, "mode", mode.String())
	return nil
}

// steal runs the steal action; entered with d.mu held, returns with it released.
func (d *Driver) steal(ctx context.Context, c *call, a monitor.Action) error {
	if !agentTalking(c) {
		d.mu.Unlock()
		if c.stolen {
			return actionErr(a, monitor.ErrNotApplicable, "the supervisor already took this call over")
		}
		return actionErr(a, monitor.ErrNotApplicable, "no agent is talking on this call")
	}
	if c.mon == monitor.MonitorPending {
		d.mu.Unlock()
		return actionErr(a, monitor.ErrNotApplicable, "the supervisor's phone is already ringing for this call")
	}
	if hook := d.hook; hook != nil {
		return d.ring(ctx, hook, c, a, monitor.MonitorNone)
	}
	ag := d.stealLocked(c)
	d.mu.Unlock()
	d.log.Info("demo: call taken over by the supervisor", "call", c.id, "agent", ag)
	return nil
}

// stealLocked cuts the agent off and makes the supervisor the customer's party; it
// returns the agent's ID. d.mu is held and an agent talks on c.
func (d *Driver) stealLocked(c *call) string {
	s := &d.sim
	s.stopMonitor(c)
	ag := c.agent
	c.agent = nil
	c.stolen = true
	c.lastAgent = s.supervisor
	s.emit(monitor.Event{Kind: monitor.EventStolen, CallID: c.id, At: s.at(s.now), Supervisor: s.supervisor})
	s.makeAvailable(ag) // cut off mid-call: free at once
	return ag.id
}

// ring hands a listen, whisper, barge or steal request to the OnMonitor hook with a
// ticket for its outcome; it is entered with d.mu held and returns with it released.
// The call shows MonitorPending until the hook reports the answer or the failure
// through the ticket.
func (d *Driver) ring(ctx context.Context, hook func(context.Context, MonitorRequest) error, c *call, a monitor.Action, mode monitor.MonitorMode) error {
	s := &d.sim
	c.mon = monitor.MonitorPending
	c.monGen++ // any request that held the call before is over (a steal replaces a listen)
	t := &MonitorTicket{d: d, c: c, kind: a.Kind, mode: mode, gen: c.monGen}
	s.emit(monitor.Event{Kind: monitor.EventMonitorStarted, CallID: c.id, At: s.at(s.now), Mode: monitor.MonitorPending, Supervisor: s.supervisor})
	req := d.requestLocked(c, a.Kind, mode)
	req.Ticket = t
	d.mu.Unlock()

	herr := hook(ctx, req)

	d.mu.Lock()
	defer d.mu.Unlock()
	if herr != nil {
		t.failLocked(herr)
		return hookErr(a, herr)
	}
	if t.state == ticketPending {
		if err := t.pendingErrLocked(); err != nil {
			t.state, t.err = ticketFailed, err // overtaken while the hook returned
		} else {
			d.log.Info("demo: the supervisor's phone rings", "call", c.id, "action", a.Kind.String())
			return nil
		}
	}
	if t.state == ticketFailed {
		return hookErr(a, t.err)
	}
	return nil // answered (and possibly over already)
}

// MonitorTicket is the demo driver's side of one listen, whisper, barge or steal request
// handed to Config.OnMonitor (MonitorRequest.Ticket). The hook reports through it what
// became of the supervisor's call: Answered when the supervisor picks up, Failed when the
// phone could not be rung or was not answered, Ended when the supervisor's call is over;
// SwitchMode is a mode switch from the supervisor's phone (DTMF). Each report is applied
// to the simulated call at once, under the driver's lock, in the order the hook makes
// them, so the call never keeps a marker for a session that is gone, whatever the
// timing: a supervisor who hangs up the moment they answered, a call that ends while
// the phone rings, a steal the supervisor drops at once.
//
// A ticket is current while nothing else took the call over: the call ending, a
// transfer, StopMonitor, another request on the call or a request on another call (the
// supervisor has one session at a time) end it, and its reports then change nothing.
// Its methods are safe for concurrent use.
type MonitorTicket struct {
	d    *Driver
	c    *call // guarded by d.mu, like every field below
	kind monitor.ActionKind
	mode monitor.MonitorMode
	gen  uint32 // c.monGen while the request holds the call

	state ticketState
	err   error // why it failed
}

type ticketState uint8

const (
	ticketPending  ticketState = iota // the supervisor's phone rings
	ticketAnswered                    // the supervisor is connected
	ticketFailed                      // never connected
	ticketEnded                       // the supervisor's call is over
)

// Answered reports that the supervisor answered. For listen, whisper and barge the call
// shows the mode (EventMonitorStarted); for a steal the agent is cut off and the
// supervisor becomes the customer's party (EventStolen). It fails, changing nothing but
// the pending marker, if the request is no longer current (ErrCallGone when the call
// ended, ErrNotApplicable when it changed: then the supervisor's call must be hung up).
func (t *MonitorTicket) Answered() error {
	d := t.d
	d.mu.Lock()
	defer d.mu.Unlock()
	s := &d.sim
	c := t.c
	if t.state != ticketPending {
		return t.errorf(monitor.ErrNotApplicable, "the request was already settled")
	}
	if err := t.pendingErrLocked(); err != nil {
		t.state, t.err = ticketFailed, err
		return err
	}
	if t.kind == monitor.ActSteal {
		if !agentTalking(c) {
			s.stopMonitor(c)
			t.state, t.err = ticketFailed, t.errorf(monitor.ErrNotApplicable, "no agent is talking on this call any more")
			return t.err
		}
		ag := d.stealLocked(c)
		t.gen = c.monGen
		t.state = ticketAnswered
		d.log.Info("demo: call taken over by the supervisor", "call", c.id, "agent", ag)
		return nil
	}
	if why := monitorApplies(c, t.mode); why != "" {
		s.stopMonitor(c)
		t.state, t.err = ticketFailed, t.errorf(monitor.ErrNotApplicable, why)
		return t.err
	}
	c.mon = t.mode
	t.state = ticketAnswered
	s.emit(monitor.Event{Kind: monitor.EventMonitorStarted, CallID: c.id, At: s.at(s.now), Mode: t.mode, Supervisor: s.supervisor})
	d.log.Info("demo: monitoring started", "call", c.id, "mode", t.mode.String())
	return nil
}

// Failed reports that the supervisor was not connected (not reachable, declined, no
// answer, the ring given up): if the request still holds the call, its marker goes
// (EventMonitorStopped) and the call is as it was, with its agent. It does nothing once
// the request was answered, failed or ended.
func (t *MonitorTicket) Failed(err error) {
	t.d.mu.Lock()
	defer t.d.mu.Unlock()
	t.failLocked(err)
}

func (t *MonitorTicket) failLocked(err error) {
	if t.state != ticketPending {
		return
	}
	if err == nil {
		err = t.errorf(monitor.ErrRejected, "the supervisor's call failed")
	}
	t.state, t.err = ticketFailed, err
	if t.pendingErrLocked() == nil {
		t.d.sim.stopMonitor(t.c)
		t.d.log.Info("demo: the supervisor was not connected", "call", t.c.id, "action", t.kind.String(), "error", err)
	}
}

// Ended reports that the supervisor's call is over (the supervisor hung up, or the SIP
// side stopped). If the request still holds the call: a listen, whisper or barge
// session stops (EventMonitorStopped) and the call goes on; a call the supervisor stole
// ends (EventCallEnded), its only agent-side party gone; a request still ringing fails.
// Calling it again, or after Failed, does nothing.
func (t *MonitorTicket) Ended() {
	d := t.d
	d.mu.Lock()
	defer d.mu.Unlock()
	s := &d.sim
	c := t.c
	switch t.state {
	case ticketPending:
		t.failLocked(t.errorf(monitor.ErrRejected, "the supervisor's call ended before it was answered"))
	case ticketAnswered:
		t.state = ticketEnded
		if !t.liveLocked() {
			return
		}
		if t.kind == monitor.ActSteal {
			s.endCall(c, monitor.EndCompleted)
			d.log.Info("demo: the call ended with the supervisor's call (they had taken it over)", "call", c.id)
			return
		}
		s.stopMonitor(c)
		d.log.Info("demo: monitoring stopped: the supervisor's call ended", "call", c.id)
	}
}

// SwitchMode switches a connected listen, whisper or barge session to mode (a DTMF digit
// on the supervisor's phone), with EventMonitorStarted. It fails with ErrNotApplicable
// for a steal, for a mode that is not listen, whisper or barge, and once the session is
// over: a digit that arrives late never starts a new session.
func (t *MonitorTicket) SwitchMode(mode monitor.MonitorMode) error {
	switch mode {
	case monitor.MonitorListen, monitor.MonitorWhisper, monitor.MonitorBarge:
	default:
		return t.errorf(monitor.ErrNotApplicable, fmt.Sprintf("%s is not a monitoring mode", mode))
	}
	d := t.d
	d.mu.Lock()
	defer d.mu.Unlock()
	s := &d.sim
	c := t.c
	if t.kind == monitor.ActSteal {
		return t.errorf(monitor.ErrNotApplicable, "the supervisor took this call over")
	}
	if t.state != ticketAnswered || !t.liveLocked() {
		return t.errorf(monitor.ErrNotApplicable, "the monitoring session is over")
	}
	if c.mon != mode {
		c.mon = mode
		s.emit(monitor.Event{Kind: monitor.EventMonitorStarted, CallID: c.id, At: s.at(s.now), Mode: mode, Supervisor: s.supervisor})
	}
	return nil
}

// Live reports whether the request still holds the call, and its mode: MonitorPending
// while the phone rings, the current mode of a connected listen, whisper or barge
// (switched by SwitchMode or by Act from the window), MonitorNone for a call the
// supervisor stole and still has. False once it failed or ended, or something else
// took the call over.
func (t *MonitorTicket) Live() (monitor.MonitorMode, bool) {
	t.d.mu.Lock()
	defer t.d.mu.Unlock()
	switch t.state {
	case ticketPending:
		if t.pendingErrLocked() == nil {
			return monitor.MonitorPending, true
		}
	case ticketAnswered:
		if t.liveLocked() {
			if t.kind == monitor.ActSteal {
				return monitor.MonitorNone, true
			}
			return t.c.mon, true
		}
	}
	return monitor.MonitorNone, false
}

// pendingErrLocked says why a ringing request no longer holds its call, or nil.
func (t *MonitorTicket) pendingErrLocked() error {
	c := t.c
	switch {
	case c.ph == phEnded:
		return t.errorf(monitor.ErrCallGone, "the call ended while the supervisor's phone rang")
	case c.monGen != t.gen || c.mon != monitor.MonitorPending:
		return t.errorf(monitor.ErrNotApplicable, "the call changed while the supervisor's phone rang")
	}
	return nil
}

// liveLocked says whether an answered request still holds its call.
func (t *MonitorTicket) liveLocked() bool {
	c := t.c
	if c.ph == phEnded || c.monGen != t.gen {
		return false
	}
	if t.kind == monitor.ActSteal {
		// a transfer gives the call an agent again (and puts it in phTransfer)
		return c.stolen && c.agent == nil && c.ph == phTalking
	}
	switch c.mon {
	case monitor.MonitorListen, monitor.MonitorWhisper, monitor.MonitorBarge:
		return true
	}
	return false
}

func (t *MonitorTicket) errorf(typed error, detail string) error {
	return actionErr(monitor.Action{Kind: t.kind, CallID: t.c.id}, typed, detail)
}

// transferLocked moves an answered call to another agent; d.mu is held.
func (d *Driver) transferLocked(c *call, a monitor.Action) error {
	s := &d.sim
	target := s.byID[a.Agent]
	if target == nil {
		target = s.byName[a.Agent]
	}
	if target == nil {
		return actionErr(a, monitor.ErrAgentUnavailable, fmt.Sprintf("no agent %q", a.Agent))
	}
	if c.ph != phTalking {
		if c.ph == phTransfer {
			return actionErr(a, monitor.ErrNotApplicable, "the call is already being transferred")
		}
		return actionErr(a, monitor.ErrNotApplicable, "no agent answered this call yet")
	}
	if target.state != monitor.AgentAvailable {
		return actionErr(a, monitor.ErrAgentUnavailable, fmt.Sprintf("agent %s is %s", target.id, target.state))
	}
	s.stopMonitor(c)
	old := c.agent
	c.agent = target
	c.ph = phTransfer
	c.status = monitor.StatusCalling
	c.since = s.now
	c.transferred = true // it rings an agent; it is not waiting in the queue again
	c.lastAgent = target.name
	c.gen++
	target.state = monitor.AgentRinging
	target.call = c
	target.gen++
	s.channel++ // the new agent's leg
	s.emit(monitor.Event{Kind: monitor.EventAgentRinging, CallID: c.id, At: s.at(s.now), Agent: target.name})
	s.schedule(s.uniform(transferRingMin, transferRingMax), evTransferAnswer, c, nil, c.gen)
	if old != nil {
		// cut off mid-call: free at once (after the target is reserved, so that the
		// queues cannot hand the target another call)
		s.makeAvailable(old)
	}
	return nil
}

func (d *Driver) requestLocked(c *call, k monitor.ActionKind, mode monitor.MonitorMode) MonitorRequest {
	r := MonitorRequest{Kind: k, Mode: mode, Call: d.sim.view(c), Supervisor: d.sim.supervisor}
	if c.agent != nil {
		r.AgentID = c.agent.id
	}
	return r
}

var typedErrors = []error{monitor.ErrNotPermitted, monitor.ErrCallGone, monitor.ErrUnreachable, monitor.ErrAuth,
	monitor.ErrAgentUnavailable, monitor.ErrNotApplicable, monitor.ErrRejected}

// hookErr turns the OnMonitor hook's error into the action's error, keeping a typed
// cause the hook gave (for example ErrUnreachable when the softphone is not registered).
func hookErr(a monitor.Action, err error) error {
	for _, t := range typedErrors {
		if errors.Is(err, t) {
			return actionErr(a, t, err.Error())
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("demo: %s call %s: %w", a.Kind, a.CallID, err)
	}
	return actionErr(a, monitor.ErrRejected, err.Error())
}
