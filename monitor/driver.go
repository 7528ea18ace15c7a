package monitor

import (
	"context"
	"fmt"
	"strings"
)

// ActionKind is a supervisor action on a call.
type ActionKind uint8

const (
	// ActListen: the PBX rings the supervisor, who then hears agent and customer silently.
	ActListen ActionKind = iota + 1
	// ActWhisper: the supervisor hears both and talks to the agent only.
	ActWhisper
	// ActBarge: the call becomes a three-way call.
	ActBarge
	// ActSteal: the agent is cut off; the supervisor's phone rings and takes the customer.
	ActSteal
	// ActTransfer: the call moves to another agent (Action.Agent); the current agent is cut off.
	ActTransfer
	// ActHangup: both agent and customer are disconnected.
	ActHangup
)

// ActionKinds lists every action in menu order.
var ActionKinds = []ActionKind{ActListen, ActWhisper, ActBarge, ActSteal, ActTransfer, ActHangup}

// String returns the action's lower-case name as the command line spells it.
func (k ActionKind) String() string {
	switch k {
	case ActListen:
		return "listen"
	case ActWhisper:
		return "whisper"
	case ActBarge:
		return "barge"
	case ActSteal:
		return "steal"
	case ActTransfer:
		return "transfer"
	case ActHangup:
		return "hangup"
	}
	return fmt.Sprintf("action(%d)", uint8(k))
}

// MarshalText implements encoding.TextMarshaler.
func (k ActionKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// ParseActionKind parses an action name as String returns it.
func ParseActionKind(s string) (ActionKind, error) {
	for _, k := range ActionKinds {
		if strings.EqualFold(s, k.String()) {
			return k, nil
		}
	}
	return 0, fmt.Errorf("unknown action %q (want listen, whisper, barge, steal, transfer or hangup)", s)
}

// Monitoring reports whether the action makes the PBX ring the supervisor's phone.
func (k ActionKind) Monitoring() bool {
	return k == ActListen || k == ActWhisper || k == ActBarge || k == ActSteal
}

// Action is a supervisor's request on one call.
type Action struct {
	Kind ActionKind
	// CallID is the call's ID as the Board shows it.
	CallID string
	// Agent is the target agent's ID, for ActTransfer.
	Agent string
}

// Permissions says which actions the PBX account allows.
type Permissions struct {
	// Monitor allows listen, whisper and barge.
	Monitor bool
	// Steal allows taking a call over.
	Steal bool
	// Transfer allows moving a call to another agent.
	Transfer bool
	// Hangup allows ending a call.
	Hangup bool
}

// AllPermissions allows every action.
var AllPermissions = Permissions{Monitor: true, Steal: true, Transfer: true, Hangup: true}

// Allows reports whether the permissions allow the action kind.
func (p Permissions) Allows(k ActionKind) bool {
	switch k {
	case ActListen, ActWhisper, ActBarge:
		return p.Monitor
	case ActSteal:
		return p.Steal
	case ActTransfer:
		return p.Transfer
	case ActHangup:
		return p.Hangup
	}
	return false
}

// Driver connects Earshot to one PBX's call-monitoring feed and carries out supervisor
// actions there. Implementations: monitor/ami (Asterisk), monitor/demo (simulated).
type Driver interface {
	// Name is a short driver name for logs and the UI ("asterisk", "demo").
	Name() string
	// Run feeds sink until ctx is cancelled: it connects, reports EventFeed states;
	// after every (re)connect it sends an EventSync with the PBX's full state and only
	// then EventFeed connected, then streams events; on failure it reconnects with capped backoff. It returns ctx.Err() when
	// cancelled, or an error only when retrying cannot help (for example bad credentials
	// may be returned wrapped in ErrAuth).
	Run(ctx context.Context, sink Sink) error
	// Act carries out a supervisor action. Errors wrap ErrNotPermitted, ErrCallGone,
	// ErrUnreachable, ErrAgentUnavailable or ErrRejected (see ActionError).
	Act(ctx context.Context, a Action) error
	// Agents lists the agents with their availability, for the transfer picker.
	Agents(ctx context.Context) ([]Agent, error)
	// Permissions says which actions the connected account may perform.
	Permissions() Permissions
}
