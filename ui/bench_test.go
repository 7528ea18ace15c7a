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
		tu.apply(s, st, tu.longWaiting(st))
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
