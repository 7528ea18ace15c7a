package phone

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// targetURI turns what the user typed into a SIP URI: "sip:..."/"sips:..." as is,
// anything else (a number, an extension, "user@host") on the PBX.
func (p *Phone) targetURI(target string) (sip.Uri, error) {
	target = strings.TrimSpace(target)
	var u sip.Uri
	if target == "" {
		return u, errors.New("nothing to dial")
	}
	lower := strings.ToLower(target)
	if strings.HasPrefix(lower, "sip:") || strings.HasPrefix(lower, "sips:") {
		if err := sip.ParseUri(target, &u); err != nil {
			return u, fmt.Errorf("%q is not a SIP URI: %w", target, err)
		}
		if u.Host == "" {
			return u, fmt.Errorf("%q has no host", target)
		}
		return u, nil
	}
	user, host := target, ""
	if i := strings.LastIndex(target, "@"); i >= 0 {
		user, host = target[:i], target[i+1:]
	}
	user = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '(' || r == ')' || r == '.' {
			return -1
		}
		return r
	}, user)
	if user == "" || strings.ContainsAny(user, ":;<>\"@") {
		return u, fmt.Errorf("%q is not a number or SIP address", target)
	}
	port := 0
	if host == "" {
		h, pt, err := p.acc.serverHostPort()
		if err != nil {
			return u, err
		}
		host, port = h, pt
	} else {
		h, pt, err := splitHostPortDefault(host, 0)
		if err != nil {
			return u, fmt.Errorf("%q: %w", target, err)
		}
		host, port = h, pt
	}
	u = sip.Uri{Scheme: "sip", User: user, Host: host, Port: port, UriParams: sip.NewParams(), Headers: sip.NewParams()}
	return u, nil
}

// Dial calls target (a number or extension on the PBX, "user@host", or a SIP URI)
// and returns once the far end answered, with the call active. While it rings,
// the call is visible in events (CallDialing, CallAlerting) and can be hung up;
// cancelling ctx cancels the call. When the call fails, Dial returns the ended call
// (its EndReason says why) and an error.
func (p *Phone) Dial(ctx context.Context, target string) (call *Call, err error) {
	var placed *Call
	defer func() {
		// A last line of defence: whatever a far end sends, dialling returns an
		// error rather than taking the program down.
		if r := recover(); r != nil {
			p.log.Error("panic while dialling", "target", target, "panic", r, "stack", string(debug.Stack()))
			if placed != nil {
				placed.end(fmt.Sprintf("failed: internal error (%v)", r), 0)
			}
			call, err = placed, fmt.Errorf("dial %s: internal error: %v", target, r)
		}
	}()
	return p.dial(ctx, target, &placed)
}

// dial is Dial; placed gets the call as soon as it exists.
func (p *Phone) dial(ctx context.Context, target string, placed **Call) (*Call, error) {
	uri, err := p.targetURI(target)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	st := p.sip()
	d, err := st.dg.NewDialog(uri, diago.NewDialogOptions{Transport: string(p.acc.transport())})
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", target, err)
	}
	c := p.newCall(Outgoing)
	*placed = c
	c.cli = d
	c.info.RemoteNumber = uri.User
	c.info.RemoteURI = uri.String()
	c.info.State = CallDialing
	if err := p.addCall(c, st); err != nil {
		d.Close()
		return nil, fmt.Errorf("dial %s: %w", target, err)
	}
	// Cancelling the dial sends a CANCEL once the far end answered provisionally;
	// before that there is nothing to cancel and the INVITE is abandoned at once
	// (sipgo would otherwise wait up to 32 s for a first response).
	var provisional atomic.Bool
	dialCtx, cancelCause := context.WithCancelCause(context.WithoutCancel(ctx))
	cancel := func() {
		if provisional.Load() {
			cancelCause(context.Canceled)
		} else {
			cancelCause(sipgo.WaitAnswerForceCancelErr)
		}
	}
	dialDone := make(chan struct{})
	defer close(dialDone)
	defer cancelCause(nil)
	go func() {
		select {
		case <-ctx.Done():
			cancel()
		case <-dialDone:
		}
	}()
	c.mu.Lock()
	c.cancelDial = cancel
	c.mu.Unlock()
	c.publishInfo()

	host, _, _ := p.acc.serverHostPort()
	fromParams := sip.NewParams()
	from := &sip.FromHeader{
		DisplayName: p.acc.DisplayName,
		Address:     sip.Uri{Scheme: "sip", User: p.acc.User, Host: host},
		Params:      fromParams,
	}
	opts := diago.InviteClientOptions{
		Username: p.acc.authUser(),
		Password: p.acc.Password,
		Headers:  []sip.Header{from, sip.NewHeader("User-Agent", p.cfg.userAgent())},
		OnResponse: func(res *sip.Response) error {
			if res.IsProvisional() {
				provisional.Store(true)
			}
			if res.StatusCode == sip.StatusRinging || res.StatusCode == sip.StatusSessionInProgress {
				c.setState(CallAlerting, nil)
			}
			if res.IsSuccess() && len(res.Body()) > 0 {
				// diago reads the answer's SDP next, indexing fields without
				// checking them: a far end (which may be outside the PBX) must not
				// be able to crash the phone with it.
				ct := ""
				if h := res.ContentType(); h != nil {
					ct = h.Value()
				}
				if err := checkSDP(ct, res.Body(), p.acc.srtp(), true); err != nil {
					return &badAnswerError{err}
				}
			}
			return nil
		},
	}
	if route := p.proxyRoute(); route != nil {
		// Loose routing (RFC 3261 §16.12): the INVITE (and its CANCEL) go to the
		// outbound proxy, the Request-URI stays the target.
		opts.Headers = append(opts.Headers, route)
	}
	if cid := d.InviteRequest.CallID(); cid != nil {
		c.update(func(ci *CallInfo) { ci.SIPCallID = cid.Value() })
	}
	dm, err := d.Invite(dialCtx, opts)
	if err == nil {
		key := dialogKeyOf(d.InviteRequest, d.InviteResponse)
		c.mu.Lock()
		c.peer = key
		if cid := d.InviteRequest.CallID(); cid != nil {
			c.info.SIPCallID = cid.Value()
		}
		c.mu.Unlock()
		err = d.Ack(dialCtx)
		if err != nil {
			_ = d.Hangup(context.Background())
		}
	}
	if err != nil {
		reason, code := dialFailure(err, dialCtx)
		d.Close()
		c.end(reason, code)
		return c, fmt.Errorf("dial %s: %s: %w", target, reason, err)
	}
	c.mu.Lock()
	c.cancelDial = nil
	c.mu.Unlock()
	if err := p.startCallMedia(c, dm); err != nil {
		// Hung up (or the phone stopped) while the far end was answering.
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_ = d.Hangup(ctx)
		cancel()
		d.Close()
		return c, fmt.Errorf("dial %s: %w", target, err)
	}
	go func() {
		defer d.Close()
		p.superviseCall(c, d.Context(), func(ctx context.Context) error { return d.Hangup(ctx) })
	}()
	return c, nil
}

// proxyRoute is the Route header that sends a call through Account.OutboundProxy
// (<sip:proxy:port;lr>), nil without a proxy.
func (p *Phone) proxyRoute() *sip.RouteHeader {
	if p.acc.OutboundProxy == "" {
		return nil
	}
	host, port, err := p.acc.proxyHostPort()
	if err != nil {
		return nil
	}
	u := sip.Uri{Scheme: "sip", Host: host, Port: port, UriParams: sip.NewParams(), Headers: sip.NewParams()}
	if tr := p.acc.transport(); tr != TransportUDP {
		u.UriParams.Add("transport", string(tr))
	}
	u.UriParams.Add("lr", "")
	return &sip.RouteHeader{Address: u}
}

// badAnswerError is a 2xx whose SDP answer cannot be used.
type badAnswerError struct{ err error }

func (e *badAnswerError) Error() string { return "the far end's answer is unusable: " + e.err.Error() }
func (e *badAnswerError) Unwrap() error { return e.err }

// dialFailure explains why an outgoing call did not connect.
func dialFailure(err error, ctx context.Context) (string, int) {
	var bad *badAnswerError
	if errors.As(err, &bad) {
		return bad.Error(), 0
	}
	var de sipgo.ErrDialogResponse
	var dep *sipgo.ErrDialogResponse
	var res *sip.Response
	switch {
	case errors.As(err, &de):
		res = de.Res
	case errors.As(err, &dep) && dep != nil:
		res = dep.Res
	}
	if res != nil {
		code := res.StatusCode
		switch code {
		case sip.StatusBusyHere, 600:
			return "busy", code
		case 603:
			return "declined", code
		case sip.StatusTemporarilyUnavailable, sip.StatusRequestTimeout:
			return "not answered", code
		case sip.StatusNotFound:
			return "unknown number", code
		case sip.StatusRequestTerminated:
			return "cancelled", code
		case sip.StatusUnauthorized, sip.StatusProxyAuthRequired, sip.StatusForbidden:
			return "refused by the PBX (credentials)", code
		case 488, 606:
			return "no common codec with the far end", code
		}
		return fmt.Sprintf("failed: %d %s", code, res.Reason), code
	}
	if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, sipgo.WaitAnswerForceCancelErr) {
		return "cancelled", 0
	}
	return "failed: " + err.Error(), 0
}
