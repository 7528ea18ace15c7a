// Package phone is Earshot's embedded softphone: a SIP user agent on diago that
// registers with the PBX, rings for the PBX's monitoring calls, answers, declines,
// dials, holds, mutes and sends DTMF, and hands call media to package audio as PCM.
//
// A Phone is created with New and driven by Run, which keeps the registration alive
// until its context ends. Everything that happens is published as an Event to every
// subscriber (Subscribe); calls are *Call values that are safe for concurrent use.
//
// Security: the phone only answers requests whose source address belongs to the PBX
// it registers with (registrar host and outbound proxy, resolved), and listens only
// on the interface that routes to the PBX unless told otherwise.
package phone

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Default timings.
const (
	// DefaultMonitorWindow is how long an ExpectMonitoringCall stays open.
	DefaultMonitorWindow = 10 * time.Second
	// DefaultRouteCheck is how often the phone checks which local address
	// reaches the PBX.
	DefaultRouteCheck = 10 * time.Second
	// MinAuthRetry is the shortest wait after the PBX refused the credentials.
	MinAuthRetry = 30 * time.Second
	// DefaultAuthRetry is the wait after the PBX refused the credentials.
	DefaultAuthRetry = 60 * time.Second
	// DefaultRetryMin and DefaultRetryMax bound the backoff after other failures.
	DefaultRetryMin = 2 * time.Second
	DefaultRetryMax = 60 * time.Second
	// DefaultRegisterTimeout bounds one REGISTER round trip (with its challenge).
	DefaultRegisterTimeout = 10 * time.Second
	// DefaultRingTimeout is how long an unanswered incoming call may ring before
	// the phone gives up on it (480), when the PBX never cancels it.
	DefaultRingTimeout = 3 * time.Minute
	// DefaultRTPTimeout is how long an active call may go without receiving any
	// RTP before the phone hangs it up as lost.
	DefaultRTPTimeout = 60 * time.Second
)

// Config configures a Phone.
type Config struct {
	// Account is the SIP account; its Password comes from the OS keyring.
	Account Account

	// AutoAnswerHints makes the phone honour the PBX's auto-answer hints
	// (Call-Info answer-after, Alert-Info auto-answer / info=alert-autoanswer,
	// Answer-Mode: Auto). Off by default: a hint alone never opens the microphone.
	// Calls announced with ExpectMonitoringCall are auto-answered regardless.
	AutoAnswerHints bool
	// MonitorWindow is the default lifetime of an ExpectMonitoringCall
	// (DefaultMonitorWindow if zero).
	MonitorWindow time.Duration
	// TrustedHosts are extra hosts or IPs allowed to send requests, besides the
	// registrar and the outbound proxy (for example the embedded demo PBX).
	TrustedHosts []string

	// RegisterTimeout bounds one REGISTER attempt (DefaultRegisterTimeout if zero).
	RegisterTimeout time.Duration
	// RetryMin and RetryMax bound the exponential backoff after a failure other than
	// wrong credentials (DefaultRetryMin, DefaultRetryMax if zero).
	RetryMin, RetryMax time.Duration
	// AuthRetry is the wait after the PBX refused the credentials
	// (DefaultAuthRetry if zero, never less than MinAuthRetry).
	AuthRetry time.Duration
	// RingTimeout ends an incoming call that rings this long (DefaultRingTimeout if
	// zero).
	RingTimeout time.Duration
	// RTPTimeout hangs up an active call on which no RTP arrived for this long
	// (a far end that vanished without a BYE). Calls on hold, either way, are
	// exempt. DefaultRTPTimeout if zero; negative turns the check off.
	RTPTimeout time.Duration

	// RouteCheck is how often the phone checks which local address reaches the
	// PBX: when it changes (Wi-Fi to cable, a VPN coming up or down) and no call
	// is up, the phone moves its SIP transport there and registers again.
	// DefaultRouteCheck if zero; negative turns following off. Not used when
	// Account.LocalAddr is set.
	RouteCheck time.Duration
	// routeLookup replaces the kernel's routing decision (tests: a network change
	// cannot be made on the test machine).
	routeLookup func(host string, port int) (net.IP, error)

	// Media configures the call audio (devices, test taps).
	Media MediaConfig

	// UserAgent is the product in the User-Agent header ("Earshot" if empty).
	UserAgent string
	// Logger receives the phone's logs (slog.Default if nil). Passwords and SDES keys
	// are never logged.
	Logger *slog.Logger
}

func (c *Config) monitorWindow() time.Duration {
	if c.MonitorWindow > 0 {
		return c.MonitorWindow
	}
	return DefaultMonitorWindow
}

func (c *Config) routeCheck() time.Duration {
	if c.RouteCheck != 0 {
		return c.RouteCheck
	}
	return DefaultRouteCheck
}

func (c *Config) registerTimeout() time.Duration {
	if c.RegisterTimeout > 0 {
		return c.RegisterTimeout
	}
	return DefaultRegisterTimeout
}

func (c *Config) retryMin() time.Duration {
	if c.RetryMin > 0 {
		return c.RetryMin
	}
	return DefaultRetryMin
}

func (c *Config) retryMax() time.Duration {
	if c.RetryMax > 0 {
		return max(c.RetryMax, c.retryMin())
	}
	return max(DefaultRetryMax, c.retryMin())
}

func (c *Config) authRetry() time.Duration {
	if c.AuthRetry <= 0 {
		return DefaultAuthRetry
	}
	return max(c.AuthRetry, MinAuthRetry)
}

func (c *Config) ringTimeout() time.Duration {
	if c.RingTimeout > 0 {
		return c.RingTimeout
	}
	return DefaultRingTimeout
}

func (c *Config) rtpTimeout() time.Duration {
	if c.RTPTimeout == 0 {
		return DefaultRTPTimeout
	}
	return c.RTPTimeout
}

func (c *Config) userAgent() string {
	if c.UserAgent != "" {
		return c.UserAgent
	}
	return "Earshot"
}

// Phone is the softphone. Create it with New, run it with Run.
type Phone struct {
	cfg Config
	acc Account
	log *slog.Logger

	// stack is the SIP transport in use; Run replaces it when the local address
	// that reaches the PBX changes.
	stack     atomic.Pointer[sipStack]
	tlsConfig *tls.Config

	trusted    atomic.Pointer[trustSet]
	refusedLog logLimiter
	events     hub

	autoAnswerHints atomic.Bool
	retryNow        chan struct{}

	mu       sync.Mutex
	reg      Registration
	calls    map[string]*Call
	expect   []*expectation
	started  bool
	stopping bool
	moving   bool // the SIP transport is being replaced: no new calls
	closed   bool
	runCtx   context.Context
	callsWG  sync.WaitGroup
	closeErr error
	nextID   uint64
}

// New checks cfg, binds the SIP listening socket and prepares the user agent. It does
// not contact the PBX: Run does.
func New(cfg Config) (*Phone, error) {
	acc := cfg.Account
	if err := acc.Validate(); err != nil {
		return nil, fmt.Errorf("phone account: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = slog.New(newRedactHandler(log.Handler())).With("component", "phone", "ext", acc.User)

	p := &Phone{
		cfg:      cfg,
		acc:      acc,
		log:      log,
		retryNow: make(chan struct{}, 1),
		calls:    make(map[string]*Call),
		reg:      Registration{State: RegIdle, Since: time.Now()},
	}
	p.autoAnswerHints.Store(cfg.AutoAnswerHints)

	if acc.transport() == TransportTLS {
		host, _, err := acc.serverHostPort()
		if err != nil {
			return nil, err
		}
		if p.tlsConfig, err = buildTLSConfig(acc, host); err != nil {
			return nil, err
		}
	}
	ip, port, err := p.localAddr()
	if err != nil {
		return nil, err
	}
	st, err := p.newStack(ip, port)
	if err != nil {
		return nil, err
	}
	p.stack.Store(st)
	p.trusted.Store(newTrustSet(nil))
	return p, nil
}

// sip is the SIP transport in use.
func (p *Phone) sip() *sipStack { return p.stack.Load() }

// localAddr picks the local address to listen on: the configured one, or the one
// the kernel routes to the PBX (or its outbound proxy) from.
func (p *Phone) localAddr() (net.IP, int, error) {
	acc := p.acc
	if acc.LocalAddr != "" {
		h, pt, err := splitHostPortDefault(acc.LocalAddr, 0)
		if err != nil {
			return nil, 0, fmt.Errorf("local address %q: %w", acc.LocalAddr, err)
		}
		ip := net.ParseIP(h)
		if ip == nil {
			return nil, 0, fmt.Errorf("local address %q is not an IP address", h)
		}
		return ip, pt, nil
	}
	ip, err := p.routeToPBX()
	if err != nil {
		return nil, 0, fmt.Errorf("find the local interface that reaches the PBX %s: %w", acc.Server, err)
	}
	return ip, 0, nil
}

// routeToPBX is the local IP the kernel would use to reach the PBX (or its
// outbound proxy) now.
func (p *Phone) routeToPBX() (net.IP, error) {
	ph, pp, err := p.acc.proxyHostPort()
	if err != nil {
		return nil, fmt.Errorf("PBX address: %w", err)
	}
	if p.cfg.routeLookup != nil {
		return p.cfg.routeLookup(ph, pp)
	}
	return routeIP(ph, pp)
}

// routeIP returns the local IP the kernel would use to reach host:port. No packet is
// sent.
func routeIP(host string, port int) (net.IP, error) {
	ips, err := net.DefaultResolver.LookupIPAddr(context.Background(), host)
	if err != nil {
		return nil, err
	}
	var lastErr error
	for _, a := range ips {
		c, err := net.DialUDP("udp", nil, &net.UDPAddr{IP: a.IP, Port: max(port, 1)})
		if err != nil {
			lastErr = err
			continue
		}
		ip := c.LocalAddr().(*net.UDPAddr).IP
		c.Close()
		return ip, nil
	}
	if lastErr == nil {
		lastErr = fmt.Errorf("%s has no address", host)
	}
	return nil, lastErr
}

func buildTLSConfig(acc Account, serverHost string) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverHost}
	if acc.TLSServerName != "" {
		tc.ServerName = acc.TLSServerName
	}
	if acc.CAFile != "" {
		pem, err := os.ReadFile(acc.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read the PBX CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("the PBX CA file %s holds no PEM certificate", acc.CAFile)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// LocalAddr is the address the phone listens on for SIP ("ip:port"; for TLS the port
// is the one of the connection to the PBX and is 0 until it is open).
func (p *Phone) LocalAddr() string { return p.sip().addr() }

// Subscribe returns a channel of every event from now on, and a function that ends
// the subscription (the channel is then closed). Events are queued per subscriber:
// a slow reader never blocks the phone and loses nothing.
func (p *Phone) Subscribe() (<-chan Event, func()) {
	return p.events.subscribe()
}

// State returns the current registration state.
func (p *Phone) State() Registration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reg
}

// SetAutoAnswerHints turns honouring the PBX's auto-answer hints on or off.
func (p *Phone) SetAutoAnswerHints(on bool) { p.autoAnswerHints.Store(on) }

// AutoAnswerHints reports whether the PBX's auto-answer hints are honoured.
func (p *Phone) AutoAnswerHints() bool { return p.autoAnswerHints.Load() }

// RetryNow cuts short the wait before the next registration attempt (for a "retry
// now" button after the user fixed the network or the PBX).
func (p *Phone) RetryNow() {
	select {
	case p.retryNow <- struct{}{}:
	default:
	}
}

func (p *Phone) setReg(r Registration) {
	r.Since = time.Now()
	p.mu.Lock()
	p.reg = r
	p.mu.Unlock()
	p.log.Info("registration", "state", r.State.String(), "reason", r.Reason, "expiry", r.Expiry)
	p.events.publish(Event{Kind: EventRegistration, Registration: r})
}

// Run serves SIP and keeps the phone registered until ctx ends; then it hangs up any
// call, unregisters and releases the sockets. It returns nil after a normal stop.
// A Phone runs once.
func (p *Phone) Run(ctx context.Context) error {
	p.mu.Lock()
	if p.started || p.closed {
		p.mu.Unlock()
		return errors.New("phone: Run called on a phone that already ran")
	}
	p.started = true
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p.runCtx = ctx
	p.mu.Unlock()

	p.log.Info("phone started", "listen", p.LocalAddr(), "transport", p.acc.transport(), "account", p.acc)
	var err error
	for {
		st := p.sip()
		serveErr := st.serve()
		regCtx, regCancel := context.WithCancel(ctx)
		regDone := make(chan struct{})
		go func() {
			defer close(regDone)
			p.registrationLoop(regCtx, st)
		}()
		var moveTo net.IP
		select {
		case <-ctx.Done():
		case err = <-serveErr:
			if err != nil {
				err = fmt.Errorf("SIP listener stopped: %w", err)
			}
			cancel()
		case moveTo = <-p.watchRoute(regCtx, st.bindIP):
		}
		regCancel()
		<-regDone
		if moveTo == nil || ctx.Err() != nil {
			break
		}
		p.move(st, moveTo)
	}
	p.mu.Lock()
	p.stopping = true
	p.mu.Unlock()
	p.hangupAll()
	p.callsWG.Wait()
	p.setReg(Registration{State: RegIdle})
	p.Close()
	return err
}

// watchRoute checks, every RouteCheck, which local address reaches the PBX, and
// reports it once it differs from current while no call is up (a call keeps the
// address it started on). It never reports when the local address is configured
// or following is off. It stops when ctx ends.
func (p *Phone) watchRoute(ctx context.Context, current net.IP) <-chan net.IP {
	every := p.cfg.routeCheck()
	if p.acc.LocalAddr != "" || every <= 0 {
		return nil
	}
	moved := make(chan net.IP, 1)
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			ip, err := p.routeToPBX()
			if err != nil || ip.Equal(current) || len(p.Calls()) > 0 {
				continue // no route at all (offline): keep the address until there is one
			}
			moved <- ip
			return
		}
	}()
	return moved
}

// move replaces the SIP transport old with one listening on ip, the local address
// that now reaches the PBX (Wi-Fi to cable, a VPN coming up or down). A call that
// came in meanwhile keeps the old transport and the move waits for the next check;
// if the new address cannot be opened the phone stays on the old one.
func (p *Phone) move(old *sipStack, ip net.IP) {
	p.mu.Lock()
	if len(p.calls) > 0 {
		p.mu.Unlock()
		return
	}
	p.moving = true
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.moving = false
		p.mu.Unlock()
	}()
	st, err := p.newStack(ip, 0)
	if err != nil {
		p.log.Error("the network changed but the phone cannot listen on the new address; it stays on the old one",
			"old", old.addr(), "new", ip, "error", err)
		return
	}
	p.stack.Store(st)
	if err := old.close(); err != nil {
		p.log.Debug("close the old SIP transport", "error", err)
	}
	p.log.Info("the network changed: the phone now listens and registers on the address that reaches the PBX",
		"old", old.addr(), "new", st.addr())
}

// Close releases the sockets of a phone that is not running. Run calls it on return.
func (p *Phone) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return p.closeErr
	}
	p.closed = true
	p.mu.Unlock()
	err := p.sip().close()
	p.mu.Lock()
	p.closeErr = err
	p.mu.Unlock()
	return err
}

// registrationLoop registers through SIP transport st, refreshes and, on failure,
// backs off and retries until ctx ends. On the way out it removes the registration.
func (p *Phone) registrationLoop(ctx context.Context, st *sipStack) {
	r := newRegistrar(p, st)
	expiry := p.acc.expiry()
	attempt := 0
	for ctx.Err() == nil {
		p.setReg(Registration{State: RegRegistering, Attempt: attempt})
		p.refreshTrusted(ctx)
		granted, err := r.register(ctx, expiry)
		for err == nil {
			attempt = 0
			now := time.Now()
			p.setReg(Registration{State: RegRegistered, Expiry: granted, ExpiresAt: now.Add(granted)})
			select {
			case <-ctx.Done():
				p.unregister(r)
				return
			case <-time.After(refreshAfter(granted)):
			}
			granted, err = r.register(ctx, expiry)
		}
		if ctx.Err() != nil {
			// Stopped while a REGISTER was in flight: the PBX may have taken it
			// (or still hold an earlier one). Remove it, unless the PBX never
			// answered at all.
			if r.heard {
				p.unregister(r)
			}
			return
		}
		re := classifyRegisterError(err, p.acc.Server)
		if re.minExpires > expiry && attempt == 0 {
			expiry = re.minExpires
			attempt++
			continue
		}
		attempt++
		delay := p.cfg.backoff(re.failure, attempt)
		fail := Registration{State: RegFailed, Failure: re.failure, Reason: re.reason, StatusCode: re.code, Attempt: attempt}
		p.log.Warn("registration failed", "reason", re.reason, "error", re.err, "retry_in", delay)
		p.setReg(fail)
		fail.State = RegRetrying
		fail.RetryAt = time.Now().Add(delay)
		p.setReg(fail)
		r.reset()
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-p.retryNow:
			t.Stop()
		case <-t.C:
		}
	}
}

// refreshAfter is when to refresh a registration granted for d: at 3/4 of its life,
// and never later than 30 s before it runs out.
func refreshAfter(d time.Duration) time.Duration {
	r := d * 3 / 4
	if d-r > 30*time.Second {
		r = d - 30*time.Second
	}
	return max(r, 500*time.Millisecond)
}

func (p *Phone) unregister(r *registrar) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := r.register(ctx, 0); err != nil {
		p.log.Info("unregister failed", "error", err)
	}
}
