package ui

import (
	"context"
	"time"
)

// Softphone is what the supervisor window needs from the SIP softphone (package phone,
// through a thin adapter): its registration, its calls, and the controls of a call.
// Methods may be called from the UI goroutine and must not block for long; the ones
// taking a context may wait for the network.
type Softphone interface {
	// Subscribe returns a channel of events in the order they happened, and a function
	// that ends the subscription (the channel is then closed).
	Subscribe() (<-chan PhoneEvent, func())
	// Registration is the current registration state.
	Registration() Registration
	// Calls returns the calls in progress.
	Calls() []PhoneCall
	// ExpectMonitoringCall announces that the PBX is about to ring the softphone for a
	// monitoring session the supervisor asked for: the call is then flagged as a
	// monitoring call with the given label, and answered by itself when autoAnswer.
	// cancel withdraws the announcement (the PBX refused the action), so that no other
	// call is answered in its place.
	ExpectMonitoringCall(label string, autoAnswer bool) (cancel func())
	// Answer answers a ringing incoming call.
	Answer(ctx context.Context, callID string) error
	// Decline refuses a ringing incoming call.
	Decline(callID string) error
	// Hangup ends a call.
	Hangup(ctx context.Context, callID string) error
	// SetMuted mutes or unmutes the microphone on a call.
	SetMuted(callID string, on bool) error
	// SetHeld puts a call on hold or resumes it.
	SetHeld(ctx context.Context, callID string, on bool) error
	// SendDTMF sends digits (0-9, *, #, A-D) on a call.
	SendDTMF(callID string, digits string) error
	// Dial places an ordinary call to a number or SIP URI and returns its call ID.
	Dial(ctx context.Context, target string) (string, error)
	// SetVolume sets the call playback volume (0 to 1; 1 is unchanged).
	SetVolume(v float64)
	// Levels returns the microphone and speaker levels of the active call, 0 to 1.
	Levels() (mic, speaker float64)
}

// PhoneEventKind says what a PhoneEvent reports.
type PhoneEventKind uint8

const (
	// PhoneRegistration: the registration state changed (PhoneEvent.Registration).
	PhoneRegistration PhoneEventKind = iota + 1
	// PhoneCallChanged: a call arrived, or changed state (PhoneEvent.Call).
	PhoneCallChanged
)

// PhoneEvent is one change in the softphone.
type PhoneEvent struct {
	Kind         PhoneEventKind
	Registration Registration
	Call         PhoneCall
}

// RegState is the phase of the softphone's registration with the PBX.
type RegState uint8

const (
	// RegOff: no SIP account is configured, or the softphone is stopped.
	RegOff RegState = iota
	// RegRegistering: a registration is on its way (or being retried).
	RegRegistering
	// RegRegistered: the PBX accepted the registration.
	RegRegistered
	// RegFailed: the last attempt failed (Registration.Reason says why).
	RegFailed
)

// Registration is the softphone's registration state.
type Registration struct {
	State RegState
	// Account is the account as shown to people ("2001@pbx.example.com").
	Account string
	// Reason is a short sentence for a failure ("wrong password", "PBX unreachable").
	Reason string
}

// CallState is the phase of a softphone call.
type CallState uint8

const (
	// CallRinging: an incoming call rings.
	CallRinging CallState = iota + 1
	// CallDialing: an outgoing call is on its way; the far end may be ringing.
	CallDialing
	// CallActive: the call is up.
	CallActive
	// CallHeld: the call is on hold.
	CallHeld
	// CallEnded: the call is over.
	CallEnded
)

// PhoneCall is a snapshot of a softphone call.
type PhoneCall struct {
	ID           string
	Incoming     bool
	RemoteName   string
	RemoteNumber string
	State        CallState
	// Monitoring is true for a monitoring call Earshot asked the PBX for; Label is
	// what ExpectMonitoringCall said ("Listening: agent 1001 with 0912 345 678").
	Monitoring bool
	Label      string
	Muted      bool
	Held       bool
	Created    time.Time
	Answered   time.Time
	// EndReason says why the call ended, in a few words.
	EndReason string
}

// Live reports whether the call is answered and not over.
func (c PhoneCall) Live() bool { return c.State == CallActive || c.State == CallHeld }
