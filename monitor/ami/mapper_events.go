package ami

import (
	"strconv"
	"strings"
	"time"

	"github.com/earshot-app/earshot/monitor"
)

func (mp *mapper) removeRinging(c *call, ch *channel) bool {
	for i, r := range c.ringing {
		if r == ch {
			c.ringing = append(c.ringing[:i], c.ringing[i+1:]...)
			return true
		}
	}
	return false
}

func (mp *mapper) addRinging(c *call, ch *channel) {
	mp.removeRinging(c, ch)
	c.ringing = append(c.ringing, ch)
}

func (mp *mapper) agentRinging(c *call, ch *channel, agent string, at time.Time) {
	mp.addRinging(c, ch)
	c.lastAgent = agent
	mp.emit(monitor.Event{Kind: monitor.EventAgentRinging, CallID: c.id, At: at, Agent: agent})
}

// callOf returns the visible, started call of a leg.
func (mp *mapper) callOf(ch *channel) *call {
	if ch == nil {
		return nil
	}
	c := mp.calls[ch.linked]
	if c == nil || c.hidden {
		return nil
	}
	return c
}

func (mp *mapper) hangup(m *Message, at time.Time) {
	ch, _ := mp.lookup(m, "")
	if ch == nil {
		if !m.Has("Uniqueid") {
			mp.malformed(m, "no Uniqueid")
		}
		return
	}
	delete(mp.chans, ch.uid)
	if ch.spy != nil {
		s := ch.spy
		delete(mp.spyUID, ch.uid)
		delete(mp.spies, s.actionID)
		mp.stopMonitor(s.callID, at)
	}
	c := mp.calls[ch.linked]
	if c == nil {
		return
	}
	for i, l := range c.legs {
		if l == ch {
			c.legs = append(c.legs[:i], c.legs[i+1:]...)
			break
		}
	}
	if c.hidden {
		if len(c.legs) == 0 {
			delete(mp.calls, c.id)
		}
		return
	}
	mp.removeRinging(c, ch)
	if c.talking == ch {
		c.talking = nil
	}
	if c.stealLeg == ch {
		c.stealLeg = nil
		if !c.stolen {
			mp.stopMonitor(c.id, at)
		}
	}
	if ch == c.customerLeg() || len(c.legs) == 0 {
		mp.endCall(c, at)
	}
}

func (mp *mapper) endCall(c *call, at time.Time) {
	delete(mp.calls, c.id)
	if !c.started {
		return
	}
	reason := monitor.EndCompleted
	if c.abandoned || (c.dir == monitor.Inbound && !c.answered && !c.stolen) {
		reason = monitor.EndAbandoned
	}
	mp.emit(monitor.Event{Kind: monitor.EventCallEnded, CallID: c.id, At: at, Reason: reason})
}

func (mp *mapper) stopMonitor(callID string, at time.Time) {
	c := mp.calls[callID]
	if c == nil || !c.monitored {
		return
	}
	c.monitored = false
	mp.emit(monitor.Event{Kind: monitor.EventMonitorStopped, CallID: callID, At: at})
}

func (mp *mapper) startMonitor(c *call, mode monitor.MonitorMode, supervisor string, at time.Time) {
	c.monitored = true
	mp.emit(monitor.Event{Kind: monitor.EventMonitorStarted, CallID: c.id, At: at, Mode: mode, Supervisor: supervisor})
}

func (mp *mapper) dialBegin(m *Message, at time.Time) {
	src, srcChanged := mp.lookup(m, "")
	dst, dstChanged := mp.lookup(m, "Dest")
	if dst == nil {
		if src != nil {
			mp.touched(src, srcChanged, at)
		}
		return
	}
	if ds := m.Get("DialString"); len(ds) > 0 {
		setStr(&dst.dialString, ds)
	}
	c := mp.callOf(dst)
	if c == nil {
		return
	}
	if src == nil || src.linked != dst.linked {
		// an Originate dialling its first leg: nothing for the grid yet
		if srcChanged || dstChanged {
			mp.refresh(c, at)
		}
		return
	}
	dir := mp.direction(c)
	switch {
	case dst.role == roleSupervisor && src == c.customerLeg():
		// steal: the customer's channel now dials the supervisor
		c.stealLeg = dst
		mp.refresh(c, at)
		mp.startMonitor(c, monitor.MonitorPending, mp.supervisorName(dst), at)
	case dir == monitor.Outbound && src == c.origin && dst.role != roleAgent:
		if c.custLeg == nil {
			c.custLeg = dst
		}
		mp.refresh(c, at)
		if dst == c.custLeg && !c.answered {
			agent := mp.agentName(c.origin)
			c.lastAgent = agent
			mp.emit(monitor.Event{Kind: monitor.EventCustomerRinging, CallID: c.id, At: at, Agent: agent})
		}
	case dir != monitor.Outbound && src == c.origin && dst.role == roleAgent && !dst.queueCalled:
		// a transfer (Redirect/BlindTransfer) or a plain Dial to an agent
		mp.refresh(c, at)
		mp.agentRinging(c, dst, mp.agentName(dst), at)
	default:
		if srcChanged || dstChanged {
			mp.refresh(c, at)
		}
	}
}

func (mp *mapper) dialEnd(m *Message, at time.Time) {
	src, _ := mp.lookup(m, "")
	dst, _ := mp.lookup(m, "Dest")
	c := mp.callOf(dst)
	if c == nil || src == nil || src.linked != dst.linked {
		return
	}
	status := m.Get("DialStatus")
	wasRinging := mp.removeRinging(c, dst)
	if string(status) == "ANSWER" {
		switch {
		case dst == c.stealLeg:
			c.stolen, c.answered = true, true
			if c.answeredAt.IsZero() {
				c.answeredAt = at
			}
			c.talking = dst
			c.lastAgent = mp.supervisorName(dst)
			c.monitored = false
			mp.emit(monitor.Event{Kind: monitor.EventStolen, CallID: c.id, At: at, Supervisor: c.lastAgent})
		case dst.queueCalled:
			// AgentConnect follows with the queue's view of the answer
		case c.dir == monitor.Outbound && dst == c.custLeg:
			c.answered = true
			c.answeredAt, c.answerLeg = at, dst.uid
			mp.emit(monitor.Event{Kind: monitor.EventAnswered, CallID: c.id, At: at, Agent: c.lastAgent})
		case c.dir != monitor.Outbound && src == c.origin && dst.role == roleAgent:
			c.answered = true
			c.answeredAt, c.answerLeg = at, dst.uid
			c.talking = dst
			c.ringing = c.ringing[:0]
			c.lastAgent = mp.agentName(dst)
			mp.emit(monitor.Event{Kind: monitor.EventAnswered, CallID: c.id, At: at, Agent: c.lastAgent})
		}
		return
	}
	// NOANSWER, BUSY, CANCEL, CONGESTION, CHANUNAVAIL, ...
	if dst == c.stealLeg {
		c.stealLeg = nil
		mp.stopMonitor(c.id, at)
		return
	}
	if wasRinging && !dst.queueCalled && dst.role == roleAgent {
		mp.agentGaveUp(c, dst, mp.agentName(dst), at)
	}
}

// agentGaveUp reports an agent's phone that stopped ringing; if the call still rings
// other agents, the last agent becomes one of those.
func (mp *mapper) agentGaveUp(c *call, ch *channel, agent string, at time.Time) {
	mp.emit(monitor.Event{Kind: monitor.EventAgentNoAnswer, CallID: c.id, At: at, Agent: agent})
	if c.answered && !c.stolen && c.talking != nil {
		return
	}
	if n := len(c.ringing); n > 0 && agent == c.lastAgent {
		other := c.ringing[n-1]
		name := other.memberName
		if name == "" {
			name = mp.agentName(other)
		}
		if name != agent {
			c.lastAgent = name
			mp.emit(monitor.Event{Kind: monitor.EventAgentRinging, CallID: c.id, At: at, Agent: name})
		}
	}
}

func (mp *mapper) agentCalled(m *Message, at time.Time) {
	src, _ := mp.lookup(m, "")
	dst, _ := mp.lookup(m, "Dest")
	agent := string(m.Get("MemberName"))
	iface := string(m.Get("Interface"))
	if iface != "" {
		mp.learnMember(iface, agent, string(m.Get("Queue")))
	}
	var c *call
	switch {
	case dst != nil:
		c = mp.callOf(dst)
		dst.queueCalled = true
		dst.memberName = agent
		if dst.role != roleAgent {
			dst.role = roleAgent
		}
	case src != nil:
		c = mp.callOf(src)
	}
	if c == nil {
		return
	}
	if agent == "" && dst != nil {
		agent = mp.agentName(dst)
	}
	if dst != nil {
		mp.agentRinging(c, dst, agent, at)
		return
	}
	c.lastAgent = agent
	mp.emit(monitor.Event{Kind: monitor.EventAgentRinging, CallID: c.id, At: at, Agent: agent})
}

func (mp *mapper) agentNoAnswer(m *Message, at time.Time) {
	dst, _ := mp.lookup(m, "Dest")
	src, _ := mp.lookup(m, "")
	agent := string(m.Get("MemberName"))
	c := mp.callOf(dst)
	if c == nil {
		c = mp.callOf(src)
	}
	if c == nil {
		return
	}
	if dst != nil {
		mp.removeRinging(c, dst)
	}
	mp.agentGaveUp(c, dst, agent, at)
}

func (mp *mapper) agentConnect(m *Message, at time.Time) {
	src, _ := mp.lookup(m, "")
	dst, _ := mp.lookup(m, "Dest")
	c := mp.callOf(src)
	if c == nil {
		c = mp.callOf(dst)
	}
	if c == nil {
		return
	}
	if q := m.Get("Queue"); len(q) > 0 && c.queue == "" {
		c.queue = string(q)
	}
	agent := string(m.Get("MemberName"))
	if dst != nil {
		if agent == "" {
			agent = mp.agentName(dst)
		}
		c.talking = dst
		dst.memberName = agent
	}
	c.answered = true
	c.answeredAt, c.answerLeg = at, ""
	if dst != nil {
		c.answerLeg = dst.uid
	}
	c.ringing = c.ringing[:0]
	c.lastAgent = agent
	mp.emit(monitor.Event{Kind: monitor.EventAnswered, CallID: c.id, At: at, Agent: agent})
}

func (mp *mapper) queueJoin(m *Message, at time.Time) {
	ch, _ := mp.lookup(m, "")
	c := mp.callOf(ch)
	if c == nil {
		return
	}
	q := m.Get("Queue")
	if len(q) == 0 {
		return
	}
	c.queue = string(q)
	mp.refresh(c, at)
	mp.emit(monitor.Event{Kind: monitor.EventQueueJoined, CallID: c.id, At: at, Queue: c.queue})
}

// varSet covers PBXs without channelvars in manager.conf: the dialplan's Set() of a
// configured variable still arrives as VarSet ("__HOTLINE" keeps its prefix).
// ts is the event's Timestamp on the PBX's clock, mapped only if a call changes.
func (mp *mapper) varSet(m *Message, ts time.Time) {
	ch, changed := mp.lookup(m, "")
	if ch == nil {
		return
	}
	name := strings.TrimLeft(string(m.Get("Variable")), "_")
	for i, v := range mp.cfg.vars {
		if v != "" && name == v {
			changed = setStr(&ch.vars[i], m.Get("Value")) || changed
		}
	}
	if changed {
		mp.touched(ch, true, mp.clock.local(ts))
	}
}

func (mp *mapper) chanSpyStart(m *Message, at time.Time) {
	spyerUID := string(m.Get("SpyerUniqueid"))
	target := string(m.Get("SpyeeLinkedid"))
	if spyerUID == "" || target == "" {
		mp.malformed(m, "no SpyerUniqueid or SpyeeLinkedid")
		return
	}
	spyer := mp.chans[spyerUID]
	s := mp.spyUID[spyerUID]
	if s == nil {
		// not bound yet (OriginateResponse may come later): match by target
		spyeeChan, spyeeUID := string(m.Get("SpyeeChannel")), string(m.Get("SpyeeUniqueid"))
		for _, p := range mp.spies {
			if p.uid == "" && (p.targetChan == spyeeChan || p.targetUID == spyeeUID || p.targetChan == spyeeUID) {
				s = p
				break
			}
		}
	}
	if s == nil {
		// a monitoring session Earshot did not start (a feature code, another tool)
		s = &spySession{callID: target, mode: monitor.MonitorListen}
		if spyer != nil {
			s.device = spyer.device
		}
		if n := m.Get("SpyerCallerIDName"); known(n) {
			s.supervisor = string(n)
		} else {
			s.supervisor = extensionOf(deviceOf(string(m.Get("SpyerChannel"))))
		}
	}
	s.uid = spyerUID
	s.started = true
	if target != "" {
		s.callID = target
	}
	if spyerUID != "" {
		mp.spyUID[spyerUID] = s
	}
	if spyer != nil {
		spyer.spy = s
		spyer.role = roleSpy
		if sc := mp.calls[spyer.linked]; sc != nil && sc.id != s.callID && !sc.hidden {
			// the spyer's own call was shown before we knew what it is: take it off
			sc.hidden = true
			if sc.started {
				mp.emit(monitor.Event{Kind: monitor.EventCallEnded, CallID: sc.id, At: at})
			}
		}
	}
	if c := mp.calls[s.callID]; c != nil && !c.hidden {
		mp.startMonitor(c, s.mode, s.supervisor, at)
	}
}

func (mp *mapper) chanSpyStop(m *Message, at time.Time) {
	spyerUID := string(m.Get("SpyerUniqueid"))
	target := string(m.Get("SpyeeLinkedid"))
	if s := mp.spyUID[spyerUID]; s != nil {
		s.started = false
		if target == "" {
			target = s.callID
		}
	}
	mp.stopMonitor(target, at)
}

func (mp *mapper) originateResponse(m *Message, at time.Time) {
	aid := string(m.Get("ActionID"))
	s := mp.spies[aid]
	if s == nil {
		return
	}
	if string(m.Get("Response")) != "Success" {
		// the supervisor's phone did not answer (or could not be reached)
		delete(mp.spies, aid)
		if s.uid != "" {
			delete(mp.spyUID, s.uid)
		}
		mp.stopMonitor(s.callID, at)
		return
	}
	if uid := string(m.Get("Uniqueid")); uid != "" && s.uid == "" {
		s.uid = uid
		mp.spyUID[uid] = s
		if ch := mp.chans[uid]; ch != nil {
			ch.spy = s
			ch.role = roleSpy
		}
	}
}

// originateAccepted is called when the PBX accepted a monitoring Originate: the
// supervisor's phone is about to ring.
func (mp *mapper) originateAccepted(s *spySession, at time.Time) {
	if c := mp.calls[s.callID]; c != nil && !c.hidden && !s.started {
		mp.startMonitor(c, monitor.MonitorPending, s.supervisor, at)
	}
}

func (mp *mapper) dtmf(m *Message, at time.Time) {
	s := mp.spyUID[string(m.Get("Uniqueid"))]
	if s == nil || !s.dtmf || string(m.Get("Direction")) != "Received" {
		return
	}
	var mode monitor.MonitorMode
	switch string(m.Get("Digit")) {
	case "4":
		mode = monitor.MonitorListen
	case "5":
		mode = monitor.MonitorWhisper
	case "6":
		mode = monitor.MonitorBarge
	default:
		return
	}
	s.mode = mode
	if c := mp.calls[s.callID]; c != nil && !c.hidden && s.started {
		mp.startMonitor(c, mode, s.supervisor, at)
	}
}

func (mp *mapper) learnMember(iface, name, queue string) *member {
	mb := mp.members[iface]
	if mb == nil {
		mb = &member{iface: iface}
		mp.members[iface] = mb
		mp.extDirty = true
	}
	if name != "" {
		mb.name = name
	}
	if queue != "" {
		found := false
		for _, q := range mb.queues {
			if q == queue {
				found = true
				break
			}
		}
		if !found {
			mb.queues = append(mb.queues, queue)
		}
	}
	return mb
}

func (mp *mapper) memberStatus(m *Message) {
	iface := string(m.Get("Interface"))
	if iface == "" {
		return
	}
	mb := mp.learnMember(iface, string(m.Get("MemberName")), string(m.Get("Queue")))
	if v, err := strconv.Atoi(string(m.Get("Status"))); err == nil {
		mb.status = v
	}
	mb.paused = string(m.Get("Paused")) == "1"
	mb.inCall = string(m.Get("InCall")) == "1"
}

func (mp *mapper) memberRemoved(m *Message) {
	iface := string(m.Get("Interface"))
	mb := mp.members[iface]
	if mb == nil {
		return
	}
	q := string(m.Get("Queue"))
	for i, x := range mb.queues {
		if x == q {
			mb.queues = append(mb.queues[:i], mb.queues[i+1:]...)
			break
		}
	}
	if len(mb.queues) == 0 {
		delete(mp.members, iface)
		mp.extDirty = true
	}
}

// malformed logs an event that lacks what its kind needs; it is skipped.
func (mp *mapper) malformed(m *Message, why string) {
	mp.cfg.log.Debug("ami: malformed event skipped", "event", m.Value("Event"), "why", why)
}
