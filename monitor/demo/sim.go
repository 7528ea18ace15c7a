package demo

import (
	"cmp"
	"container/heap"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/earshot-app/earshot/monitor"
)

// Behaviour of the simulated centre. Durations are drawn uniformly between the min and
// max unless said otherwise; docs/demo.md explains the figures.
const (
	warmup = 20 * time.Minute // simulated, unobserved, before Config.Start

	ivrMin, ivrMax             = 10 * time.Second, 45 * time.Second
	ivrHangupProb              = 0.04
	ivrHangupMin, ivrHangupMax = 3 * time.Second, 20 * time.Second
	minPatience                = 5 * time.Second

	ringAnswerMin, ringAnswerMax = 2 * time.Second, 10 * time.Second
	ringNoAnswerProb             = 0.12
	ringTimeout                  = 15 * time.Second // the queue's ring timeout per agent
	retryDelay                   = 5 * time.Second  // before the queue tries the next agent
	autopauseProb                = 0.3              // an agent who did not answer is paused
	autopauseMin, autopauseMax   = time.Minute, 3 * time.Minute

	wrapMin, wrapMax           = 5 * time.Second, 25 * time.Second // after-call work
	shortWrapMin, shortWrapMax = 2 * time.Second, 6 * time.Second  // after an unanswered outbound call
	pauseProb                  = 0.04                              // a break after a call
	pauseMin, pauseMax         = 2 * time.Minute, 8 * time.Minute

	idleMin, idleMax                     = 3 * time.Second, 20 * time.Second // outbound agent between calls
	dialMin, dialMax                     = time.Second, 4 * time.Second
	unreachableProb                      = 0.08 // "the number you called is unreachable"
	customerAnswerProb                   = 0.55
	customerAnswerMin, customerAnswerMax = 5 * time.Second, 30 * time.Second
	noAnswerMin, noAnswerMax             = 30 * time.Second, 45 * time.Second
	outboundTalk                         = 150 * time.Second // mean
	callbackShare                        = 0.2               // outbound calls outside any campaign

	transferRingMin, transferRingMax = 2 * time.Second, 6 * time.Second
	transferTalk                     = 2 * time.Minute // mean, with the new agent

	defaultTalk     = 3 * time.Minute
	defaultPatience = 2 * time.Minute
	talkSigma       = 0.6 // log-normal spread of talk times
	minTalk         = 15 * time.Second
	maxTalk         = 30 * time.Minute
)

// phase is where a simulated call is.
type phase uint8

const (
	phIVR phase = iota
	phWaiting
	phRinging     // a queue rings an agent
	phRetry       // an agent did not answer; the queue waits before the next try
	phTalking     // answered (by an agent, or by the supervisor after a steal)
	phTransfer    // a supervisor's transfer rings the chosen agent
	phDialing     // outbound: the agent dialled, the network connects
	phCustRinging // outbound: the customer's phone rings
	phEnded
)

type call struct {
	id       string
	dir      monitor.Direction
	customer string
	hotline  string
	campaign string
	q        *queue
	joined   bool
	// transferred: the supervisor moved the call to another agent; it no longer
	// counts as waiting in its queue
	transferred bool
	ph          phase
	status      monitor.Status
	start       int64
	since       int64
	answer      int64
	join        int64
	agent       *agent // ringing, talking or (outbound) placing the call
	lastAgent   string
	stolen      bool
	mon         monitor.MonitorMode
	monGen      uint32
	gen         uint32 // invalidates scheduled events
	waitStamp   uint32
}

type agent struct {
	id         string
	name       string
	queues     []*queue
	queueNames []string
	outbound   bool
	state      monitor.AgentState
	call       *call
	gen        uint32 // invalidates scheduled events
	stamp      uint32 // invalidates availability entries
}

type queue struct {
	name     string
	hotlines []string
	cum      float64
	talk     time.Duration
	patience time.Duration
	waiting  waitHeap
	avail    []availEntry
	head     int
	members  int
}

type availEntry struct {
	a     *agent
	stamp uint32
}

type waitEntry struct {
	join  int64
	seq   uint64
	c     *call
	stamp uint32
}

type waitHeap []waitEntry

func (h waitHeap) Len() int { return len(h) }
func (h waitHeap) Less(i, j int) bool {
	if h[i].join != h[j].join {
		return h[i].join < h[j].join
	}
	return h[i].seq < h[j].seq
}
func (h waitHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *waitHeap) Push(x any)   { *h = append(*h, x.(waitEntry)) }
func (h *waitHeap) Pop() any {
	old := *h
	n := len(old)
	e := old[n-1]
	old[n-1] = waitEntry{}
	*h = old[:n-1]
	return e
}

type evKind uint8

const (
	evArrival evKind = iota + 1
	evIVRDone
	evIVRHangup
	evRingAnswer
	evRingTimeout
	evRetry
	evAbandon
	evHangup
	evTransferAnswer
	evWrapDone
	evPauseDone
	evDial
	evDialDone
	evCustomerAnswer
	evCustomerNoAnswer
)

type item struct {
	at   int64
	seq  uint64
	kind evKind
	gen  uint32
	c    *call
	a    *agent
}

type eventHeap []*item

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(*item)) }
func (h *eventHeap) Pop() any {
	old := *h
	n := len(old)
	it := old[n-1]
	old[n-1] = nil
	*h = old[:n-1]
	return it
}

// sim is the simulation state; Driver guards it with its mutex.
type sim struct {
	log        *slog.Logger
	supervisor string
	rng        *rand.Rand
	now        int64
	// published mirrors now for readers that must not take the Driver's lock.
	published  atomic.Int64
	seq        uint64
	events     uint64
	heap       eventHeap
	free       []*item
	calls      map[string]*call
	queues     []*queue
	agents     []*agent
	byID       map[string]*agent
	byName     map[string]*agent
	campaigns  []string
	outNumbers []string
	channel    uint64
	sink       monitor.Sink
	session    *call // the call the supervisor's monitoring session is on
	target     int
	// arrivalMean is the mean time between inbound arrivals, in nanoseconds (0: none).
	arrivalMean float64
	shareTotal  float64
}

func secs(d time.Duration) float64   { return d.Seconds() }
func mid(a, b time.Duration) float64 { return (a + b).Seconds() / 2 }

func (s *sim) init(cfg Config, supervisor string, start int64, log *slog.Logger) {
	s.log = log
	s.supervisor = supervisor
	seed := uint64(cfg.Seed)
	s.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	s.calls = make(map[string]*call)
	s.byID = make(map[string]*agent)
	s.byName = make(map[string]*agent)

	s.target = cfg.Calls
	if s.target <= 0 {
		s.target = DefaultCalls
	}
	outShare := cfg.OutboundShare
	switch {
	case outShare == 0:
		outShare = DefaultOutboundShare
	case outShare < 0:
		outShare = 0
	case outShare > 1:
		outShare = 1
	}
	s.campaigns = cfg.Campaigns
	if s.campaigns == nil {
		s.campaigns = DefaultCampaigns()
	}
	s.outNumbers = cfg.OutboundNumbers
	if len(s.outNumbers) == 0 {
		s.outNumbers = DefaultOutboundNumbers()
	}

	qcfg := cfg.Queues
	if len(qcfg) == 0 {
		qcfg = DefaultQueues()
	}
	defaultHotline := DefaultQueues()[0].Hotlines[0]
	var kept []Queue
	for i, qc := range qcfg {
		if qc.Name == "" {
			qc.Name = "Hàng đợi " + strconv.Itoa(i+1)
		}
		if slices.ContainsFunc(kept, func(k Queue) bool { return k.Name == qc.Name }) {
			log.Warn("demo: duplicate queue skipped", "queue", qc.Name)
			continue
		}
		if qc.Share <= 0 {
			qc.Share = 1
		}
		kept = append(kept, qc)
		q := &queue{name: qc.Name, talk: qc.TalkTime, patience: qc.Patience}
		for _, h := range qc.Hotlines {
			if h != "" {
				q.hotlines = append(q.hotlines, h)
			}
		}
		if len(q.hotlines) == 0 {
			q.hotlines = []string{defaultHotline}
		}
		if q.talk <= 0 {
			q.talk = defaultTalk
		}
		if q.patience <= 0 {
			q.patience = defaultPatience
		}
		s.shareTotal += qc.Share
		q.cum = s.shareTotal
		s.queues = append(s.queues, q)
	}
	qcfg = kept

	// Plan the load: the inbound arrival rate that, by Little's law, keeps the inbound
	// share of the target in progress, and the agents that load needs.
	inTarget := float64(s.target) * (1 - outShare)
	outTarget := float64(s.target) * outShare
	const (
		waitEstimate  = 3.0  // calibrated: seconds in the queue that count, averaged over all calls
		answeredShare = 0.92 // of the calls that reach a queue
		ringPerAnswer = 8.0  // seconds of agent ringing per answered call, retries included
		agentOverhead = 30.0 // ringing, after-call work, breaks and autopauses per call
	)
	ivrMean := ivrHangupProb*mid(ivrHangupMin, ivrHangupMax) + (1-ivrHangupProb)*mid(ivrMin, ivrMax)
	inDur := ivrMean
	for i, q := range s.queues {
		share := qshare(qcfg, i, s.shareTotal)
		inDur += (1 - ivrHangupProb) * share * (waitEstimate + ringPerAnswer + answeredShare*secs(q.talk))
	}
	lambda := 0.0 // inbound calls per second
	if inTarget > 0 {
		lambda = inTarget / inDur
		s.arrivalMean = 1e9 / lambda
	}
	reach := 1 - unreachableProb
	ringT := customerAnswerProb*mid(customerAnswerMin, customerAnswerMax) + (1-customerAnswerProb)*mid(noAnswerMin, noAnswerMax)
	callT := mid(dialMin, dialMax) + reach*(ringT+customerAnswerProb*secs(outboundTalk))
	wrapT := reach*customerAnswerProb*mid(wrapMin, wrapMax) + (1-reach*customerAnswerProb)*mid(shortWrapMin, shortWrapMax)
	cycle := mid(idleMin, idleMax) + callT + wrapT + pauseProb*mid(pauseMin, pauseMax)
	nOut := int(math.Ceil(outTarget * cycle / callT))

	nameRng := rand.New(rand.NewPCG(seed^0x5eed, seed))
	if cfg.Agents != nil {
		for _, spec := range cfg.Agents {
			s.addAgent(spec)
		}
	} else {
		n := 0
		for i, q := range s.queues {
			qc := qcfg[i]
			staffing := qc.Staffing
			if staffing <= 0 {
				staffing = 1
			}
			share := qshare(qcfg, i, s.shareTotal)
			erlangs := lambda * share * (1 - ivrHangupProb) * answeredShare * (secs(q.talk) + agentOverhead)
			k := max(1, int(math.Ceil(staffing*erlangs)))
			for range k {
				ext := agentExtension(n)
				s.addAgent(AgentSpec{ID: ext, Name: agentDisplay(personName(nameRng), ext), Queues: []string{q.name}})
				n++
			}
		}
		if outTarget > 0 {
			for range max(1, nOut) {
				ext := agentExtension(n)
				s.addAgent(AgentSpec{ID: ext, Name: agentDisplay(personName(nameRng), ext)})
				n++
			}
		}
	}

	s.channel = 1000 + uint64(s.rng.IntN(9000))
	s.now = truncMS(start) - int64(warmup)
	for _, a := range s.agents {
		s.makeAvailable(a)
	}
	if s.arrivalMean > 0 {
		s.schedule(int64(s.rng.ExpFloat64()*s.arrivalMean), evArrival, nil, nil, 0)
	}
	s.step(start)
}

func qshare(qcfg []Queue, i int, total float64) float64 {
	sh := qcfg[i].Share
	if sh <= 0 {
		sh = 1
	}
	return sh / total
}

func (s *sim) addAgent(spec AgentSpec) {
	if spec.ID == "" || s.byID[spec.ID] != nil {
		s.log.Warn("demo: agent skipped (empty or duplicate ID)", "id", spec.ID)
		return
	}
	a := &agent{id: spec.ID, name: spec.Name, state: monitor.AgentAvailable}
	if a.name == "" {
		a.name = "Agent " + spec.ID
	}
	for _, qn := range spec.Queues {
		var found *queue
		for _, q := range s.queues {
			if q.name == qn {
				found = q
				break
			}
		}
		if found == nil {
			s.log.Warn("demo: agent's queue does not exist; membership ignored", "agent", spec.ID, "queue", qn)
			continue
		}
		found.members++
		a.queues = append(a.queues, found)
		a.queueNames = append(a.queueNames, found.name)
	}
	a.outbound = len(a.queues) == 0
	s.agents = append(s.agents, a)
	s.byID[a.id] = a
	if _, dup := s.byName[a.name]; !dup {
		s.byName[a.name] = a
	}
}

// step runs the simulation up to to (Unix nanoseconds).
func (s *sim) step(to int64) int {
	to = truncMS(to)
	n := 0
	for len(s.heap) > 0 && s.heap[0].at <= to {
		it := heap.Pop(&s.heap).(*item)
		s.now = it.at
		s.published.Store(s.now)
		s.handle(it)
		*it = item{}
		s.free = append(s.free, it)
		n++
	}
	if to > s.now {
		s.now = to
	}
	s.published.Store(s.now)
	return n
}

func (s *sim) schedule(after int64, kind evKind, c *call, a *agent, gen uint32) {
	var it *item
	if n := len(s.free); n > 0 {
		it = s.free[n-1]
		s.free = s.free[:n-1]
	} else {
		it = new(item)
	}
	s.seq++
	*it = item{at: truncMS(s.now + after), seq: s.seq, kind: kind, gen: gen, c: c, a: a}
	heap.Push(&s.heap, it)
}

// truncMS truncates a Unix-nanosecond instant to the millisecond: the simulated PBX
// reports times to the millisecond.
func truncMS(ns int64) int64 { return ns - ns%int64(time.Millisecond) }

func (s *sim) uniform(lo, hi time.Duration) int64 {
	return int64(lo) + s.rng.Int64N(int64(hi-lo)+1)
}

func (s *sim) chance(p float64) bool { return s.rng.Float64() < p }

// talkTime draws a log-normal talk time with the given mean.
func (s *sim) talkTime(mean time.Duration) int64 {
	mu := math.Log(float64(mean)) - talkSigma*talkSigma/2
	d := math.Exp(mu + talkSigma*s.rng.NormFloat64())
	return int64(min(max(d, float64(minTalk)), float64(maxTalk)))
}

func (s *sim) at(ns int64) time.Time { return time.Unix(0, ns) }

func (s *sim) emit(e monitor.Event) {
	s.events++
	if s.sink != nil {
		s.sink.Apply(e)
	}
}

func (s *sim) newID() string {
	id := strconv.FormatInt(s.now/int64(time.Second), 10) + "." + strconv.FormatUint(s.channel, 10)
	s.channel++
	return id
}

func (s *sim) handle(it *item) {
	c, a := it.c, it.a
	switch it.kind {
	case evArrival:
		s.arrive()
		s.schedule(int64(s.rng.ExpFloat64()*s.arrivalMean), evArrival, nil, nil, 0)
	case evIVRDone:
		if c.gen == it.gen {
			s.joinQueue(c)
		}
	case evIVRHangup, evHangup:
		if c.gen == it.gen {
			reason := monitor.EndCompleted
			if it.kind == evIVRHangup {
				reason = monitor.EndAbandoned
			}
			s.endCall(c, reason)
		}
	case evRingAnswer, evTransferAnswer:
		if c.gen == it.gen {
			s.answerByAgent(c, it.kind == evTransferAnswer)
		}
	case evRingTimeout:
		if c.gen == it.gen {
			s.ringNoAnswer(c)
		}
	case evRetry:
		if c.gen == it.gen {
			s.wait(c)
		}
	case evAbandon:
		if c.ph == phWaiting || c.ph == phRinging || c.ph == phRetry {
			s.endCall(c, monitor.EndAbandoned)
		}
	case evWrapDone:
		if a.gen == it.gen {
			if s.chance(pauseProb) {
				s.pause(a, pauseMin, pauseMax)
			} else {
				s.makeAvailable(a)
			}
		}
	case evPauseDone:
		if a.gen == it.gen {
			s.makeAvailable(a)
		}
	case evDial:
		if a.gen == it.gen && a.state == monitor.AgentAvailable {
			s.placeCall(a)
		}
	case evDialDone:
		if c.gen == it.gen {
			s.customerRings(c)
		}
	case evCustomerAnswer:
		if c.gen == it.gen {
			s.customerAnswers(c)
		}
	case evCustomerNoAnswer:
		if c.gen == it.gen {
			s.endCall(c, monitor.EndCompleted)
		}
	}
}

// arrive: a customer dials a hotline and reaches the IVR.
func (s *sim) arrive() {
	r := s.rng.Float64() * s.shareTotal
	q := s.queues[len(s.queues)-1]
	for _, cand := range s.queues {
		if r < cand.cum {
			q = cand
			break
		}
	}
	c := &call{
		id:       s.newID(),
		dir:      monitor.Inbound,
		customer: mobileNumber(s.rng),
		hotline:  q.hotlines[s.rng.IntN(len(q.hotlines))],
		q:        q,
		ph:       phIVR,
		status:   monitor.StatusCalling,
		start:    s.now,
		since:    s.now,
	}
	s.calls[c.id] = c
	s.emit(monitor.Event{Kind: monitor.EventCallStarted, CallID: c.id, At: s.at(s.now),
		Direction: monitor.Inbound, Customer: c.customer, Hotline: c.hotline})
	if s.chance(ivrHangupProb) {
		s.schedule(s.uniform(ivrHangupMin, ivrHangupMax), evIVRHangup, c, nil, c.gen)
	} else {
		s.schedule(s.uniform(ivrMin, ivrMax), evIVRDone, c, nil, c.gen)
	}
}

// joinQueue: the IVR routes the call to its queue, where it waits.
func (s *sim) joinQueue(c *call) {
	c.joined = true
	c.join = s.now
	c.since = s.now
	s.emit(monitor.Event{Kind: monitor.EventQueueJoined, CallID: c.id, At: s.at(s.now), Queue: c.q.name})
	patience := max(int64(s.rng.ExpFloat64()*float64(c.q.patience)), int64(minPatience))
	s.schedule(patience, evAbandon, c, nil, 0)
	s.wait(c)
}

// wait puts the call (back) in its queue's line, in order of joining, and lets the
// queue ring an agent if one is free.
func (s *sim) wait(c *call) {
	c.ph = phWaiting
	c.gen++
	c.waitStamp++
	s.seq++
	heap.Push(&c.q.waiting, waitEntry{join: c.join, seq: s.seq, c: c, stamp: c.waitStamp})
	s.dispatch(c.q)
}

func (q *queue) peekCall() *call {
	for len(q.waiting) > 0 {
		e := q.waiting[0]
		if e.c.ph == phWaiting && e.c.waitStamp == e.stamp {
			return e.c
		}
		heap.Pop(&q.waiting)
	}
	return nil
}

func (q *queue) popAgent() *agent {
	for q.head < len(q.avail) {
		e := q.avail[q.head]
		q.avail[q.head] = availEntry{}
		q.head++
		if e.a.state == monitor.AgentAvailable && e.a.stamp == e.stamp {
			return e.a
		}
	}
	q.avail = q.avail[:0]
	q.head = 0
	return nil
}

func (q *queue) pushAgent(a *agent) {
	if q.head > 64 && q.head > len(q.avail)/2 {
		n := copy(q.avail, q.avail[q.head:])
		clear(q.avail[n:])
		q.avail = q.avail[:n]
		q.head = 0
	}
	if len(q.avail)-q.head > 2*q.members+64 {
		// agents of several queues leave stale entries in the queues that did not ring
		// them; drop those so a quiet queue's line cannot grow without bound
		live := q.avail[:0]
		for _, e := range q.avail[q.head:] {
			if e.a.state == monitor.AgentAvailable && e.a.stamp == e.stamp {
				live = append(live, e)
			}
		}
		clear(q.avail[len(live):])
		q.avail = live
		q.head = 0
	}
	q.avail = append(q.avail, availEntry{a: a, stamp: a.stamp})
}

// dispatch rings the longest-idle free agent for the longest-waiting call while both exist.
func (s *sim) dispatch(q *queue) {
	for {
		c := q.peekCall()
		if c == nil {
			return
		}
		a := q.popAgent()
		if a == nil {
			return
		}
		heap.Pop(&q.waiting)
		s.ring(c, a)
	}
}

func (s *sim) ring(c *call, a *agent) {
	c.ph = phRinging
	c.agent = a
	c.lastAgent = a.name
	c.gen++
	a.state = monitor.AgentRinging
	a.call = c
	a.gen++
	s.channel += 2 // the queue's Local/ pair for the member
	s.emit(monitor.Event{Kind: monitor.EventAgentRinging, CallID: c.id, At: s.at(s.now), Agent: a.name, Queue: c.q.name})
	if s.chance(ringNoAnswerProb) {
		s.schedule(int64(ringTimeout), evRingTimeout, c, nil, c.gen)
	} else {
		s.schedule(s.uniform(ringAnswerMin, ringAnswerMax), evRingAnswer, c, nil, c.gen)
	}
}

// ringNoAnswer: the agent let it ring out; the call waits for the next try.
func (s *sim) ringNoAnswer(c *call) {
	a := c.agent
	s.emit(monitor.Event{Kind: monitor.EventAgentNoAnswer, CallID: c.id, At: s.at(s.now), Agent: a.name, Queue: c.q.name})
	c.agent = nil
	c.ph = phRetry
	c.gen++
	s.schedule(int64(retryDelay), evRetry, c, nil, c.gen)
	a.call = nil
	if s.chance(autopauseProb) {
		s.pause(a, autopauseMin, autopauseMax)
	} else {
		s.makeAvailable(a)
	}
}

// answerByAgent: the ringing agent (queue or transfer) picks up.
func (s *sim) answerByAgent(c *call, transfer bool) {
	a := c.agent
	c.ph = phTalking
	c.status = monitor.StatusAnswered
	c.answer = s.now
	c.since = s.now
	c.stolen = false
	c.gen++
	a.state = monitor.AgentBusy
	s.emit(monitor.Event{Kind: monitor.EventAnswered, CallID: c.id, At: s.at(s.now), Agent: a.name, Queue: c.q.nameOrEmpty(c.joined)})
	mean := c.q.talkOrDefault()
	if transfer {
		mean = transferTalk
	}
	s.schedule(s.talkTime(mean), evHangup, c, nil, c.gen)
}

func (q *queue) nameOrEmpty(joined bool) string {
	if q == nil || !joined {
		return ""
	}
	return q.name
}

func (q *queue) talkOrDefault() time.Duration {
	if q == nil {
		return outboundTalk
	}
	return q.talk
}

// endCall: the call is over; its agent goes to after-call work (or straight back, if
// only ringing) and the supervisor's session on it ends first.
func (s *sim) endCall(c *call, reason monitor.EndReason) {
	s.stopMonitor(c)
	answered := c.status == monitor.StatusAnswered
	c.ph = phEnded
	c.gen++
	c.monGen++
	delete(s.calls, c.id)
	a := c.agent
	c.agent = nil
	s.emit(monitor.Event{Kind: monitor.EventCallEnded, CallID: c.id, At: s.at(s.now), Reason: reason})
	if a == nil {
		return
	}
	a.call = nil
	switch {
	case a.state == monitor.AgentRinging:
		s.makeAvailable(a)
	case answered:
		s.wrapUp(a, wrapMin, wrapMax)
	default:
		s.wrapUp(a, shortWrapMin, shortWrapMax)
	}
}

// stopMonitor ends the supervisor's monitoring session on c, if any.
func (s *sim) stopMonitor(c *call) {
	if s.session == c {
		s.session = nil
	}
	if c.mon == monitor.MonitorNone {
		return
	}
	c.mon = monitor.MonitorNone
	c.monGen++
	s.emit(monitor.Event{Kind: monitor.EventMonitorStopped, CallID: c.id, At: s.at(s.now), Supervisor: s.supervisor})
}

func (s *sim) wrapUp(a *agent, lo, hi time.Duration) {
	a.state = monitor.AgentBusy
	a.call = nil
	a.gen++
	s.schedule(s.uniform(lo, hi), evWrapDone, nil, a, a.gen)
}

func (s *sim) pause(a *agent, lo, hi time.Duration) {
	a.state = monitor.AgentPaused
	a.call = nil
	a.gen++
	s.schedule(s.uniform(lo, hi), evPauseDone, nil, a, a.gen)
}

// makeAvailable: the agent is free; queues may ring them at once, and an outbound
// agent dials the next customer after a short pause.
func (s *sim) makeAvailable(a *agent) {
	a.state = monitor.AgentAvailable
	a.call = nil
	a.gen++
	a.stamp++
	for _, q := range a.queues {
		q.pushAgent(a)
	}
	if a.outbound {
		s.schedule(s.uniform(idleMin, idleMax), evDial, nil, a, a.gen)
	}
	for _, q := range a.queues {
		s.dispatch(q)
	}
}

// placeCall: an outbound agent dials a customer, for a campaign or as a callback.
func (s *sim) placeCall(a *agent) {
	c := &call{
		id:        s.newID(),
		dir:       monitor.Outbound,
		customer:  mobileNumber(s.rng),
		hotline:   s.outNumbers[s.rng.IntN(len(s.outNumbers))],
		ph:        phDialing,
		status:    monitor.StatusCalling,
		start:     s.now,
		since:     s.now,
		agent:     a,
		lastAgent: a.name,
	}
	if len(s.campaigns) > 0 && !s.chance(callbackShare) {
		c.campaign = s.campaigns[s.rng.IntN(len(s.campaigns))]
	}
	s.channel++ // the customer's leg
	a.state = monitor.AgentBusy
	a.call = c
	a.gen++
	s.calls[c.id] = c
	s.emit(monitor.Event{Kind: monitor.EventCallStarted, CallID: c.id, At: s.at(s.now), Direction: monitor.Outbound,
		Customer: c.customer, Hotline: c.hotline, Campaign: c.campaign, Agent: a.name})
	s.schedule(s.uniform(dialMin, dialMax), evDialDone, c, nil, c.gen)
}

// customerRings: the network reached the customer's phone (or found it unreachable).
func (s *sim) customerRings(c *call) {
	if s.chance(unreachableProb) {
		s.endCall(c, monitor.EndCompleted)
		return
	}
	c.ph = phCustRinging
	c.status = monitor.StatusRinging
	c.since = s.now
	c.gen++
	s.emit(monitor.Event{Kind: monitor.EventCustomerRinging, CallID: c.id, At: s.at(s.now), Agent: c.lastAgent})
	if s.chance(customerAnswerProb) {
		s.schedule(s.uniform(customerAnswerMin, customerAnswerMax), evCustomerAnswer, c, nil, c.gen)
	} else {
		s.schedule(s.uniform(noAnswerMin, noAnswerMax), evCustomerNoAnswer, c, nil, c.gen)
	}
}

func (s *sim) customerAnswers(c *call) {
	c.ph = phTalking
	c.status = monitor.StatusAnswered
	c.answer = s.now
	c.since = s.now
	c.gen++
	s.emit(monitor.Event{Kind: monitor.EventAnswered, CallID: c.id, At: s.at(s.now), Agent: c.agent.name})
	s.schedule(s.talkTime(outboundTalk), evHangup, c, nil, c.gen)
}

// view is the simulator's own idea of the grid row for c.
func (s *sim) view(c *call) monitor.Call {
	v := monitor.Call{
		ID:          c.id,
		Customer:    c.customer,
		Hotline:     c.hotline,
		Status:      c.status,
		StatusSince: s.at(c.since),
		LastAgent:   c.lastAgent,
		StartTime:   s.at(c.start),
		Direction:   c.dir,
		Campaign:    c.campaign,
		Monitor:     c.mon,
		Stolen:      c.stolen,
	}
	if c.joined {
		v.Queue = c.q.name
		if !c.transferred {
			v.QueueJoinTime = s.at(c.join)
		}
	}
	if c.answer != 0 {
		v.AnswerTime = s.at(c.answer)
	}
	if c.mon != monitor.MonitorNone || c.stolen {
		v.Supervisor = s.supervisor
	}
	return v
}

func (s *sim) truth() []monitor.Call {
	out := make([]monitor.Call, 0, len(s.calls))
	for _, c := range s.calls {
		out = append(out, s.view(c))
	}
	slices.SortFunc(out, func(a, b monitor.Call) int { return cmp.Compare(a.ID, b.ID) })
	return out
}
