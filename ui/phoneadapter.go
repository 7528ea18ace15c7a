package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/earshot-app/earshot/audio"
	"github.com/earshot-app/earshot/phone"
)

// PhoneAdapter makes a *phone.Phone a Softphone: it converts the phone's events and
// call snapshots, finds calls by ID for the controls, and keeps the monitoring labels
// of calls the supervisor asked for without auto-answer.
type PhoneAdapter struct {
	p       *phone.Phone
	account string
	window  time.Duration

	mu      sync.Mutex
	calls   map[string]*phone.Call
	pending []*pendingLabel   // monitoring calls to be answered by hand
	labels  map[string]string // call ID → label, for calls matched to pending
	volume  float64
}

type pendingLabel struct {
	label    string
	deadline time.Time
}

// NewPhoneAdapter wraps p; account is how the account is shown ("2001@127.0.0.1").
func NewPhoneAdapter(p *phone.Phone, account string) *PhoneAdapter {
	return &PhoneAdapter{p: p, account: account, window: phone.DefaultMonitorWindow,
		calls: make(map[string]*phone.Call), labels: make(map[string]string), volume: 1}
}

// Subscribe implements Softphone: the phone's events, converted, in order.
func (a *PhoneAdapter) Subscribe() (<-chan PhoneEvent, func()) {
	in, cancel := a.p.Subscribe()
	out := make(chan PhoneEvent, 16)
	go func() {
		defer close(out)
		for ev := range in {
			pe, ok := a.convert(ev)
			if ok {
				out <- pe
			}
		}
	}()
	return out, cancel
}

func (a *PhoneAdapter) convert(ev phone.Event) (PhoneEvent, bool) {
	switch ev.Kind {
	case phone.EventRegistration:
		return PhoneEvent{Kind: PhoneRegistration, Registration: a.registration(ev.Registration)}, true
	case phone.EventIncomingCall, phone.EventCallState:
		if ev.Call == nil {
			return PhoneEvent{}, false
		}
		a.mu.Lock()
		a.calls[ev.CallInfo.ID] = ev.Call
		if ev.Kind == phone.EventIncomingCall && !ev.CallInfo.Monitoring {
			a.matchPendingLocked(ev.CallInfo.ID)
		}
		if ev.CallInfo.State == phone.CallEnded {
			delete(a.calls, ev.CallInfo.ID)
		}
		a.mu.Unlock()
		c := a.callOf(ev.CallInfo)
		if ev.CallInfo.State == phone.CallEnded {
			a.mu.Lock()
			delete(a.labels, ev.CallInfo.ID)
			a.mu.Unlock()
		}
		if ev.CallInfo.State == phone.CallActive {
			a.mu.Lock()
			v := a.volume
			a.mu.Unlock()
			if v != 1 {
				ev.Call.SetVolume(v)
			}
		}
		return PhoneEvent{Kind: PhoneCallChanged, Call: c}, true
	}
	return PhoneEvent{}, false
}

// matchPendingLocked flags an incoming call as the monitoring call the supervisor
// asked for, when one is expected.
func (a *PhoneAdapter) matchPendingLocked(id string) {
	now := time.Now()
	for len(a.pending) > 0 {
		p := a.pending[0]
		a.pending = a.pending[1:]
		if now.Before(p.deadline) {
			a.labels[id] = p.label
			return
		}
	}
}

func (a *PhoneAdapter) registration(r phone.Registration) Registration {
	out := Registration{Account: a.account, Reason: r.Reason, Failure: regFailureOf(r.Failure)}
	switch r.State {
	case phone.RegRegistering:
		out.State = RegRegistering
	case phone.RegRegistered:
		out.State = RegRegistered
	case phone.RegFailed, phone.RegRetrying:
		out.State = RegFailed
	default:
		out.State = RegOff
	}
	return out
}

func (a *PhoneAdapter) callOf(ci phone.CallInfo) PhoneCall {
	c := PhoneCall{ID: ci.ID, Incoming: ci.Direction == phone.Incoming, RemoteName: ci.RemoteName,
		RemoteNumber: ci.RemoteNumber, Monitoring: ci.Monitoring, Label: ci.MonitorLabel, Muted: ci.Muted,
		Held: ci.Held, Created: ci.Created, Answered: ci.Answered, EndReason: ci.EndReason}
	if ci.State == phone.CallEnded {
		c.End = endOf(ci)
	}
	switch ci.State {
	case phone.CallRinging:
		c.State = CallRinging
	case phone.CallDialing, phone.CallAlerting:
		c.State = CallDialing
	case phone.CallActive:
		c.State = CallActive
	case phone.CallHeld:
		c.State = CallHeld
	default:
		c.State = CallEnded
	}
	if !c.Monitoring {
		a.mu.Lock()
		if l, ok := a.labels[ci.ID]; ok {
			c.Monitoring, c.Label = true, l
		}
		a.mu.Unlock()
	}
	return c
}

// Registration implements Softphone.
func (a *PhoneAdapter) Registration() Registration { return a.registration(a.p.State()) }

// Calls implements Softphone.
func (a *PhoneAdapter) Calls() []PhoneCall {
	var out []PhoneCall
	for _, c := range a.p.Calls() {
		out = append(out, a.callOf(c.Info()))
	}
	return out
}

// ExpectMonitoringCall implements Softphone. With autoAnswer the phone answers the
// PBX's call by itself; without, the next incoming call within the monitoring window
// rings as a monitoring call with the label.
func (a *PhoneAdapter) ExpectMonitoringCall(label string, autoAnswer bool) (cancel func()) {
	if autoAnswer {
		return a.p.ExpectMonitoringCall(phone.MonitorExpectation{Label: label})
	}
	pl := &pendingLabel{label: label, deadline: time.Now().Add(a.window)}
	a.mu.Lock()
	a.pending = append(a.pending, pl)
	a.mu.Unlock()
	return func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		for i, p := range a.pending {
			if p == pl {
				a.pending = append(a.pending[:i], a.pending[i+1:]...)
				return
			}
		}
	}
}

var errNoCall = errors.New("no such call on the softphone")

// errNotPlaced: the softphone could not start a call to what was typed.
var errNotPlaced = errors.New("the call could not be placed")

// dialError is a call that was placed but did not connect, with the cause.
type dialError struct {
	end CallEnd
	err error
}

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// phoneErrorText is the clear, translated sentence for an error of a softphone control
// (the softphone's own words go to the log).
func phoneErrorText(err error) string {
	var de *dialError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &de):
		if r := endText(de.end); r != "" {
			return trf("phone.err.dial", "Reason", r)
		}
		return tr("phone.err.dial_failed")
	case errors.Is(err, errNotPlaced):
		return tr("phone.err.not_placed")
	case errors.Is(err, errNoCall), errors.Is(err, phone.ErrCallEnded):
		return tr("phone.err.call_gone")
	case errors.Is(err, phone.ErrWrongState):
		return tr("phone.err.wrong_state")
	case errors.Is(err, context.DeadlineExceeded):
		return tr("phone.err.timeout")
	}
	return tr("phone.err.other")
}

// regFailureOf maps the softphone's failure class.
func regFailureOf(f phone.Failure) RegFailure {
	switch f {
	case phone.FailCredentials:
		return RegFailCredentials
	case phone.FailUnreachable:
		return RegFailUnreachable
	case phone.FailTLS:
		return RegFailTLS
	case phone.FailRejected:
		return RegFailRejected
	}
	return RegFailUnknown
}

// RegistrationError is a failed registration, classified so that the window can say
// why in the interface language; Options.TestSIP returns it when the test registration
// fails (NewRegistrationError).
type RegistrationError struct {
	// Failure classifies the failure.
	Failure RegFailure
	// Reason is the softphone's own words, in English, for the log.
	Reason string
}

// NewRegistrationError returns the error of a failed registration as the softphone
// reported it.
func NewRegistrationError(r phone.Registration) *RegistrationError {
	return &RegistrationError{Failure: regFailureOf(r.Failure), Reason: r.Reason}
}

// Error implements error.
func (e *RegistrationError) Error() string {
	if e.Reason == "" {
		return "registration failed"
	}
	return "registration failed: " + e.Reason
}

// endOf classifies why a softphone call ended, from the SIP status that ended it and
// the softphone's words for it.
func endOf(ci phone.CallInfo) CallEnd {
	r := ci.EndReason
	switch {
	case r == "hung up":
		return EndHungUp
	case r == "the other party hung up":
		return EndRemoteHungUp
	case r == "cancelled by the caller" || (ci.Direction == phone.Incoming && ci.EndCode == 487):
		return EndCallerCancelled
	case r == "cancelled" || ci.EndCode == 487:
		return EndCancelled
	case r == "the phone stopped":
		return EndPhoneStopped
	case r == "not answered" || ci.EndCode == 480 || ci.EndCode == 408:
		return EndNotAnswered
	case strings.HasPrefix(r, "declined") || ci.EndCode == 603:
		return EndDeclined
	case r == "busy" || ci.EndCode == 486 || ci.EndCode == 600:
		return EndBusy
	case ci.EndCode == 404:
		return EndUnknownNumber
	case ci.EndCode == 401 || ci.EndCode == 403 || ci.EndCode == 407:
		return EndRefused
	case ci.EndCode == 488 || ci.EndCode == 606 || strings.HasPrefix(r, "media negotiation failed") ||
		strings.HasPrefix(r, "no common codec"):
		return EndNoCodec
	case r != "" || ci.EndCode != 0:
		return EndConnectionFailed
	}
	return EndUnknown
}

func (a *PhoneAdapter) call(id string) (*phone.Call, error) {
	a.mu.Lock()
	c := a.calls[id]
	a.mu.Unlock()
	if c != nil {
		return c, nil
	}
	for _, c := range a.p.Calls() {
		if c.ID() == id {
			return c, nil
		}
	}
	return nil, fmt.Errorf("call %s: %w", id, errNoCall)
}

// Answer implements Softphone.
func (a *PhoneAdapter) Answer(ctx context.Context, id string) error {
	c, err := a.call(id)
	if err != nil {
		return err
	}
	return c.Answer(ctx)
}

// Decline implements Softphone.
func (a *PhoneAdapter) Decline(id string) error {
	c, err := a.call(id)
	if err != nil {
		return err
	}
	return c.Decline(phone.DeclineRejected)
}

// Hangup implements Softphone.
func (a *PhoneAdapter) Hangup(ctx context.Context, id string) error {
	c, err := a.call(id)
	if err != nil {
		return err
	}
	return c.Hangup(ctx)
}

// SetMuted implements Softphone.
func (a *PhoneAdapter) SetMuted(id string, on bool) error {
	c, err := a.call(id)
	if err != nil {
		return err
	}
	c.SetMuted(on)
	return nil
}

// SetHeld implements Softphone.
func (a *PhoneAdapter) SetHeld(ctx context.Context, id string, on bool) error {
	c, err := a.call(id)
	if err != nil {
		return err
	}
	if on {
		return c.Hold(ctx)
	}
	return c.Resume(ctx)
}

// SendDTMF implements Softphone.
func (a *PhoneAdapter) SendDTMF(id, digits string) error {
	c, err := a.call(id)
	if err != nil {
		return err
	}
	return c.SendDTMF(digits)
}

// Dial implements Softphone; it returns when the far end answered (the call shows as
// dialing meanwhile) and cancelling ctx cancels the call.
func (a *PhoneAdapter) Dial(ctx context.Context, target string) (string, error) {
	c, err := a.p.Dial(ctx, target)
	if c == nil {
		if err != nil {
			return "", fmt.Errorf("%w: %w", errNotPlaced, err)
		}
		return "", errNotPlaced
	}
	if err != nil {
		return c.ID(), &dialError{end: endOf(c.Info()), err: err}
	}
	return c.ID(), nil
}

// SetVolume implements Softphone: the headset volume of current and later calls.
func (a *PhoneAdapter) SetVolume(v float64) {
	a.mu.Lock()
	a.volume = v
	a.mu.Unlock()
	for _, c := range a.p.Calls() {
		c.SetVolume(v)
	}
}

// Levels implements Softphone: the microphone and headset levels of the active call.
func (a *PhoneAdapter) Levels() (mic, speaker float64) {
	for _, c := range a.p.Calls() {
		if c.State() == phone.CallActive {
			return audio.LevelUnit(c.InputLevel()), audio.LevelUnit(c.OutputLevel())
		}
	}
	return 0, 0
}

// AudioAdapter makes an *audio.Context the settings dialog's AudioSettings.
type AudioAdapter struct {
	ctx *audio.Context
}

// NewAudioAdapter wraps an audio context.
func NewAudioAdapter(c *audio.Context) *AudioAdapter { return &AudioAdapter{ctx: c} }

// Devices implements AudioSettings.
func (a *AudioAdapter) Devices() ([]AudioDevice, error) {
	devs, err := a.ctx.Devices()
	if err != nil {
		return nil, err
	}
	out := make([]AudioDevice, 0, len(devs))
	for _, d := range devs {
		out = append(out, AudioDevice{ID: d.ID, Name: d.Name, Input: d.Kind == audio.Capture,
			Output: d.Kind == audio.Playback, Default: d.Default})
	}
	return out, nil
}

// PlayTestTone implements AudioSettings: one second of tone.
func (a *AudioAdapter) PlayTestTone(ctx context.Context, output string) error {
	return a.ctx.PlayTestTone(ctx, output, time.Second)
}

// MicMeter implements AudioSettings.
func (a *AudioAdapter) MicMeter(ctx context.Context, input string, level func(float64)) error {
	stop, err := a.ctx.StartMeter(input, func(db float64) { level(audio.LevelUnit(db)) })
	if err != nil {
		return err
	}
	<-ctx.Done()
	stop()
	return nil
}
