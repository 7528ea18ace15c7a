package ui

import (
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/earshot-app/earshot/monitor"
)

// benchTick measures the per-second update path at n calls: the board's snapshot for
// the window's query and the queue figures (taken on the refresh goroutine), then
// apply on the UI goroutine: the grid's one Refresh (UpdateCell for every visible
// cell), the wallboard, the status bar, notifications and tray. It reports the share of
// one core this costs at one update per second.
func benchTick(b *testing.B, n int, setup func(*testUI)) {
	a := test.NewTempApp(b)
	tb := &testing.T{}
	tu := newTestUIOn(tb, a, n)
	if setup != nil {
		setup(tu)
	}
	tu.refreshNow()
	if rows := len(tu.renderedRows()); rows < 10 {
		b.Fatalf("only %d rows rendered", rows)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tu.clk.Add(time.Second)
		s := tu.board.Snapshot(tu.currentQuery())
		st := tu.board.Stats()
		w, ok := tu.longWaiting(st, s)
		tu.apply(s, st, w, ok)
	}
	b.StopTimer()
	perTick := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perTick/1e9*100, "%core@1Hz")
}

func BenchmarkTick10000Calls(b *testing.B) { benchTick(b, 10000, nil) }

func BenchmarkTick10000CallsSearch(b *testing.B) {
	benchTick(b, 10000, func(tu *testUI) { tu.filter.search.SetText("09") })
}

func BenchmarkTick10000CallsSortedByTimeInStatus(b *testing.B) {
	benchTick(b, 10000, func(tu *testUI) { tu.grid.sortBy(monitor.ColTimeInStatus) })
}

func BenchmarkTick60Calls(b *testing.B) { benchTick(b, 60, nil) }

// BenchmarkRealRate10000Calls measures what the window's refresh loop does while the
// board keeps changing, as a busy contact centre's does: a change to the board (a call
// arrives or ends), then the snapshot for the window's query, the queue figures, the
// long-wait scan and apply with its one table refresh. The loop does this at most four
// times a second (Board.Subscribe coalesces changes to 250 ms), so the share of one
// core is reported at 4 Hz.
func BenchmarkRealRate10000Calls(b *testing.B) {
	a := test.NewTempApp(b)
	tu := newTestUIOn(&testing.T{}, a, 10000)
	tu.refreshNow()
	if rows := len(tu.renderedRows()); rows < 10 {
		b.Fatalf("only %d rows rendered", rows)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tu.clk.Add(250 * time.Millisecond)
		if i%2 == 0 {
			tu.board.ApplyAll(callEvents(10000 + i))
		} else {
			tu.board.Apply(monitor.Event{Kind: monitor.EventCallEnded, CallID: callID(10000 + i - 1), At: tu.clk.Now()})
		}
		s := tu.board.Snapshot(tu.currentQuery())
		st := tu.board.Stats()
		w, ok := tu.longWaiting(st, s)
		tu.apply(s, st, w, ok)
	}
	b.StopTimer()
	perUpdate := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perUpdate*4/1e9*100, "%core@4Hz")
}
