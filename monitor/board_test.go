package monitor

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }

// fixedClock is a settable clock for tests.
type fixedClock struct{ now time.Time }

func (c *fixedClock) Now() time.Time { return c.now }

func newTestBoard(now time.Time) (*Board, *fixedClock) {
	c := &fixedClock{now: now}
	return NewBoard(Options{Now: c.Now, Logger: slog.New(slog.NewTextHandler(discard{}, nil))}), c
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// row is the part of a Call the seed's columns show.
type row struct {
	Customer, Hotline, Queue string
	Status                   Status
	TimeInStatus             time.Duration
	LastAgent                string
	Answer, Start            time.Time
	Direction                Direction
	Campaign                 string
}

func rowOf(c Call, now time.Time) row {
	return row{c.Customer, c.Hotline, c.Queue, c.Status, c.TimeInStatus(now), c.LastAgent, c.AnswerTime, c.StartTime, c.Direction, c.Campaign}
}

func inboundStart(id string, sec float64) Event {
	return Event{Kind: EventCallStarted, CallID: id, At: at(sec), Direction: Inbound, Customer: "0912345678", Hotline: "19006000"}
}

func TestSeedRules(t *testing.T) {
	const id = "1795668852.0"
	tests := []struct {
		name   string
		events []Event
		now    float64
		want   row
	}{{
		name:   "inbound in the IVR: Calling since the call started",
		events: []Event{inboundStart(id, 0)},
		now:    2.3,
		want:   row{Customer: "0912345678", Hotline: "19006000", Status: StatusCalling, TimeInStatus: 2300 * time.Millisecond, Start: at(0), Direction: Inbound},
	}, {
		name: "inbound waiting in a queue: time waited in the queue",
		events: []Event{inboundStart(id, 0),
			{Kind: EventQueueJoined, CallID: id, At: at(2.3), Queue: "support"}},
		now:  10,
		want: row{Customer: "0912345678", Hotline: "19006000", Queue: "support", Status: StatusCalling, TimeInStatus: 7700 * time.Millisecond, Start: at(0), Direction: Inbound},
	}, {
		name: "inbound ringing an agent: still Calling, the agent rung is the last agent, wait keeps counting",
		events: []Event{inboundStart(id, 0),
			{Kind: EventQueueJoined, CallID: id, At: at(2), Queue: "support"},
			{Kind: EventAgentRinging, CallID: id, At: at(3), Agent: "Agent 1002"},
			{Kind: EventAgentRinging, CallID: id, At: at(3), Agent: "Agent 1001"}},
		now:  4,
		want: row{Customer: "0912345678", Hotline: "19006000", Queue: "support", Status: StatusCalling, TimeInStatus: 2 * time.Second, LastAgent: "Agent 1001", Start: at(0), Direction: Inbound},
	}, {
		name: "inbound ring no answer: the last agent rung stays",
		events: []Event{inboundStart(id, 0),
			{Kind: EventQueueJoined, CallID: id, At: at(2), Queue: "sales"},
			{Kind: EventAgentRinging, CallID: id, At: at(3), Agent: "Agent 1003"},
			{Kind: EventAgentNoAnswer, CallID: id, At: at(4), Agent: "Agent 1003"}},
		now:  5,
		want: row{Customer: "0912345678", Hotline: "19006000", Queue: "sales", Status: StatusCalling, TimeInStatus: 3 * time.Second, LastAgent: "Agent 1003", Start: at(0), Direction: Inbound},
	}, {
		name: "inbound answered: talk time, answer time, the agent talking",
		events: []Event{inboundStart(id, 0),
			{Kind: EventQueueJoined, CallID: id, At: at(2), Queue: "support"},
			{Kind: EventAgentRinging, CallID: id, At: at(3), Agent: "Agent 1002"},
			{Kind: EventAnswered, CallID: id, At: at(4.5), Agent: "Agent 1001"}},
		now:  9.5,
		want: row{Customer: "0912345678", Hotline: "19006000", Queue: "support", Status: StatusAnswered, TimeInStatus: 5 * time.Second, LastAgent: "Agent 1001", Answer: at(4.5), Start: at(0), Direction: Inbound},
	}, {
		name:   "outbound dialling: the placing agent, Calling since start",
		events: []Event{{Kind: EventCallStarted, CallID: id, At: at(0), Direction: Outbound, Agent: "Agent 1002", Campaign: "Khuyến mãi Tết"}},
		now:    1.5,
		want:   row{Status: StatusCalling, TimeInStatus: 1500 * time.Millisecond, LastAgent: "Agent 1002", Start: at(0), Direction: Outbound, Campaign: "Khuyến mãi Tết"},
	}, {
		name: "outbound ringing: the customer's phone rings, time since ringing began",
		events: []Event{{Kind: EventCallStarted, CallID: id, At: at(0), Direction: Outbound, Agent: "Agent 1002", Campaign: "Khuyến mãi Tết"},
			{Kind: EventCustomerRinging, CallID: id, At: at(2), Customer: "7002"},
			{Kind: EventCallUpdated, CallID: id, At: at(2), Customer: "0987654321"}},
		now:  3,
		want: row{Customer: "0987654321", Status: StatusRinging, TimeInStatus: time.Second, LastAgent: "Agent 1002", Start: at(0), Direction: Outbound, Campaign: "Khuyến mãi Tết"},
	}, {
		name: "outbound answered: talk time since the customer answered; the placing agent stays",
		events: []Event{{Kind: EventCallStarted, CallID: id, At: at(0), Direction: Outbound, Agent: "Agent 1002", Customer: "0987654321"},
			{Kind: EventCustomerRinging, CallID: id, At: at(2)},
			{Kind: EventAnswered, CallID: id, At: at(4)}},
		now:  10,
		want: row{Customer: "0987654321", Status: StatusAnswered, TimeInStatus: 6 * time.Second, LastAgent: "Agent 1002", Answer: at(4), Start: at(0), Direction: Outbound},
	}, {
		name: "campaign only on campaign calls: a manual outbound call has none",
		events: []Event{{Kind: EventCallStarted, CallID: id, At: at(0), Direction: Outbound, Agent: "Agent 1001", Customer: "0977000111"},
			{Kind: EventCustomerRinging, CallID: id, At: at(1)}},
		now:  2,
		want: row{Customer: "0977000111", Status: StatusRinging, TimeInStatus: time.Second, LastAgent: "Agent 1001", Start: at(0), Direction: Outbound},
	}, {
		name: "direction learned late (channel variables arrive after the start)",
		events: []Event{{Kind: EventCallStarted, CallID: id, At: at(0), Customer: "0912345678", Hotline: "19006000"},
			{Kind: EventCallUpdated, CallID: id, At: at(0.01), Direction: Inbound}},
		now:  1,
		want: row{Customer: "0912345678", Hotline: "19006000", Status: StatusCalling, TimeInStatus: time.Second, Start: at(0), Direction: Inbound},
	}, {
		name: "transfer: rings the chosen agent, then the new agent talks",
		events: []Event{inboundStart(id, 0),
			{Kind: EventQueueJoined, CallID: id, At: at(2), Queue: "support"},
			{Kind: EventAnswered, CallID: id, At: at(5), Agent: "Agent 1001"},
			{Kind: EventAgentRinging, CallID: id, At: at(8), Agent: "Agent 1003"}},
		now:  9,
		want: row{Customer: "0912345678", Hotline: "19006000", Queue: "support", Status: StatusCalling, TimeInStatus: time.Second, LastAgent: "Agent 1003", Answer: at(5), Start: at(0), Direction: Inbound},
	}, {
		name: "transfer answered: answer time is when the new agent took the call",
		events: []Event{inboundStart(id, 0),
			{Kind: EventQueueJoined, CallID: id, At: at(2), Queue: "support"},
			{Kind: EventAnswered, CallID: id, At: at(5), Agent: "Agent 1001"},
			{Kind: EventAgentRinging, CallID: id, At: at(8), Agent: "Agent 1003"},
			{Kind: EventAnswered, CallID: id, At: at(9.5), Agent: "Agent 1003"}},
		now:  12,
		want: row{Customer: "0912345678", Hotline: "19006000", Queue: "support", Status: StatusAnswered, TimeInStatus: 2500 * time.Millisecond, LastAgent: "Agent 1003", Answer: at(9.5), Start: at(0), Direction: Inbound},
	}, {
		name: "steal: the supervisor is the party, answer time and talk time unchanged",
		events: []Event{inboundStart(id, 0),
			{Kind: EventQueueJoined, CallID: id, At: at(2), Queue: "support"},
			{Kind: EventAnswered, CallID: id, At: at(5), Agent: "Agent 1001"},
			{Kind: EventStolen, CallID: id, At: at(8), Supervisor: "Supervisor 2001"}},
		now:  10,
		want: row{Customer: "0912345678", Hotline: "19006000", Queue: "support", Status: StatusAnswered, TimeInStatus: 5 * time.Second, LastAgent: "Supervisor 2001", Answer: at(5), Start: at(0), Direction: Inbound},
	}, {
		name: "clock skew: the board's clock behind the events never gives negative durations",
		events: []Event{inboundStart(id, 0),
			{Kind: EventAnswered, CallID: id, At: at(5), Agent: "Agent 1001"}},
		now:  3,
		want: row{Customer: "0912345678", Hotline: "19006000", Status: StatusAnswered, TimeInStatus: 0, LastAgent: "Agent 1001", Answer: at(5), Start: at(0), Direction: Inbound},
	}, {
		name: "an event stamped before the call started is clamped to the start",
		events: []Event{inboundStart(id, 10),
			{Kind: EventQueueJoined, CallID: id, At: at(9), Queue: "support"}},
		now:  12,
		want: row{Customer: "0912345678", Hotline: "19006000", Queue: "support", Status: StatusCalling, TimeInStatus: 2 * time.Second, Start: at(10), Direction: Inbound},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, clock := newTestBoard(at(0))
			for _, e := range tc.events {
				b.Apply(e)
			}
			clock.now = at(tc.now)
			s := b.Snapshot(Query{})
			if len(s.Calls) != 1 {
				t.Fatalf("got %d rows, want 1", len(s.Calls))
			}
			if got := rowOf(s.Calls[0], s.At); got != tc.want {
				t.Errorf("row\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestEndedCallsLeaveAndCountInStats(t *testing.T) {
	b, clock := newTestBoard(at(0))
	// answered in support, then completed
	b.Apply(inboundStart("a", 0))
	b.Apply(Event{Kind: EventQueueJoined, CallID: "a", At: at(1), Queue: "support"})
	b.Apply(Event{Kind: EventAnswered, CallID: "a", At: at(3), Agent: "Agent 1001"})
	// abandoned in sales
	b.Apply(inboundStart("b", 0))
	b.Apply(Event{Kind: EventQueueJoined, CallID: "b", At: at(2), Queue: "sales"})
	// waiting in sales
	b.Apply(inboundStart("c", 4))
	b.Apply(Event{Kind: EventQueueJoined, CallID: "c", At: at(5), Queue: "sales"})
	clock.now = at(10)

	st := b.Stats()
	want := []QueueStats{
		{Queue: "sales", Waiting: 2, LongestWait: 8 * time.Second},
		{Queue: "support", Talking: 1, Answered: 1},
	}
	if !equalStats(st, want) {
		t.Fatalf("stats before ends\n got %+v\nwant %+v", st, want)
	}
	b.Apply(Event{Kind: EventCallEnded, CallID: "a", At: at(10)})
	b.Apply(Event{Kind: EventCallEnded, CallID: "b", At: at(10), Reason: EndAbandoned})
	st = b.Stats()
	want = []QueueStats{
		{Queue: "sales", Waiting: 1, LongestWait: 5 * time.Second, Abandoned: 1},
		{Queue: "support", Answered: 1},
	}
	if !equalStats(st, want) {
		t.Fatalf("stats after ends\n got %+v\nwant %+v", st, want)
	}
	if s := b.Snapshot(Query{}); len(s.Calls) != 1 || s.Calls[0].ID != "c" {
		t.Fatalf("rows after ends: %+v", s.Calls)
	}
}

func equalStats(a, b []QueueStats) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestBadInputNeverCorruptsTheBoard(t *testing.T) {
	var logs bytes.Buffer
	clock := &fixedClock{now: at(0)}
	b := NewBoard(Options{Now: clock.Now, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})

	b.Apply(Event{Kind: EventAnswered, CallID: "ghost", At: at(1), Agent: "Agent 1001"}) // unknown call
	b.Apply(Event{Kind: EventAnswered, CallID: "ghost", At: at(1), Agent: "Agent 1001"}) // logged once only
	b.Apply(Event{Kind: EventCallEnded, CallID: "ghost", At: at(1)})
	b.Apply(Event{Kind: EventCallStarted, At: at(1)}) // no id
	if n := b.Len(); n != 0 {
		t.Fatalf("events for unknown calls created %d ghost rows", n)
	}

	b.Apply(inboundStart("x", 1))
	b.Apply(Event{Kind: EventQueueJoined, CallID: "x", At: at(2), Queue: "support"})
	b.Apply(Event{Kind: EventCallEnded, CallID: "x", At: at(5), Reason: EndAbandoned})
	b.Apply(Event{Kind: EventCallEnded, CallID: "x", At: at(5), Reason: EndAbandoned}) // duplicate hang-up
	b.Apply(Event{Kind: EventAnswered, CallID: "x", At: at(6), Agent: "Agent 1001"})   // late event
	b.Apply(inboundStart("x", 1))                                                      // late duplicate start
	if n := b.Len(); n != 0 {
		t.Fatalf("late events resurrected an ended call: %d rows", n)
	}
	if st := b.Stats(); len(st) != 1 || st[0].Abandoned != 1 {
		t.Fatalf("duplicate hang-up counted twice: %+v", st)
	}
	if c := strings.Count(logs.String(), "call=ghost"); c != 2 { // Answered once, CallEnded once
		t.Fatalf("want each ignored (kind, call) logged once, got %d lines:\n%s", c, logs.String())
	}
	if !strings.Contains(logs.String(), "level=DEBUG") || strings.Contains(logs.String(), "level=WARN") {
		t.Fatalf("ignored events must be logged at debug level:\n%s", logs.String())
	}
}

func TestOutOfOrderDuplicateAnswerKeepsFirstAnswer(t *testing.T) {
	b, clock := newTestBoard(at(0))
	b.Apply(inboundStart("x", 0))
	b.Apply(Event{Kind: EventQueueJoined, CallID: "x", At: at(1), Queue: "support"})
	b.Apply(Event{Kind: EventAnswered, CallID: "x", At: at(3), Agent: "Agent 1001"})
	b.Apply(Event{Kind: EventAnswered, CallID: "x", At: at(4), Agent: "Agent 1001"}) // duplicate
	b.Apply(Event{Kind: EventCustomerRinging, CallID: "x", At: at(4)})               // stale
	clock.now = at(6)
	c, _ := b.Get("x")
	if c.Status != StatusAnswered || !c.AnswerTime.Equal(at(3)) || c.TimeInStatus(clock.now) != 3*time.Second {
		t.Fatalf("duplicate/stale events changed the call: %+v", c)
	}
	if st := b.Stats(); st[0].Answered != 1 {
		t.Fatalf("answered counted %d times", st[0].Answered)
	}
}

func TestSyncDropsGhostsAddsMissingKeepsKnownTimes(t *testing.T) {
	b, clock := newTestBoard(at(0))
	b.Apply(inboundStart("kept", 0))
	b.Apply(Event{Kind: EventQueueJoined, CallID: "kept", At: at(1), Queue: "support"})
	b.Apply(Event{Kind: EventAnswered, CallID: "kept", At: at(3), Agent: "Agent 1001"})
	b.Apply(Event{Kind: EventMonitorStarted, CallID: "kept", At: at(4), Mode: MonitorListen, Supervisor: "Supervisor"})
	b.Apply(inboundStart("gone", 0))
	clock.now = at(20)
	// The PBX after a reconnect: "kept" (no answer time in list replies) and a new call.
	b.Apply(Event{Kind: EventSync, Calls: []Call{
		{ID: "kept", Customer: "0912345678", Queue: "support", Status: StatusAnswered, LastAgent: "Agent 1001", StartTime: at(0), Direction: Inbound},
		{ID: "new", Customer: "0977000111", Queue: "sales", Status: StatusCalling, StartTime: at(15), Direction: Inbound},
	}})
	s := b.Snapshot(Query{Sort: ColID})
	if len(s.Calls) != 2 || s.Calls[0].ID != "kept" || s.Calls[1].ID != "new" {
		t.Fatalf("after sync: %+v", s.Calls)
	}
	k := s.Calls[0]
	if !k.AnswerTime.Equal(at(3)) || k.TimeInStatus(s.At) != 17*time.Second || k.Hotline != "19006000" {
		t.Fatalf("sync lost what the board knew: %+v", k)
	}
	if k.Monitor != MonitorNone || k.Supervisor != "" {
		t.Fatalf("a monitoring session the PBX no longer reports survived the sync: %+v", k)
	}
	if n := s.Calls[1]; n.TimeInStatus(s.At) != 5*time.Second {
		t.Fatalf("new call's time in status: %v", n.TimeInStatus(s.At))
	}
	b.Apply(Event{Kind: EventAnswered, CallID: "gone", At: at(21), Agent: "Agent 1002"})
	if b.Len() != 2 {
		t.Fatal("late event for a call dropped by sync came back")
	}
}

func TestTransferredCallIsNotWaitingInTheQueue(t *testing.T) {
	b, clock := newTestBoard(at(0))
	b.Apply(inboundStart("x", 0))
	b.Apply(Event{Kind: EventQueueJoined, CallID: "x", At: at(1), Queue: "support"})
	b.Apply(Event{Kind: EventAnswered, CallID: "x", At: at(5), Agent: "Agent 1001"})
	b.Apply(Event{Kind: EventAgentRinging, CallID: "x", At: at(600), Agent: "Agent 1003"})
	clock.now = at(602)
	st := b.Stats()
	if len(st) != 1 || st[0].Waiting != 0 || st[0].LongestWait != 0 || st[0].Talking != 0 {
		t.Fatalf("a call being transferred counts in the queue figures: %+v", st)
	}
	if c, _ := b.Get("x"); c.Waiting() || c.TimeInStatus(clock.now) != 2*time.Second {
		t.Fatalf("transferred call: waiting %v, time in status %v", c.Waiting(), c.TimeInStatus(clock.now))
	}
}

func TestUpdateWithReplaceCorrectsAnEarlyGuess(t *testing.T) {
	b, _ := newTestBoard(at(0))
	b.Apply(Event{Kind: EventCallStarted, CallID: "x", At: at(0), Customer: "1001", Hotline: "7003"})
	b.Apply(Event{Kind: EventCallUpdated, CallID: "x", At: at(1), Direction: Outbound})
	if c, _ := b.Get("x"); c.Hotline != "7003" {
		t.Fatalf("an update without Replace must keep values: %+v", c)
	}
	b.Apply(Event{Kind: EventCallUpdated, CallID: "x", At: at(1), Replace: true, Customer: "7003"})
	if c, _ := b.Get("x"); c.Customer != "7003" || c.Hotline != "" || c.Direction != Outbound {
		t.Fatalf("Replace did not correct the guess: %+v", c)
	}
}

func TestTransferOfAStolenCallForgetsTheSupervisor(t *testing.T) {
	b, _ := newTestBoard(at(0))
	b.Apply(inboundStart("x", 0))
	b.Apply(Event{Kind: EventAnswered, CallID: "x", At: at(3), Agent: "Agent 1001"})
	b.Apply(Event{Kind: EventStolen, CallID: "x", At: at(5), Supervisor: "Lan"})
	b.Apply(Event{Kind: EventAgentRinging, CallID: "x", At: at(8), Agent: "Agent 1003"})
	b.Apply(Event{Kind: EventAnswered, CallID: "x", At: at(9), Agent: "Agent 1003"})
	if c, _ := b.Get("x"); c.Stolen || c.Supervisor != "" || c.LastAgent != "Agent 1003" {
		t.Fatalf("after transfer of a stolen call: %+v", c)
	}
}

func TestMonitoringMarker(t *testing.T) {
	b, _ := newTestBoard(at(0))
	b.Apply(inboundStart("x", 0))
	b.Apply(Event{Kind: EventAnswered, CallID: "x", At: at(3), Agent: "Agent 1001"})
	b.Apply(Event{Kind: EventMonitorStarted, CallID: "x", At: at(4), Mode: MonitorPending, Supervisor: "Lan"})
	if c, _ := b.Get("x"); c.Monitor != MonitorPending || c.Supervisor != "Lan" {
		t.Fatalf("pending: %+v", c)
	}
	b.Apply(Event{Kind: EventMonitorStarted, CallID: "x", At: at(5), Mode: MonitorWhisper})
	if c, _ := b.Get("x"); c.Monitor != MonitorWhisper || c.Supervisor != "Lan" {
		t.Fatalf("whisper: %+v", c)
	}
	b.Apply(Event{Kind: EventMonitorStopped, CallID: "x", At: at(9)})
	if c, _ := b.Get("x"); c.Monitor != MonitorNone || c.Supervisor != "" {
		t.Fatalf("stopped: %+v", c)
	}
}

func TestQueryFiltersAndSorts(t *testing.T) {
	b, clock := newTestBoard(at(0))
	add := func(id, customer, queue, agent, campaign string, dir Direction, start float64) {
		id = "id" + id
		b.Apply(Event{Kind: EventCallStarted, CallID: id, At: at(start), Direction: dir, Customer: customer, Campaign: campaign, Agent: agentIfOut(dir, agent)})
		if queue != "" {
			b.Apply(Event{Kind: EventQueueJoined, CallID: id, At: at(start + 1), Queue: queue})
		}
	}
	add("1", "0912345678", "support", "", "", Inbound, 0)
	add("2", "0987654321", "sales", "", "", Inbound, 1)
	add("3", "0355123456", "", "Agent 1002", "Khuyến mãi Tết", Outbound, 2)
	add("4", "0868000111", "support", "", "", Inbound, 3)
	b.Apply(Event{Kind: EventAnswered, CallID: "id4", At: at(4), Agent: "Nguyễn Văn An"})
	b.Apply(Event{Kind: EventCustomerRinging, CallID: "id3", At: at(3)})
	clock.now = at(10)

	ids := func(q Query) string {
		s := b.Snapshot(q)
		var out []string
		for _, c := range s.Calls {
			out = append(out, strings.TrimPrefix(c.ID, "id"))
		}
		return strings.Join(out, ",")
	}
	cases := []struct {
		name string
		q    Query
		want string
	}{
		{"all by start", Query{Sort: ColStartTime}, "1,2,3,4"},
		{"all by start desc", Query{Sort: ColStartTime, Desc: true}, "4,3,2,1"},
		{"queues", Query{Queues: []string{"support", "sales"}, Sort: ColID}, "1,2,4"},
		{"status", Query{Statuses: []Status{StatusRinging, StatusAnswered}, Sort: ColID}, "3,4"},
		{"direction", Query{Directions: []Direction{Outbound}}, "3"},
		{"agent", Query{Agents: []string{"Nguyễn Văn An"}}, "4"},
		{"text over number", Query{Text: "98765"}, "2"},
		{"text over campaign, case and diacritics", Query{Text: "KHUYẾN"}, "3"},
		{"text over agent", Query{Text: "văn an"}, "4"},
		{"text over call id", Query{Text: "ID3"}, "3"},
		{"text and queue", Query{Text: "09", Queues: []string{"support"}, Sort: ColID}, "1"},
		{"sort by customer", Query{Sort: ColCustomer}, "3,4,1,2"},
		{"sort by time in status, shortest first", Query{Sort: ColTimeInStatus}, "4,3,2,1"},
		{"sort by time in status desc, longest first", Query{Sort: ColTimeInStatus, Desc: true}, "1,2,3,4"},
		{"sort by queue, empty first, stable by start", Query{Sort: ColQueue}, "3,2,1,4"},
		{"sort by status", Query{Sort: ColStatus}, "1,2,3,4"},
		{"no match", Query{Text: "nothing like this"}, ""},
	}
	for _, tc := range cases {
		if got := ids(tc.q); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func agentIfOut(d Direction, agent string) string {
	if d == Outbound {
		return agent
	}
	return ""
}

func TestSnapshotIsImmutable(t *testing.T) {
	b, _ := newTestBoard(at(0))
	b.Apply(inboundStart("x", 0))
	s := b.Snapshot(Query{})
	b.Apply(Event{Kind: EventAnswered, CallID: "x", At: at(1), Agent: "Agent 1001"})
	if s.Calls[0].Status != StatusCalling {
		t.Fatal("a snapshot changed after it was taken")
	}
	s.Calls[0].Customer = "changed"
	if c, _ := b.Get("x"); c.Customer != "0912345678" {
		t.Fatal("changing a snapshot changed the board")
	}
}

func TestSubscribeCoalescesBursts(t *testing.T) {
	b, _ := newTestBoard(at(0))
	ctx, cancel := context.WithCancel(context.Background())
	ch := b.Subscribe(ctx, 200*time.Millisecond)
	for i := 0; i < 10000; i++ {
		b.Apply(Event{Kind: EventCallStarted, CallID: string(rune('a'+i%26)) + time.Duration(i).String(), At: at(0)})
	}
	got := 0
	deadline := time.After(700 * time.Millisecond)
loop:
	for {
		select {
		case <-ch:
			got++
		case <-deadline:
			break loop
		}
	}
	if got < 1 || got > 4 {
		t.Fatalf("10000 changes in a burst gave %d notifications within 700 ms at ≥200 ms apart; want 1..4", got)
	}
	cancel()
	for range ch { // closes after cancel
	}
}

func TestParsers(t *testing.T) {
	if s, err := ParseStatus("answered"); err != nil || s != StatusAnswered {
		t.Fatal(s, err)
	}
	if _, err := ParseStatus("talking"); err == nil {
		t.Fatal("want an error for an unknown status")
	}
	if d, err := ParseDirection("OUT"); err != nil || d != Outbound {
		t.Fatal(d, err)
	}
	if k, err := ParseActionKind("Barge"); err != nil || k != ActBarge {
		t.Fatal(k, err)
	}
	for _, c := range Columns {
		if p, ok := ParseColumn(c.String()); !ok || p != c {
			t.Fatalf("column %v does not round-trip", c)
		}
	}
}

func TestTextColumnsSortInVietnameseOrder(t *testing.T) {
	b, _ := newTestBoard(at(0))
	names := []string{"Đặng Thị Oanh", "Dương Văn Nam", "Zô Văn A", "Hoàng Minh", "Ân Thị Bích", "An Văn Cường", "đào thị lan"}
	for i, n := range names {
		id := string(rune('a' + i))
		b.Apply(Event{Kind: EventCallStarted, CallID: id, At: at(0), Direction: Outbound, Agent: n})
	}
	var got []string
	for _, c := range b.Snapshot(Query{Sort: ColLastAgent}).Calls {
		got = append(got, c.LastAgent)
	}
	want := []string{"An Văn Cường", "Ân Thị Bích", "Dương Văn Nam", "đào thị lan", "Đặng Thị Oanh", "Hoàng Minh", "Zô Văn A"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("Vietnamese order\n got %q\nwant %q", got, want)
	}
	got = got[:0]
	for _, c := range b.Snapshot(Query{Sort: ColLastAgent, Desc: true}).Calls {
		got = append(got, c.LastAgent)
	}
	if got[0] != "Zô Văn A" || got[len(got)-1] != "An Văn Cường" {
		t.Fatalf("descending: %q", got)
	}
}
