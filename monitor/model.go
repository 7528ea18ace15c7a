// Package monitor is Earshot's PBX-neutral call model: the Call and its columns with the
// meaning the reference product gives them, the Event vocabulary that PBX drivers emit,
// the Board that applies events and answers queries, and the Driver interface that PBX
// drivers (monitor/ami, monitor/demo) implement. It knows nothing of Fyne or SIP.
package monitor

import (
	"fmt"
	"strings"
	"time"
)

// Status is the call status column ("Trạng thái cuộc gọi").
type Status uint8

const (
	// StatusCalling is an inbound call that has not yet reached an agent: in the IVR,
	// waiting in a queue, or ringing an agent who has not answered.
	StatusCalling Status = iota
	// StatusRinging is an outbound call whose customer's phone is ringing.
	StatusRinging
	// StatusAnswered means the two parties are talking.
	StatusAnswered
)

// Statuses lists every status in display order.
var Statuses = []Status{StatusCalling, StatusRinging, StatusAnswered}

// String returns the status name used in the grid, logs and JSON.
func (s Status) String() string {
	switch s {
	case StatusCalling:
		return "Calling"
	case StatusRinging:
		return "Ringing"
	case StatusAnswered:
		return "Answered"
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// MarshalText implements encoding.TextMarshaler.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// ParseStatus parses a status name as String returns it (case-insensitive).
func ParseStatus(s string) (Status, error) {
	for _, st := range Statuses {
		if strings.EqualFold(s, st.String()) {
			return st, nil
		}
	}
	return 0, fmt.Errorf("unknown call status %q (want Calling, Ringing or Answered)", s)
}

// Direction is the call type column ("Loại cuộc gọi": Gọi vào / Gọi ra).
type Direction uint8

const (
	// DirectionUnknown is a call whose direction the PBX has not told yet.
	DirectionUnknown Direction = iota
	// Inbound is a customer calling the contact centre.
	Inbound
	// Outbound is an agent or a campaign calling a customer.
	Outbound
)

// String returns "Inbound", "Outbound" or "" for an unknown direction.
func (d Direction) String() string {
	switch d {
	case Inbound:
		return "Inbound"
	case Outbound:
		return "Outbound"
	}
	return ""
}

// MarshalText implements encoding.TextMarshaler.
func (d Direction) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// ParseDirection parses "inbound"/"outbound" (case-insensitive; "in"/"out" also accepted).
func ParseDirection(s string) (Direction, error) {
	switch {
	case strings.EqualFold(s, "inbound"), strings.EqualFold(s, "in"):
		return Inbound, nil
	case strings.EqualFold(s, "outbound"), strings.EqualFold(s, "out"):
		return Outbound, nil
	}
	return DirectionUnknown, fmt.Errorf("unknown call direction %q (want inbound or outbound)", s)
}

// MonitorMode says how a supervisor is attached to a call.
type MonitorMode uint8

const (
	// MonitorNone: no supervisor is on the call.
	MonitorNone MonitorMode = iota
	// MonitorListen: the supervisor hears both parties; nobody hears the supervisor.
	MonitorListen
	// MonitorWhisper: the supervisor hears both parties and talks to the agent only.
	MonitorWhisper
	// MonitorBarge: three-way call; everybody hears everybody.
	MonitorBarge
	// MonitorPending: a monitoring session was requested and the supervisor's phone is ringing.
	MonitorPending
)

// String returns the mode's name ("" for MonitorNone).
func (m MonitorMode) String() string {
	switch m {
	case MonitorListen:
		return "Listen"
	case MonitorWhisper:
		return "Whisper"
	case MonitorBarge:
		return "Barge"
	case MonitorPending:
		return "Pending"
	}
	return ""
}

// MarshalText implements encoding.TextMarshaler.
func (m MonitorMode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// Call is one row of the grid: a call in progress, with the columns of the reference
// product's "Giám sát cuộc gọi" page. A Call is a value: snapshots hold copies.
type Call struct {
	// ID is the PBX's identifier of the call (Asterisk: the Linkedid).
	ID string
	// Customer is the customer's phone number.
	Customer string
	// Hotline is the hotline / DID number involved.
	Hotline string
	// Queue is the queue the call was routed to; empty before that, or if none.
	Queue string
	// Status is Calling, Ringing or Answered as the seed defines them.
	Status Status
	// StatusSince is when the current time-in-status began: for an inbound call waiting in
	// a queue without an agent, when it joined the queue; once answered, the answer time;
	// otherwise when the status began. See TimeInStatus.
	StatusSince time.Time
	// LastAgent is, inbound, the agent talking or the agent being rung who has not answered
	// yet; outbound, the agent who placed the call. After a steal it is the supervisor.
	LastAgent string
	// AnswerTime is when the agent took the call (outbound: when the customer answered);
	// zero until then.
	AnswerTime time.Time
	// StartTime is when the call reached the PBX.
	StartTime time.Time
	// QueueJoinTime is when the call joined its queue; zero if it never did.
	QueueJoinTime time.Time
	// Direction is Inbound or Outbound.
	Direction Direction
	// Campaign is the campaign the call belongs to, only for campaign calls.
	Campaign string
	// Monitor says whether, and how, a supervisor is attached to the call.
	Monitor MonitorMode
	// Supervisor names the supervisor monitoring the call, or who stole it.
	Supervisor string
	// Stolen is true once a supervisor took the call over from the agent.
	Stolen bool
}

// TimeInStatus is the "time in status" column at now, following the seed rules: inbound
// while waiting in a queue without an agent, the time waited in the queue; once answered,
// the talk time; otherwise the time since the status began. It is never negative.
func (c *Call) TimeInStatus(now time.Time) time.Duration {
	if c.StatusSince.IsZero() {
		return 0
	}
	d := now.Sub(c.StatusSince)
	if d < 0 {
		return 0
	}
	return d
}

// Waiting reports whether the call waits in a queue without an agent talking to it.
func (c *Call) Waiting() bool {
	return c.Status == StatusCalling && c.Queue != "" && !c.QueueJoinTime.IsZero()
}

// Agent is a contact-centre agent as a PBX knows it, for the transfer picker.
type Agent struct {
	// ID is the agent's extension or PBX identifier (what Transfer takes).
	ID string
	// Name is the agent's display name ("Agent 1001").
	Name string
	// Queues lists the queues the agent is a member of.
	Queues []string
	// State is the agent's availability.
	State AgentState
}

// AgentState is an agent's availability.
type AgentState uint8

const (
	// AgentUnknown: the PBX does not say.
	AgentUnknown AgentState = iota
	// AgentAvailable: idle and able to take a call.
	AgentAvailable
	// AgentRinging: the agent's phone rings.
	AgentRinging
	// AgentBusy: the agent is on a call.
	AgentBusy
	// AgentPaused: the agent is paused in the queue.
	AgentPaused
	// AgentUnavailable: logged out, unreachable or unregistered.
	AgentUnavailable
)

// String returns the state's name.
func (s AgentState) String() string {
	switch s {
	case AgentAvailable:
		return "Available"
	case AgentRinging:
		return "Ringing"
	case AgentBusy:
		return "Busy"
	case AgentPaused:
		return "Paused"
	case AgentUnavailable:
		return "Unavailable"
	}
	return "Unknown"
}

// MarshalText implements encoding.TextMarshaler.
func (s AgentState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
