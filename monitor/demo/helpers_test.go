package demo

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/earshot-app/earshot/monitor"
)

// testStart is a weekday morning in Hồ Chí Minh City.
var testStart = time.Date(2027, 1, 20, 9, 0, 0, 0, time.FixedZone("ICT", 7*3600))

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// newTestDriver builds a driver starting at testStart, logging nowhere, unless cfg says
// otherwise.
func newTestDriver(cfg Config) *Driver {
	if cfg.Start.IsZero() {
		cfg.Start = testStart
	}
	if cfg.Logger == nil {
		cfg.Logger = quiet()
	}
	return New(cfg)
}

// newBoard returns a Board on the driver's simulated clock.
func newBoard(d *Driver) *monitor.Board {
	return monitor.NewBoard(monitor.Options{Now: d.Now, Logger: quiet()})
}

// recorder is a sink that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []monitor.Event
}

func (r *recorder) Apply(e monitor.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) all() []monitor.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]monitor.Event(nil), r.events...)
}

// tee forwards events to several sinks.
type tee []monitor.Sink

func (t tee) Apply(e monitor.Event) {
	for _, s := range t {
		s.Apply(e)
	}
}

// eventKey renders an event completely (times to the nanosecond) for comparisons.
func eventKey(e monitor.Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|%d|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%d",
		e.Kind, e.CallID, e.At.UnixNano(), e.Customer, e.Hotline, e.Queue, e.Agent, e.Campaign,
		e.Direction, e.Mode, e.Supervisor, e.Reason, e.Feed.State, len(e.Calls))
	for _, c := range e.Calls {
		b.WriteString("|" + callKey(c))
	}
	return b.String()
}

func callKey(c monitor.Call) string {
	return fmt.Sprintf("%s/%s/%s/%s/%s/%d/%s/%d/%d/%d/%s/%s/%s/%s/%t", c.ID, c.Customer, c.Hotline, c.Queue,
		c.Status, c.StatusSince.UnixNano(), c.LastAgent, nanos(c.AnswerTime), c.StartTime.UnixNano(),
		nanos(c.QueueJoinTime), c.Direction, c.Campaign, c.Monitor, c.Supervisor, c.Stolen)
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// diffCall lists the grid fields in which the board's row differs from the truth.
func diffCall(board, truth monitor.Call, now time.Time) []string {
	var d []string
	str := func(name, b, t string) {
		if b != t {
			d = append(d, fmt.Sprintf("%s: board %q, truth %q", name, b, t))
		}
	}
	tm := func(name string, b, t time.Time) {
		if !b.Equal(t) {
			d = append(d, fmt.Sprintf("%s: board %v, truth %v", name, b, t))
		}
	}
	str("id", board.ID, truth.ID)
	str("customer", board.Customer, truth.Customer)
	str("hotline", board.Hotline, truth.Hotline)
	str("queue", board.Queue, truth.Queue)
	str("status", board.Status.String(), truth.Status.String())
	tm("status since", board.StatusSince, truth.StatusSince)
	if b, t := board.TimeInStatus(now), truth.TimeInStatus(now); b != t {
		d = append(d, fmt.Sprintf("time in status: board %v, truth %v", b, t))
	}
	str("last agent", board.LastAgent, truth.LastAgent)
	tm("answer time", board.AnswerTime, truth.AnswerTime)
	tm("start time", board.StartTime, truth.StartTime)
	tm("queue join time", board.QueueJoinTime, truth.QueueJoinTime)
	str("direction", board.Direction.String(), truth.Direction.String())
	str("campaign", board.Campaign, truth.Campaign)
	str("monitor", board.Monitor.String(), truth.Monitor.String())
	if board.Stolen != truth.Stolen {
		d = append(d, fmt.Sprintf("stolen: board %t, truth %t", board.Stolen, truth.Stolen))
	}
	if truth.Monitor != monitor.MonitorNone || truth.Stolen {
		str("supervisor", board.Supervisor, truth.Supervisor)
	}
	return d
}

// compareAll checks a whole snapshot against the truth: same rows, same fields.
func compareAll(t *testing.T, when string, snap []monitor.Call, truth []monitor.Call, now time.Time) {
	t.Helper()
	byID := make(map[string]monitor.Call, len(snap))
	for _, c := range snap {
		if _, dup := byID[c.ID]; dup {
			t.Fatalf("%s: call %s appears twice on the board", when, c.ID)
		}
		byID[c.ID] = c
	}
	for _, tc := range truth {
		bc, ok := byID[tc.ID]
		if !ok {
			t.Fatalf("%s: call %s is missing from the board (truth %s)", when, tc.ID, callKey(tc))
		}
		if d := diffCall(bc, tc, now); len(d) > 0 {
			t.Fatalf("%s: call %s differs:\n  %s", when, tc.ID, strings.Join(d, "\n  "))
		}
		delete(byID, tc.ID)
	}
	for id, c := range byID {
		t.Fatalf("%s: ghost row %s on the board: %s", when, id, callKey(c))
	}
}

// findCall returns the first call in the truth that satisfies ok.
func findCall(d *Driver, ok func(monitor.Call) bool) (monitor.Call, bool) {
	for _, c := range d.Truth() {
		if ok(c) {
			return c, true
		}
	}
	return monitor.Call{}, false
}

// waitForCall advances the simulation second by second until a call satisfies ok.
func waitForCall(t *testing.T, d *Driver, within time.Duration, ok func(monitor.Call) bool) monitor.Call {
	t.Helper()
	for waited := time.Duration(0); waited <= within; waited += time.Second {
		if c, found := findCall(d, ok); found {
			return c
		}
		d.Advance(time.Second)
	}
	t.Fatalf("no call in the wanted state within %v of simulated time", within)
	return monitor.Call{}
}

func agentByName(t *testing.T, d *Driver, name string) monitor.Agent {
	t.Helper()
	ags, err := d.Agents(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range ags {
		if a.Name == name {
			return a
		}
	}
	t.Fatalf("no agent named %q", name)
	return monitor.Agent{}
}
