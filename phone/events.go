package phone

import (
	"sync"
	"time"
)

// EventKind says what an Event reports.
type EventKind int

// The kinds of events a Phone publishes.
const (
	// EventRegistration: the registration state changed (Event.Registration).
	EventRegistration EventKind = iota + 1
	// EventIncomingCall: a call from the PBX arrived (Event.Call, Event.CallInfo). It
	// is followed by EventCallState events as the call rings, is answered and ends.
	EventIncomingCall
	// EventCallState: a call changed state (Event.Call, Event.CallInfo).
	EventCallState
	// EventDTMF: the far end sent an RFC 4733 digit (Event.Call, Event.Digit).
	EventDTMF
)

// String names the kind.
func (k EventKind) String() string {
	switch k {
	case EventRegistration:
		return "registration"
	case EventIncomingCall:
		return "incoming-call"
	case EventCallState:
		return "call-state"
	case EventDTMF:
		return "dtmf"
	}
	return "unknown"
}

// Event is one thing that happened in the phone. Events of one Phone reach every
// subscriber in the order they happened.
type Event struct {
	Kind EventKind
	Time time.Time
	// Registration is the new registration state (EventRegistration).
	Registration Registration
	// Call is the call concerned (call events); use it to act on the call.
	Call *Call
	// CallInfo is a snapshot of the call when the event happened (call events).
	CallInfo CallInfo
	// Digit is the DTMF digit received (EventDTMF).
	Digit rune
}

// hub fans events out to subscribers. Each subscriber has its own unbounded queue, so
// publishing never blocks SIP handling and no event is dropped for a slow reader.
type hub struct {
	mu   sync.Mutex
	subs map[*subscriber]struct{}
}

type subscriber struct {
	out    chan Event
	mu     sync.Mutex
	queue  []Event
	wake   chan struct{}
	closed chan struct{}
	once   sync.Once
}

func (h *hub) subscribe() (<-chan Event, func()) {
	s := &subscriber{
		out:    make(chan Event),
		wake:   make(chan struct{}, 1),
		closed: make(chan struct{}),
	}
	h.mu.Lock()
	if h.subs == nil {
		h.subs = make(map[*subscriber]struct{})
	}
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	go s.pump()
	cancel := func() {
		h.mu.Lock()
		delete(h.subs, s)
		h.mu.Unlock()
		s.once.Do(func() { close(s.closed) })
	}
	return s.out, cancel
}

func (h *hub) publish(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		s.mu.Lock()
		s.queue = append(s.queue, e)
		s.mu.Unlock()
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

func (s *subscriber) pump() {
	defer close(s.out)
	for {
		s.mu.Lock()
		var next *Event
		if len(s.queue) > 0 {
			e := s.queue[0]
			s.queue[0] = Event{}
			s.queue = s.queue[1:]
			next = &e
		}
		s.mu.Unlock()
		if next == nil {
			select {
			case <-s.wake:
				continue
			case <-s.closed:
				return
			}
		}
		select {
		case s.out <- *next:
		case <-s.closed:
			return
		}
	}
}
