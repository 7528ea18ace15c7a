package demo

import (
	"runtime"
	"testing"
	"time"

	"github.com/earshot-app/earshot/monitor"
)

// BenchmarkGenerate10000 measures how fast the simulator produces events at 10,000
// concurrent calls: one op is one simulated second.
func BenchmarkGenerate10000(b *testing.B) {
	d := newTestDriver(Config{Seed: 1, Calls: 10000})
	n := 0
	d.Attach(monitor.SinkFunc(func(monitor.Event) { n++ }))
	n = 0
	start := time.Now()
	secs := 0
	for b.Loop() {
		d.Advance(time.Second)
		secs++
	}
	el := time.Since(start).Seconds()
	b.ReportMetric(float64(n)/el, "events/s")
	b.ReportMetric(float64(secs)/el, "sim-s/s")
	b.ReportMetric(float64(n)/float64(secs), "events/sim-s")
}

// recordDemo records the sync and the events of a simulated span at the given scale.
func recordDemo(calls int, span time.Duration) (monitor.Event, []monitor.Event) {
	d := newTestDriver(Config{Seed: 1, Calls: calls})
	rec := &recorder{}
	d.Attach(rec)
	d.Advance(span)
	evs := rec.all()
	return evs[1], evs[2:]
}

// BenchmarkBoardApplyDemoStream10000 measures monitor.Board's apply throughput on the
// demo's own event stream at 10,000 concurrent calls (5 simulated minutes of events
// applied one by one onto a board synced with the calls in progress).
func BenchmarkBoardApplyDemoStream10000(b *testing.B) {
	sync, evs := recordDemo(10000, 5*time.Minute)
	var total time.Duration
	applied := 0
	for b.Loop() {
		b.StopTimer()
		board := monitor.NewBoard(monitor.Options{Now: func() time.Time { return testStart }, Logger: quiet()})
		board.Apply(sync)
		b.StartTimer()
		t0 := time.Now()
		for _, e := range evs {
			board.Apply(e)
		}
		total += time.Since(t0)
		applied += len(evs)
	}
	b.ReportMetric(float64(applied)/total.Seconds(), "events/s")
	b.ReportMetric(float64(total.Nanoseconds())/float64(applied), "ns/event")
}

// BenchmarkDemoIntoBoard10000 measures the whole feed: the simulator at 10,000 calls
// generating events straight into a Board. One op is one simulated second.
func BenchmarkDemoIntoBoard10000(b *testing.B) {
	d := newTestDriver(Config{Seed: 1, Calls: 10000})
	board := newBoard(d)
	d.Attach(board)
	before := d.Events()
	start := time.Now()
	for b.Loop() {
		d.Advance(time.Second)
	}
	el := time.Since(start).Seconds()
	b.ReportMetric(float64(d.Events()-before)/el, "events/s")
}

// BenchmarkNew10000 measures building a centre of 10,000 calls (with the warm-up that
// fills it) and the simulator's memory per live call.
func BenchmarkNew10000(b *testing.B) {
	var ms0, ms1 runtime.MemStats
	var perCall float64
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		d := newTestDriver(Config{Seed: 1, Calls: 10000})
		runtime.GC()
		runtime.ReadMemStats(&ms1)
		perCall = float64(ms1.HeapAlloc-ms0.HeapAlloc) / float64(d.Len())
		runtime.KeepAlive(d)
	}
	b.ReportMetric(perCall, "heap-B/call")
}

// BenchmarkTruth10000 measures computing the simulator's truth at 10,000 calls.
func BenchmarkTruth10000(b *testing.B) {
	d := newTestDriver(Config{Seed: 1, Calls: 10000})
	for b.Loop() {
		if len(d.Truth()) == 0 {
			b.Fatal("no calls")
		}
	}
}
