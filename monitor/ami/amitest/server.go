package amitest

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Step is one thing a replayed connection does.
type Step struct {
	// At is the recorded epoch time of the step (0: none). Before a step with a time,
	// the server's Clock is set to it, and (before a Send step) the pause since the
	// previous step is replayed, compressed by Server.Speed.
	At float64
	// Send are raw recorded messages to send.
	Send [][]byte
	// Expect is an action the client must send now (compared with SameAction).
	Expect *Msg
	// Login marks the expected action as the Login (MD5 logins are checked against
	// Script.Secret).
	Login bool
	// Resync waits for the client's QueueStatus and CoreShowChannels and answers them
	// with Script.QueueStatus and Script.CoreShowChannels.
	Resync bool
}

// Script is what one connection of the Server plays.
type Script struct {
	// Name names the script in errors.
	Name string
	// Steps are played in order.
	Steps []Step
	// CloseAfter ends the connection when the steps are done (the PBX went away);
	// otherwise the connection stays up, answering Ping and Replies, until the client
	// logs off.
	CloseAfter bool
	// QueueStatus and CoreShowChannels answer the client's resync (recorded raw messages;
	// their recorded ActionID is rewritten to the client's).
	QueueStatus, CoreShowChannels [][]byte
	// Replies answer actions by name at any time (recorded raw messages).
	Replies map[string][][]byte
	// Reply, when set, is asked first: the reply (recorded raw messages) to an action,
	// or nil to leave it to Replies and the script.
	Reply func(Msg) [][]byte
	// Ping and Goodbye answer Ping and Logoff.
	Ping, Goodbye [][]byte
	// StopAt pauses the replay after the sent messages they match, one after the other:
	// the index is sent on Stops, and the replay goes on after a receive from Resume.
	StopAt []func(Msg) bool
	// NoPong swallows Pings: a PBX that hangs without closing the connection.
	NoPong bool
	// Secret is the manager.conf secret MD5 logins are checked against.
	Secret string
	// LoginMayFail lets an MD5 key that does not match Secret through to the recorded
	// reply (the login-failed recording); otherwise a wrong key fails the script.
	LoginMayFail bool

	// Stops receives the index of each StopAt checkpoint reached.
	Stops chan int
	// Resume lets a paused replay go on.
	Resume chan struct{}
	// Due receives each recorded action (other than the Login) the client should send now.
	Due chan Msg
	// Done receives nil when the steps are played (or the connection closed after them
	// with CloseAfter), or the error that stopped the replay.
	Done chan error

	mu               sync.Mutex
	received         []Msg
	connected, ended time.Time
}

// Span returns when the script's connection was accepted and when it ended: when the
// client logged off, or else when the connection closed (zero while it has not).
func (sc *Script) Span() (connected, ended time.Time) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.connected, sc.ended
}

// NewScript returns an empty script that answers Ping and Logoff with the canned replies.
func NewScript(name string, c *Canned) *Script {
	sc := &Script{Name: name, Stops: make(chan int), Resume: make(chan struct{}), Due: make(chan Msg, 1),
		Done: make(chan error, 1), Replies: map[string][][]byte{}}
	if c != nil {
		sc.Ping, sc.Goodbye, sc.Secret = c.Ping, c.Goodbye, c.Secret
	}
	return sc
}

// Received returns the actions the client sent so far, in order.
func (sc *Script) Received() []Msg {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return append([]Msg(nil), sc.received...)
}

// ActionNames returns the names of the actions received so far.
func (sc *Script) ActionNames() []string {
	var out []string
	for _, m := range sc.Received() {
		out = append(out, m.Get("Action"))
	}
	return out
}

// Build turns a recording into a script: the banner, then every recorded read paced by
// its time, and every recorded action as an Expect step. Actions whose ActionID is in
// foreign are another client's: their replies are streamed, nothing is awaited. The
// Logoff and everything after it are left out (the client stays connected).
func Build(rec *Recording, c *Canned, foreign map[string]bool) *Script {
	sc := NewScript(rec.Name, c)
	for _, e := range rec.Timeline {
		switch e.Dir {
		case "in":
			chunk := rec.In[e.Off : e.Off+e.Len]
			if e.Off == 0 {
				// the banner comes first, whatever the timeline's order of the client's
				// first write and the server's
				i := bytes.Index(chunk, []byte("\r\n"))
				sc.Steps = append([]Step{{At: e.T, Send: [][]byte{chunk[:i+2]}}}, sc.Steps...)
				chunk = chunk[i+2:]
			}
			if len(chunk) > 0 {
				sc.Steps = append(sc.Steps, Step{At: e.T, Send: SplitRaw(chunk)})
			}
		case "out":
			m := ParseMsg(rec.Out[e.Off : e.Off+e.Len])
			switch {
			case m.Get("Action") == "Logoff":
				return sc
			case m.Get("Action") == "Login":
				sc.Steps = append(sc.Steps, Step{At: e.T, Expect: &m, Login: true})
			case foreign[m.Get("ActionID")]:
			default:
				sc.Steps = append(sc.Steps, Step{At: e.T, Expect: &m})
			}
		}
	}
	return sc
}

// InsertResync makes the script wait for (and answer) the client's resync right after
// the login's reply, as a real Asterisk answers it before later events happen.
func (sc *Script) InsertResync() {
	for i, st := range sc.Steps {
		if st.Login {
			at := i + 2 // the step after the login is the chunk with its reply
			if at > len(sc.Steps) {
				at = len(sc.Steps)
			}
			sc.Steps = append(sc.Steps[:at], append([]Step{{Resync: true}}, sc.Steps[at:]...)...)
			return
		}
	}
}

// JoinResync plays the resync recording as a PBX the client connects to while calls A
// (1795669110.47, answered by agent 1001) and B (1795669115.50, waiting in sales while
// 1002 and 1003 ring) are up: the login is answered, the client's QueueStatus and
// CoreShowChannels get the replies recorded while both calls were up (at their recorded
// time), then the recorded events after those replies follow: B is abandoned (t20.36),
// A ends (t23.53).
func JoinResync(dir string, c *Canned) (*Script, error) {
	rec, err := Load(dir, "resync")
	if err != nil {
		return nil, err
	}
	sc := NewScript("resync (joined)", c)
	sc.Steps = append(sc.Steps, Step{At: rec.Timeline[0].T, Send: [][]byte{rec.Banner()}})
	login := ParseMsg(SplitRaw(rec.Out)[0])
	sc.Steps = append(sc.Steps, Step{Expect: &login, Login: true})
	sc.Steps = append(sc.Steps, Step{Send: rec.ReplyTo("resync-01")})
	listStart, _ := rec.ReplySpan("resync-02")
	sc.Steps = append(sc.Steps, Step{At: rec.TimeAt(listStart), Resync: true})
	_, from := rec.ReplySpan("resync-07")
	goodbye, _ := rec.ReplySpan("resync-08")
	if from < 0 || goodbye < 0 {
		return nil, errors.New("resync recording: replies resync-07/08 not found")
	}
	for _, e := range rec.Timeline {
		if e.Dir != "in" || e.Off < from || e.Off >= goodbye {
			continue
		}
		end := min(e.Off+e.Len, goodbye)
		sc.Steps = append(sc.Steps, Step{At: e.T, Send: SplitRaw(rec.In[e.Off:end])})
	}
	sc.QueueStatus = c.ResyncQueues
	sc.CoreShowChannels = c.ResyncChannels
	return sc, nil
}

// Clock is the replay's clock: the recorded time of the step being played, plus a skew
// (a PC whose clock is ahead of, or behind, the PBX's). Give Now to the client under test
// so its view of "now" follows the recording.
type Clock struct {
	mu   sync.Mutex
	at   time.Time
	skew time.Duration
}

// Now returns the recorded time of the current step plus the skew.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at.Add(c.skew)
}

// SetSkew sets how far the client's clock is ahead of the PBX's (negative: behind).
func (c *Clock) SetSkew(d time.Duration) {
	c.mu.Lock()
	c.skew = d
	c.mu.Unlock()
}

// Set sets the recorded time (epoch seconds); 0 leaves it as it is.
func (c *Clock) Set(epoch float64) {
	if epoch <= 0 {
		return
	}
	sec, frac := math.Modf(epoch)
	t := time.Unix(int64(sec), int64(math.Round(frac*1e6))*1000)
	c.mu.Lock()
	c.at = t
	c.mu.Unlock()
}

// Server accepts connections on 127.0.0.1 and plays one Script per connection, in the
// order they were given to Play.
type Server struct {
	// Speed compresses the recorded pauses (40: forty times faster); each pause is
	// capped at 250 ms.
	Speed float64
	// Clock follows the recorded time of the steps played.
	Clock *Clock

	tb      testing.TB
	ln      net.Listener
	scripts chan *Script
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   []net.Conn
}

// NewServer starts a replay server over plain TCP; it stops when the test ends.
func NewServer(tb testing.TB) *Server { return NewServerTLS(tb, nil) }

// NewServerTLS starts a replay server behind TLS when tc is not nil.
func NewServerTLS(tb testing.TB, tc *tls.Config) *Server {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	if tc != nil {
		ln = tls.NewListener(ln, tc)
	}
	s := &Server{tb: tb, ln: ln, Speed: 40, Clock: &Clock{}, scripts: make(chan *Script, 8)}
	s.wg.Add(1)
	go s.accept()
	tb.Cleanup(s.Close)
	return s
}

// Play queues a script for the next connection.
func (s *Server) Play(sc *Script) { s.scripts <- sc }

// Port returns the TCP port the server listens on.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Addr returns the server's "127.0.0.1:port".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server and closes its connections.
func (s *Server) Close() {
	s.ln.Close()
	s.mu.Lock()
	for _, c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		var sc *Script
		select {
		case sc = <-s.scripts:
		default:
			// nobody expects this connection (a reconnect after the test's end)
			c.Close()
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			err := s.play(c, sc)
			if sc.CloseAfter || err != nil {
				select {
				case sc.Done <- err:
				default:
				}
			}
		}()
	}
}

// playConn is the state of one played connection.
type playConn struct {
	s         *Server
	sc        *Script
	c         net.Conn
	ids       map[string]string // recorded ActionID → the client's
	actions   chan Msg          // actions the client sent
	readErr   chan error
	lastAt    float64
	started   bool
	stopIdx   int
	challenge string
}

func (s *Server) play(c net.Conn, sc *Script) error {
	sc.mu.Lock()
	sc.connected = time.Now()
	sc.mu.Unlock()
	defer func() {
		c.Close()
		sc.mu.Lock()
		if sc.ended.IsZero() {
			sc.ended = time.Now()
		}
		sc.mu.Unlock()
	}()
	pc := &playConn{s: s, sc: sc, c: c, ids: map[string]string{}, actions: make(chan Msg, 64), readErr: make(chan error, 1)}
	go pc.readActions()
	for i, st := range sc.Steps {
		// before a resync or an expected action the client's action may already be on
		// its way (after the MD5 challenge's round trip, a Login comes later than the
		// recorded one did): no pause there
		if !st.Resync && st.Expect == nil {
			if err := pc.pace(st.At); err != nil {
				return err
			}
		}
		s.Clock.Set(st.At)
		switch {
		case st.Send != nil:
			for _, raw := range st.Send {
				if err := pc.write(raw); err != nil {
					return fmt.Errorf("%s step %d: %w", sc.Name, i, err)
				}
				if err := pc.checkpoint(raw); err != nil {
					return err
				}
			}
		case st.Resync:
			if err := pc.answerResync(); err != nil {
				return err
			}
		case st.Expect != nil:
			if err := pc.expectAction(*st.Expect, st.Login); err != nil {
				return err
			}
		}
	}
	if sc.CloseAfter {
		return nil
	}
	// the recording is played; tell the test, then keep serving (Ping, canned replies)
	// until the client logs off or the test closes the server
	sc.Done <- nil
	for {
		m, err := pc.nextAction(time.Hour)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		return fmt.Errorf("%s: unexpected action after the end of the recording:\n%s", sc.Name, m)
	}
}

func (pc *playConn) readActions() {
	r := bufio.NewReader(pc.c)
	var cur []byte
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			pc.readErr <- err
			close(pc.actions)
			return
		}
		if len(bytes.TrimRight(line, "\r\n")) > 0 {
			cur = append(cur, line...)
			continue
		}
		if len(cur) == 0 {
			continue
		}
		m := ParseMsg(cur)
		cur = nil
		pc.sc.mu.Lock()
		pc.sc.received = append(pc.sc.received, m)
		pc.sc.mu.Unlock()
		pc.actions <- m
	}
}

// pace sleeps the compressed recorded time since the previous step, answering the
// client's own actions meanwhile.
func (pc *playConn) pace(at float64) error {
	if at == 0 {
		return nil
	}
	if !pc.started {
		pc.started, pc.lastAt = true, at
		return nil
	}
	d := time.Duration((at - pc.lastAt) / pc.s.Speed * float64(time.Second))
	pc.lastAt = at
	d = min(d, 250*time.Millisecond)
	if d <= 0 {
		return nil
	}
	deadline := time.Now().Add(d)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return nil
		}
		m, err := pc.nextAction(left)
		if errors.Is(err, errTimeout) {
			return nil
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("%s: action while the recording had none:\n%s", pc.sc.Name, m)
	}
}

var errTimeout = errors.New("timeout")

// nextAction returns the client's next action that is not answered automatically.
func (pc *playConn) nextAction(timeout time.Duration) (Msg, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case m, ok := <-pc.actions:
			if !ok {
				return Msg{}, <-pc.readErr
			}
			handled, err := pc.auto(m)
			if err != nil {
				return Msg{}, err
			}
			if !handled {
				return m, nil
			}
		case <-t.C:
			return Msg{}, errTimeout
		}
	}
}

func recordedID(msgs [][]byte) string {
	for _, raw := range msgs {
		if id := ParseMsg(raw).Get("ActionID"); id != "" {
			return id
		}
	}
	return ""
}

func (pc *playConn) writeReply(msgs [][]byte, id string) error {
	rec := recordedID(msgs)
	for _, raw := range msgs {
		if err := pc.write(RewriteID(raw, rec, id)); err != nil {
			return err
		}
	}
	return nil
}

// auto answers the client's own actions; it reports whether m was handled.
func (pc *playConn) auto(m Msg) (bool, error) {
	id := m.Get("ActionID")
	if pc.sc.Reply != nil {
		if r := pc.sc.Reply(m); r != nil {
			return true, pc.writeReply(r, id)
		}
	}
	switch name := m.Get("Action"); {
	case strings.EqualFold(name, "Challenge"):
		if !strings.EqualFold(m.Get("AuthType"), "MD5") {
			return true, pc.write(ErrorReply(id, "Must specify AuthType"))
		}
		if pc.challenge == "" {
			// manager.c: snprintf("%ld", ast_random()) once per session
			pc.challenge = strconv.FormatInt(rand.Int64N(math.MaxInt32), 10)
		}
		return true, pc.write(ChallengeReply(id, pc.challenge))
	case name == "Ping" && pc.sc.NoPong:
		return true, nil
	case name == "Ping":
		return true, pc.writeReply(pc.sc.Ping, id)
	case name == "Logoff":
		// The session ends here: once the client has the Goodbye it may start
		// another, before this goroutine is done closing.
		pc.sc.mu.Lock()
		pc.sc.ended = time.Now()
		pc.sc.mu.Unlock()
		_ = pc.writeReply(pc.sc.Goodbye, id)
		pc.c.Close()
		return true, io.EOF
	case pc.sc.Replies[name] != nil:
		return true, pc.writeReply(pc.sc.Replies[name], id)
	}
	return false, nil
}

func (pc *playConn) answerResync() error {
	got := map[string]bool{}
	for !got["QueueStatus"] || !got["CoreShowChannels"] {
		m, err := pc.nextAction(5 * time.Second)
		if err != nil {
			return fmt.Errorf("%s: waiting for the resync: %w", pc.sc.Name, err)
		}
		name := m.Get("Action")
		var reply [][]byte
		switch name {
		case "QueueStatus":
			reply = pc.sc.QueueStatus
		case "CoreShowChannels":
			reply = pc.sc.CoreShowChannels
		default:
			return fmt.Errorf("%s: %s before the resync finished", pc.sc.Name, name)
		}
		got[name] = true
		if err := pc.writeReply(reply, m.Get("ActionID")); err != nil {
			return err
		}
	}
	return nil
}

func (pc *playConn) write(raw []byte) error {
	for rec, id := range pc.ids {
		raw = RewriteID(raw, rec, id)
	}
	_ = pc.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := pc.c.Write(raw)
	return err
}

func (pc *playConn) checkpoint(raw []byte) error {
	if pc.stopIdx >= len(pc.sc.StopAt) {
		return nil
	}
	if !pc.sc.StopAt[pc.stopIdx](ParseMsg(raw)) {
		return nil
	}
	i := pc.stopIdx
	pc.stopIdx++
	pc.sc.Stops <- i
	// answer the client (Flush pings) until the test resumes
	for {
		select {
		case <-pc.sc.Resume:
			return nil
		case m, ok := <-pc.actions:
			if !ok {
				return fmt.Errorf("%s: the client hung up at checkpoint %d: %v", pc.sc.Name, i, <-pc.readErr)
			}
			handled, err := pc.auto(m)
			if err != nil {
				return err
			}
			if !handled {
				return fmt.Errorf("%s: unexpected action at checkpoint %d:\n%s", pc.sc.Name, i, m)
			}
		}
	}
}

// expectAction waits for the client's action and compares it with the recorded one.
func (pc *playConn) expectAction(want Msg, login bool) error {
	if !login {
		pc.sc.Due <- want
	}
	got, err := pc.nextAction(10 * time.Second)
	if err != nil {
		return fmt.Errorf("%s: waiting for %s: %w", pc.sc.Name, want.Get("Action"), err)
	}
	if login && strings.EqualFold(got.Get("AuthType"), "MD5") {
		if err := pc.checkKey(got); err != nil {
			return err
		}
	}
	if err := SameAction(want, got, pc.sc.Name); err != nil {
		return err
	}
	pc.ids[want.Get("ActionID")] = got.Get("ActionID")
	return nil
}

// checkKey checks an MD5 login as manager.c's authenticate does: Key must be the hex
// MD5 of the session's challenge followed by the secret.
func (pc *playConn) checkKey(login Msg) error {
	if pc.challenge == "" {
		return fmt.Errorf("%s: MD5 Login without a Challenge first", pc.sc.Name)
	}
	sum := md5.Sum([]byte(pc.challenge + pc.sc.Secret))
	if want := hex.EncodeToString(sum[:]); login.Get("Key") != want && !pc.sc.LoginMayFail {
		return fmt.Errorf("%s: MD5 Login Key %q, want %q (MD5 of challenge %q and the secret)", pc.sc.Name, login.Get("Key"), want, pc.challenge)
	}
	if login.Has("Secret") {
		return fmt.Errorf("%s: an MD5 Login also sent the secret in clear", pc.sc.Name)
	}
	return nil
}

// SameAction compares an action with the recorded one: the same action and the same key
// headers (Username, Secret unless the login is MD5, Channel, Application, Context,
// Exten, Priority, Async); ChanSpy options may add d (DTMF mode switching), and a
// Uniqueid target may be given as the exact channel name.
func SameAction(want, got Msg, scenario string) error {
	if !strings.EqualFold(want.Get("Action"), got.Get("Action")) {
		return fmt.Errorf("%s: got action %s, the recording sent %s:\n%s", scenario, got.Get("Action"), want.Get("Action"), got)
	}
	for _, k := range []string{"Username", "Secret", "Channel", "Application", "Context", "Exten", "Priority", "Async"} {
		if k == "Secret" && strings.EqualFold(got.Get("AuthType"), "MD5") {
			continue
		}
		if want.Has(k) && want.Get(k) != got.Get(k) {
			return fmt.Errorf("%s: %s %s = %q, the recording has %q", scenario, want.Get("Action"), k, got.Get(k), want.Get(k))
		}
	}
	if want.Has("Data") {
		wt, wo, _ := strings.Cut(want.Get("Data"), ",")
		gt, gopts, _ := strings.Cut(got.Get("Data"), ",")
		if wt != gt && !(isUniqueid(wt) && strings.HasPrefix(gt, "PJSIP/")) {
			return fmt.Errorf("%s: ChanSpy target %q, the recording has %q", scenario, gt, wt)
		}
		for _, o := range wo {
			if !strings.ContainsRune(gopts, o) {
				return fmt.Errorf("%s: ChanSpy options %q lack %q (recorded %q)", scenario, gopts, o, wo)
			}
		}
		for _, o := range gopts {
			if !strings.ContainsRune(wo, o) && o != 'd' {
				return fmt.Errorf("%s: ChanSpy options %q add %q (recorded %q)", scenario, gopts, o, wo)
			}
		}
	}
	return nil
}

func isUniqueid(s string) bool {
	a, b, ok := strings.Cut(s, ".")
	_, e1 := strconv.Atoi(a)
	_, e2 := strconv.Atoi(b)
	return ok && e1 == nil && e2 == nil
}
