package ami

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/earshot-app/earshot/monitor"
)

// Transfer methods (Config.TransferMethod).
const (
	// TransferBlind moves the call with AMI BlindTransfer of the agent's channel: Asterisk
	// raises a BlindTransfer event and closes the agent's queue accounting at once.
	TransferBlind = "blindtransfer"
	// TransferRedirect moves the customer's channel with AMI Redirect.
	TransferRedirect = "redirect"
)

// Config configures the Asterisk driver.
type Config struct {
	// Host is the Asterisk Manager Interface's host name or address.
	Host string
	// Port is the AMI port (5038, or 5039 for TLS; 5038 when 0).
	Port int
	// User is the manager.conf account ("earshot").
	User string
	// Secret is the account's secret. The caller reads it from the OS keyring
	// (config.Config.AMISecret); it is never logged, and over plain TCP it never crosses
	// the network (MD5 challenge login).
	Secret string
	// TLS connects with TLS (manager.conf tlsenable).
	TLS bool
	// CAFile is a PEM file of CAs to trust for the AMI certificate, besides the system's.
	CAFile string
	// TLSConfig, when set, is the base TLS configuration (tests, client certificates).
	TLSConfig *tls.Config

	// HotlineVar names the channel variable (listed in manager.conf channelvars=) that
	// carries the hotline ("HOTLINE"); empty: the dialled number is the hotline.
	HotlineVar string
	// CampaignVar names the channel variable that carries the campaign ("CAMPAIGN").
	CampaignVar string
	// DirectionVar names the channel variable that carries the direction ("DIRECTION":
	// "inbound" or "outbound").
	DirectionVar string

	// SupervisorEndpoint is the channel the PBX rings for monitoring ("PJSIP/2001").
	SupervisorEndpoint string
	// SupervisorName names the supervisor on the board ("Supervisor").
	SupervisorName string
	// StealContext is the dialplan context Steal redirects the customer's channel to;
	// it dials the supervisor.
	StealContext string
	// StealExten is the extension in StealContext (the supervisor's, "2001").
	StealExten string
	// TransferContext is the dialplan context in which a transfer dials the agent.
	TransferContext string
	// TransferMethod is TransferBlind (default) or TransferRedirect.
	TransferMethod string

	// RingTimeout is how long the supervisor's phone rings for a monitoring call (20 s).
	RingTimeout time.Duration
	// HangupGrace is how long a hang-up waits, after the customer's leg, for Asterisk to
	// tear down the call's other legs before it hangs up those still there (2 s).
	HangupGrace time.Duration
	// DialTimeout bounds connecting and logging in (5 s).
	DialTimeout time.Duration
	// ActionTimeout bounds each action's reply (5 s; four times that for the lists).
	ActionTimeout time.Duration
	// PingInterval is the keep-alive period; a Ping without reply drops the connection.
	PingInterval time.Duration
	// BackoffMin is the first reconnection delay (0.5 s); it doubles after each failed
	// attempt.
	BackoffMin time.Duration
	// BackoffMax caps the reconnection delay (30 s).
	BackoffMax time.Duration

	// Logger receives the driver's logs; slog.Default when nil.
	Logger *slog.Logger
	// Now is the PC's clock, the one the board runs on; time.Now when nil. The PBX's
	// event Timestamps are mapped onto it with a measured offset (see docs/ami.md), so
	// every time the driver reports is on this clock.
	Now func() time.Time
}

func (c *Config) defaults() {
	if c.Port == 0 {
		c.Port = 5038
	}
	if c.SupervisorName == "" {
		c.SupervisorName = "Supervisor"
	}
	if c.TransferMethod == "" {
		c.TransferMethod = TransferBlind
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.RingTimeout, 20*time.Second)
	def(&c.HangupGrace, 2*time.Second)
	def(&c.DialTimeout, 5*time.Second)
	def(&c.ActionTimeout, 5*time.Second)
	def(&c.PingInterval, 20*time.Second)
	def(&c.BackoffMin, 500*time.Millisecond)
	def(&c.BackoffMax, 30*time.Second)
	if c.BackoffMax < c.BackoffMin {
		c.BackoffMax = c.BackoffMin
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Driver is the Asterisk monitor.Driver over AMI.
type Driver struct {
	cfg Config
	log *slog.Logger

	seq atomic.Uint64

	// mu guards the mapper and the current session.
	mu      sync.Mutex
	mp      *mapper
	sess    *session
	queue   *eventQueue
	running bool
	denied  [monitor.ActHangup + 1]bool

	// conn is held by whoever owns the mapper's connection: a Run session, or a
	// temporary session of Act, Agents or Check without Run. Two temporary sessions never
	// feed (and resync) the mapper at once.
	conn chan struct{}
}

var _ monitor.Driver = (*Driver)(nil)

// New returns a driver for cfg. It does not connect: Run and Act do.
func New(cfg Config) (*Driver, error) {
	cfg.defaults()
	if cfg.Host == "" {
		return nil, errors.New("asterisk driver: no AMI host configured")
	}
	if cfg.User == "" {
		return nil, errors.New("asterisk driver: no AMI user configured")
	}
	if cfg.Port <= 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("asterisk driver: AMI port %d is not a port number", cfg.Port)
	}
	if cfg.TransferMethod != TransferBlind && cfg.TransferMethod != TransferRedirect {
		return nil, fmt.Errorf("asterisk driver: transfer method %q (want %s or %s)", cfg.TransferMethod, TransferBlind, TransferRedirect)
	}
	d := &Driver{cfg: cfg, log: cfg.Logger, conn: make(chan struct{}, 1)}
	if cfg.TLS {
		if _, err := d.tlsConfig(); err != nil {
			return nil, fmt.Errorf("asterisk driver: %w", err)
		}
	}
	d.mp = newMapper(mapperConfig{
		vars:             [nVars]string{cfg.HotlineVar, cfg.CampaignVar, cfg.DirectionVar},
		supervisorDevice: cfg.SupervisorEndpoint,
		supervisorName:   cfg.SupervisorName,
		now:              cfg.Now,
		log:              cfg.Logger,
	}, func(monitor.Event) {})
	return d, nil
}

// Name returns "asterisk".
func (d *Driver) Name() string { return "asterisk" }

func (d *Driver) nextID() string {
	return "earshot-" + strconv.FormatUint(d.seq.Add(1), 10)
}

func (d *Driver) feed(state monitor.FeedState, err error) {
	d.mu.Lock()
	q := d.queue
	d.mu.Unlock()
	if q != nil {
		q.push(monitor.Event{Kind: monitor.EventFeed, At: d.cfg.Now(), Feed: monitor.Feed{State: state, Driver: d.Name(), Err: err, Since: d.cfg.Now()}})
	}
}

// Run connects to AMI and feeds sink until ctx is cancelled; see monitor.Driver. A
// refused login ends Run with an error wrapping monitor.ErrAuth (retrying with the same
// secret cannot help and would lock the account out); other failures are retried with
// capped exponential backoff, each reported as an EventFeed with State FeedLost.
func (d *Driver) Run(ctx context.Context, sink monitor.Sink) error {
	d.mu.Lock()
	if d.running {
		d.mu.Unlock()
		return errors.New("asterisk driver: Run is already running")
	}
	d.running = true
	q := newEventQueue()
	d.queue = q
	d.mp.emit = q.push
	d.mu.Unlock()

	qctx, stopQueue := context.WithCancel(context.Background())
	qdone := make(chan struct{})
	go func() {
		defer close(qdone)
		q.run(qctx, sink)
	}()
	defer func() {
		d.mu.Lock()
		d.running = false
		d.queue = nil
		d.mp.emit = func(monitor.Event) {}
		d.mu.Unlock()
		stopQueue()
		<-qdone
	}()

	backoff := d.cfg.BackoffMin
	for {
		d.feed(monitor.FeedConnecting, nil)
		// a temporary session (Act before Run) finishes first
		select {
		case d.conn <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		s, err := d.dialAMI(ctx)
		if err == nil {
			var synced bool
			synced, err = d.serve(ctx, s, q)
			if synced {
				backoff = d.cfg.BackoffMin
			}
		}
		<-d.conn
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d.feed(monitor.FeedLost, err)
		if errors.Is(err, monitor.ErrAuth) {
			d.log.Error("ami: login refused; not retrying", "err", err)
			return err
		}
		d.log.Warn("ami: feed lost; reconnecting", "err", err, "in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff *= 2
		if backoff > d.cfg.BackoffMax {
			backoff = d.cfg.BackoffMax
		}
	}
}

// serve runs one logged-in session: resync, then events and keep-alive until the
// connection ends or ctx is cancelled. synced reports whether the resync completed.
func (d *Driver) serve(ctx context.Context, s *session, q *eventQueue) (synced bool, err error) {
	s.barrier = q.pushFunc
	d.mu.Lock()
	d.sess = s
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		if d.sess == s {
			d.sess = nil
		}
		d.mu.Unlock()
	}()
	go s.readLoop()
	// the feed is connected right after the EventSync, in stream order
	connected := func() {
		now := d.cfg.Now()
		q.push(monitor.Event{Kind: monitor.EventFeed, At: now, Feed: monitor.Feed{State: monitor.FeedConnected, Driver: d.Name(), Since: now}})
	}
	if err := d.resync(ctx, s, connected); err != nil {
		s.close(err)
		return false, err
	}
	d.log.Info("ami: connected", "host", d.cfg.Host, "banner", s.banner)
	t := time.NewTicker(d.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.logoff()
			return true, ctx.Err()
		case <-s.closed:
			return true, s.err
		case <-t.C:
			pctx, cancel := context.WithTimeout(ctx, d.cfg.ActionTimeout)
			_, perr := s.do(pctx, nil, newAction("Ping"))
			cancel()
			if perr != nil && ctx.Err() == nil {
				perr = fmt.Errorf("keep-alive Ping failed: %w", perr)
				if !errors.Is(perr, monitor.ErrUnreachable) {
					perr = fmt.Errorf("%w: %w", perr, monitor.ErrUnreachable)
				}
				s.close(perr)
				return true, perr
			}
		}
	}
}

// resync rebuilds the state from QueueStatus (agents, waiting callers) and
// CoreShowChannels (every channel), then emits EventSync.
func (d *Driver) resync(ctx context.Context, s *session, synced func()) error {
	// this resync's own collector: the replies of another session never mix in
	sc := newSyncCollector()
	qs := &pending{list: "QueueStatusComplete",
		onItem: func(m *Message) { d.mp.queueStatusItem(sc, m) },
		onDone: func() { d.mp.queueStatusComplete(sc) }}
	cs := &pending{list: "CoreShowChannelsComplete",
		onItem: func(m *Message) { d.mp.channelItem(sc, m) },
		onDone: func() {
			d.mp.channelsComplete(sc)
			if synced != nil {
				synced()
			}
		}}
	// Both go out at once; Asterisk answers them in order.
	if _, err := s.start(qs, newAction("QueueStatus")); err != nil {
		return fmt.Errorf("resync: %w", err)
	}
	if _, err := s.start(cs, newAction("CoreShowChannels")); err != nil {
		return fmt.Errorf("resync: %w", err)
	}
	if _, err := s.wait(ctx, qs); err != nil {
		var re *refusalError
		if !errors.As(err, &re) || errors.Is(err, monitor.ErrNotPermitted) {
			return fmt.Errorf("resync (QueueStatus): %w", err)
		}
		// no app_queue: calls still show, without queues and agents
		d.log.Warn("ami: QueueStatus refused; queues and agents unknown", "err", err)
	}
	if _, err := s.wait(ctx, cs); err != nil {
		return fmt.Errorf("resync (CoreShowChannels): %w", err)
	}
	return nil
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
