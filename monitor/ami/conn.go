package ami

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/earshot-app/earshot/monitor"
)

// action is an AMI action to send: its name and ordered headers.
type action struct {
	name    string
	headers [][2]string
}

func newAction(name string) *action { return &action{name: name} }

func (a *action) add(k, v string) *action {
	a.headers = append(a.headers, [2]string{k, v})
	return a
}

// encode renders the action with its ActionID. A value with a line break would let a
// caller inject headers (or whole actions): it is refused.
func (a *action) encode(id string) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("Action: ")
	b.WriteString(a.name)
	b.WriteString("\r\nActionID: ")
	b.WriteString(id)
	b.WriteString("\r\n")
	for _, h := range a.headers {
		if strings.ContainsAny(h[0], "\r\n:") || strings.ContainsAny(h[1], "\r\n") {
			return nil, fmt.Errorf("AMI %s: header %q has a line break or a bad key", a.name, h[0])
		}
		b.WriteString(h[0])
		b.WriteString(": ")
		b.WriteString(h[1])
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes(), nil
}

// pending is an action waiting for its response (and, for list actions, its items up
// to the ...Complete event).
type pending struct {
	id     string
	name   string
	list   string         // the event that ends the list ("CoreShowChannelsComplete"), or ""
	onResp func(*Message) // called by the reader with the response (under the driver lock)
	onItem func(*Message) // list items: handled by the reader (under the driver lock)
	onDone func()         // the list is complete (under the driver lock)

	resp  *Message
	items []*Message
	err   error
	done  chan struct{}
}

// session is one logged-in AMI connection.
type session struct {
	d      *Driver
	conn   net.Conn
	rd     *Reader
	banner string

	wmu sync.Mutex

	pmu     sync.Mutex
	pending map[string]*pending

	// barrier runs fn after every event read so far has reached the sink.
	barrier func(fn func())

	closeOnce sync.Once
	closed    chan struct{}
	err       error
}

// dialAMI connects, checks the banner and logs in.
func (d *Driver) dialAMI(ctx context.Context) (*session, error) {
	addr := net.JoinHostPort(d.cfg.Host, strconv.Itoa(d.cfg.Port))
	dctx, cancel := context.WithTimeout(ctx, d.cfg.DialTimeout)
	defer cancel()
	var conn net.Conn
	var err error
	nd := &net.Dialer{KeepAlive: 30 * time.Second}
	if d.cfg.TLS {
		tc, terr := d.tlsConfig()
		if terr != nil {
			return nil, terr
		}
		td := &tls.Dialer{NetDialer: nd, Config: tc}
		conn, err = td.DialContext(dctx, "tcp", addr)
	} else {
		conn, err = nd.DialContext(dctx, "tcp", addr)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var certErr *tls.CertificateVerificationError
		if errors.As(err, &certErr) {
			return nil, fmt.Errorf("connect to Asterisk AMI at %s over TLS: the certificate is not trusted (set the CA file): %w: %w", addr, monitor.ErrUnreachable, err)
		}
		return nil, fmt.Errorf("connect to Asterisk AMI at %s: %w: %w", addr, monitor.ErrUnreachable, err)
	}
	s := &session{d: d, conn: conn, rd: NewReader(conn), pending: make(map[string]*pending), closed: make(chan struct{})}
	s.barrier = func(fn func()) { fn() }
	stop := context.AfterFunc(dctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	_ = conn.SetDeadline(time.Now().Add(d.cfg.DialTimeout + d.cfg.ActionTimeout))
	banner, err := s.rd.ReadBanner()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("Asterisk AMI at %s: %w: %w", addr, monitor.ErrUnreachable, err)
	}
	if !strings.HasPrefix(banner, "Asterisk Call Manager/") {
		conn.Close()
		return nil, fmt.Errorf("%s does not speak AMI (it greeted with %q; check the port): %w", addr, truncate(banner, 60), monitor.ErrUnreachable)
	}
	s.banner = banner
	if err := s.login(); err != nil {
		conn.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return s, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func (d *Driver) tlsConfig() (*tls.Config, error) {
	var tc *tls.Config
	if d.cfg.TLSConfig != nil {
		tc = d.cfg.TLSConfig.Clone()
	} else {
		tc = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if tc.ServerName == "" {
		tc.ServerName = d.cfg.Host
	}
	if d.cfg.CAFile != "" {
		pem, err := os.ReadFile(d.cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read the AMI CA file: %w", err)
		}
		pool := tc.RootCAs
		if pool == nil {
			if pool, err = x509.SystemCertPool(); err != nil || pool == nil {
				pool = x509.NewCertPool()
			}
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("the AMI CA file %s holds no PEM certificate", d.cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// login logs in. Over TLS it sends the secret (the connection is private); over plain
// TCP it never does: it asks for a challenge (Action: Challenge, AuthType: MD5) and sends
// Key, the hex MD5 of the challenge followed by the secret, as manager.c's authenticate
// expects.
func (s *session) login() error {
	user := s.d.cfg.User
	a := newAction("Login").add("Username", user)
	if s.d.cfg.TLS {
		a.add("Secret", s.d.cfg.Secret)
	} else {
		m, err := s.roundTrip(newAction("Challenge").add("AuthType", "MD5"))
		if err != nil {
			return fmt.Errorf("AMI login as %q (challenge): %w", user, err)
		}
		challenge := m.Value("Challenge")
		if m.Value("Response") != "Success" || challenge == "" {
			msg := m.Value("Message")
			if msg == "" {
				msg = "no challenge given"
			}
			return fmt.Errorf("AMI login as %q: the PBX refused the MD5 challenge: %s: %w", user, msg, monitor.ErrAuth)
		}
		a.add("AuthType", "MD5").add("Key", md5Key(challenge, s.d.cfg.Secret))
	}
	m, err := s.roundTrip(a)
	if err != nil {
		return fmt.Errorf("AMI login as %q: %w", user, err)
	}
	if m.Value("Response") == "Success" {
		return nil
	}
	msg := m.Value("Message")
	if msg == "" {
		msg = "refused"
	}
	return fmt.Errorf("AMI login as %q: %s: %w", user, msg, monitor.ErrAuth)
}

// md5Key is the Key of an MD5 login: the lower-case hex MD5 of the challenge followed by
// the secret.
func md5Key(challenge, secret string) string {
	sum := md5.Sum([]byte(challenge + secret))
	return hex.EncodeToString(sum[:])
}

// roundTrip sends an action before the reader goroutine runs (the login) and reads
// messages until its reply; events before it are skipped. The reply is a copy.
func (s *session) roundTrip(a *action) (*Message, error) {
	id := s.d.nextID()
	b, err := a.encode(id)
	if err != nil {
		return nil, err
	}
	if _, err := s.conn.Write(b); err != nil {
		return nil, fmt.Errorf("%w: %w", monitor.ErrUnreachable, err)
	}
	for {
		m, err := s.rd.Next()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, fmt.Errorf("the PBX closed the connection without a reply: %w", monitor.ErrUnreachable)
			}
			return nil, fmt.Errorf("%w: %w", monitor.ErrUnreachable, err)
		}
		if m.IsEvent() || string(m.Get("ActionID")) != id {
			continue
		}
		return m.Clone(), nil
	}
}

func (s *session) close(err error) {
	s.closeOnce.Do(func() {
		s.err = err
		s.conn.Close()
		close(s.closed)
		s.pmu.Lock()
		ps := s.pending
		s.pending = make(map[string]*pending)
		s.pmu.Unlock()
		for _, p := range ps {
			p.err = fmt.Errorf("AMI connection lost before the reply to %s: %w", p.name, monitor.ErrUnreachable)
			close(p.done)
		}
	})
}

// readLoop reads every message until the connection ends. Events go to the mapper
// (under the driver lock), responses and list items to the waiting actions.
func (s *session) readLoop() {
	d := s.d
	for {
		m, err := s.rd.Next()
		if err != nil {
			if errors.Is(err, ErrMessageTooLong) {
				d.log.Warn("ami: over-long message skipped", "err", err)
				continue
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				err = fmt.Errorf("the PBX closed the AMI connection: %w", monitor.ErrUnreachable)
			} else {
				err = fmt.Errorf("read from AMI: %w: %w", monitor.ErrUnreachable, err)
			}
			s.close(err)
			return
		}
		s.dispatch(m)
	}
}

func (s *session) dispatch(m *Message) {
	d := s.d
	aid := m.Get("ActionID")
	if !m.IsEvent() {
		if len(aid) == 0 {
			d.log.Debug("ami: response without ActionID ignored")
			return
		}
		s.pmu.Lock()
		p := s.pending[string(aid)]
		if p != nil && (p.list == "" || string(m.Get("Response")) != "Success") {
			delete(s.pending, p.id)
		}
		s.pmu.Unlock()
		if p == nil {
			return
		}
		p.resp = m.Clone()
		if p.onResp != nil {
			d.mu.Lock()
			p.onResp(p.resp)
			d.mu.Unlock()
		}
		if p.list == "" || string(m.Get("Response")) != "Success" {
			s.finish(p)
		}
		return
	}
	if len(aid) > 0 {
		s.pmu.Lock()
		p := s.pending[string(aid)]
		if p != nil && p.list != "" {
			ev := m.Event()
			complete := string(ev) == p.list || string(m.Get("EventList")) == "Complete"
			if complete {
				delete(s.pending, p.id)
			}
			s.pmu.Unlock()
			if complete {
				if p.onDone != nil {
					d.mu.Lock()
					p.onDone()
					d.mu.Unlock()
				}
				s.finish(p)
				return
			}
			if p.onItem != nil {
				d.mu.Lock()
				p.onItem(m)
				d.mu.Unlock()
			} else {
				p.items = append(p.items, m.Clone())
			}
			return
		}
		s.pmu.Unlock()
	}
	d.mu.Lock()
	d.mp.handle(m)
	d.mu.Unlock()
}

// finish wakes the action's caller once everything read before its reply was applied.
func (s *session) finish(p *pending) {
	s.barrier(func() { close(p.done) })
}

// do sends an action and waits for its reply (for a list action, up to the event named
// p.list). It returns the pending action, with the typed error a refusal maps to.
func (s *session) do(ctx context.Context, p *pending, a *action) (*pending, error) {
	p, err := s.start(p, a)
	if err != nil {
		return nil, err
	}
	return s.wait(ctx, p)
}

// start registers and sends an action without waiting for its reply.
func (s *session) start(p *pending, a *action) (*pending, error) {
	if p == nil {
		p = &pending{}
	}
	if p.id == "" {
		p.id = s.d.nextID()
	}
	p.name = a.name
	p.done = make(chan struct{})
	b, err := a.encode(p.id)
	if err != nil {
		return nil, err
	}
	s.pmu.Lock()
	select {
	case <-s.closed:
		s.pmu.Unlock()
		return nil, fmt.Errorf("AMI %s: %w", a.name, s.err)
	default:
	}
	s.pending[p.id] = p
	s.pmu.Unlock()
	s.wmu.Lock()
	_ = s.conn.SetWriteDeadline(time.Now().Add(s.d.cfg.ActionTimeout))
	_, err = s.conn.Write(b)
	s.wmu.Unlock()
	if err != nil {
		err = fmt.Errorf("send AMI %s: %w: %w", a.name, monitor.ErrUnreachable, err)
		s.close(err)
		return nil, err
	}
	return p, nil
}

// wait waits for the reply of a started action.
func (s *session) wait(ctx context.Context, p *pending) (*pending, error) {
	timeout := s.d.cfg.ActionTimeout
	if p.list != "" {
		timeout *= 4
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.done:
	case <-ctx.Done():
		s.forget(p)
		return nil, ctx.Err()
	case <-t.C:
		s.forget(p)
		return nil, fmt.Errorf("AMI %s: no reply within %v: %w", p.name, timeout, monitor.ErrUnreachable)
	}
	if p.err != nil {
		return nil, p.err
	}
	if p.resp != nil && string(p.resp.Get("Response")) != "Success" {
		return p, refusal(p.name, p.resp)
	}
	return p, nil
}

func (s *session) forget(p *pending) {
	s.pmu.Lock()
	delete(s.pending, p.id)
	s.pmu.Unlock()
}

// refusal maps an AMI error response to a typed error.
func refusal(name string, resp *Message) error {
	msg := resp.Value("Message")
	low := strings.ToLower(msg)
	var typed error
	switch {
	case strings.Contains(low, "no such channel"), strings.Contains(low, "channel does not exist"),
		strings.Contains(low, "not found"):
		typed = monitor.ErrCallGone
	case strings.Contains(low, "permission denied"):
		typed = monitor.ErrNotPermitted
	default:
		typed = monitor.ErrRejected
	}
	return &refusalError{action: name, msg: msg, typed: typed}
}

// refusalError is the PBX's refusal of an action, with its own words.
type refusalError struct {
	action, msg string
	typed       error
}

// Error quotes the action and the PBX's words.
func (e *refusalError) Error() string {
	return fmt.Sprintf("AMI %s refused: %s", e.action, e.msg)
}

// Unwrap returns the typed error (monitor.ErrCallGone, ErrNotPermitted, ErrRejected).
func (e *refusalError) Unwrap() error { return e.typed }

// logoff says goodbye (best effort) and closes the connection.
func (s *session) logoff() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = s.do(ctx, nil, newAction("Logoff"))
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
	s.close(fmt.Errorf("logged off: %w", monitor.ErrUnreachable))
}
