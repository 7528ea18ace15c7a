package ami

import (
	"context"
	"sync"

	"github.com/earshot-app/earshot/monitor"
)

// eventQueue is an unbounded FIFO between the socket reader and the sink: the reader
// never waits for the sink, and no event is ever dropped. Items may also be functions,
// run in order with the events (barriers: "everything before this was applied").
type eventQueue struct {
	mu    sync.Mutex
	items []qitem
	spare []qitem
	wake  chan struct{}
	// stopped is set once run returned: functions then run at once.
	stopped bool
}

type qitem struct {
	ev monitor.Event
	fn func()
}

func newEventQueue() *eventQueue {
	return &eventQueue{wake: make(chan struct{}, 1)}
}

func (q *eventQueue) push(ev monitor.Event) {
	q.mu.Lock()
	q.items = append(q.items, qitem{ev: ev})
	q.mu.Unlock()
	q.kick()
}

func (q *eventQueue) pushFunc(fn func()) {
	q.mu.Lock()
	if q.stopped {
		q.mu.Unlock()
		fn()
		return
	}
	q.items = append(q.items, qitem{fn: fn})
	q.mu.Unlock()
	q.kick()
}

func (q *eventQueue) kick() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// run applies queued items to sink until ctx is done, then applies what is left.
func (q *eventQueue) run(ctx context.Context, sink monitor.Sink) {
	for {
		select {
		case <-ctx.Done():
			q.drain(sink)
			q.mu.Lock()
			q.stopped = true
			q.mu.Unlock()
			q.drain(sink)
			return
		case <-q.wake:
		}
		q.drain(sink)
	}
}

func (q *eventQueue) drain(sink monitor.Sink) {
	for {
		q.mu.Lock()
		if len(q.items) == 0 {
			q.mu.Unlock()
			return
		}
		batch := q.items
		q.items = q.spare[:0]
		q.spare = nil
		q.mu.Unlock()
		for i := range batch {
			if batch[i].fn != nil {
				batch[i].fn()
			} else {
				sink.Apply(batch[i].ev)
			}
			batch[i] = qitem{}
		}
		q.mu.Lock()
		q.spare = batch[:0]
		q.mu.Unlock()
	}
}
