// Package demosip is the SIP side of Earshot's demo contact centre (package
// monitor/demo): a small PBX on diago that listens on loopback, acts as the registrar of
// the supervisor's softphone, and, when the supervisor listens in, whispers, barges in or
// steals a simulated call, places a real INVITE to that softphone and streams the call's
// audio as RTP: a recorded two-voice conversation (agent and customer on separate
// tracks, see assets/demo) mixed with the supervisor's own audio as the mode says
// (RoutesOf). DTMF 4, 5 and 6 from the softphone switch between listen, whisper and
// barge, as Asterisk's ChanSpy does.
//
// Wiring (cmd/earshot):
//
//	pbx, err := demosip.Start(ctx, demosip.Config{Logger: log})
//	drv := demo.New(demo.Config{..., OnMonitor: pbx.OnMonitor})
//	pbx.Attach(drv)
//	// the softphone registers with pbx.Addr(): phone.Account{Server: pbx.Addr(), User: "2001"}
//
// The PBX follows the simulated call through the Centre (the demo driver): when the
// call ends, is transferred or the monitoring session is stopped, the supervisor's call
// is hung up (BYE); when the supervisor hangs up, the session is stopped on the
// simulated call (Driver.StopMonitor), which goes on, or, after a steal, the call ends
// (the supervisor was the customer's party). Hang-up and transfer actions never involve
// the supervisor's phone.
//
// Every session keeps, for each side (supervisor, agent, customer), the last seconds of
// audio that side heard (Session.Heard), so what a mode routes where can be checked.
package demosip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/earshot-app/earshot/monitor"
	"github.com/earshot-app/earshot/monitor/demo"
)

// Defaults.
const (
	// DefaultHost is the address the PBX listens on when Config.Host is empty.
	DefaultHost = "127.0.0.1"
	// DefaultRingTimeout is how long the supervisor's phone may ring.
	DefaultRingTimeout = 30 * time.Second
	// DefaultPoll is how often a session checks the simulated call.
	DefaultPoll = 20 * time.Millisecond
	// MaxRegisterExpiry is the longest registration the PBX grants.
	MaxRegisterExpiry = time.Hour
	// DefaultRegisterExpiry is granted when a REGISTER asks for no lifetime.
	DefaultRegisterExpiry = 5 * time.Minute
	// UserAgent is the PBX's SIP user-agent name (the From user of its requests
	// when no caller is given).
	UserAgent = "earshot-demo-pbx"
)

// Centre is the simulated contact centre the PBX serves; *demo.Driver implements it.
// The PBX only reads it: every change a monitoring call makes to the simulated call
// goes through the request's demo.MonitorTicket.
type Centre interface {
	// TruthCall is the centre's own view of a call in progress.
	TruthCall(id string) (monitor.Call, bool)
}

var _ Centre = (*demo.Driver)(nil)

// Config configures the demo PBX. The zero value listens on 127.0.0.1 on a free port
// and rings whichever softphone registered last.
type Config struct {
	// Host is the IP address to listen on (DefaultHost if empty). Keep it on loopback:
	// the demo PBX accepts any registration.
	Host string
	// Port is the UDP port for SIP; 0 picks a free one (see Addr).
	Port int
	// Target, if set, is where monitoring calls go ("sip:2001@127.0.0.1:5070" or
	// "127.0.0.1:5070"), instead of the softphone registered with the PBX.
	Target string
	// Extension, if set, selects which registered softphone to ring; empty rings the
	// one that registered last.
	Extension string
	// Codec is the audio codec offered first, "PCMU" (default) or "PCMA"; both are
	// offered, with RFC 4733 telephone-event.
	Codec string
	// Conversation is what sessions stream; nil means DefaultConversation().
	Conversation *Conversation
	// RingTimeout bounds how long the supervisor's phone rings (DefaultRingTimeout
	// if zero).
	RingTimeout time.Duration
	// Poll is how often a session checks the simulated call (DefaultPoll if zero).
	Poll time.Duration
	// Logger receives the PBX's logs (slog.Default if nil).
	Logger *slog.Logger
}

// Registration is a softphone registered with the PBX.
type Registration struct {
	// Extension is the registered user ("2001").
	Extension string
	// Contact is where the softphone receives calls.
	Contact string
	// Expires is when the registration runs out.
	Expires time.Time
}

type binding struct {
	Registration
	uri sip.Uri
	seq uint64
}

// PBX is the demo contact centre's SIP side. Create it with Start.
type PBX struct {
	cfg    Config
	log    *slog.Logger
	conv   *Conversation
	codecs []media.Codec

	ua   *sipgo.UserAgent
	srv  *sipgo.Server
	dg   *diago.Diago
	conn net.PacketConn
	host string
	port int

	ctx    context.Context
	cancel context.CancelFunc
	served chan struct{}

	centre atomic.Pointer[Centre]

	mu       sync.Mutex
	bindings map[string]*binding
	regSeq   uint64
	sessions map[*Session]struct{}
	dialing  map[string]*Session // by SIP Call-ID, from the INVITE until the session ends
	closed   bool
	wg       sync.WaitGroup

	closeOnce sync.Once
}

// Start opens the PBX's SIP socket and serves until ctx ends or Close is called.
func Start(ctx context.Context, cfg Config) (*PBX, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "demo-pbx")
	conv := cfg.Conversation
	if conv == nil {
		var err error
		if conv, err = DefaultConversation(); err != nil {
			return nil, fmt.Errorf("demo PBX: %w", err)
		}
	}
	if err := conv.Validate(); err != nil {
		return nil, fmt.Errorf("demo PBX: %w", err)
	}
	host := cfg.Host
	if host == "" {
		host = DefaultHost
	}
	if net.ParseIP(host) == nil {
		return nil, fmt.Errorf("demo PBX: listen address %q is not an IP address", host)
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("demo PBX: port %d is out of range", cfg.Port)
	}
	codecs := []media.Codec{media.CodecAudioUlaw, media.CodecAudioAlaw, media.CodecTelephoneEvent8000}
	switch strings.ToUpper(cfg.Codec) {
	case "", "PCMU":
	case "PCMA":
		codecs[0], codecs[1] = codecs[1], codecs[0]
	default:
		return nil, fmt.Errorf("demo PBX: codec %q is neither PCMU nor PCMA", cfg.Codec)
	}
	if cfg.Target != "" {
		if _, err := parseTarget(cfg.Target); err != nil {
			return nil, fmt.Errorf("demo PBX: target %q: %w", cfg.Target, err)
		}
	}

	conn, err := net.ListenPacket("udp", net.JoinHostPort(host, strconv.Itoa(cfg.Port)))
	if err != nil {
		return nil, fmt.Errorf("demo PBX: listen for SIP: %w", err)
	}
	port := conn.LocalAddr().(*net.UDPAddr).Port

	ua, err := sipgo.NewUA(sipgo.WithUserAgent(UserAgent), sipgo.WithUserAgentHostname(host))
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("demo PBX: create the SIP user agent: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(log))
	if err != nil {
		ua.Close()
		conn.Close()
		return nil, fmt.Errorf("demo PBX: create the SIP server: %w", err)
	}
	p := &PBX{
		cfg:      cfg,
		log:      log,
		conv:     conv,
		codecs:   codecs,
		ua:       ua,
		srv:      srv,
		conn:     conn,
		host:     host,
		port:     port,
		served:   make(chan struct{}),
		bindings: make(map[string]*binding),
		sessions: make(map[*Session]struct{}),
		dialing:  make(map[string]*Session),
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	srv.OnRegister(p.handleRegister)
	p.dg = diago.NewDiago(ua,
		diago.WithLogger(log),
		diago.WithServer(srv),
		diago.WithTransport(diago.Transport{Transport: "udp", BindHost: host, BindPort: port}),
		diago.WithMediaConfig(diago.MediaConfig{Codecs: codecs}),
		diago.WithServerRequestMiddleware(p.earlyBye),
	)
	p.dg.HandleFunc(p.serveInvite)

	go func() {
		defer close(p.served)
		if err := srv.ServeUDP(conn); err != nil && p.ctx.Err() == nil {
			log.Error("demo PBX: SIP listener stopped", "error", err)
		}
	}()
	// Requests go out from the listening socket: wait until the transport holds it.
	laddr := conn.LocalAddr().String()
	for i := 0; i < 500 && ua.TransportLayer().Pool("udp").Get(laddr) == nil; i++ {
		time.Sleep(time.Millisecond)
	}
	go func() {
		select {
		case <-ctx.Done():
			p.Close()
		case <-p.ctx.Done():
		}
	}()
	log.Info("demo PBX listening", "addr", p.Addr())
	return p, nil
}

// Addr is the PBX's SIP address, "ip:port" (UDP): the softphone's registrar.
func (p *PBX) Addr() string { return net.JoinHostPort(p.host, strconv.Itoa(p.port)) }

// Attach connects the PBX to the simulated contact centre it serves (the demo driver
// whose Config.OnMonitor is p.OnMonitor).
func (p *PBX) Attach(c Centre) {
	if c == nil {
		p.centre.Store(nil)
		return
	}
	p.centre.Store(&c)
}

func (p *PBX) getCentre() Centre {
	if c := p.centre.Load(); c != nil {
		return *c
	}
	return nil
}

// Registrations lists the softphones registered with the PBX.
func (p *PBX) Registrations() []Registration {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Registration
	for _, b := range p.bindings {
		if b.Expires.After(now) {
			out = append(out, b.Registration)
		}
	}
	slices.SortFunc(out, func(a, b Registration) int { return strings.Compare(a.Extension, b.Extension) })
	return out
}

// Sessions lists the monitoring sessions in progress (answered by the supervisor).
func (p *PBX) Sessions() []*Session {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*Session, 0, len(p.sessions))
	for s := range p.sessions {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *Session) int { return a.timing.Requested.Compare(b.timing.Requested) })
	return out
}

// Session returns the session in progress on the simulated call callID.
func (p *PBX) Session(callID string) (*Session, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for s := range p.sessions {
		if s.req.Call.ID == callID {
			return s, true
		}
	}
	return nil, false
}

// Close hangs up every session and stops the PBX.
func (p *PBX) Close() error {
	var err error
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		ss := make([]*Session, 0, len(p.sessions))
		for s := range p.sessions {
			ss = append(ss, s)
		}
		p.mu.Unlock()
		for _, s := range ss {
			s.hangup("the demo PBX stopped")
		}
		p.cancel()
		p.wg.Wait()
		p.srv.Close()
		err = p.ua.Close()
		p.conn.Close()
		<-p.served
		p.log.Info("demo PBX stopped")
	})
	return err
}

// errStopped, errWithdrawn, errCallEnded, errNoAnswer and errGivenUp say why a ringing
// monitoring call was given up.
var (
	errStopped   = errors.New("the demo PBX stopped")
	errWithdrawn = errors.New("the monitoring request was withdrawn")
	errCallEnded = errors.New("the call ended while the supervisor's phone rang")
	errNoAnswer  = errors.New("the supervisor's phone did not answer")
	errGivenUp   = errors.New("the request was given up")
)

// OnMonitor is the demo driver's hook (demo.Config.OnMonitor): it rings the
// supervisor's softphone for a listen, whisper, barge or steal request and returns once
// the supervisor answered (the session runs, and the driver already shows the mode or
// made the steal) or the ring failed: monitor.ErrUnreachable (none registered, no
// answer within Config.RingTimeout, unreachable, the PBX stopped), monitor.ErrRejected
// (declined), monitor.ErrCallGone or monitor.ErrNotApplicable (the call ended or the
// request was withdrawn while it rang: the INVITE is cancelled), or ctx's error (ctx
// ended first: the INVITE is cancelled). A failed ring leaves the call as it was.
//
// Every outcome reaches the simulated call through r.Ticket, from the PBX's own
// goroutine and in order: the answer before anything can see the supervisor's call
// end, the end of that call whenever it comes. A request on a call that already has a
// session replaces it (BYE first).
func (p *PBX) OnMonitor(ctx context.Context, r demo.MonitorRequest) error {
	mode := modeOfAction(r.Kind)
	if mode == 0 {
		return fmt.Errorf("demo PBX: %s is not a monitoring action: %w", r.Kind, monitor.ErrRejected)
	}
	if r.Ticket == nil {
		return fmt.Errorf("demo PBX: %s call %s: the request has no ticket from the demo driver: %w", r.Kind, r.Call.ID, monitor.ErrRejected)
	}
	centre := p.getCentre()
	if centre == nil {
		return fmt.Errorf("demo PBX: no contact centre attached: %w", monitor.ErrUnreachable)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("demo PBX: call %s: ring the supervisor: %w", r.Call.ID, err)
	}
	target, err := p.target()
	if err != nil {
		return err
	}
	if !p.begin() {
		return fmt.Errorf("demo PBX: stopped: %w", monitor.ErrUnreachable)
	}
	// A new request on a call replaces the session on it (for example a steal while
	// listening: on a real PBX the spy channel goes when the agent's leg does).
	for _, s := range p.Sessions() {
		if s.req.Call.ID == r.Call.ID {
			s.hangup("replaced by a " + r.Kind.String() + " request")
		}
	}
	s := newSession(p, centre, r, mode)
	ictx, giveUp := context.WithCancelCause(context.Background())
	res := make(chan error, 1)
	go func() {
		defer p.wg.Done()
		res <- s.connect(ictx, giveUp, target)
	}()
	select {
	case err := <-res:
		return err
	case <-ctx.Done():
		giveUp(fmt.Errorf("%w: %w", errGivenUp, ctx.Err()))
		return <-res
	}
}

// target is where to send a monitoring call.
func (p *PBX) target() (sip.Uri, error) {
	if p.cfg.Target != "" {
		return parseTarget(p.cfg.Target)
	}
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	var best *binding
	for ext, b := range p.bindings {
		if !b.Expires.After(now) {
			continue
		}
		if p.cfg.Extension != "" && ext != p.cfg.Extension {
			continue
		}
		if best == nil || b.seq > best.seq {
			best = b
		}
	}
	if best == nil {
		who := "no softphone is"
		if p.cfg.Extension != "" {
			who = "extension " + p.cfg.Extension + " is not"
		}
		return sip.Uri{}, fmt.Errorf("demo PBX: %s registered at %s: %w", who, p.Addr(), monitor.ErrUnreachable)
	}
	return *best.uri.Clone(), nil
}

// parseTarget reads "sip:user@host:port", "user@host:port" or "host:port".
func parseTarget(s string) (sip.Uri, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "sip:") && !strings.HasPrefix(s, "sips:") {
		s = "sip:" + s
	}
	var u sip.Uri
	if err := sip.ParseUri(s, &u); err != nil {
		return sip.Uri{}, fmt.Errorf("not a SIP URI: %w", err)
	}
	if u.Host == "" {
		return sip.Uri{}, errors.New("no host")
	}
	return u, nil
}

// handleRegister is the registrar: it keeps one contact per extension.
func (p *PBX) handleRegister(req *sip.Request, tx sip.ServerTransaction) {
	respond := func(code int, reason string, hdrs ...sip.Header) {
		res := sip.NewResponseFromRequest(req, code, reason, nil)
		for _, h := range hdrs {
			res.AppendHeader(h)
		}
		if err := tx.Respond(res); err != nil {
			p.log.Debug("demo PBX: respond to REGISTER", "error", err)
		}
	}
	to := req.To()
	if to == nil || to.Address.User == "" {
		respond(sip.StatusBadRequest, "Bad Request (no extension in To)")
		return
	}
	ext := to.Address.User
	asked := DefaultRegisterExpiry
	if h := req.GetHeader("Expires"); h != nil {
		n, err := strconv.Atoi(strings.TrimSpace(h.Value()))
		if err != nil || n < 0 {
			respond(sip.StatusBadRequest, "Bad Request (Expires)")
			return
		}
		asked = time.Duration(n) * time.Second
	}
	var contact *sip.ContactHeader
	for _, h := range req.GetHeaders("Contact") {
		c, ok := h.(*sip.ContactHeader)
		if !ok {
			continue
		}
		if c.Address.Wildcard {
			asked = 0
			break
		}
		contact = c
		if v, ok := c.Params.Get("expires"); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				respond(sip.StatusBadRequest, "Bad Request (Contact expires)")
				return
			}
			asked = time.Duration(n) * time.Second
		}
	}
	if asked == 0 {
		p.mu.Lock()
		delete(p.bindings, ext)
		p.mu.Unlock()
		p.log.Info("demo PBX: softphone unregistered", "ext", ext)
		respond(sip.StatusOK, "OK")
		return
	}
	if contact == nil {
		// A query: answer with the current binding.
		p.mu.Lock()
		b := p.bindings[ext]
		p.mu.Unlock()
		if b == nil {
			respond(sip.StatusOK, "OK")
			return
		}
		respond(sip.StatusOK, "OK", bindingContact(b, time.Until(b.Expires)))
		return
	}
	granted := min(asked, MaxRegisterExpiry)
	uri := *contact.Address.Clone()
	p.mu.Lock()
	p.regSeq++
	b := &binding{
		Registration: Registration{Extension: ext, Contact: uri.String(), Expires: time.Now().Add(granted)},
		uri:          uri,
		seq:          p.regSeq,
	}
	_, known := p.bindings[ext]
	p.bindings[ext] = b
	p.mu.Unlock()
	if !known {
		p.log.Info("demo PBX: softphone registered", "ext", ext, "contact", b.Contact, "expires", granted)
	}
	exp := sip.ExpiresHeader(uint32(granted / time.Second))
	respond(sip.StatusOK, "OK", bindingContact(b, granted), &exp)
}

func bindingContact(b *binding, left time.Duration) *sip.ContactHeader {
	params := sip.NewParams()
	params.Add("expires", strconv.Itoa(max(1, int(left/time.Second))))
	return &sip.ContactHeader{Address: *b.uri.Clone(), Params: params}
}

// serveInvite answers calls placed to the PBX: the demo contact centre has no lines
// to dial out on.
func (p *PBX) serveInvite(d *diago.DialogServerSession) {
	p.log.Info("demo PBX: refused a call from the softphone", "to", d.InviteRequest.Recipient.String())
	warn := sip.NewHeader("Warning", `399 earshot-demo "the demo contact centre does not place calls"`)
	if err := d.Respond(sip.StatusNotFound, "Not Found", nil, warn); err != nil {
		p.log.Debug("demo PBX: respond 404", "error", err)
	}
}

// earlyBye catches the supervisor's BYE that arrives before diago knows the dialog:
// diago files an outgoing call's dialog only once its ACK is on the wire, and a phone
// that hangs up the moment it gets the ACK can be faster than that, which diago would
// answer 481 and the session would never learn. Such a BYE is answered 200 here and
// ends the session as a hang-up; every other request goes to diago.
func (p *PBX) earlyBye(next sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		if req.Method == sip.BYE {
			if id := req.CallID(); id != nil {
				p.mu.Lock()
				s := p.dialing[id.Value()]
				p.mu.Unlock()
				if s != nil && s.takeEarlyBye() {
					if err := tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)); err != nil {
						p.log.Debug("demo PBX: respond to BYE", "error", err)
					}
					p.log.Info("demo PBX: the supervisor hung up as the call was set up", "call", s.CallID())
					return
				}
			}
		}
		next(req, tx)
	}
}

// dial records the SIP Call-ID of a session's INVITE (so earlyBye can find it); the
// returned function forgets it.
func (p *PBX) dial(callID string, s *Session) func() {
	p.mu.Lock()
	p.dialing[callID] = s
	p.mu.Unlock()
	return func() {
		p.mu.Lock()
		if p.dialing[callID] == s {
			delete(p.dialing, callID)
		}
		p.mu.Unlock()
	}
}

// begin counts a goroutine the PBX must wait for on Close; false once closed.
func (p *PBX) begin() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.wg.Add(1)
	return true
}

// add records an answered session; its supervising goroutine counts for Close.
func (p *PBX) add(s *Session) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.sessions[s] = struct{}{}
	p.wg.Add(1)
	return true
}

func (p *PBX) remove(s *Session) {
	p.mu.Lock()
	delete(p.sessions, s)
	p.mu.Unlock()
}

func (p *PBX) ringTimeout() time.Duration {
	if p.cfg.RingTimeout > 0 {
		return p.cfg.RingTimeout
	}
	return DefaultRingTimeout
}

func (p *PBX) poll() time.Duration {
	if p.cfg.Poll > 0 {
		return p.cfg.Poll
	}
	return DefaultPoll
}
