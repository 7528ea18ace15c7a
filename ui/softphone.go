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
	// Kind says which of the other fields the event carries.
	Kind PhoneEventKind
	// Registration is the new registration state (PhoneRegistration).
	Registration Registration
	// Call is the call that arrived or changed (PhoneCallChanged).
	Call PhoneCall
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

// RegFailure classifies why a registration failed; the window says it in the
// interface language.
type RegFailure uint8

const (
	// RegFailUnknown: the softphone gave no class for the failure.
	RegFailUnknown RegFailure = iota
	// RegFailCredentials: the PBX refused the extension or the password.
	RegFailCredentials
	// RegFailUnreachable: no answer from the PBX, or its address cannot be found.
	RegFailUnreachable
	// RegFailTLS: the secure connection to the PBX failed (an untrusted certificate).
	RegFailTLS
	// RegFailRejected: the PBX refused the registration for another reason.
	RegFailRejected
)

// Registration is the softphone's registration state.
type Registration struct {
	// State is the phase of the registration.
	State RegState
	// Account is the account as shown to people ("2001@pbx.example.com").
	Account string
	// Failure classifies a failure (RegFailed); the window shows it translated.
	Failure RegFailure
	// Reason is the softphone's own words for a failure, in English, for the log.
	Reason string
}

// CallEnd says why a softphone call ended, as one of a fixed set of causes the window
// can say in the interface language.
type CallEnd uint8

const (
	// EndUnknown: no cause given.
	EndUnknown CallEnd = iota
	// EndHungUp: the supervisor hung up.
	EndHungUp
	// EndRemoteHungUp: the other party hung up.
	EndRemoteHungUp
	// EndCallerCancelled: the caller gave up before the call was answered.
	EndCallerCancelled
	// EndNotAnswered: nobody answered in time.
	EndNotAnswered
	// EndDeclined: the call was declined.
	EndDeclined
	// EndBusy: the far end was busy.
	EndBusy
	// EndUnknownNumber: the PBX does not know the number.
	EndUnknownNumber
	// EndRefused: the PBX refused the call (credentials or permissions).
	EndRefused
	// EndNoCodec: the two ends have no audio format in common.
	EndNoCodec
	// EndConnectionFailed: the network or the signalling failed.
	EndConnectionFailed
	// EndCancelled: the supervisor cancelled an outgoing call before it was answered.
	EndCancelled
	// EndPhoneStopped: the softphone stopped (Earshot is closing).
	EndPhoneStopped
)

// endKeys are the translation keys of the call-end causes.
var endKeys = map[CallEnd]string{
	EndHungUp:           "end.hung_up",
	EndRemoteHungUp:     "end.remote_hung_up",
	EndCallerCancelled:  "end.caller_cancelled",
	EndNotAnswered:      "end.not_answered",
	EndDeclined:         "end.declined",
	EndBusy:             "end.busy",
	EndUnknownNumber:    "end.unknown_number",
	EndRefused:          "end.refused",
	EndNoCodec:          "end.no_codec",
	EndConnectionFailed: "end.connection_failed",
	EndCancelled:        "end.cancelled",
	EndPhoneStopped:     "end.phone_stopped",
}

// endText is why a call ended, in the interface language ("" when unknown).
func endText(e CallEnd) string {
	if k, ok := endKeys[e]; ok {
		return tr(k)
	}
	return ""
}

// regFailureKeys are the translation keys of the registration failures.
var regFailureKeys = map[RegFailure]string{
	RegFailUnknown:     "reg.fail.unknown",
	RegFailCredentials: "reg.fail.credentials",
	RegFailUnreachable: "reg.fail.unreachable",
	RegFailTLS:         "reg.fail.tls",
	RegFailRejected:    "reg.fail.rejected",
}

// regFailureText is a registration failure in the interface language.
func regFailureText(f RegFailure) string {
	if k, ok := regFailureKeys[f]; ok {
		return tr(k)
	}
	return tr("reg.fail.unknown")
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
	// ID identifies the call within the softphone.
	ID string
	// Incoming is true for a call the PBX (or someone) placed to the supervisor.
	Incoming bool
	// RemoteName and RemoteNumber identify the other party, as far as known.
	RemoteName   string
	RemoteNumber string
	// State is the call's phase.
	State CallState
	// Monitoring is true for a monitoring call Earshot asked the PBX for.
	Monitoring bool
	// Label is what ExpectMonitoringCall said of a monitoring call ("Listening:
	// agent 1001 with 0912 345 678").
	Label string
	// Muted is true while the microphone is muted on the call.
	Muted bool
	// Held is true while the supervisor holds the call.
	Held bool
	// Created is when the call began ringing or dialing.
	Created time.Time
	// Answered is when the call was answered; zero before.
	Answered time.Time
	// End says why the call ended (CallEnded); the window shows it translated.
	End CallEnd
	// EndReason is the softphone's own words for the end, in English, for the log.
	EndReason string
}

// Live reports whether the call is answered and not over.
func (c PhoneCall) Live() bool { return c.State == CallActive || c.State == CallHeld }
