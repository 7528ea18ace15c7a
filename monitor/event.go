package monitor

import (
	"fmt"
	"time"
)

// EventKind says what happened to a call or to the feed. Drivers translate their PBX's
// protocol into these PBX-neutral events; the Board never sees PBX-specific data.
type EventKind uint8

const (
	// EventCallStarted: a call reached the PBX. Sets ID, StartTime (At), Direction,
	// Customer, Hotline, Campaign and, for outbound calls, the placing Agent. A second
	// start for a known call only fills in what was missing.
	EventCallStarted EventKind = iota + 1
	// EventCallUpdated fills in details learned late (Customer, Hotline, Campaign,
	// Direction); empty fields leave the call as it is, unless Replace is set: then
	// Customer, Hotline and Campaign replace the call's values, empty ones included
	// (a driver correcting an early guess).
	EventCallUpdated
	// EventQueueJoined: the call entered Queue at At and waits there (status Calling).
	EventQueueJoined
	// EventAgentRinging: Agent's phone rings for the call (inbound: it becomes the last
	// agent; the status is Calling until the agent answers).
	EventAgentRinging
	// EventAgentNoAnswer: Agent's phone stopped ringing without an answer.
	EventAgentNoAnswer
	// EventCustomerRinging: outbound, the customer's phone rings (status Ringing).
	EventCustomerRinging
	// EventAnswered: Agent and the customer talk from At on (status Answered). For an
	// outbound call Agent may be empty (the placing agent stays the last agent).
	EventAnswered
	// EventStolen: Supervisor took the call over; the agent was dropped. The answer time
	// stays that of the original answer.
	EventStolen
	// EventMonitorStarted: Supervisor is attached to the call in Mode.
	EventMonitorStarted
	// EventMonitorStopped: the supervisor's monitoring session ended.
	EventMonitorStopped
	// EventCallEnded: the call is over (Reason says how) and leaves the board.
	EventCallEnded
	// EventFeed reports the state of the PBX feed (Feed).
	EventFeed
	// EventSync replaces the board's content with Calls, the PBX's full current state
	// (after a connect or reconnect): calls not in Calls are dropped, missing ones added,
	// known ones updated (times the PBX cannot report again are kept).
	EventSync
)

var eventKindNames = [...]string{
	EventCallStarted:     "CallStarted",
	EventCallUpdated:     "CallUpdated",
	EventQueueJoined:     "QueueJoined",
	EventAgentRinging:    "AgentRinging",
	EventAgentNoAnswer:   "AgentNoAnswer",
	EventCustomerRinging: "CustomerRinging",
	EventAnswered:        "Answered",
	EventStolen:          "Stolen",
	EventMonitorStarted:  "MonitorStarted",
	EventMonitorStopped:  "MonitorStopped",
	EventCallEnded:       "CallEnded",
	EventFeed:            "Feed",
	EventSync:            "Sync",
}

// String returns the kind's name.
func (k EventKind) String() string {
	if int(k) < len(eventKindNames) && eventKindNames[k] != "" {
		return eventKindNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// EndReason says how a call ended.
type EndReason uint8

const (
	// EndCompleted: the call ended after it was answered, or was hung up otherwise.
	EndCompleted EndReason = iota
	// EndAbandoned: the customer hung up before any agent answered.
	EndAbandoned
)

// String returns "completed" or "abandoned".
func (r EndReason) String() string {
	if r == EndAbandoned {
		return "abandoned"
	}
	return "completed"
}

// FeedState is the state of the connection to the PBX's call-monitoring feed.
type FeedState uint8

const (
	// FeedConnecting: the driver is (re)connecting.
	FeedConnecting FeedState = iota
	// FeedConnected: events flow and the board reflects the PBX.
	FeedConnected
	// FeedLost: the connection failed; Feed.Err says why; the driver retries.
	FeedLost
)

// String returns the state's name.
func (s FeedState) String() string {
	switch s {
	case FeedConnected:
		return "connected"
	case FeedLost:
		return "lost"
	}
	return "connecting"
}

// Feed describes the PBX feed's state for the UI.
type Feed struct {
	// State is connecting, connected or lost.
	State FeedState
	// Driver names the PBX driver ("demo", "asterisk").
	Driver string
	// Err is the reason of the last failure (wrapping ErrUnreachable, ErrAuth, ...).
	Err error
	// Since is when State began.
	Since time.Time
}

// Event is one thing that happened, in PBX-neutral terms. Which fields matter depends on
// Kind (see the EventKind constants). Events are plain values: drivers may reuse them.
type Event struct {
	// Kind says what happened; it decides which other fields matter.
	Kind EventKind
	// CallID names the call (Call.ID); empty for EventFeed and EventSync.
	CallID string
	// At is when it happened on the board's clock; zero means now.
	At time.Time
	// Customer, Hotline, Queue, Agent and Campaign carry the column values the
	// event sets (see each kind).
	Customer string
	Hotline  string
	Queue    string
	Agent    string
	Campaign string
	// Direction, when known, sets the call's direction.
	Direction Direction
	// Replace makes an EventCallUpdated overwrite Customer, Hotline and Campaign even
	// with empty values.
	Replace bool
	// Mode is the monitoring mode, for EventMonitorStarted.
	Mode MonitorMode
	// Supervisor names the supervisor, for EventMonitorStarted and EventStolen.
	Supervisor string
	// Reason says how the call ended, for EventCallEnded.
	Reason EndReason
	// Feed is the feed's state, for EventFeed.
	Feed Feed
	// Calls is the PBX's full state, for EventSync.
	Calls []Call
}

// Sink receives events; the Board is one. Apply must not block for long: drivers call it
// from their socket reader.
type Sink interface {
	Apply(Event)
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(Event)

// Apply calls f(e).
func (f SinkFunc) Apply(e Event) { f(e) }
