package monitor

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// QueueStats are the wallboard figures for one queue.
type QueueStats struct {
	// Queue is the queue's name.
	Queue string
	// Waiting counts calls in the queue that no agent has answered yet.
	Waiting int
	// LongestWait is the longest current wait among Waiting calls.
	LongestWait time.Duration
	// Talking counts answered calls of the queue in progress.
	Talking int
	// Answered counts the queue's calls an agent answered since the board started.
	Answered int
	// Abandoned counts callers who hung up in the queue before an answer, since the
	// board started.
	Abandoned int
}

// Snapshot is an immutable view of the board at one instant. Nothing in it changes
// after it is returned; its slices belong to the caller.
type Snapshot struct {
	// Calls are the calls matching the query, in the query's order.
	Calls []Call
	// Total is the number of calls on the board before filtering.
	Total int
	// At is the board's clock when the snapshot was taken.
	At time.Time
	// Version increases with every change applied to the board.
	Version uint64
	// Feed is the state of the PBX feed.
	Feed Feed
}

// Options configure a Board.
type Options struct {
	// Now is the clock; time.Now when nil. Tests and the demo inject simulated time.
	Now func() time.Time
	// Logger receives debug lines about events that could not be applied; slog.Default when nil.
	Logger *slog.Logger
}

// Board is the live table of calls in progress. It applies events from a driver and
// answers queries with immutable snapshots. It is safe for concurrent use.
type Board struct {
	now func() time.Time
	log *slog.Logger

	mu      sync.RWMutex
	calls   map[string]*Call
	queues  map[string]*queueCounters
	feed    Feed
	version uint64
	// ended remembers recently ended call IDs so late events for them are recognised
	// (and not mistaken for calls never seen), bounded in size.
	ended    map[string]struct{}
	endedLog []string
	// warned remembers (kind, call) pairs already logged, bounded like ended.
	warned    map[warnKey]struct{}
	warnedLog []warnKey

	subMu sync.Mutex
	subs  map[*subscriber]struct{}
}

type queueCounters struct {
	answered, abandoned int
}

type warnKey struct {
	kind EventKind
	id   string
}

const rememberEnded = 4096

// NewBoard returns an empty board.
func NewBoard(o Options) *Board {
	b := &Board{
		now:    o.Now,
		log:    o.Logger,
		calls:  make(map[string]*Call),
		queues: make(map[string]*queueCounters),
		ended:  make(map[string]struct{}),
		warned: make(map[warnKey]struct{}),
		subs:   make(map[*subscriber]struct{}),
	}
	if b.now == nil {
		b.now = time.Now
	}
	if b.log == nil {
		b.log = slog.Default()
	}
	return b
}

// Now returns the board's clock.
func (b *Board) Now() time.Time { return b.now() }

// Apply applies one event. Events that cannot apply (unknown call, duplicate hang-up,
// out of order) are ignored and logged once at debug level; they never corrupt the board.
func (b *Board) Apply(e Event) {
	b.mu.Lock()
	changed := b.apply(&e)
	if changed {
		b.version++
	}
	b.mu.Unlock()
	if changed {
		b.notify()
	}
}

// ApplyAll applies events in order under one lock, notifying subscribers once.
func (b *Board) ApplyAll(events []Event) {
	changed := false
	b.mu.Lock()
	for i := range events {
		if b.apply(&events[i]) {
			changed = true
			b.version++
		}
	}
	b.mu.Unlock()
	if changed {
		b.notify()
	}
}

func (b *Board) apply(e *Event) bool {
	switch e.Kind {
	case EventFeed:
		b.feed = e.Feed
		if b.feed.Since.IsZero() {
			b.feed.Since = b.now()
		}
		return true
	case EventSync:
		b.sync(e.Calls)
		return true
	case EventCallStarted:
		return b.start(e)
	}
	c := b.calls[e.CallID]
	if c == nil {
		b.ignore(e, "event for a call not on the board")
		return false
	}
	at := e.At
	if at.IsZero() {
		at = b.now()
	}
	// Clock skew: nothing about a call happens before it started.
	if !c.StartTime.IsZero() && at.Before(c.StartTime) {
		at = c.StartTime
	}
	switch e.Kind {
	case EventCallUpdated:
		fillDetails(c, e)
	case EventQueueJoined:
		if e.Queue == "" {
			b.ignore(e, "queue join without a queue")
			return false
		}
		c.Queue = e.Queue
		if c.Status == StatusAnswered {
			// an answered call sent back to a queue waits again
			c.Status = StatusCalling
		}
		if c.Status == StatusCalling {
			c.QueueJoinTime = at
			c.StatusSince = at
		}
	case EventAgentRinging:
		if c.Direction == Outbound && c.Status != StatusAnswered {
			// the placing agent's own phone rings before the customer is dialled
			if e.Agent != "" {
				c.LastAgent = e.Agent
			}
			return true
		}
		if c.Status == StatusAnswered {
			// a transfer: the call now rings the chosen agent; it is not waiting in
			// the queue again, so it leaves the queue's waiting figures
			c.Status = StatusCalling
			c.StatusSince = at
			c.QueueJoinTime = time.Time{}
		}
		if e.Agent != "" {
			c.LastAgent = e.Agent
		}
	case EventAgentNoAnswer:
		// the last agent rung stays the last agent; nothing else changes
		return false
	case EventCustomerRinging:
		if c.Status == StatusAnswered {
			b.ignore(e, "customer ringing on an answered call")
			return false
		}
		if c.Status != StatusRinging {
			c.Status = StatusRinging
			c.StatusSince = at
		}
		if e.Agent != "" {
			c.LastAgent = e.Agent
		}
	case EventAnswered:
		first := c.AnswerTime.IsZero()
		if c.Status == StatusAnswered && (e.Agent == "" || e.Agent == c.LastAgent) {
			return false // duplicate
		}
		c.Status = StatusAnswered
		c.AnswerTime = at
		c.StatusSince = at
		if c.Stolen {
			// a stolen call transferred on: the supervisor is no longer the party
			c.Stolen = false
			if c.Monitor == MonitorNone {
				c.Supervisor = ""
			}
		}
		if e.Agent != "" {
			c.LastAgent = e.Agent
		}
		if first && c.Queue != "" {
			b.counters(c.Queue).answered++
		}
	case EventStolen:
		c.Stolen = true
		c.Supervisor = e.Supervisor
		c.LastAgent = e.Supervisor
		if c.Monitor != MonitorNone {
			c.Monitor = MonitorNone
		}
		if c.Status != StatusAnswered {
			c.Status = StatusAnswered
			c.StatusSince = at
			if c.AnswerTime.IsZero() {
				c.AnswerTime = at
			}
		}
	case EventMonitorStarted:
		c.Monitor = e.Mode
		if c.Monitor == MonitorNone {
			c.Monitor = MonitorListen
		}
		if e.Supervisor != "" {
			c.Supervisor = e.Supervisor
		}
	case EventMonitorStopped:
		if c.Monitor == MonitorNone {
			return false
		}
		c.Monitor = MonitorNone
		if !c.Stolen {
			c.Supervisor = ""
		}
	case EventCallEnded:
		if e.Reason == EndAbandoned && c.Queue != "" && c.AnswerTime.IsZero() {
			b.counters(c.Queue).abandoned++
		}
		b.remove(c.ID)
	default:
		b.ignore(e, "unknown event kind")
		return false
	}
	return true
}

func (b *Board) start(e *Event) bool {
	if e.CallID == "" {
		b.ignore(e, "call start without an id")
		return false
	}
	if c := b.calls[e.CallID]; c != nil {
		fillDetails(c, e)
		if c.LastAgent == "" && e.Agent != "" {
			c.LastAgent = e.Agent
		}
		return true
	}
	if _, gone := b.ended[e.CallID]; gone {
		b.ignore(e, "start of a call that already ended")
		return false
	}
	at := e.At
	if at.IsZero() {
		at = b.now()
	}
	c := &Call{
		ID:          e.CallID,
		Customer:    e.Customer,
		Hotline:     e.Hotline,
		Campaign:    e.Campaign,
		Direction:   e.Direction,
		LastAgent:   e.Agent,
		Status:      StatusCalling,
		StartTime:   at,
		StatusSince: at,
	}
	b.calls[c.ID] = c
	return true
}

func fillDetails(c *Call, e *Event) {
	if e.Kind == EventCallUpdated && e.Replace {
		c.Customer, c.Hotline, c.Campaign = e.Customer, e.Hotline, e.Campaign
	}
	if e.Customer != "" {
		c.Customer = e.Customer
	}
	if e.Hotline != "" {
		c.Hotline = e.Hotline
	}
	if e.Campaign != "" {
		c.Campaign = e.Campaign
	}
	if e.Direction != DirectionUnknown {
		c.Direction = e.Direction
	}
}

func (b *Board) counters(queue string) *queueCounters {
	q := b.queues[queue]
	if q == nil {
		q = &queueCounters{}
		b.queues[queue] = q
	}
	return q
}

func (b *Board) remove(id string) {
	delete(b.calls, id)
	b.markEnded(id)
}

func (b *Board) markEnded(id string) {
	b.ended[id] = struct{}{}
	b.endedLog = append(b.endedLog, id)
	if len(b.endedLog) > rememberEnded {
		delete(b.ended, b.endedLog[0])
		b.endedLog = slices.Delete(b.endedLog, 0, 1)
	}
}

// ignore logs, once per (kind, call), an event that could not be applied.
func (b *Board) ignore(e *Event, why string) {
	k := warnKey{e.Kind, e.CallID}
	if _, seen := b.warned[k]; seen {
		return
	}
	b.warned[k] = struct{}{}
	b.warnedLog = append(b.warnedLog, k)
	if len(b.warnedLog) > rememberEnded {
		delete(b.warned, b.warnedLog[0])
		b.warnedLog = slices.Delete(b.warnedLog, 0, 1)
	}
	_, ended := b.ended[e.CallID]
	b.log.Debug("monitor: event ignored", "why", why, "event", e.Kind.String(), "call", e.CallID, "ended", ended)
}

// sync replaces the board's calls with the PBX's full state.
func (b *Board) sync(calls []Call) {
	next := make(map[string]*Call, len(calls))
	for i := range calls {
		in := calls[i]
		if in.ID == "" {
			continue
		}
		if old := b.calls[in.ID]; old != nil {
			mergeKnown(&in, old)
		}
		if in.StartTime.IsZero() {
			in.StartTime = b.now()
		}
		if in.StatusSince.IsZero() {
			in.StatusSince = in.StartTime
		}
		c := in
		next[in.ID] = &c
	}
	for id := range b.calls {
		if _, ok := next[id]; !ok {
			b.markEnded(id)
		}
	}
	b.calls = next
}

// mergeKnown keeps what the board already knew about a call and the PBX cannot report
// again in a resync (answer time, queue join time, details learned from events). The
// PBX's word wins for everything it reports, monitoring and steals included: a session
// that ended while the feed was down must not come back.
func mergeKnown(in *Call, old *Call) {
	if in.AnswerTime.IsZero() && in.Status == StatusAnswered && old.Status == StatusAnswered {
		in.AnswerTime = old.AnswerTime
		in.StatusSince = old.StatusSince
	}
	if in.QueueJoinTime.IsZero() && in.Queue == old.Queue {
		in.QueueJoinTime = old.QueueJoinTime
		if in.Status == StatusCalling && old.Status == StatusCalling && in.StatusSince.IsZero() {
			in.StatusSince = old.StatusSince
		}
	}
	if in.Status == old.Status && in.StatusSince.IsZero() {
		in.StatusSince = old.StatusSince
	}
	if in.StartTime.IsZero() || (!old.StartTime.IsZero() && old.StartTime.Before(in.StartTime)) {
		in.StartTime = old.StartTime
	}
	if in.Customer == "" {
		in.Customer = old.Customer
	}
	if in.Hotline == "" {
		in.Hotline = old.Hotline
	}
	if in.Campaign == "" {
		in.Campaign = old.Campaign
	}
	if in.Direction == DirectionUnknown {
		in.Direction = old.Direction
	}
	if in.LastAgent == "" {
		in.LastAgent = old.LastAgent
	}
}

// Len returns the number of calls on the board.
func (b *Board) Len() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.calls)
}

// Get returns a copy of the call with the given ID.
func (b *Board) Get(id string) (Call, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	c, ok := b.calls[id]
	if !ok {
		return Call{}, false
	}
	return *c, true
}

// Feed returns the PBX feed's state.
func (b *Board) Feed() Feed {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.feed
}

// Version returns the number of changes applied so far.
func (b *Board) Version() uint64 {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.version
}

// Snapshot returns the calls matching q, sorted as q says.
func (b *Board) Snapshot(q Query) Snapshot {
	m := q.compile()
	b.mu.RLock()
	s := Snapshot{Total: len(b.calls), Version: b.version, Feed: b.feed, At: b.now()}
	matched := make([]*Call, 0, len(b.calls))
	for _, c := range b.calls {
		if m.match(c) {
			matched = append(matched, c)
		}
	}
	// Sorting pointers under the read lock is safe: writers are excluded, and the
	// values are copied out before the lock is released.
	sortCalls(matched, q.Sort, q.Desc)
	s.Calls = make([]Call, len(matched))
	for i, c := range matched {
		s.Calls[i] = *c
	}
	b.mu.RUnlock()
	return s
}

func sortCalls(calls []*Call, col Column, desc bool) {
	if _, text := textOf(&Call{}, col); text {
		sortByText(calls, col, desc)
		return
	}
	slices.SortFunc(calls, func(a, c *Call) int {
		r := compareCalls(a, c, col)
		if desc {
			r = -r
		}
		if r != 0 {
			return r
		}
		if r = a.StartTime.Compare(c.StartTime); r != 0 {
			return r
		}
		return strings.Compare(a.ID, c.ID)
	})
}

// Stats returns per-queue wallboard figures, sorted by queue name. Queues appear once a
// call has joined them.
func (b *Board) Stats() []QueueStats {
	b.mu.RLock()
	now := b.now()
	byQueue := make(map[string]*QueueStats, len(b.queues))
	get := func(q string) *QueueStats {
		s := byQueue[q]
		if s == nil {
			s = &QueueStats{Queue: q}
			byQueue[q] = s
		}
		return s
	}
	for name, q := range b.queues {
		s := get(name)
		s.Answered, s.Abandoned = q.answered, q.abandoned
	}
	for _, c := range b.calls {
		if c.Queue == "" {
			continue
		}
		s := get(c.Queue)
		switch {
		case c.Waiting():
			s.Waiting++
			if w := now.Sub(c.QueueJoinTime); w > s.LongestWait {
				s.LongestWait = w
			}
		case c.Status == StatusAnswered:
			s.Talking++
		}
	}
	b.mu.RUnlock()
	out := make([]QueueStats, 0, len(byQueue))
	for _, s := range byQueue {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b QueueStats) int {
		if a.Queue < b.Queue {
			return -1
		}
		if a.Queue > b.Queue {
			return 1
		}
		return 0
	})
	return out
}

// Queues returns the names of the queues seen so far, sorted.
func (b *Board) Queues() []string {
	st := b.Stats()
	out := make([]string, len(st))
	for i, s := range st {
		out[i] = s.Queue
	}
	return out
}

type subscriber struct {
	kick chan struct{}
}

// Subscribe returns a channel that receives a value after the board changed, at most
// once per minInterval: bursts of changes are coalesced into one notification, so a UI
// redraws at most a few times per second. The channel closes when ctx is done.
func (b *Board) Subscribe(ctx context.Context, minInterval time.Duration) <-chan struct{} {
	s := &subscriber{kick: make(chan struct{}, 1)}
	out := make(chan struct{}, 1)
	b.subMu.Lock()
	b.subs[s] = struct{}{}
	b.subMu.Unlock()
	go func() {
		defer close(out)
		defer func() {
			b.subMu.Lock()
			delete(b.subs, s)
			b.subMu.Unlock()
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.kick:
			}
			select {
			case out <- struct{}{}:
			default: // the reader has a notification pending already
			}
			if minInterval > 0 {
				t := time.NewTimer(minInterval)
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
			}
		}
	}()
	return out
}

func (b *Board) notify() {
	b.subMu.Lock()
	for s := range b.subs {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
	b.subMu.Unlock()
}
