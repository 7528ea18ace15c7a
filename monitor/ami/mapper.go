package ami

import (
	"log/slog"
	"strings"
	"time"

	"github.com/earshot-app/earshot/monitor"
)

// mapperConfig is the part of Config the mapper needs.
type mapperConfig struct {
	vars             [nVars]string // channel variable names: hotline, campaign, direction
	supervisorDevice string        // "PJSIP/2001"
	supervisorName   string
	now              func() time.Time
	log              *slog.Logger
}

const (
	varHotline = iota
	varCampaign
	varDirection
	nVars
)

type role uint8

const (
	roleCustomer role = iota
	roleAgent
	roleSupervisor // the supervisor's leg inside a call (steal)
	roleSpy        // a ChanSpy leg: never a call of its own
)

// channel is one Asterisk channel (a leg), keyed by Uniqueid.
type channel struct {
	uid, linked, name, device string
	num, cname                string // caller ID
	ownNum, ownName           string // the first caller ID seen: the phone's own identity
	conn                      string // ConnectedLineNum: the number the other party shows
	exten                     string // Exten when the channel appeared (the dialled number)
	vars                      [nVars]string
	up, ringing, bridged      bool
	role                      role
	created                   time.Time
	queueCalled               bool   // rung by a queue (AgentCalled): AgentConnect tells the answer
	memberName                string // queue member name when rung by a queue
	dialString                string
	spy                       *spySession
	app, appData              string // from a resync's CoreShowChannel
}

// call is a set of legs sharing a Linkedid.
type call struct {
	id        string
	legs      []*channel
	origin    *channel // the leg whose Uniqueid is the Linkedid
	custLeg   *channel // outbound: the customer's leg once dialled
	hidden    bool     // a ChanSpy session's own Linkedid: never shown
	started   bool
	queue     string
	answered  bool
	abandoned bool
	stolen    bool
	talking   *channel   // the agent (or supervisor) leg talking to the customer
	ringing   []*channel // agent legs ringing for the call
	stealLeg  *channel   // the supervisor's leg a steal is ringing
	monitored bool       // a monitoring session was reported to the sink
	// answeredAt is the answer time reported to the sink (local clock) and answerLeg
	// the Uniqueid of the leg that answered: a resync keeps the time while that leg talks
	answeredAt time.Time
	answerLeg  string

	// details last reported to the sink
	customer, hotline, campaign string
	dir, sentDir                monitor.Direction
	sentCust                    *channel // the customer leg the details were last reported from
	lastAgent                   string
}

// member is a queue member (an agent) as QueueStatus/QueueMemberStatus describe it.
type member struct {
	iface  string // PJSIP/1001
	name   string // Agent 1001
	queues []string
	status int // Asterisk device state (AST_DEVICE_*)
	paused bool
	inCall bool
}

// spySession is a monitoring session Earshot requested (Originate with ChanSpy) or saw.
type spySession struct {
	actionID   string
	callID     string // the monitored call (Linkedid)
	targetChan string
	targetUID  string
	mode       monitor.MonitorMode
	dtmf       bool // option d: DTMF 4/5/6 switch modes
	supervisor string
	device     string // the endpoint the Originate rings
	uid        string // the spyer's Uniqueid once known
	started    bool
}

// queueEntry is a caller waiting in a queue, from a QueueStatus reply.
type queueEntry struct {
	queue string
	wait  time.Duration
}

// mapper turns AMI events into monitor events. It is used by one goroutine at a time
// (the driver holds a lock around it).
type mapper struct {
	cfg  mapperConfig
	emit func(monitor.Event)
	// clock maps the PBX's Timestamps onto cfg.now's clock
	clock pbxClock

	chans   map[string]*channel
	calls   map[string]*call
	members map[string]*member
	// byExt indexes members by extension ("1001" for PJSIP/1001 and for FreePBX's
	// Local/1001@from-queue/n); rebuilt when extDirty is set
	byExt    map[string]*member
	extDirty bool
	spies    map[string]*spySession // by Originate ActionID
	spyUID   map[string]*spySession // by the spyer's Uniqueid

	// membersSeen is set once a QueueStatus reply was complete
	membersSeen bool
}

func newMapper(cfg mapperConfig, emit func(monitor.Event)) *mapper {
	if cfg.now == nil {
		cfg.now = time.Now
	}
	if cfg.log == nil {
		cfg.log = slog.Default()
	}
	return &mapper{
		cfg:     cfg,
		emit:    emit,
		clock:   pbxClock{now: cfg.now},
		chans:   make(map[string]*channel),
		calls:   make(map[string]*call),
		members: make(map[string]*member),
		spies:   make(map[string]*spySession),
		spyUID:  make(map[string]*spySession),
	}
}

// parseTimestamp turns "1795668856.293194" into a time; zero when absent or malformed.
func parseTimestamp(b []byte) time.Time {
	if len(b) == 0 {
		return time.Time{}
	}
	var sec, nsec int64
	i := 0
	for ; i < len(b) && b[i] != '.'; i++ {
		c := b[i]
		if c < '0' || c > '9' || i > 12 {
			return time.Time{}
		}
		sec = sec*10 + int64(c-'0')
	}
	if i < len(b) {
		scale := int64(100000000)
		for _, c := range b[i+1:] {
			if c < '0' || c > '9' {
				return time.Time{}
			}
			if scale > 0 {
				nsec += int64(c-'0') * scale
				scale /= 10
			}
		}
	}
	return time.Unix(sec, nsec)
}

// deviceOf returns a channel name without its "-0000002a" suffix: the endpoint.
func deviceOf(name string) string {
	if i := strings.LastIndexByte(name, '-'); i > 0 && !strings.HasPrefix(name, "Local/") {
		return name[:i]
	}
	if strings.HasPrefix(name, "Local/") {
		// Local/1001@agents-0000001;1
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			return name[:i]
		}
	}
	return name
}

// extensionOf returns the extension part of a device: "PJSIP/1001" → "1001",
// "Local/1001@agents" → "1001".
func extensionOf(device string) string {
	if i := strings.IndexByte(device, '/'); i >= 0 {
		device = device[i+1:]
	}
	if i := strings.IndexByte(device, '@'); i >= 0 {
		device = device[:i]
	}
	return device
}

func known(v []byte) bool {
	return len(v) > 0 && string(v) != "<unknown>" && string(v) != "unknown"
}

func setStr(dst *string, v []byte) bool {
	if string(v) == *dst {
		return false
	}
	*dst = string(v)
	return true
}

// snapshot reads a channel snapshot with the given header prefix into ch, returning
// whether a detail the grid shows changed.
func (mp *mapper) snapshot(m *Message, prefix string, ch *channel) bool {
	changed := false
	var key [64]byte
	k := func(s string) string {
		n := copy(key[:], prefix)
		n += copy(key[n:], s)
		return string(key[:n])
	}
	var num, name, conn, state []byte
	if prefix == "" {
		num, name, conn, state = m.Get("CallerIDNum"), m.Get("CallerIDName"), m.Get("ConnectedLineNum"), m.Get("ChannelStateDesc")
	} else {
		num, name, conn, state = m.Get(k("CallerIDNum")), m.Get(k("CallerIDName")), m.Get(k("ConnectedLineNum")), m.Get(k("ChannelStateDesc"))
	}
	if known(num) {
		changed = setStr(&ch.num, num) || changed
		if ch.ownNum == "" {
			ch.ownNum = ch.num
		}
	}
	if known(name) {
		setStr(&ch.cname, name)
		if ch.ownName == "" {
			ch.ownName = ch.cname
		}
	}
	if known(conn) {
		changed = setStr(&ch.conn, conn) || changed
	}
	if state != nil {
		ch.setState(state)
	}
	for i, name := range mp.cfg.vars {
		if name == "" {
			continue
		}
		if v, ok := m.ChanVar(prefix, name); ok && len(v) > 0 {
			changed = setStr(&ch.vars[i], v) || changed
		}
	}
	return changed
}

func (ch *channel) setState(v []byte) {
	switch string(v) {
	case "Up":
		ch.up, ch.ringing = true, false
	case "Ringing", "Ring":
		ch.ringing = true
	case "Down", "Reserved", "OffHook", "Dialing":
		ch.up = false
	}
}

// lookup returns the known channel whose snapshot has the given prefix, updating it.
func (mp *mapper) lookup(m *Message, prefix string) (*channel, bool) {
	var uid []byte
	if prefix == "" {
		uid = m.Get("Uniqueid")
	} else {
		uid = m.Get(prefix + "Uniqueid")
	}
	if len(uid) == 0 {
		return nil, false
	}
	ch := mp.chans[string(uid)]
	if ch == nil {
		return nil, false
	}
	return ch, mp.snapshot(m, prefix, ch)
}

// handle maps one event. It never panics on malformed input: missing headers make
// the event irrelevant.
func (mp *mapper) handle(m *Message) {
	name := m.Event()
	switch string(name) {
	case "RTCPSent", "RTCPReceived", "Newexten", "DeviceStateChange", "SuccessfulAuth",
		"ChallengeSent", "FullyBooted", "MusicOnHoldStart", "MusicOnHoldStop":
		return // noise for the grid
	case "VarSet":
		// most of the stream: its time is mapped only when it changes a call
		mp.varSet(m, parseTimestamp(m.Get("Timestamp")))
		return
	}
	at := mp.clock.local(parseTimestamp(m.Get("Timestamp")))
	switch string(name) {
	case "Newchannel":
		mp.newChannel(m, at)
	case "Hangup":
		mp.hangup(m, at)
	case "DialBegin":
		mp.dialBegin(m, at)
	case "DialEnd":
		mp.dialEnd(m, at)
	case "AgentCalled":
		mp.agentCalled(m, at)
	case "AgentRingNoAnswer":
		mp.agentNoAnswer(m, at)
	case "AgentConnect":
		mp.agentConnect(m, at)
	case "QueueCallerJoin":
		mp.queueJoin(m, at)
	case "QueueCallerAbandon":
		if ch, _ := mp.lookup(m, ""); ch != nil {
			if c := mp.calls[ch.linked]; c != nil {
				c.abandoned = true
			}
		}
	case "BridgeEnter", "BridgeLeave":
		if ch, changed := mp.lookup(m, ""); ch != nil {
			ch.bridged = string(name) == "BridgeEnter"
			mp.touched(ch, changed, at)
		}
	case "ChanSpyStart":
		mp.chanSpyStart(m, at)
	case "ChanSpyStop":
		mp.chanSpyStop(m, at)
	case "OriginateResponse":
		mp.originateResponse(m, at)
	case "DTMFEnd":
		mp.dtmf(m, at)
	case "QueueMemberStatus", "QueueMemberAdded":
		mp.memberStatus(m)
	case "QueueMemberRemoved":
		mp.memberRemoved(m)
	case "QueueMemberPause", "QueueMemberPaused":
		if mb := mp.members[string(m.Get("Interface"))]; mb != nil {
			mb.paused = string(m.Get("Paused")) == "1"
		}
	default:
		if m.Has("Uniqueid") {
			if ch, changed := mp.lookup(m, ""); ch != nil {
				mp.touched(ch, changed, at)
			}
		}
	}
}

// touched reports detail changes of a leg's call.
func (mp *mapper) touched(ch *channel, changed bool, at time.Time) {
	if !changed {
		return
	}
	if c := mp.calls[ch.linked]; c != nil {
		mp.refresh(c, at)
	}
}

// memberOf returns the queue member a device belongs to: the member with that exact
// interface, else the member of the same extension (queues that ring agents through
// Local channels, as FreePBX does with Local/1001@from-queue/n).
func (mp *mapper) memberOf(dev string) *member {
	if mb := mp.members[dev]; mb != nil {
		return mb
	}
	if dev == "" {
		return nil
	}
	if mp.extDirty || mp.byExt == nil {
		mp.byExt = make(map[string]*member, len(mp.members))
		for iface, mb := range mp.members {
			if ext := extensionOf(iface); ext != "" {
				if o := mp.byExt[ext]; o == nil || iface < o.iface {
					mp.byExt[ext] = mb
				}
			}
		}
		mp.extDirty = false
	}
	return mp.byExt[extensionOf(dev)]
}

func (mp *mapper) isAgentDevice(dev string) bool { return mp.memberOf(dev) != nil }

func (mp *mapper) isSupervisorDevice(dev string) bool {
	if dev == "" {
		return false
	}
	if strings.EqualFold(dev, mp.cfg.supervisorDevice) {
		return true
	}
	for _, s := range mp.spies {
		if s.uid == "" && strings.EqualFold(dev, s.device) {
			return true
		}
	}
	return false
}

func (mp *mapper) newChannel(m *Message, at time.Time) {
	uid := m.Get("Uniqueid")
	linked := m.Get("Linkedid")
	name := m.Get("Channel")
	if len(uid) == 0 || len(linked) == 0 || len(name) == 0 {
		mp.malformed(m, "no Uniqueid, Linkedid or Channel")
		return
	}
	if mp.chans[string(uid)] != nil {
		return // duplicate
	}
	ch := &channel{uid: string(uid), name: string(name), created: at}
	if string(linked) == ch.uid {
		ch.linked = ch.uid
	} else {
		ch.linked = string(linked)
	}
	ch.device = deviceOf(ch.name)
	ch.exten = string(m.Get("Exten"))
	mp.snapshot(m, "", ch)
	if ch.created.IsZero() {
		ch.created = mp.cfg.now()
	}
	mp.chans[ch.uid] = ch
	c := mp.calls[ch.linked]
	if c == nil {
		c = &call{id: ch.linked}
		mp.calls[c.id] = c
	}
	c.legs = append(c.legs, ch)
	if ch.uid == ch.linked {
		c.origin = ch
		if mp.isSupervisorDevice(ch.device) {
			ch.role = roleSpy
			c.hidden = true
			mp.bindSpyLeg(ch)
		}
	}
	mp.assignRole(c, ch)
	if !c.hidden {
		mp.refresh(c, at)
	}
}

// bindSpyLeg ties a new supervisor channel to the pending Originate that rings it.
func (mp *mapper) bindSpyLeg(ch *channel) {
	var best *spySession
	for _, s := range mp.spies {
		if s.uid == "" && strings.EqualFold(ch.device, s.device) {
			if best == nil || s.actionID < best.actionID {
				best = s
			}
		}
	}
	if best != nil {
		best.uid = ch.uid
		ch.spy = best
		mp.spyUID[ch.uid] = best
	}
}

func (mp *mapper) assignRole(c *call, ch *channel) {
	if ch.role == roleSpy {
		return
	}
	switch {
	case mp.isSupervisorDevice(ch.device) && ch != c.origin:
		ch.role = roleSupervisor
	case mp.isAgentDevice(ch.device):
		ch.role = roleAgent
	case ch == c.origin:
		ch.role = roleCustomer
		if c.dir == monitor.Outbound {
			ch.role = roleAgent
		}
	default:
		// a dialled leg that is no known agent: the customer on an outbound call, an
		// agent (for example a transfer target outside every queue) on an inbound one
		if mp.direction(c) == monitor.Outbound {
			ch.role = roleCustomer
		} else {
			ch.role = roleAgent
		}
	}
}

// varOf returns a channel variable of the call: the origin's value first, then any leg's.
func (c *call) varOf(i int) string {
	if c.origin != nil && c.origin.vars[i] != "" {
		return c.origin.vars[i]
	}
	for _, l := range c.legs {
		if l.vars[i] != "" && l.role != roleSpy {
			return l.vars[i]
		}
	}
	return ""
}

func (mp *mapper) direction(c *call) monitor.Direction {
	if v := c.varOf(varDirection); v != "" {
		if d, err := monitor.ParseDirection(v); err == nil {
			return d
		}
	}
	if c.varOf(varCampaign) != "" {
		return monitor.Outbound
	}
	if c.origin != nil && mp.isAgentDevice(c.origin.device) {
		return monitor.Outbound
	}
	if c.origin != nil || c.queue != "" {
		return monitor.Inbound
	}
	return monitor.DirectionUnknown
}

// customerLeg returns the customer's leg: the origin of an inbound call, the dialled
// customer of an outbound one.
func (c *call) customerLeg() *channel {
	if c.dir == monitor.Outbound {
		return c.custLeg
	}
	return c.origin
}

func (mp *mapper) agentName(ch *channel) string {
	if ch == nil {
		return ""
	}
	if ch.memberName != "" {
		return ch.memberName
	}
	if mb := mp.memberOf(ch.device); mb != nil && mb.name != "" {
		return mb.name
	}
	if ch.role == roleSupervisor || ch.role == roleSpy {
		return mp.supervisorName(ch)
	}
	// the phone's own name, not one an Originate or the dialplan put on the channel
	// later (a campaign's CallerID "Khuyen-mai-T12" <19006000>)
	if ch.ownName != "" {
		return ch.ownName
	}
	if ch.cname != "" {
		return ch.cname
	}
	return extensionOf(ch.device)
}

func (mp *mapper) supervisorName(ch *channel) string {
	if mp.cfg.supervisorName != "" && strings.EqualFold(ch.device, mp.cfg.supervisorDevice) {
		return mp.cfg.supervisorName
	}
	if ch.cname != "" {
		return ch.cname
	}
	return extensionOf(ch.device)
}

// details computes the grid details of a call from its legs.
func (mp *mapper) details(c *call) (customer, hotline, campaign string, dir monitor.Direction) {
	dir = mp.direction(c)
	if dir != c.dir {
		c.dir = dir
		for _, l := range c.legs {
			if l.role == roleCustomer || l.role == roleAgent {
				mp.assignRole(c, l)
			}
		}
		if dir == monitor.Outbound && c.custLeg == nil {
			for _, l := range c.legs {
				if l != c.origin && l.role == roleCustomer {
					c.custLeg = l
					break
				}
			}
		}
	}
	if cl := c.customerLeg(); cl != nil {
		customer = cl.num
		if customer == "" && cl.dialString != "" {
			customer = dialledNumber(cl.dialString)
		}
	}
	hotline = c.varOf(varHotline)
	switch {
	case hotline != "":
	case dir == monitor.Inbound && c.origin != nil && c.origin.exten != "s":
		hotline = c.origin.exten
	case dir == monitor.Outbound:
		hotline = presentedNumber(c)
	}
	campaign = c.varOf(varCampaign)
	return customer, hotline, campaign, dir
}

// presentedNumber returns the number an outbound call presents to the customer (the
// centre's number, as a dialer's Originate CallerID "<19006000>" sets it), or "" when it
// is only the placing agent's own number. It is the agent leg's caller ID once it
// differs from the phone's own, else the customer leg's connected line number.
func presentedNumber(c *call) string {
	o := c.origin
	if o == nil {
		return ""
	}
	own := func(n string) bool { return n == "" || n == o.ownNum || n == extensionOf(o.device) }
	if !own(o.num) {
		return o.num
	}
	if cl := c.custLeg; cl != nil && !own(cl.conn) {
		return cl.conn
	}
	return ""
}

// dialledNumber extracts the number from a Dial string: "7002", "trunk/0912345678",
// "PJSIP/0912345678@trunk".
func dialledNumber(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		s = s[i+1:]
	}
	if i := strings.IndexByte(s, '@'); i >= 0 {
		s = s[:i]
	}
	return s
}

// refresh starts the call on the board or reports changed details.
func (mp *mapper) refresh(c *call, at time.Time) {
	if c.hidden {
		return
	}
	customer, hotline, campaign, dir := mp.details(c)
	if !c.started {
		if c.origin == nil {
			return // legs of a call whose first leg was never seen (before a resync)
		}
		c.started = true
		c.customer, c.hotline, c.campaign, c.sentDir, c.sentCust = customer, hotline, campaign, dir, c.customerLeg()
		ev := monitor.Event{Kind: monitor.EventCallStarted, CallID: c.id, At: c.origin.created,
			Customer: customer, Hotline: hotline, Campaign: campaign, Direction: dir}
		if dir == monitor.Outbound {
			ev.Agent = mp.agentName(c.origin)
			c.lastAgent = ev.Agent
		}
		mp.emit(ev)
		return
	}
	custLeg := c.customerLeg()
	if customer == c.customer && hotline == c.hotline && campaign == c.campaign && dir == c.sentDir && custLeg == c.sentCust {
		return
	}
	flipped := dir != c.sentDir && c.sentDir != monitor.DirectionUnknown
	// An early guess is corrected: a call from a phone Earshot did not know as an
	// agent's looked inbound (the agent's number as the customer, the dialled number as
	// the hotline) until DIRECTION said outbound, and the customer's own leg replaces
	// what the dial string said. Replace also clears what is no longer known.
	replace := flipped || custLeg != c.sentCust ||
		(customer == "" && c.customer != "") || (hotline == "" && c.hotline != "") || (campaign == "" && c.campaign != "")
	ev := monitor.Event{Kind: monitor.EventCallUpdated, CallID: c.id, At: at, Direction: dir, Replace: replace}
	if replace || customer != c.customer {
		ev.Customer = customer
	}
	if replace || hotline != c.hotline {
		ev.Hotline = hotline
	}
	if replace || campaign != c.campaign {
		ev.Campaign = campaign
	}
	c.customer, c.hotline, c.campaign = customer, hotline, campaign
	c.sentDir, c.sentCust = dir, custLeg
	mp.emit(ev)
	if flipped && dir == monitor.Outbound && c.origin != nil && c.origin.role == roleAgent {
		// the placing agent is the last agent of an outbound call: a second start
		// fills it in
		agent := mp.agentName(c.origin)
		c.lastAgent = agent
		mp.emit(monitor.Event{Kind: monitor.EventCallStarted, CallID: c.id, At: c.origin.created, Direction: dir,
			Customer: customer, Hotline: hotline, Campaign: campaign, Agent: agent})
	}
}
