package monitor

import (
	"errors"
	"fmt"
)

// Typed errors that drivers wrap, so the UI can say what went wrong in a clear sentence.
var (
	// ErrNotPermitted: the PBX account may not perform the action.
	ErrNotPermitted = errors.New("not permitted")
	// ErrCallGone: the call ended or is unknown to the PBX.
	ErrCallGone = errors.New("call no longer exists")
	// ErrUnreachable: the PBX cannot be reached (connection refused, timed out, lost).
	ErrUnreachable = errors.New("PBX unreachable")
	// ErrAuth: the PBX refused the login (wrong user name or secret).
	ErrAuth = errors.New("login refused")
	// ErrAgentUnavailable: the transfer target is unknown or cannot take the call.
	ErrAgentUnavailable = errors.New("agent unavailable")
	// ErrNotApplicable: the action does not make sense for the call in its state
	// (for example whisper on a call that no agent answered yet).
	ErrNotApplicable = errors.New("action not applicable to this call")
	// ErrRejected: the PBX refused the action for another reason (Detail says which).
	ErrRejected = errors.New("PBX refused the action")
)

// ActionError is the error a Driver returns from Act.
type ActionError struct {
	// Action is what was asked.
	Action Action
	// Err is one of the typed errors above.
	Err error
	// Detail is the PBX's own words, for the log (never shown raw as the main message).
	Detail string
}

// Error implements error.
func (e *ActionError) Error() string {
	s := fmt.Sprintf("%s call %s: %v", e.Action.Kind, e.Action.CallID, e.Err)
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}

// Unwrap returns the typed error.
func (e *ActionError) Unwrap() error { return e.Err }

// Sentence turns an error from a Driver into one clear English sentence for a person.
// The UI uses ErrorKey to translate; this is the English text and the log wording.
func Sentence(err error) string {
	switch ErrorKey(err) {
	case "error.not_permitted":
		return "Your PBX account is not allowed to do that."
	case "error.call_gone":
		return "That call has already ended."
	case "error.unreachable":
		return "The PBX cannot be reached. Check the address and the network."
	case "error.auth":
		return "The PBX refused the login. Check the user name and secret."
	case "error.agent_unavailable":
		return "That agent cannot take the call right now."
	case "error.not_applicable":
		return "That action is not possible for this call right now."
	case "error.rejected":
		return "The PBX refused the action."
	}
	if err == nil {
		return ""
	}
	return "Something went wrong: " + err.Error()
}

// ErrorKey returns a translation key for err's typed cause ("error.call_gone", ...), or
// "error.other" when the error is not one of the typed errors, or "" for nil.
func ErrorKey(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrNotPermitted):
		return "error.not_permitted"
	case errors.Is(err, ErrCallGone):
		return "error.call_gone"
	case errors.Is(err, ErrUnreachable):
		return "error.unreachable"
	case errors.Is(err, ErrAuth):
		return "error.auth"
	case errors.Is(err, ErrAgentUnavailable):
		return "error.agent_unavailable"
	case errors.Is(err, ErrNotApplicable):
		return "error.not_applicable"
	case errors.Is(err, ErrRejected):
		return "error.rejected"
	}
	return "error.other"
}
