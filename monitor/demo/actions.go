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
	hook := d.hook
	if hook == nil {
		c.mon = mode
		c.monGen++
		s.emit(monitor.Event{Kind: monitor.EventMonitorStarted, CallID: c.id, At: s.at(s.now), Mode: mode, Supervisor: s.supervisor})
		d.mu.Unlock()
		d.log.Info("demo: monitoring started", "call", c.id, "mode", mode.String())
		return nil
	}
	c.mon = monitor.MonitorPending
	c.monGen++
	token := c.monGen
	s.emit(monitor.Event{Kind: monitor.EventMonitorStarted, CallID: c.id, At: s.at(s.now), Mode: monitor.MonitorPending, Supervisor: s.supervisor})
	req := d.requestLocked(c, a.Kind, mode)
	d.mu.Unlock()

	herr := hook(ctx, req)

	d.mu.Lock()
	defer d.mu.Unlock()
	if c.ph == phEnded {
		return actionErr(a, monitor.ErrCallGone, "the call ended while the supervisor's phone rang")
	}
	if c.monGen != token {
		return actionErr(a, monitor.ErrNotApplicable, "the call changed while the supervisor's phone rang")
	}
	if herr != nil {
		s.stopMonitor(c)
		return hookErr(a, herr)
	}
	if why := monitorApplies(c, mode); why != "" {
		s.stopMonitor(c)
		return actionErr(a, monitor.ErrNotApplicable, why)
	}
	c.mon = mode
	s.emit(monitor.Event{Kind: monitor.EventMonitorStarted, CallID: c.id, At: s.at(s.now), Mode: mode, Supervisor: s.supervisor})
	d.log.Info("demo: monitoring started", "call", c.id, "mode", mode.String())
	return nil
}

// steal runs the steal action; entered with d.mu held, returns with it released.
func (d *Driver) steal(ctx context.Context, c *call, a monitor.Action) error {
	s := &d.sim
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
		prev := c.mon
		c.mon = monitor.MonitorPending
		c.monGen++
		token := c.monGen
		s.emit(monitor.Event{Kind: monitor.EventMonitorStarted, CallID: c.id, At: s.at(s.now), Mode: monitor.MonitorPending, Supervisor: s.supervisor})
		req := d.requestLocked(c, a.Kind, monitor.MonitorNone)
		d.mu.Unlock()

		herr := hook(ctx, req)

		d.mu.Lock()
		if c.ph == phEnded {
			d.mu.Unlock()
			return actionErr(a, monitor.ErrCallGone, "the call ended while the supervisor's phone rang")
		}
		if c.monGen != token {
			d.mu.Unlock()
			return actionErr(a, monitor.ErrNotApplicable, "the call changed while the supervisor's phone rang")
		}
		if herr != nil || !agentTalking(c) {
			// leave the call as it was
			if prev == monitor.MonitorNone {
				s.stopMonitor(c)
			} else {
				c.mon = prev
				s.emit(monitor.Event{Kind: monitor.EventMonitorStarted, CallID: c.id, At: s.at(s.now), Mode: prev, Supervisor: s.supervisor})
			}
			d.mu.Unlock()
			if herr != nil {
				return hookErr(a, herr)
			}
			return actionErr(a, monitor.ErrNotApplicable, "no agent is talking on this call")
		}
	}
	s.stopMonitor(c)
	ag := c.agent
	c.agent = nil
	c.stolen = true
	c.lastAgent = s.supervisor
	s.emit(monitor.Event{Kind: monitor.EventStolen, CallID: c.id, At: s.at(s.now), Supervisor: s.supervisor})
	s.makeAvailable(ag) // cut off mid-call: free at once
	d.mu.Unlock()
	d.log.Info("demo: call taken over by the supervisor", "call", c.id, "agent", ag.id)
	return nil
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
