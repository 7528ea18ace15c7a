package monitor

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// lifecycle returns the events of one realistic inbound call answered after ring-no-answer.
func lifecycle(id string, start time.Time, customer string) []Event {
	return []Event{
		{Kind: EventCallStarted, CallID: id, At: start, Customer: customer, Hotline: "19006000"},
		{Kind: EventCallUpdated, CallID: id, At: start, Direction: Inbound, Hotline: "19006000"},
		{Kind: EventQueueJoined, CallID: id, At: start.Add(2 * time.Second), Queue: "Chăm sóc khách hàng"},
		{Kind: EventAgentRinging, CallID: id, At: start.Add(3 * time.Second), Agent: "Nguyễn Thị Lan (1002)"},
		{Kind: EventAgentNoAnswer, CallID: id, At: start.Add(18 * time.Second), Agent: "Nguyễn Thị Lan (1002)"},
		{Kind: EventAgentRinging, CallID: id, At: start.Add(19 * time.Second), Agent: "Trần Văn Minh (1001)"},
		{Kind: EventAnswered, CallID: id, At: start.Add(21 * time.Second), Agent: "Trần Văn Minh (1001)"},
		{Kind: EventCallEnded, CallID: id, At: start.Add(90 * time.Second)},
	}
}

// BenchmarkBoardApply measures events applied per second on one core, with about
// 10,000 calls live on the board. Goal: ≥ 500,000 events/s.
func BenchmarkBoardApply(b *testing.B) {
	const live = 10000
	board, _ := newTestBoard(t0)
	// Precompute 2*live calls' events; the first live calls stay on the board.
	ids := make([]string, 4*live)
	for i := range ids {
		ids[i] = fmt.Sprintf("1795668852.%d", i)
	}
	for i := 0; i < live; i++ {
		for _, e := range lifecycle("live"+ids[i], t0, "0912345678")[:6] {
			board.Apply(e)
		}
	}
	var stream []Event
	for i := range ids {
		stream = append(stream, lifecycle(ids[i], t0.Add(time.Duration(i)*time.Millisecond), fmt.Sprintf("09%08d", i))...)
	}
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		if n == len(stream) {
			b.StopTimer()
			board.mu.Lock()
			clear(board.ended) // let the same ids start again
			board.endedLog = board.endedLog[:0]
			board.mu.Unlock()
			b.StartTimer()
			n = 0
		}
		board.Apply(stream[n])
		n++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func fillBoard(b *testing.B, calls int) *Board {
	board, clock := newTestBoard(t0)
	queues := []string{"Chăm sóc khách hàng", "Kinh doanh", "Kỹ thuật", "Khiếu nại"}
	for i := 0; i < calls; i++ {
		id := fmt.Sprintf("1795668852.%d", i)
		start := t0.Add(time.Duration(i) * 10 * time.Millisecond)
		evs := lifecycle(id, start, fmt.Sprintf("09%08d", i*7919%100000000))
		evs[2].Queue = queues[i%len(queues)]
		// A driver parses every string out of its own message: give each call its
		// own copies, as in real use, so the figure counts them.
		for j := range evs {
			e := &evs[j]
			e.Hotline, e.Queue, e.Agent = strings.Clone(e.Hotline), strings.Clone(e.Queue), strings.Clone(e.Agent)
		}
		for _, e := range evs[:2+i%5] {
			board.Apply(e)
		}
	}
	clock.now = t0.Add(10 * time.Minute)
	return board
}

// BenchmarkSnapshotFilterSort10k measures one snapshot with a filter and a sort over
// 10,000 live calls. Goal: ≤ 5 ms.
func BenchmarkSnapshotFilterSort10k(b *testing.B) {
	board := fillBoard(b, 10000)
	q := Query{Queues: []string{"Chăm sóc khách hàng", "Kinh doanh", "Kỹ thuật"}, Statuses: []Status{StatusCalling, StatusAnswered},
		Sort: ColTimeInStatus, Desc: true}
	b.ReportAllocs()
	b.ResetTimer()
	var rows int
	for i := 0; i < b.N; i++ {
		rows = len(board.Snapshot(q).Calls)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/snapshot")
	b.ReportMetric(float64(rows), "rows")
}

// BenchmarkSnapshotTextSearch10k: the search box over 10,000 calls, sorted by customer.
func BenchmarkSnapshotTextSearch10k(b *testing.B) {
	board := fillBoard(b, 10000)
	q := Query{Text: "văn minh", Sort: ColCustomer}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		board.Snapshot(q)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/snapshot")
}

// BenchmarkMemoryPerCall reports the heap the board holds per live call, strings
// included. Goal: ≤ 1 KiB.
func BenchmarkMemoryPerCall(b *testing.B) {
	const calls = 10000
	for i := 0; i < b.N; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		board := fillBoard(b, calls)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/calls, "B/call")
		runtime.KeepAlive(board)
	}
}

// BenchmarkSnapshotSortByAgent10k: sort 10,000 calls by agent name in Vietnamese
// collation order.
func BenchmarkSnapshotSortByAgent10k(b *testing.B) {
	board := fillBoard(b, 10000)
	q := Query{Sort: ColLastAgent}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		board.Snapshot(q)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/snapshot")
}
