package ami

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/earshot-app/earshot/monitor"
)

// syncCollector gathers one resync's list replies (QueueStatus, CoreShowChannels). Each
// resync has its own, so replies of two sessions can never mix.
type syncCollector struct {
	members map[string]*member
	entries map[string]queueEntry
	items   []*channel
	// at is when the lists arrived (the first item): ages and waits count back from it
	at time.Time
}

// time returns the collector's reference time, taking it at the first item.
func (sc *syncCollector) time(now func() time.Time) time.Time {
	if sc.at.IsZero() {
		sc.at = now()
	}
	return sc.at
}

func newSyncCollector() *syncCollector {
	return &syncCollector{members: make(map[string]*member), entries: make(map[string]queueEntry)}
}

// queueStatusItem takes one item of a QueueStatus reply.
func (mp *mapper) queueStatusItem(sc *syncCollector, m *Message) {
	switch string(m.Event()) {
	case "QueueMember":
		iface := string(m.Get("Location"))
		if iface == "" {
			iface = string(m.Get("Interface"))
		}
		if iface == "" {
			return
		}
		mb := sc.members[iface]
		if mb == nil {
			mb = &member{iface: iface}
			sc.members[iface] = mb
		}
		name := m.Get("Name")
		if len(name) == 0 {
			name = m.Get("MemberName")
		}
		mb.name = string(name)
		if q := string(m.Get("Queue")); q != "" {
			mb.queues = append(mb.queues, q)
		}
		if v, err := strconv.Atoi(string(m.Get("Status"))); err == nil {
			mb.status = v
		}
		mb.paused = string(m.Get("Paused")) == "1"
		mb.inCall = string(m.Get("InCall")) == "1"
	case "QueueEntry":
		sc.time(mp.cfg.now)
		uid := string(m.Get("Uniqueid"))
		if uid == "" {
			return
		}
		wait, _ := strconv.Atoi(string(m.Get("Wait")))
		sc.entries[uid] = queueEntry{queue: string(m.Get("Queue")), wait: time.Duration(wait) * time.Second}
	}
}

// queueStatusComplete installs the members of a complete QueueStatus reply.
func (mp *mapper) queueStatusComplete(sc *syncCollector) {
	mp.members = sc.members
	mp.extDirty = true
	mp.membersSeen = true
}

// parseDuration parses CoreShowChannel's "HH:MM:SS" (or Status's plain seconds).
func parseDuration(b []byte) time.Duration {
	s := string(b)
	if s == "" {
		return 0
	}
	parts := strings.Split(s, ":")
	var total int
	for _, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return 0
		}
		total = total*60 + n
	}
	return time.Duration(total) * time.Second
}

// channelItem takes one CoreShowChannel item.
func (mp *mapper) channelItem(sc *syncCollector, m *Message) {
	uid := string(m.Get("Uniqueid"))
	linked := string(m.Get("Linkedid"))
	name := string(m.Get("Channel"))
	if uid == "" || linked == "" || name == "" {
		return
	}
	ch := &channel{uid: uid, linked: linked, name: name, device: deviceOf(name)}
	if old := mp.chans[uid]; old != nil {
		// keep what the list cannot say again
		ch.exten, ch.created, ch.queueCalled, ch.memberName, ch.dialString = old.exten, old.created, old.queueCalled, old.memberName, old.dialString
		ch.ownNum, ch.ownName = old.ownNum, old.ownName
		ch.vars = old.vars
		ch.spy = old.spy
	} else {
		ch.exten = string(m.Get("Exten"))
	}
	mp.snapshot(m, "", ch)
	ch.bridged = len(m.Get("BridgeId")) > 0 || len(m.Get("BridgeID")) > 0
	ch.app = string(m.Get("Application"))
	ch.appData = string(m.Get("ApplicationData"))
	if ch.appData == "" {
		ch.appData = string(m.Get("Data"))
	}
	age := parseDuration(m.Get("Duration"))
	if age == 0 {
		if s, err := strconv.Atoi(string(m.Get("Seconds"))); err == nil {
			age = time.Duration(s) * time.Second
		}
	}
	if ch.created.IsZero() {
		ch.created = sc.time(mp.cfg.now).Add(-age)
	}
	sc.items = append(sc.items, ch)
}

// uidLess orders Uniqueids ("1795669117.52") by creation.
func uidLess(a, b string) bool {
	as, aseq, _ := strings.Cut(a, ".")
	bs, bseq, _ := strings.Cut(b, ".")
	if as != bs {
		if len(as) != len(bs) {
			return len(as) < len(bs)
		}
		return as < bs
	}
	if len(aseq) != len(bseq) {
		return len(aseq) < len(bseq)
	}
	return aseq < bseq
}

// channelsComplete replaces the mapper's channels and calls with the PBX's list and
// emits the EventSync that makes the board equal to it.
func (mp *mapper) channelsComplete(sc *syncCollector) {
	now := sc.time(mp.cfg.now)
	items := sc.items
	sc.items = nil
	sort.SliceStable(items, func(i, j int) bool { return uidLess(items[i].uid, items[j].uid) })

	oldCalls := mp.calls
	oldSpies := mp.spyUID
	mp.chans = make(map[string]*channel, len(items))
	mp.calls = make(map[string]*call)
	mp.spyUID = make(map[string]*spySession)
	mp.spies = make(map[string]*spySession)
	byName := make(map[string]*channel, len(items))
	var order []*call
	for _, ch := range items {
		mp.chans[ch.uid] = ch
		byName[ch.name] = ch
		c := mp.calls[ch.linked]
		if c == nil {
			c = &call{id: ch.linked}
			if old := oldCalls[ch.linked]; old != nil {
				c.queue, c.answered, c.abandoned, c.stolen = old.queue, old.answered, old.abandoned, old.stolen
				c.lastAgent = old.lastAgent
				c.answeredAt, c.answerLeg = old.answeredAt, old.answerLeg
			}
			mp.calls[c.id] = c
			order = append(order, c)
		}
		c.legs = append(c.legs, ch)
		if ch.uid == ch.linked {
			c.origin = ch
		}
	}
	// monitoring sessions in progress: ChanSpy legs
	monitoredNow := make(map[string]*spySession)
	for _, ch := range items {
		if !strings.EqualFold(ch.app, "ChanSpy") {
			continue
		}
		ch.role = roleSpy
		if c := mp.calls[ch.linked]; c != nil && (c.origin == ch || c.origin == nil) {
			c.hidden = true
		}
		s := oldSpies[ch.uid]
		target, opts, _ := strings.Cut(ch.appData, ",")
		if s == nil {
			s = &spySession{mode: monitor.MonitorListen, device: ch.device, supervisor: mp.supervisorName(ch)}
			switch {
			case strings.Contains(opts, "B"):
				s.mode = monitor.MonitorBarge
			case strings.Contains(opts, "w"):
				s.mode = monitor.MonitorWhisper
			}
			s.dtmf = strings.Contains(opts, "d")
		}
		s.uid = ch.uid
		ch.spy = s
		mp.spyUID[ch.uid] = s
		spyee := byName[target]
		if spyee == nil {
			spyee = mp.chans[target] // option u with a Uniqueid
		}
		if spyee == nil {
			// without u the target is a channel name prefix
			for _, o := range items {
				if target != "" && strings.HasPrefix(o.name, target) && o != ch {
					spyee = o
					break
				}
			}
		}
		if spyee != nil && ch.up {
			s.callID = spyee.linked
			s.started = true
			monitoredNow[spyee.linked] = s
		}
	}
	calls := make([]monitor.Call, 0, len(order))
	for _, c := range order {
		if c.origin == nil && len(c.legs) > 0 {
			c.origin = c.legs[0] // the first leg hung up: the oldest one stands in for it
		}
		if c.origin != nil && mp.isSupervisorDevice(c.origin.device) && c.origin.uid == c.id {
			c.hidden = true
		}
		if c.hidden {
			continue
		}
		for _, l := range c.legs {
			mp.assignRole(c, l)
		}
		c.dir = monitor.DirectionUnknown
		customer, hotline, campaign, dir := mp.details(c)
		row := monitor.Call{ID: c.id, Customer: customer, Hotline: hotline, Campaign: campaign, Direction: dir,
			Status: monitor.StatusCalling, StartTime: c.origin.created}
		cust := c.customerLeg()
		if cust != nil && strings.EqualFold(cust.app, "Queue") {
			q, _, _ := strings.Cut(cust.appData, ",")
			c.queue = q
		}
		if cust != nil {
			if e, ok := sc.entries[cust.uid]; ok {
				if e.queue != "" {
					c.queue = e.queue
				}
				row.QueueJoinTime = now.Add(-e.wait)
				row.StatusSince = row.QueueJoinTime
			}
		}
		row.Queue = c.queue
		c.talking, c.ringing, c.stealLeg = nil, nil, nil
		for _, l := range c.legs {
			switch {
			case l.role == roleSupervisor && l.up && l.bridged:
				c.stolen = true
				c.talking = l
			case l.role == roleSupervisor:
				c.stealLeg = l
			case l.role == roleAgent && l != c.origin && l.up && l.bridged && c.talking == nil:
				c.talking = l
			case l.role == roleAgent && l != c.origin && !l.up && l.ringing:
				c.ringing = append(c.ringing, l)
				if l.app == "AppQueue" {
					l.queueCalled = true
				}
			}
		}
		switch {
		case dir == monitor.Outbound:
			row.LastAgent = mp.agentName(c.origin)
			if cust != nil && cust.up && cust.bridged {
				row.Status = monitor.StatusAnswered
			} else if cust != nil {
				row.Status = monitor.StatusRinging
			}
		case c.stolen:
			row.Status = monitor.StatusAnswered
			row.Stolen = true
			row.LastAgent = mp.supervisorName(c.talking)
			row.Supervisor = row.LastAgent
		case c.talking != nil:
			row.Status = monitor.StatusAnswered
			row.LastAgent = mp.agentName(c.talking)
		case len(c.ringing) > 0:
			row.LastAgent = mp.agentName(c.ringing[len(c.ringing)-1])
		default:
			row.LastAgent = c.lastAgent
		}
		if row.Status == monitor.StatusAnswered {
			// No list reply has the answer time. Keep the one the events gave while the
			// same leg still talks; else estimate it from the age of the leg that
			// answered (the agent's, outbound the customer's): that leg was created when
			// it started ringing, so the estimate is early by its ring time at most, and
			// late by under a second (Duration has whole seconds).
			leg := c.talking
			if dir == monitor.Outbound {
				leg = cust
			}
			switch {
			case !c.answeredAt.IsZero() && (c.stolen || (leg != nil && c.answerLeg == leg.uid)):
				row.AnswerTime = c.answeredAt
			case leg != nil:
				row.AnswerTime = leg.created
				c.answeredAt, c.answerLeg = leg.created, leg.uid
			}
			row.QueueJoinTime, row.StatusSince = time.Time{}, row.AnswerTime
			c.answered = true
		}
		if s := monitoredNow[c.id]; s != nil {
			row.Monitor = s.mode
			row.Supervisor = s.supervisor
			c.monitored = true
		}
		c.started = true
		c.customer, c.hotline, c.campaign, c.sentDir, c.sentCust = customer, hotline, campaign, dir, c.customerLeg()
		c.lastAgent = row.LastAgent
		calls = append(calls, row)
	}
	mp.emit(monitor.Event{Kind: monitor.EventSync, At: now, Calls: calls})
}
