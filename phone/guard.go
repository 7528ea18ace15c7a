package phone

import (
	"context"
	"net"
	"sync"
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

// guard is the server middleware: a request whose source is not the PBX is answered
// 403 Forbidden (an ACK is dropped) and never reaches the call handling, so a
// scanner never makes the phone ring.
func (p *Phone) guard(next sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		src := req.Source()
		host, _, err := net.SplitHostPort(src)
		if err != nil {
			host = src
		}
		if p.trusted.Load().allows(net.ParseIP(host)) {
			next(req, tx)
			if req.IsInvite() {
				p.noteReInvite(req)
			}
			return
		}
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
}

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
