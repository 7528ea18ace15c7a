package demo

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/earshot-app/earshot/monitor"
)

// touched is a sink that notes which calls the events of one step touched.
type touched struct {
	ids   map[string]struct{}
	ended map[string]struct{}
	n     int
}

func (t *touched) Apply(e monitor.Event) {
	t.n++
	if e.CallID == "" {
		return
	}
	t.ids[e.CallID] = struct{}{}
	if e.Kind == monitor.EventCallEnded {
		t.ended[e.CallID] = struct{}{}
	}
}

func (t *touched) reset() {
	clear(t.ids)
	clear(t.ended)
}

// TestBoardMatchesSimulatorAt10000Calls runs the demo at 10,000 concurrent calls for a
// simulated hour, with supervisor actions mixed in, feeding a monitor.Board. After every
// simulated second it compares, field by field, every row the second's events touched
// (and checks that ended calls left the board and the row counts agree); every 30
// simulated seconds it compares the whole snapshot with the simulator's truth: no ghost
// rows, no missing rows, no field that differs.
func TestBoardMatchesSimulatorAt10000Calls(t *testing.T) {
	const (
		calls     = 10000
		hour      = time.Hour
		fullEvery = 30 // seconds
		actEvery  = 15 // seconds
	)
	d := newTestDriver(Config{Seed: 2027, Calls: calls})
	board := newBoard(d)
	tch := &touched{ids: map[string]struct{}{}, ended: map[string]struct{}{}}
	d.Attach(tee{board, tch})
	compareAll(t, "after sync", board.Snapshot(monitor.Query{}).Calls, d.Truth(), d.Now())
	tch.reset()

	rng := rand.New(rand.NewPCG(2027, 1))
	succeeded := map[monitor.ActionKind]int{}
	refused := map[string]int{}
	full, rowsChecked, minCalls, maxCalls := 0, 0, calls*10, 0
	start := d.Now()
	for sec := 1; sec <= int(hour/time.Second); sec++ {
		now := start.Add(time.Duration(sec) * time.Second)
		d.Step(now)
		when := "after " + (time.Duration(sec) * time.Second).String()

		if bl, tl := board.Len(), d.Len(); bl != tl {
			t.Fatalf("%s: board has %d rows, simulator %d calls", when, bl, tl)
		}
		for id := range tch.ids {
			tc, live := d.TruthCall(id)
			bc, onBoard := board.Get(id)
			switch {
			case live != onBoard:
				t.Fatalf("%s: call %s live in the simulator %t, on the board %t", when, id, live, onBoard)
			case live:
				if diff := diffCall(bc, tc, now); len(diff) > 0 {
					t.Fatalf("%s: call %s differs:\n  %s", when, id, strings.Join(diff, "\n  "))
				}
				rowsChecked++
			}
			if _, ended := tch.ended[id]; ended && live {
				t.Fatalf("%s: call %s ended but is still in the simulator", when, id)
			}
		}

		if sec%actEvery == 0 {
			act(t, d, rng, tch, succeeded, refused)
		}
		tch.reset()

		if sec%fullEvery == 0 || sec == int(hour/time.Second) {
			truth := d.Truth()
			snap := board.Snapshot(monitor.Query{Sort: monitor.ColID})
			if !snap.At.Equal(now) {
				t.Fatalf("%s: snapshot at %v, simulated now %v", when, snap.At, now)
			}
			compareAll(t, when, snap.Calls, truth, now)
			full++
			minCalls, maxCalls = min(minCalls, len(truth)), max(maxCalls, len(truth))
		}
	}
	if minCalls < calls*85/100 || maxCalls > calls*115/100 {
		t.Fatalf("concurrent calls ranged %d..%d, want about %d", minCalls, maxCalls, calls)
	}
	for _, k := range monitor.ActionKinds {
		if succeeded[k] == 0 {
			t.Errorf("no %s succeeded during the hour (refusals: %v)", k, refused)
		}
	}
	t.Logf("%d events, %d full comparisons, %d touched rows compared, calls %d..%d, actions %v, refused %v",
		d.Events(), full, rowsChecked, minCalls, maxCalls, succeeded, refused)
}

// act performs a random supervisor action on a call the last second touched.
func act(t *testing.T, d *Driver, rng *rand.Rand, tch *touched, ok map[monitor.ActionKind]int, refused map[string]int) {
	t.Helper()
	var ids []string
	for id := range tch.ids {
		if _, ended := tch.ended[id]; !ended {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return
	}
	// map order is random: pick deterministically
	best := ids[0]
	for _, id := range ids[1:] {
		if id < best {
			best = id
		}
	}
	a := monitor.Action{Kind: monitor.ActionKinds[rng.IntN(len(monitor.ActionKinds))], CallID: best}
	if c, live := d.TruthCall(best); live && rng.IntN(2) == 0 && c.Status == monitor.StatusAnswered {
		// prefer actions that apply to answered calls half of the time
		a.Kind = []monitor.ActionKind{monitor.ActWhisper, monitor.ActBarge, monitor.ActSteal, monitor.ActTransfer}[rng.IntN(4)]
	}
	if a.Kind == monitor.ActTransfer {
		ags, err := d.Agents(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var free []string
		for _, ag := range ags {
			if ag.State == monitor.AgentAvailable {
				free = append(free, ag.ID)
			}
		}
		if len(free) > 0 {
			a.Agent = free[rng.IntN(len(free))]
		}
	}
	err := d.Act(t.Context(), a)
	if err == nil {
		ok[a.Kind]++
		return
	}
	var ae *monitor.ActionError
	if !errors.As(err, &ae) || (!errors.Is(err, monitor.ErrNotApplicable) && !errors.Is(err, monitor.ErrAgentUnavailable)) {
		t.Fatalf("%s on %s: unexpected error %v", a.Kind, a.CallID, err)
	}
	refused[a.Kind.String()+": "+monitor.ErrorKey(err)]++
}
