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
	"slices"
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
// outbound proxy) now: the one it uses for the first of the PBX's addresses.
func (p *Phone) routeToPBX() (net.IP, error) {
	ips, err := p.routesToPBX()
	if err != nil {
		return nil, err
	}
	return ips[0], nil
}

// routesToPBX lists the local IPs the kernel would use to reach each of the PBX's
// (or its outbound proxy's) addresses now, in the resolver's order.
func (p *Phone) routesToPBX() ([]net.IP, error) {
	ph, pp, err := p.acc.proxyHostPort()
	if err != nil {
		return nil, fmt.Errorf("PBX address: %w", err)
	}
	if p.cfg.routeLookup != nil {
		ip, err := p.cfg.routeLookup(ph, pp)
		if err != nil {
			return nil, err
		}
		return []net.IP{ip}, nil
	}
	return routeIPs(ph, pp)
}

// routeIPs returns the local IPs the kernel would use to reach each address of
// host:port, in the resolver's order, without repeats. No packet is sent.
func routeIPs(host string, port int) ([]net.IP, error) {
	addrs, err := net.DefaultResolver.LookupIPAddr(context.Background(), host)
	if err != nil {
		return nil, err
	}
	var ips []net.IP
	var lastErr error
	for _, a := range addrs {
		c, err := net.DialUDP("udp", nil, &net.UDPAddr{IP: a.IP, Port: max(port, 1)})
		if err != nil {
			lastErr = err
			continue
		}
		ip := c.LocalAddr().(*net.UDPAddr).IP
		c.Close()
		if !slices.ContainsFunc(ips, ip.Equal) {
			ips = append(ips, ip)
		}
	}
	if len(ips) > 0 {
		return ips, nil
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
	st := p.sip()
	serveErr := st.serve()
	reg := p.startRegistration(ctx, st)
	var checks <-chan time.Time
	if every := p.cfg.routeCheck(); p.acc.LocalAddr == "" && every > 0 {
		t := time.NewTicker(every)
		defer t.Stop()
		checks = t.C
	}
	var err error
	var refused net.IP // the last address the phone could not move to
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err = <-serveErr:
			if err != nil {
				err = fmt.Errorf("SIP listener stopped: %w", err)
			}
			cancel()
			break loop
		case <-checks:
		}
		ip := p.routeMoved(st.bindIP)
		if ip == nil || p.busy() {
			continue
		}
		// The new transport is opened and serving before anything changes: if it
		// cannot be, the phone stays as it is (and says so once per address).
		next, nerr := p.newStack(ip, 0)
		if nerr != nil {
			if !ip.Equal(refused) {
				p.log.Error("the network changed but the phone cannot listen on the new address; it stays on the old one",
					"old", st.addr(), "new", ip, "error", nerr)
				refused = ip
			}
			continue
		}
		nextErr := next.serve()
		if !p.swapStack(st, next) {
			next.close() // a call came in meanwhile: the next check tries again
			continue
		}
		refused = nil
		old := reg.handOver()
		reg = p.startRegistration(ctx, next)
		if old != nil {
			// The PBX may still hold the old address as a contact: remove it,
			// through the new transport (the old address may be gone).
			go p.unregisterThrough(old, next)
		}
		if cerr := st.close(); cerr != nil {
			p.log.Debug("close the old SIP transport", "error", cerr)
		}
		p.log.Info("the network changed: the phone now listens and registers on the address that reaches the PBX",
			"old", st.addr(), "new", next.addr())
		st, serveErr = next, nextErr
	}
	reg.stop()
	p.mu.Lock()
	p.stopping = true
	p.mu.Unlock()
	p.hangupAll()
	p.callsWG.Wait()
	p.setReg(Registration{State: RegIdle})
	p.Close()
	return err
}

// routeMoved returns the local address that now reaches the PBX if it is not
// current, nil otherwise (or when there is no route at all: offline, the phone
// keeps its address). With several addresses for the PBX's name, current stays
// as long as it reaches any of them.
func (p *Phone) routeMoved(current net.IP) net.IP {
	ips, err := p.routesToPBX()
	if err != nil || len(ips) == 0 {
		return nil
	}
	for _, ip := range ips {
		if ip.Equal(current) {
			return nil
		}
	}
	return ips[0]
}

// busyLocked reports whether a call is up or a monitoring call is expected: the
// SIP transport must not move under either. Called with p.mu held.
func (p *Phone) busyLocked() bool {
	now := time.Now()
	for _, e := range p.expect {
		if now.Before(e.deadline) {
			return true
		}
	}
	return len(p.calls) > 0
}

// busy is busyLocked without p.mu held.
func (p *Phone) busy() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.busyLocked()
}

// swapStack makes next, already serving, the phone's SIP transport in place of
// old, unless the phone became busy or started stopping meanwhile. Under p.mu, so
// that a call being added either sees the old transport still current (and the
// swap waits for the next check) or the new one.
func (p *Phone) swapStack(old, next *sipStack) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.busyLocked() || p.stopping || p.closed {
		return false
	}
	return p.stack.CompareAndSwap(old, next)
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

// regRun is the registration loop of one SIP transport.
type regRun struct {
	cancel context.CancelFunc
	done   chan struct{}
	keep   atomic.Bool // leave the registration at the PBX on the way out
	r      *registrar
}

// startRegistration runs registrationLoop on st until ctx ends or the run is
// stopped or handed over.
func (p *Phone) startRegistration(ctx context.Context, st *sipStack) *regRun {
	ctx, cancel := context.WithCancel(ctx)
	rr := &regRun{cancel: cancel, done: make(chan struct{}), r: newRegistrar(p, st)}
	go func() {
		defer close(rr.done)
		p.registrationLoop(ctx, rr.r, &rr.keep)
	}()
	return rr
}

// stop ends the loop, which removes the registration.
func (rr *regRun) stop() {
	rr.cancel()
	<-rr.done
}

// handOver ends the loop without removing the registration, for the next
// transport's loop to take over; it returns the registrar if the PBX may hold its
// contact (nil if the PBX never answered it).
func (rr *regRun) handOver() *registrar {
	rr.keep.Store(true)
	rr.stop()
	if !rr.r.heard {
		return nil
	}
	return rr.r
}

// unregisterThrough removes old's registration (its Contact, on the address the
// phone left) with a REGISTER sent through SIP transport st. It is a new
// registration dialog (its own Call-ID): a registrar removes a binding whatever
// Call-ID asks (RFC 3261 §10.3), and answers the address the request came from.
func (p *Phone) unregisterThrough(old *registrar, st *sipStack) {
	r := newRegistrar(p, st)
	r.contactHost, r.contactPort = old.contactHost, old.contactPort
	p.unregister(r)
}

// registrationLoop registers with r, refreshes and, on failure, backs off and
// retries until ctx ends. On the way out it removes the registration, unless keep
// is set by then.
func (p *Phone) registrationLoop(ctx context.Context, r *registrar, keep *atomic.Bool) {
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
				if !keep.Load() {
					p.unregister(r)
				}
				return
			case <-time.After(refreshAfter(granted)):
			}
			granted, err = r.register(ctx, expiry)
		}
		if ctx.Err() != nil {
			// Stopped while a REGISTER was in flight: the PBX may have taken it
			// (or still hold an earlier one). Remove it, unless the PBX never
			// answered at all.
			if r.heard && !keep.Load() {
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
