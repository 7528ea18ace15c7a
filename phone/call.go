package phone

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"
)

// Direction says who placed a call.
type Direction int

// The call directions.
const (
	// Incoming: the PBX called the phone (monitoring calls are incoming).
	Incoming Direction = iota + 1
	// Outgoing: the phone dialled.
	Outgoing
)

// String names the direction.
func (d Direction) String() string {
	switch d {
	case Incoming:
		return "incoming"
	case Outgoing:
		return "outgoing"
	}
	return "unknown"
}

// CallState is the phase of a call.
type CallState int

// The call phases.
const (
	// CallRinging: an incoming call rings here, waiting for Answer or Decline.
	CallRinging CallState = iota + 1
	// CallDialing: an outgoing call was sent, no answer from the far end yet.
	CallDialing
	// CallAlerting: the far end of an outgoing call is ringing.
	CallAlerting
	// CallActive: the call is up and audio flows.
	CallActive
	// CallHeld: the phone put the call on hold.
	CallHeld
	// CallEnded: the call is over (see CallInfo.EndReason).
	CallEnded
)

// String names the state.
func (s CallState) String() string {
	switch s {
	case CallRinging:
		return "ringing"
	case CallDialing:
		return "dialing"
	case CallAlerting:
		return "alerting"
	case CallActive:
		return "active"
	case CallHeld:
		return "on hold"
	case CallEnded:
		return "ended"
	}
	return "unknown"
}

// DeclineReason selects the answer to an incoming call the user refuses.
type DeclineReason int

// The ways to decline.
const (
	// DeclineRejected answers 603 Decline: the user does not want the call.
	DeclineRejected DeclineReason = iota
	// DeclineBusy answers 486 Busy Here.
	DeclineBusy
)

// ErrCallEnded is returned by call actions on a call that is over.
var ErrCallEnded = errors.New("the call has ended")

// ErrWrongState is returned by an action the call's state does not allow (answering
// an outgoing call, holding a ringing one, ...).
var ErrWrongState = errors.New("not possible in the call's current state")

// CallInfo is a snapshot of a call, safe to keep and render.
type CallInfo struct {
	// ID identifies the call within this phone ("c1", "c2", ...).
	ID string
	// SIPCallID is the SIP Call-ID, for matching PBX logs.
	SIPCallID string
	Direction Direction
	// RemoteName and RemoteNumber identify the other party (for a monitoring call,
	// what the PBX put in the caller ID, for example "Listen: 1001").
	RemoteName   string
	RemoteNumber string
	// RemoteURI is the other party's SIP URI.
	RemoteURI string
	State     CallState
	// EndReason says why the call ended (CallEnded), in words.
	EndReason string
	// EndCode is the SIP status that ended the call, 0 for a normal hang-up.
	EndCode int
	// Monitoring is true for a call that matched an ExpectMonitoringCall.
	Monitoring bool
	// MonitorLabel is the label given to ExpectMonitoringCall.
	MonitorLabel string
	// AutoAnswer is true when the phone answers (or answered) the call by itself.
	AutoAnswer bool
	// AutoAnswerHint describes the PBX's auto-answer hint, if the INVITE had one.
	AutoAnswerHint string
	// Codec is the negotiated audio codec (PCMU or PCMA) once the call is up.
	Codec string
	// AudioError describes a headset problem (the call stays up without audio).
	AudioError string
	// RemoteHeld is true while the other party holds the call (its re-INVITE said
	// sendonly or inactive).
	RemoteHeld bool
	// Muted and Held reflect SetMuted and Hold.
	Muted bool
	Held  bool
	// Created, Answered and Ended are when the call began, was answered and ended.
	Created  time.Time
	Answered time.Time
	Ended    time.Time
}

// Duration is the talk time so far (or in total once ended); zero before answer.
func (ci CallInfo) Duration() time.Duration {
	if ci.Answered.IsZero() {
		return 0
	}
	if !ci.Ended.IsZero() {
		return ci.Ended.Sub(ci.Answered)
	}
	return time.Since(ci.Answered)
}

// Call is one call. Its methods are safe for concurrent use.
type Call struct {
	p   *Phone
	id  string
	dir Direction

	mu   sync.Mutex
	info CallInfo

	// incoming
	srv  *diago.DialogServerSession
	ctrl chan callCtrl

	// outgoing
	cli        *diago.DialogClientSession
	cancelDial context.CancelFunc
	// peer identifies the dialog of an answered outgoing call, so that the far
	// end's in-dialog requests pass the guard even when it is not the PBX.
	peer dialogKey

	dm    *diago.DialogMedia
	media *callMedia
	// ended is set (under mu) as the call ends: no media may start after it.
	ended bool

	hangupOnce sync.Once
	hangupCh   chan struct{}
	ringOnce   sync.Once
	ringDone   chan struct{} // closed when an incoming call stops ringing
	done       chan struct{}
	endOnce    sync.Once
	holdMu     sync.Mutex
}

type callCtrl struct {
	answer  bool
	decline DeclineReason
	ctx     context.Context
	result  chan error
}

func (p *Phone) newCall(dir Direction) *Call {
	p.mu.Lock()
	p.nextID++
	id := fmt.Sprintf("c%d", p.nextID)
	p.mu.Unlock()
	c := &Call{
		p:        p,
		id:       id,
		dir:      dir,
		ctrl:     make(chan callCtrl),
		hangupCh: make(chan struct{}),
		ringDone: make(chan struct{}),
		done:     make(chan struct{}),
	}
	c.info = CallInfo{ID: id, Direction: dir, Created: time.Now()}
	return c
}

// ID identifies the call within the phone.
func (c *Call) ID() string { return c.id }

// Info returns a snapshot of the call.
func (c *Call) Info() CallInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.info
}

// State returns the call's current state.
func (c *Call) State() CallState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.info.State
}

// Done is closed when the call has ended.
func (c *Call) Done() <-chan struct{} { return c.done }

// setState changes the state and publishes it; nothing changes after CallEnded.
func (c *Call) setState(s CallState, mutate func(*CallInfo)) {
	c.mu.Lock()
	if c.info.State == CallEnded {
		c.mu.Unlock()
		return
	}
	c.info.State = s
	if mutate != nil {
		mutate(&c.info)
	}
	info := c.info
	c.mu.Unlock()
	c.p.log.Info("call state", "call", c.id, "state", s.String(), "direction", info.Direction.String(),
		"remote", info.RemoteNumber, "reason", info.EndReason)
	c.p.events.publish(Event{Kind: EventCallState, Call: c, CallInfo: info})
}

func (c *Call) update(mutate func(*CallInfo)) CallInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	mutate(&c.info)
	return c.info
}

func (c *Call) publishInfo() {
	c.p.events.publish(Event{Kind: EventCallState, Call: c, CallInfo: c.Info()})
}

// leaveRinging marks that an incoming call no longer waits for Answer or Decline.
func (c *Call) leaveRinging() { c.ringOnce.Do(func() { close(c.ringDone) }) }

// end marks the call ended with a reason, stops its media and forgets it. Media
// that would start later (an answer acknowledged after the end) is refused by
// attachMedia.
func (c *Call) end(reason string, code int) {
	c.endOnce.Do(func() {
		c.mu.Lock()
		c.ended = true
		m := c.media
		c.mu.Unlock()
		if m != nil {
			m.stop()
		}
		c.leaveRinging()
		// Out of Calls before the ended event goes out: whoever reacts to it
		// no longer finds the call among the live ones.
		listed := c.p.unlistCall(c)
		c.setState(CallEnded, func(ci *CallInfo) {
			ci.EndReason = reason
			ci.EndCode = code
			ci.Ended = time.Now()
		})
		if listed {
			c.p.callsWG.Done()
		}
		close(c.done)
	})
}

// Answer answers a ringing incoming call and returns once the call is up (the PBX
// acknowledged the answer) or failed.
func (c *Call) Answer(ctx context.Context) error {
	return c.control(ctx, callCtrl{answer: true})
}

// Decline refuses a ringing incoming call with 603 Decline or 486 Busy Here.
func (c *Call) Decline(r DeclineReason) error {
	return c.control(context.Background(), callCtrl{decline: r})
}

func (c *Call) control(ctx context.Context, m callCtrl) error {
	if c.dir != Incoming {
		return fmt.Errorf("answer or decline an outgoing call: %w", ErrWrongState)
	}
	m.ctx = ctx
	m.result = make(chan error, 1)
	select {
	case c.ctrl <- m:
	case <-c.ringDone:
		// Answered (perhaps automatically), declined or cancelled meanwhile:
		// report how it settles.
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			switch st := c.State(); {
			case m.answer && (st == CallActive || st == CallHeld):
				return nil
			case st == CallEnded:
				return ErrCallEnded
			case st != CallRinging:
				return fmt.Errorf("answer or decline a call that is %s: %w", st, ErrWrongState)
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	case <-c.done:
		return ErrCallEnded
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-m.result:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Hangup ends the call in any state: a ringing incoming call is declined (603), an
// outgoing call that is not answered yet is cancelled, an active call gets a BYE. It
// returns when the call has ended or ctx is done.
func (c *Call) Hangup(ctx context.Context) error {
	select {
	case <-c.done:
		return nil
	default:
	}
	c.hangupOnce.Do(func() {
		close(c.hangupCh)
		c.mu.Lock()
		cancel := c.cancelDial
		c.mu.Unlock()
		if cancel != nil && c.State() != CallActive && c.State() != CallHeld {
			cancel()
		}
	})
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("hang up call %s: %w", c.id, ctx.Err())
	}
}

// SetMuted mutes or unmutes the microphone. A muted call keeps sending RTP, carrying
// true silence (the PCM is zeroed before encoding).
func (c *Call) SetMuted(on bool) {
	c.mu.Lock()
	changed := c.info.Muted != on
	c.info.Muted = on
	m := c.media
	c.mu.Unlock()
	if m != nil {
		m.setMuted(on)
	}
	if changed {
		c.publishInfo()
	}
}

// Muted reports whether the microphone is muted.
func (c *Call) Muted() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.info.Muted
}

type holder interface {
	Hold(ctx context.Context) error
	Unhold(ctx context.Context) error
}

func (c *Call) dialogHolder() holder {
	if c.srv != nil {
		return c.srv
	}
	if c.cli != nil {
		return c.cli
	}
	return nil
}

// Hold puts an active call on hold with a re-INVITE (a=sendonly). The phone then plays
// nothing from the far end and sends silence.
func (c *Call) Hold(ctx context.Context) error {
	return c.setHold(ctx, true)
}

// Resume takes the call off hold (re-INVITE a=sendrecv).
func (c *Call) Resume(ctx context.Context) error {
	return c.setHold(ctx, false)
}

func (c *Call) setHold(ctx context.Context, on bool) (err error) {
	c.holdMu.Lock()
	defer c.holdMu.Unlock()
	defer func() {
		// diago reads the far end's answer to the re-INVITE without checking it:
		// a malformed one must not take the program down.
		if r := recover(); r != nil {
			c.p.log.Error("panic while changing the hold state; the call's audio may be stuck", "call", c.id,
				"panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("hold or resume call %s: the far end's answer could not be used: %v", c.id, r)
		}
	}()
	st := c.State()
	switch {
	case st == CallEnded:
		return ErrCallEnded
	case on && st == CallHeld, !on && st == CallActive:
		return nil
	case st != CallActive && st != CallHeld:
		return fmt.Errorf("hold a call that is %s: %w", st, ErrWrongState)
	}
	h := c.dialogHolder()
	if h == nil {
		return fmt.Errorf("hold: %w", ErrWrongState)
	}
	c.mu.Lock()
	m := c.media
	c.mu.Unlock()
	if m != nil {
		m.setHeld(on)
	}
	if on {
		err = h.Hold(ctx)
	} else {
		err = h.Unhold(ctx)
	}
	if err != nil {
		if m != nil {
			m.setHeld(!on)
		}
		verb := "hold"
		if !on {
			verb = "resume"
		}
		return fmt.Errorf("%s call %s: the PBX refused the re-INVITE: %w", verb, c.id, err)
	}
	if m != nil {
		// The re-INVITE replaced the RTP session and restarted the writer's unused
		// pacing clock.
		m.dm.RTPPacketWriter.ClockDisable()
	}
	if on {
		c.setState(CallHeld, func(ci *CallInfo) { ci.Held = true })
	} else {
		c.setState(CallActive, func(ci *CallInfo) { ci.Held = false })
	}
	return nil
}

// SendDTMF sends digits (0-9, *, #, A-D) as RFC 4733 telephone-events, in order, on
// the call's RTP stream. It returns once they are queued.
func (c *Call) SendDTMF(digits string) error {
	for _, d := range digits {
		if !validDTMF(d) {
			return fmt.Errorf("send DTMF %q: %q is not a DTMF digit", digits, d)
		}
	}
	c.mu.Lock()
	m := c.media
	st := c.info.State
	c.mu.Unlock()
	if st == CallEnded {
		return ErrCallEnded
	}
	if m == nil || (st != CallActive && st != CallHeld) {
		return fmt.Errorf("send DTMF on a call that is %s: %w", st, ErrWrongState)
	}
	return m.queueDTMF(strings.ToUpper(digits))
}

func validDTMF(r rune) bool {
	return (r >= '0' && r <= '9') || r == '*' || r == '#' || (r >= 'A' && r <= 'D') || (r >= 'a' && r <= 'd')
}

// Calls returns the calls in progress.
func (p *Phone) Calls() []*Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*Call, 0, len(p.calls))
	for _, c := range p.calls {
		out = append(out, c)
	}
	return out
}

// addCall registers a call; it fails once the phone is stopping, and when st (the
// SIP transport the call was made on, nil: not checked) is no longer the phone's
// (it moved to a new network address meanwhile).
func (p *Phone) addCall(c *Call, st *sipStack) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.started || p.stopping || p.closed {
		return errors.New("the phone is not running")
	}
	if st != nil && p.stack.Load() != st {
		return errors.New("the phone has just moved to a new network address; dial again")
	}
	p.calls[c.id] = c
	p.callsWG.Add(1)
	return nil
}

// unlistCall takes a call out of the live ones; it reports whether it was listed
// (the caller then marks it done in callsWG).
func (p *Phone) unlistCall(c *Call) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.calls[c.id]
	delete(p.calls, c.id)
	return ok
}

func (p *Phone) hangupAll() {
	for _, c := range p.Calls() {
		p.hangupOrEnd(c, 3*time.Second, "the phone stopped")
	}
}

// hangupOrEnd hangs c up; if that does not finish within d (the call is stuck,
// for example answered but not yet acknowledged) it ends the call locally.
func (p *Phone) hangupOrEnd(c *Call, d time.Duration, reason string) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := c.Hangup(ctx); err != nil {
		p.log.Warn("hang up did not complete; ending the call here", "call", c.id, "error", err)
		c.end(reason, 0)
	}
}

// callBySIPID finds a call in progress by its SIP Call-ID.
func (p *Phone) callBySIPID(id string) *Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.calls {
		c.mu.Lock()
		match := c.info.SIPCallID == id
		c.mu.Unlock()
		if match {
			return c
		}
	}
	return nil
}

// noteReInvite records a hold or resume by the other party, after diago handled
// its re-INVITE (diago does not expose the negotiated direction).
func (p *Phone) noteReInvite(req *sip.Request) {
	to := req.To()
	if to == nil || to.Params == nil {
		return
	}
	if tag, ok := to.Params.Get("tag"); !ok || tag == "" {
		return
	}
	cid := req.CallID()
	if cid == nil {
		return
	}
	c := p.callBySIPID(cid.Value())
	if c == nil || len(req.Body()) == 0 {
		return
	}
	held := offerHolds(req.Body())
	c.mu.Lock()
	changed := c.info.State != CallEnded && c.info.RemoteHeld != held
	c.info.RemoteHeld = held
	c.mu.Unlock()
	if changed {
		p.log.Info("call hold by the other party", "call", c.id, "held", held)
		c.publishInfo()
	}
}

// dialogKey is a SIP dialog as seen from the phone: Call-ID, our tag, theirs.
type dialogKey struct {
	callID, localTag, remoteTag string
}

func headerTag(params sip.HeaderParams) string {
	if params == nil {
		return ""
	}
	t, _ := params.Get("tag")
	return t
}

// dialogKeyOf is the dialog an outgoing INVITE and its 2xx set up.
func dialogKeyOf(inv *sip.Request, res *sip.Response) dialogKey {
	var k dialogKey
	if inv == nil || res == nil {
		return k
	}
	if cid := inv.CallID(); cid != nil {
		k.callID = cid.Value()
	}
	if f := inv.From(); f != nil {
		k.localTag = headerTag(f.Params)
	}
	if to := res.To(); to != nil {
		k.remoteTag = headerTag(to.Params)
	}
	if k.localTag == "" || k.remoteTag == "" {
		return dialogKey{}
	}
	return k
}

// inDialledDialog reports whether req is a request the far end of a call the
// phone placed may send within that call (BYE, re-INVITE, ACK, UPDATE, INFO,
// OPTIONS): its Call-ID and both tags match the dialog. Such requests pass the
// guard even when the far end is not the PBX (a SIP address dialled directly).
func (p *Phone) inDialledDialog(req *sip.Request) bool {
	switch req.Method {
	case sip.BYE, sip.ACK, sip.INVITE, sip.UPDATE, sip.INFO, sip.OPTIONS:
	default:
		return false
	}
	cid, from, to := req.CallID(), req.From(), req.To()
	if cid == nil || from == nil || to == nil {
		return false
	}
	theirs, ours := headerTag(from.Params), headerTag(to.Params)
	if theirs == "" || ours == "" {
		return false
	}
	c := p.callBySIPID(cid.Value())
	if c == nil {
		return false
	}
	c.mu.Lock()
	k := c.peer
	c.mu.Unlock()
	return k.callID == cid.Value() && k.localTag == ours && k.remoteTag == theirs
}

// remoteParty extracts name and number: P-Asserted-Identity first (what the PBX
// asserts), then From.
func remoteParty(req *sip.Request) (name, number, uri string) {
	if h := req.GetHeader("P-Asserted-Identity"); h != nil {
		var u sip.Uri
		params := sip.NewParams()
		if dn, err := sip.ParseAddressValue(h.Value(), &u, &params); err == nil && u.User != "" {
			return dn, u.User, u.String()
		}
	}
	if f := req.From(); f != nil {
		return f.DisplayName, f.Address.User, f.Address.String()
	}
	return "", "", ""
}

// remoteSDP is the far end's SDP of the call's initial offer/answer: the INVITE's
// offer for an incoming call, the 200's answer for an outgoing one (nil before).
func (c *Call) remoteSDP() []byte {
	c.mu.Lock()
	srv, cli := c.srv, c.cli
	c.mu.Unlock()
	switch {
	case srv != nil && srv.InviteRequest != nil:
		return srv.InviteRequest.Body()
	case cli != nil && cli.InviteResponse != nil:
		return cli.InviteResponse.Body()
	}
	return nil
}
