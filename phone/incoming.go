package phone

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"
)

// MonitorTokenHeader is the SIP header that carries an ExpectMonitoringCall token.
// On Asterisk, add it to the Originate with
// "Variable: PJSIP_HEADER(add,X-Earshot-Token)=<token>".
const MonitorTokenHeader = "X-Earshot-Token"

// MonitorExpectation announces a monitoring call Earshot itself asked the PBX to
// place (listen, whisper, barge, steal). The next matching INVITE is answered at
// once, whatever the auto-answer setting. Without a Token, an INVITE matches only
// if it carries the PBX's auto-answer hint (Call-Info answer-after, Alert-Info
// auto-answer, Answer-Mode: Auto), which the Originate of a monitoring call
// adds: any other call from the PBX that happens to arrive within the window
// rings as usual.
type MonitorExpectation struct {
	// Label is copied to CallInfo.MonitorLabel (for example "Listen: 1001").
	Label string
	// Token, if set, must equal the INVITE's X-Earshot-Token header (the hint is
	// then not needed).
	Token string
	// Within is how long the expectation stays open (Config.MonitorWindow if zero).
	Within time.Duration
}

type expectation struct {
	MonitorExpectation
	deadline time.Time
}

// ExpectMonitoringCall opens a short window during which the matching incoming call
// from the PBX is auto-answered and flagged as a monitoring call. Call it just
// before sending the PBX the action (AMI Originate). The returned function closes the
// window early (for example when the action failed).
func (p *Phone) ExpectMonitoringCall(e MonitorExpectation) (cancel func()) {
	if e.Within <= 0 {
		e.Within = p.cfg.monitorWindow()
	}
	x := &expectation{MonitorExpectation: e, deadline: time.Now().Add(e.Within)}
	p.mu.Lock()
	p.expect = append(p.expect, x)
	p.mu.Unlock()
	return func() { p.dropExpectation(x) }
}

func (p *Phone) dropExpectation(x *expectation) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, e := range p.expect {
		if e == x {
			p.expect = append(p.expect[:i], p.expect[i+1:]...)
			return
		}
	}
}

// matchExpectation consumes the oldest open expectation that fits the INVITE: its
// token is the INVITE's X-Earshot-Token, or it has no token and the INVITE carries
// an auto-answer hint.
func (p *Phone) matchExpectation(req *sip.Request, hint autoAnswerHint) (*expectation, bool) {
	token := ""
	if h := req.GetHeader(MonitorTokenHeader); h != nil {
		token = strings.TrimSpace(h.Value())
	}
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	kept := p.expect[:0]
	var found *expectation
	for _, e := range p.expect {
		if now.After(e.deadline) {
			continue
		}
		if found == nil && ((e.Token == "" && hint.present) || (e.Token != "" && e.Token == token)) {
			found = e
			continue
		}
		kept = append(kept, e)
	}
	for i := len(kept); i < len(p.expect); i++ {
		p.expect[i] = nil
	}
	p.expect = kept
	return found, found != nil
}

// serveInvite handles a new INVITE that passed the source check. It returns when
// the call is over; diago then cleans the dialog up.
func (p *Phone) serveInvite(d *diago.DialogServerSession) {
	req := d.InviteRequest
	defer func() {
		if r := recover(); r != nil {
			p.log.Error("panic while handling an incoming call", "panic", r, "stack", string(debug.Stack()))
			if d.LoadState() < sip.DialogStateEstablished {
				_ = d.Respond(sip.StatusInternalServerError, "Server Internal Error", nil)
			}
		}
	}()

	ct := ""
	if h := req.ContentType(); h != nil {
		ct = h.Value()
	}
	if err := checkOffer(ct, req.Body(), p.acc.srtp()); err != nil {
		p.log.Info("refused an incoming call: unacceptable offer", "reason", err.Error(), "source", req.Source())
		warn := sip.NewHeader("Warning", fmt.Sprintf("399 earshot %q", err.Error()))
		if rerr := d.Respond(488, "Not Acceptable Here", nil, warn); rerr != nil {
			p.log.Debug("respond 488", "error", rerr)
		}
		return
	}

	c := p.newCall(Incoming)
	c.srv = d
	name, number, uri := remoteParty(req)
	hint := parseAutoAnswerHint(req)
	exp, monitoring := p.matchExpectation(req, hint)
	autoAnswer := monitoring || (hint.present && p.autoAnswerHints.Load())
	delay := time.Duration(0)
	if !monitoring && autoAnswer {
		delay = hint.delay
	}
	c.info.RemoteName, c.info.RemoteNumber, c.info.RemoteURI = name, number, uri
	c.info.SIPCallID = d.ID
	if cid := req.CallID(); cid != nil {
		c.info.SIPCallID = cid.Value()
	}
	c.info.Monitoring = monitoring
	if exp != nil {
		c.info.MonitorLabel = exp.Label
	}
	c.info.AutoAnswer = autoAnswer
	c.info.AutoAnswerHint = hint.source
	c.info.State = CallRinging

	if err := p.addCall(c, nil); err != nil {
		_ = d.Respond(sip.StatusServiceUnavailable, "Service Unavailable", nil)
		return
	}
	p.log.Info("incoming call", "call", c.id, "from", number, "name", name, "monitoring", monitoring,
		"auto_answer", autoAnswer, "hint", hint.source)

	ringing := !(autoAnswer && delay == 0)
	if ringing {
		if err := d.Ringing(); err != nil {
			c.end("the caller went away: "+err.Error(), 0)
			return
		}
	}
	p.events.publish(Event{Kind: EventIncomingCall, Call: c, CallInfo: c.Info()})

	// The ringtone plays while the call rings, and during the delay of an
	// auto-answer the PBX asked to put off (answer-after=N): the user hears that
	// a call is about to open the microphone.
	var stopRing func()
	if ringing {
		stopRing = p.startRingtone()
	}
	stopRinging := func() {
		if stopRing != nil {
			stopRing()
			stopRing = nil
		}
	}
	defer stopRinging()

	var autoTimer <-chan time.Time
	if autoAnswer {
		t := time.NewTimer(delay)
		defer t.Stop()
		autoTimer = t.C
	}
	ringTimer := time.NewTimer(p.cfg.ringTimeout())
	defer ringTimer.Stop()
	runCtx := p.runContext()

	for {
		select {
		case <-d.Context().Done():
			stopRinging()
			c.end("cancelled by the caller", sip.StatusRequestTerminated)
			return
		case <-c.hangupCh:
			stopRinging()
			p.declineCall(c, d, DeclineRejected)
			return
		case m := <-c.ctrl:
			if !m.answer {
				stopRinging()
				p.declineCall(c, d, m.decline)
				m.result <- nil
				return
			}
			stopRinging()
			c.leaveRinging()
			err := p.answerCall(c, d)
			m.result <- err
			if err != nil {
				return
			}
			p.superviseCall(c, d.Context(), func(ctx context.Context) error { return d.Hangup(ctx) })
			return
		case <-autoTimer:
			stopRinging()
			c.leaveRinging()
			if err := p.answerCall(c, d); err != nil {
				return
			}
			p.superviseCall(c, d.Context(), func(ctx context.Context) error { return d.Hangup(ctx) })
			return
		case <-ringTimer.C:
			stopRinging()
			_ = d.Respond(sip.StatusTemporarilyUnavailable, "Temporarily Unavailable", nil)
			c.end("not answered", sip.StatusTemporarilyUnavailable)
			return
		case <-runCtx.Done():
			stopRinging()
			_ = d.Respond(sip.StatusTemporarilyUnavailable, "Temporarily Unavailable", nil)
			c.end("the phone stopped", sip.StatusTemporarilyUnavailable)
			return
		}
	}
}

func (p *Phone) runContext() context.Context {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.runCtx == nil {
		return context.Background()
	}
	return p.runCtx
}

func (p *Phone) declineCall(c *Call, d *diago.DialogServerSession, r DeclineReason) {
	code, reason, why := 603, "Decline", "declined"
	if r == DeclineBusy {
		code, reason, why = sip.StatusBusyHere, "Busy Here", "declined as busy"
	}
	if err := d.Respond(code, reason, nil); err != nil {
		p.log.Debug("respond decline", "error", err)
	}
	c.end(why, code)
}

// answerCall answers with 200 OK, waits for the ACK and starts the media.
func (p *Phone) answerCall(c *Call, d *diago.DialogServerSession) error {
	dm, err := d.Answer(diago.AnswerOptions{})
	if err != nil {
		if d.LoadState() < sip.DialogStateEstablished {
			warn := sip.NewHeader("Warning", fmt.Sprintf("399 earshot %q", err.Error()))
			_ = d.Respond(488, "Not Acceptable Here", nil, warn)
			c.end("media negotiation failed: "+err.Error(), 488)
		} else {
			c.end("the answer was not acknowledged: "+err.Error(), 0)
		}
		return fmt.Errorf("answer call %s: %w", c.id, err)
	}
	return p.startCallMedia(c, dm)
}

// startCallMedia attaches the audio to an answered call and marks it active. A
// call that ended meanwhile (hung up or stopped while its answer waited for the
// ACK) gets no media: it returns an error wrapping ErrCallEnded, and the caller
// tears the dialog down.
func (p *Phone) startCallMedia(c *Call, dm *diago.DialogMedia) error {
	c.mu.Lock()
	ended := c.ended
	c.mu.Unlock()
	if ended {
		return fmt.Errorf("start the audio of call %s: %w", c.id, ErrCallEnded)
	}
	m, err := newCallMedia(c, dm)
	if err != nil {
		// Without audio the call is still up: the user hears nothing but can hang up.
		p.log.Error("call audio failed; the call stays up", "call", c.id, "error", err)
	}
	// Started under the lock end takes: either the media starts before end looks
	// at it (and end stops it), or end came first and it never starts.
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		if m != nil {
			m.stop()
		}
		return fmt.Errorf("start the audio of call %s: %w", c.id, ErrCallEnded)
	}
	c.dm = dm
	c.media = m
	if m != nil {
		m.setMuted(c.info.Muted)
		m.start()
	}
	c.mu.Unlock()
	codec := ""
	if m != nil {
		codec = m.codecName()
	}
	c.setState(CallActive, func(ci *CallInfo) {
		ci.Answered = time.Now()
		ci.Codec = codec
	})
	return nil
}

// superviseCall waits until an answered call ends: the far end hangs up (dialog
// context done), the user hangs up, the phone stops, or no RTP arrives for
// Config.RTPTimeout while the call is active and not on hold.
func (p *Phone) superviseCall(c *Call, dialogCtx context.Context, bye func(context.Context) error) {
	runCtx := p.runContext()
	var (
		tick    <-chan time.Time
		timeout = p.cfg.rtpTimeout()
	)
	if timeout > 0 {
		t := time.NewTicker(min(time.Second, max(timeout/5, 50*time.Millisecond)))
		defer t.Stop()
		tick = t.C
	}
	lastRx, quietSince := uint64(0), time.Now()
	for {
		select {
		case <-dialogCtx.Done():
			c.end("the other party hung up", 0)
			return
		case <-c.hangupCh:
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := bye(ctx)
			cancel()
			if err != nil {
				p.log.Info("BYE failed", "call", c.id, "error", err)
			}
			c.end("hung up", 0)
			return
		case <-runCtx.Done():
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			_ = bye(ctx)
			cancel()
			c.end("the phone stopped", 0)
			return
		case now := <-tick:
			rx := c.MediaStats().Jitter.Received
			ci := c.Info()
			if rx != lastRx || ci.State != CallActive || ci.RemoteHeld {
				lastRx, quietSince = rx, now
				continue
			}
			if now.Sub(quietSince) < timeout {
				continue
			}
			reason := fmt.Sprintf("no audio from the other party for %s: the call was lost", quietFor(now.Sub(quietSince)))
			p.log.Warn("hanging up a call without RTP", "call", c.id, "quiet", now.Sub(quietSince), "packets", rx)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := bye(ctx); err != nil {
				p.log.Info("BYE failed", "call", c.id, "error", err)
			}
			cancel()
			c.end(reason, 0)
			return
		}
	}
}

// quietFor writes a duration for people: "60 s", "1.5 s".
func quietFor(d time.Duration) string {
	if d%time.Second < 50*time.Millisecond || d >= 10*time.Second {
		return fmt.Sprintf("%d s", int(d.Round(time.Second)/time.Second))
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}
