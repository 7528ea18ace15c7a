package phone

import (
	"context"
	"fmt"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// trustSet is the set of IP addresses allowed to send requests to the phone: the
// registrar's, the outbound proxy's and Config.TrustedHosts, resolved.
type trustSet struct {
	ips map[string]struct{}
}

func newTrustSet(ips []net.IP) *trustSet {
	t := &trustSet{ips: make(map[string]struct{}, len(ips))}
	for _, ip := range ips {
		t.ips[normIP(ip)] = struct{}{}
	}
	return t
}

func normIP(ip net.IP) string {
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	return ip.String()
}

func (t *trustSet) allows(ip net.IP) bool {
	if t == nil || ip == nil {
		return false
	}
	_, ok := t.ips[normIP(ip)]
	return ok
}

// refreshTrusted resolves the PBX's hosts again (before every registration attempt,
// so a PBX whose address changes is followed). Addresses found earlier are kept if a
// lookup fails.
func (p *Phone) refreshTrusted(ctx context.Context) {
	hosts := []string{}
	if h, _, err := p.acc.serverHostPort(); err == nil {
		hosts = append(hosts, h)
	}
	if p.acc.OutboundProxy != "" {
		if h, _, err := p.acc.proxyHostPort(); err == nil {
			hosts = append(hosts, h)
		}
	}
	for _, th := range p.cfg.TrustedHosts {
		if h, _, err := splitHostPortDefault(th, 0); err == nil {
			hosts = append(hosts, h)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var (
		mu  sync.Mutex
		ips []net.IP
		wg  sync.WaitGroup
	)
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			ips = append(ips, ip)
			continue
		}
		wg.Add(1)
		go func(h string) {
			defer wg.Done()
			addrs, err := net.DefaultResolver.LookupIPAddr(ctx, h)
			if err != nil {
				p.log.Warn("cannot resolve a trusted PBX host", "host", h, "error", err)
				return
			}
			mu.Lock()
			for _, a := range addrs {
				ips = append(ips, a.IP)
			}
			mu.Unlock()
		}(h)
	}
	wg.Wait()
	if old := p.trusted.Load(); old != nil {
		for s := range old.ips {
			ips = append(ips, net.ParseIP(s))
		}
	}
	p.trusted.Store(newTrustSet(ips))
}

// guard is the server middleware every request passes before diago sees it:
//   - a request whose source is not the PBX is answered 403 Forbidden (an ACK is
//     dropped) and never reaches the call handling, so a scanner never makes the
//     phone ring; the one exception is a request within a call the phone placed
//     itself to a SIP address outside the PBX (Call-ID and both tags match), so
//     that the far end can hang up;
//   - the SDP body of an INVITE, UPDATE or ACK is checked before diago parses it
//     (diago indexes SDP fields without checking them): a bad offer is answered
//     488 Not Acceptable Here, a bad ACK body is dropped;
//   - a panic while handling the request is logged and answered 500, instead of
//     taking the whole program down.
func (p *Phone) guard(next sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		var gtx *guardTx
		if tx != nil {
			gtx = &guardTx{ServerTransaction: tx}
			tx = gtx
		}
		defer func() {
			if r := recover(); r != nil {
				p.log.Error("panic while handling a SIP request; answered 500", "method", req.Method.String(),
					"source", req.Source(), "panic", r, "stack", string(debug.Stack()))
				if gtx != nil && !req.IsAck() && !gtx.finalSent() {
					res := sip.NewResponseFromRequest(req, sip.StatusInternalServerError, "Server Internal Error", nil)
					if err := gtx.Respond(res); err != nil {
						p.log.Debug("respond 500", "error", err)
					}
				}
			}
		}()
		src := req.Source()
		host, _, err := net.SplitHostPort(src)
		if err != nil {
			host = src
		}
		if !p.trusted.Load().allows(net.ParseIP(host)) && !p.inDialledDialog(req) {
			p.refuse(req, tx, src, host)
			return
		}
		if !p.vetBody(req, gtx) {
			return
		}
		next(req, tx)
		if req.IsInvite() {
			p.noteReInvite(req)
		}
	}
}

// refuse answers a request from a stranger 403 (and drops an ACK).
func (p *Phone) refuse(req *sip.Request, tx sip.ServerTransaction, src, host string) {
	if p.refusedLog.allow(host, time.Now()) {
		p.log.Warn("refused a SIP request from an address that is not the PBX (logged once a minute per address)",
			"method", req.Method.String(), "source", src)
	}
	if req.IsAck() || tx == nil {
		return
	}
	res := sip.NewResponseFromRequest(req, sip.StatusForbidden, "Forbidden", nil)
	if err := tx.Respond(res); err != nil {
		p.log.Debug("respond 403", "error", err)
	}
}

// vetBody checks the SDP of an INVITE, UPDATE or ACK before diago reads it. It
// reports whether the request may go on; when it may not, it has been answered 488
// (an ACK is dropped). An offer with several media streams is handed on cut down
// to its audio stream, and tx puts the refused streams back into the answer.
func (p *Phone) vetBody(req *sip.Request, tx *guardTx) bool {
	if len(req.Body()) == 0 || !(req.IsInvite() || req.IsAck() || req.Method == sip.UPDATE) {
		return true
	}
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = h.Value()
	}
	inDialog := false
	if to := req.To(); to != nil && to.Params != nil {
		if tag, ok := to.Params.Get("tag"); ok && tag != "" {
			inDialog = true
		}
	}
	reduced, layout, err := vetSDP(ct, req.Body(), p.acc.srtp(), inDialog || req.IsAck())
	if err == nil {
		if layout != nil && tx != nil && !req.IsAck() {
			p.log.Info("the offer has several media streams: answering the audio one, refusing the others",
				"method", req.Method.String(), "streams", len(layout.mlines))
			req.SetBody(reduced)
			tx.layout.Store(layout)
		}
		return true
	}
	if req.IsAck() || tx == nil {
		p.log.Warn("dropped a request with a malformed SDP body", "method", req.Method.String(),
			"source", req.Source(), "reason", err.Error())
		return false
	}
	what := "refused an incoming call: unacceptable offer"
	if inDialog {
		what = "refused a change of the call's media: unacceptable offer"
	}
	p.log.Info(what, "method", req.Method.String(), "reason", err.Error(), "source", req.Source())
	res := sip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil)
	res.AppendHeader(sip.NewHeader("Warning", fmt.Sprintf("399 earshot %q", err.Error())))
	if rerr := tx.Respond(res); rerr != nil {
		p.log.Debug("respond 488", "error", rerr)
	}
	return false
}

// guardTx is the server transaction handed on by the guard: it notes whether a
// final response went out (so a panic is answered 500 only when none did), and
// completes the SDP answer to an offer whose extra streams were cut off.
type guardTx struct {
	sip.ServerTransaction
	final  atomic.Bool
	layout atomic.Pointer[offerLayout]
}

// Respond sends res on the transaction.
func (g *guardTx) Respond(res *sip.Response) error {
	if res.StatusCode >= 200 {
		g.final.Store(true)
	}
	if l := g.layout.Load(); l != nil && res.IsSuccess() && len(res.Body()) > 0 {
		res.SetBody(l.answer(res.Body()))
	}
	return g.ServerTransaction.Respond(res)
}

func (g *guardTx) finalSent() bool { return g.final.Load() }

// logLimiter lets one log line per key through per minute, so a scanner flooding
// the phone does not flood the log.
type logLimiter struct {
	mu   sync.Mutex
	last map[string]time.Time
}

func (l *logLimiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil || len(l.last) > 1024 {
		l.last = make(map[string]time.Time)
	}
	if t, ok := l.last[key]; ok && now.Sub(t) < time.Minute {
		return false
	}
	l.last[key] = now
	return true
}
