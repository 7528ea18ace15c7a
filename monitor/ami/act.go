package ami

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/earshot-app/earshot/monitor"
)

// callInfo is what an action needs to know about a call.
type callInfo struct {
	customer    *channel // the customer's leg, if up
	agent       *channel // the agent leg talking to the customer, if any
	legs        []*channel
	customerNum string
}

func (mp *mapper) info(id string) (callInfo, bool) {
	c := mp.calls[id]
	if c == nil || c.hidden {
		return callInfo{}, false
	}
	ci := callInfo{customer: c.customerLeg(), customerNum: c.customer}
	if c.talking != nil && c.talking.role == roleAgent {
		ci.agent = c.talking
	}
	if ci.agent == nil && c.dir == monitor.Outbound && c.origin != nil && c.origin.role == roleAgent && c.answered {
		ci.agent = c.origin
	}
	if ci.agent != nil && strings.HasPrefix(ci.agent.name, "Local/") {
		// queues that ring agents through Local channels (FreePBX): spy on and move the
		// agent's real channel, the one of the same extension that is up
		ext := extensionOf(ci.agent.device)
		for _, l := range c.legs {
			if l.up && !strings.HasPrefix(l.name, "Local/") && l != c.origin && extensionOf(l.device) == ext {
				ci.agent = l
				break
			}
		}
	}
	ci.legs = append(ci.legs, c.legs...)
	return ci, true
}

// session returns the live session, or (when Run is not running, as in the command
// line) a new one, logged in and synchronised; the caller must call release when done
// (it logs a temporary session off). Temporary sessions take turns: each resyncs the
// mapper, and two at once would interleave their lists and events.
func (d *Driver) session(ctx context.Context) (s *session, release func(), err error) {
	live := func() (*session, error, bool) {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.sess != nil {
			return d.sess, nil, true
		}
		if d.running {
			return nil, fmt.Errorf("the AMI connection is down: %w", monitor.ErrUnreachable), true
		}
		return nil, nil, false
	}
	if s, err, ok := live(); ok {
		return s, func() {}, err
	}
	select {
	case d.conn <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	unlock := func() { <-d.conn }
	if s, err, ok := live(); ok { // Run started meanwhile (and waits for the turn)
		unlock()
		return s, func() {}, err
	}
	s, err = d.dialAMI(ctx)
	if err != nil {
		unlock()
		return nil, nil, err
	}
	go s.readLoop()
	if err := d.resync(ctx, s, nil); err != nil {
		s.close(err)
		unlock()
		return nil, nil, err
	}
	return s, func() {
		s.logoff()
		unlock()
	}, nil
}

// Flush returns once every event the PBX sent before the call has been applied to the
// sink given to Run: it sends a Ping and waits for its reply, which Asterisk writes after
// everything it queued before. Useful after an action, to see its effect.
func (d *Driver) Flush(ctx context.Context) error {
	d.mu.Lock()
	s := d.sess
	d.mu.Unlock()
	if s == nil {
		return fmt.Errorf("flush: the AMI connection is down: %w", monitor.ErrUnreachable)
	}
	_, err := s.do(ctx, nil, newAction("Ping"))
	return err
}

// validToken reports whether s is safe as a dialplan extension or agent ID.
func validToken(s string) bool {
	if s == "" || len(s) > 80 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case strings.ContainsRune("+*#._-", r):
		default:
			return false
		}
	}
	return true
}

// callerIDText cleans a value for the inside of a quoted caller ID name.
func callerIDText(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '"', '<', '>', '\\', '\r', '\n':
			return -1
		}
		return r
	}, s)
}

// Act carries out a supervisor action; see monitor.Driver. Listen, whisper and barge
// originate a ChanSpy call to the supervisor's endpoint; steal redirects the customer's
// channel to the steal context; transfer moves the call to the chosen agent through the
// transfer context; hang-up hangs up the customer's channel, then every other leg of
// the call that Asterisk did not tear down itself within Config.HangupGrace.
func (d *Driver) Act(ctx context.Context, a monitor.Action) error {
	fail := func(typed error, detail string) error {
		return &monitor.ActionError{Action: a, Err: typed, Detail: detail}
	}
	if a.Kind < monitor.ActListen || a.Kind > monitor.ActHangup {
		return fail(monitor.ErrNotApplicable, "unknown action")
	}
	if a.CallID == "" {
		return fail(monitor.ErrCallGone, "no call ID")
	}
	s, release, err := d.session(ctx)
	if err != nil {
		return d.actionError(a, err)
	}
	defer release()
	d.mu.Lock()
	ci, ok := d.mp.info(a.CallID)
	d.mu.Unlock()
	if !ok {
		return fail(monitor.ErrCallGone, "the PBX has no call "+a.CallID)
	}
	var act *action
	p := &pending{id: d.nextID()}
	switch a.Kind {
	case monitor.ActListen, monitor.ActWhisper, monitor.ActBarge:
		act, err = d.spyAction(a, ci, p)
	case monitor.ActSteal:
		if ci.customer == nil {
			return fail(monitor.ErrNotApplicable, "the customer's channel is not known yet")
		}
		if !validToken(d.cfg.StealContext) || !validToken(d.cfg.StealExten) {
			return fail(monitor.ErrRejected, "the steal context and extension are not configured")
		}
		act = newAction("Redirect").add("Channel", ci.customer.name).add("Context", d.cfg.StealContext).
			add("Exten", d.cfg.StealExten).add("Priority", "1")
	case monitor.ActTransfer:
		act, err = d.transferAction(a, ci)
	case monitor.ActHangup:
		if err := d.hangupCall(ctx, s, ci); err != nil {
			return d.actionError(a, err)
		}
		d.log.Info("ami: action accepted", "action", a.Kind.String(), "call", a.CallID, "ami", "Hangup")
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := s.do(ctx, p, act); err != nil {
		if a.Kind.Monitoring() && a.Kind != monitor.ActSteal {
			d.mu.Lock()
			delete(d.mp.spies, p.id)
			d.mu.Unlock()
		}
		return d.actionError(a, err)
	}
	d.log.Info("ami: action accepted", "action", a.Kind.String(), "call", a.CallID, "ami", act.name)
	return nil
}

// hangupLegs returns the legs a hang-up ends: the customer's first, then every other
// leg of the call except ChanSpy legs (a supervisor listening is not part of the call).
func (ci callInfo) hangupLegs() []*channel {
	var out []*channel
	if ci.customer != nil {
		out = append(out, ci.customer)
	}
	for _, l := range ci.legs {
		if l != ci.customer && l.role != roleSpy {
			out = append(out, l)
		}
	}
	return out
}

// hangupCall hangs up the customer's leg, waits up to Config.HangupGrace for Asterisk to
// tear the other legs down (it does for a bridged agent and for agents a Dial rings),
// then hangs up every leg still there. "No such channel" is not an error for a leg (it
// ended meanwhile); it is ErrCallGone when no leg at all could be hung up.
func (d *Driver) hangupCall(ctx context.Context, s *session, ci callInfo) error {
	legs := ci.hangupLegs()
	if len(legs) == 0 {
		return fmt.Errorf("the call has no channel left: %w", monitor.ErrCallGone)
	}
	ended := 0
	hang := func(l *channel) error {
		_, err := s.do(ctx, nil, newAction("Hangup").add("Channel", l.name))
		switch {
		case err == nil:
			ended++
		case errors.Is(err, monitor.ErrCallGone):
			d.log.Debug("ami: leg already gone", "channel", l.name)
		default:
			return err
		}
		return nil
	}
	if err := hang(legs[0]); err != nil {
		return err
	}
	rest := legs[1:]
	up := func() []*channel {
		d.mu.Lock()
		defer d.mu.Unlock()
		var out []*channel
		for _, l := range rest {
			if d.mp.chans[l.uid] != nil { // a resync meanwhile replaces the struct, not the Uniqueid
				out = append(out, l)
			}
		}
		return out
	}
	deadline := time.Now().Add(d.cfg.HangupGrace)
	for len(up()) > 0 && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	for _, l := range up() {
		if err := hang(l); err != nil {
			return err
		}
	}
	if ended == 0 {
		return fmt.Errorf("no leg of the call was left to hang up: %w", monitor.ErrCallGone)
	}
	return nil
}

func (d *Driver) spyAction(a monitor.Action, ci callInfo, p *pending) (*action, error) {
	if ci.agent == nil {
		return nil, &monitor.ActionError{Action: a, Err: monitor.ErrNotApplicable, Detail: "no agent is talking on the call"}
	}
	if d.cfg.SupervisorEndpoint == "" {
		return nil, &monitor.ActionError{Action: a, Err: monitor.ErrRejected, Detail: "no supervisor endpoint configured"}
	}
	opts, mode, verb := "qEu", monitor.MonitorListen, "Listen"
	switch a.Kind {
	case monitor.ActWhisper:
		opts, mode, verb = opts+"w", monitor.MonitorWhisper, "Whisper"
	case monitor.ActBarge:
		opts, mode, verb = opts+"B", monitor.MonitorBarge, "Barge"
	}
	opts += "d"
	agentExt := extensionOf(ci.agent.device)
	name := callerIDText(fmt.Sprintf("%s: %s ↔ %s", verb, agentExt, ci.customerNum))
	act := newAction("Originate").
		add("Channel", d.cfg.SupervisorEndpoint).
		add("Application", "ChanSpy").
		add("Data", ci.agent.name+","+opts).
		add("CallerID", fmt.Sprintf("%q <%s>", name, callerIDText(agentExt))).
		add("Timeout", strconv.FormatInt(d.cfg.RingTimeout.Milliseconds(), 10))
	if strings.HasPrefix(strings.ToUpper(d.cfg.SupervisorEndpoint), "PJSIP/") {
		act.add("Variable", "PJSIP_HEADER(add,Call-Info)=<sip:"+d.cfg.Host+">;answer-after=0")
	}
	act.add("Async", "true")
	s := &spySession{actionID: p.id, callID: a.CallID, targetChan: ci.agent.name, targetUID: ci.agent.uid,
		mode: mode, dtmf: true, supervisor: d.cfg.SupervisorName, device: d.cfg.SupervisorEndpoint}
	d.mu.Lock()
	d.mp.spies[p.id] = s
	d.mu.Unlock()
	p.onResp = func(m *Message) {
		if string(m.Get("Response")) == "Success" {
			d.mp.originateAccepted(s, d.cfg.Now())
		}
	}
	return act, nil
}

func (d *Driver) transferAction(a monitor.Action, ci callInfo) (*action, error) {
	fail := func(typed error, detail string) error {
		return &monitor.ActionError{Action: a, Err: typed, Detail: detail}
	}
	if !validToken(a.Agent) {
		return nil, fail(monitor.ErrAgentUnavailable, fmt.Sprintf("%q is not an agent extension", a.Agent))
	}
	if !validToken(d.cfg.TransferContext) {
		return nil, fail(monitor.ErrRejected, "the transfer context is not configured")
	}
	if ci.agent != nil && extensionOf(ci.agent.device) == a.Agent {
		return nil, fail(monitor.ErrNotApplicable, "agent "+a.Agent+" already has the call")
	}
	d.mu.Lock()
	var target *member
	for _, mb := range d.mp.members {
		if extensionOf(mb.iface) == a.Agent {
			target = mb
			break
		}
	}
	anyMembers := len(d.mp.members) > 0
	d.mu.Unlock()
	if target == nil && anyMembers {
		return nil, fail(monitor.ErrAgentUnavailable, "no queue has agent "+a.Agent)
	}
	if target != nil {
		switch st := memberState(target); st {
		case monitor.AgentBusy, monitor.AgentUnavailable, monitor.AgentRinging:
			return nil, fail(monitor.ErrAgentUnavailable, "agent "+a.Agent+" is "+strings.ToLower(st.String()))
		}
	}
	if d.cfg.TransferMethod == TransferBlind && ci.agent != nil {
		return newAction("BlindTransfer").add("Channel", ci.agent.name).
			add("Context", d.cfg.TransferContext).add("Exten", a.Agent), nil
	}
	if ci.customer == nil {
		return nil, fail(monitor.ErrNotApplicable, "the customer's channel is not known yet")
	}
	return newAction("Redirect").add("Channel", ci.customer.name).add("Context", d.cfg.TransferContext).
		add("Exten", a.Agent).add("Priority", "1"), nil
}

// actionError wraps err as the monitor.ActionError the UI explains.
func (d *Driver) actionError(a monitor.Action, err error) error {
	var ae *monitor.ActionError
	if errors.As(err, &ae) {
		return err
	}
	typed := monitor.ErrRejected
	for _, t := range []error{monitor.ErrCallGone, monitor.ErrNotPermitted, monitor.ErrUnreachable, monitor.ErrAuth, monitor.ErrAgentUnavailable, monitor.ErrNotApplicable} {
		if errors.Is(err, t) {
			typed = t
			break
		}
	}
	if typed == monitor.ErrNotPermitted {
		d.mu.Lock()
		d.denied[a.Kind] = true
		d.mu.Unlock()
	}
	detail := err.Error()
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		typed, detail = monitor.ErrUnreachable, "no reply from the PBX in time: "+err.Error()
	}
	return &monitor.ActionError{Action: a, Err: typed, Detail: detail}
}

// Permissions reports the actions the AMI account may perform: all of them until the PBX
// refused one with "Permission denied".
func (d *Driver) Permissions() monitor.Permissions {
	d.mu.Lock()
	defer d.mu.Unlock()
	p := monitor.AllPermissions
	if d.denied[monitor.ActListen] || d.denied[monitor.ActWhisper] || d.denied[monitor.ActBarge] {
		p.Monitor = false
	}
	p.Steal = !d.denied[monitor.ActSteal]
	p.Transfer = !d.denied[monitor.ActTransfer]
	p.Hangup = !d.denied[monitor.ActHangup]
	return p
}

func memberState(mb *member) monitor.AgentState {
	if mb.paused {
		return monitor.AgentPaused
	}
	// Asterisk device states (AST_DEVICE_*)
	switch mb.status {
	case 1:
		if mb.inCall {
			return monitor.AgentBusy
		}
		return monitor.AgentAvailable
	case 2, 3, 7, 8:
		return monitor.AgentBusy
	case 6:
		return monitor.AgentRinging
	case 4, 5:
		return monitor.AgentUnavailable
	}
	return monitor.AgentUnknown
}

// Agents lists the queue members with their availability, from QueueStatus and the
// QueueMemberStatus events since.
func (d *Driver) Agents(ctx context.Context) ([]monitor.Agent, error) {
	d.mu.Lock()
	seen := d.mp.membersSeen
	d.mu.Unlock()
	if !seen {
		_, release, err := d.session(ctx)
		if err != nil {
			return nil, fmt.Errorf("list agents: %w", err)
		}
		release()
	}
	d.mu.Lock()
	out := make([]monitor.Agent, 0, len(d.mp.members))
	for _, mb := range d.mp.members {
		ag := monitor.Agent{ID: extensionOf(mb.iface), Name: mb.name, Queues: append([]string(nil), mb.queues...), State: memberState(mb)}
		sort.Strings(ag.Queues)
		out = append(out, ag)
	}
	d.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
