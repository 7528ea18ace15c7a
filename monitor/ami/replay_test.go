package ami

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// This file is a test AMI server that replays recorded Asterisk 22 traffic byte for
// byte: it paces the recorded stream with the recorded timeline (compressed), waits for
// the driver's actions where the recording has them and checks them against the
// recorded ones, and answers what the driver asks on its own (the resync's QueueStatus
// and CoreShowChannels, Ping, Logoff) with replies recorded from the same Asterisk.

type tlEntry struct {
	T   float64 `json:"t"`
	Dir string  `json:"dir"`
	Off int     `json:"off"`
	Len int     `json:"len"`
}

// recording is one fixture: the stream received, the actions sent, the timeline.
type recording struct {
	name     string
	in       []byte
	out      []byte
	timeline []tlEntry
}

func loadRecording(t testing.TB, name string) *recording {
	t.Helper()
	r := &recording{name: name, in: fixture(t, name+".ami"), out: fixture(t, name+".actions.ami")}
	sc := bufio.NewScanner(bytes.NewReader(fixture(t, name+".timeline.jsonl")))
	for sc.Scan() {
		var e tlEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("%s timeline: %v", name, err)
		}
		r.timeline = append(r.timeline, e)
	}
	return r
}

// parseOne parses a single raw message.
func parseOne(raw []byte) *Message {
	r := NewReader(bytes.NewReader(raw))
	m, err := r.Next()
	if err != nil {
		return &Message{}
	}
	return m.Clone()
}

// replyTo returns the raw messages of the recorded reply to the action with the given
// recorded ActionID (its response and, for a list, every item up to ...Complete).
func (r *recording) replyTo(id string) [][]byte {
	var out [][]byte
	for _, raw := range splitMessages(r.in) {
		m := parseOne(raw)
		if m.Value("ActionID") != id || m.Value("Event") == "OriginateResponse" {
			continue
		}
		out = append(out, raw)
	}
	return out
}

// step is one thing the replay does.
type step struct {
	at     float64  // recorded time
	send   [][]byte // messages to send (raw, recorded)
	expect *Message // an action the driver must send (recorded)
	// foreign: the recording's action was another AMI client's; nothing to wait for
	login  bool
	resync bool // wait for the driver's QueueStatus and CoreShowChannels and answer them
}

// script is what one connection of the test server plays.
type script struct {
	name  string
	steps []step
	// closeAfter ends the connection when the steps are done (the PBX went away).
	closeAfter bool
	// queueStatus and coreShowChannels answer the driver's resync (raw recorded messages
	// with the recorded ActionID, rewritten on the way out).
	queueStatus, coreShowChannels [][]byte
	// replies answers other actions by name (Hangup → a recorded error, ...).
	replies map[string][][]byte
	// stopAt pauses after the messages it matches, for the test to look at the board.
	stopAt []func(*Message) bool
	// noPong swallows Pings: a PBX that hangs without closing the connection.
	noPong bool

	stops  chan int      // the index of the checkpoint reached
	resume chan struct{} // the test is done looking
	due    chan *Message // a recorded action the driver should now send
	done   chan error    // the script ended (nil) or failed
	// sent collects the actions received, for assertions.
	mu       sync.Mutex
	received []*Message
}

func newScript(name string) *script {
	return &script{name: name, stops: make(chan int), resume: make(chan struct{}), due: make(chan *Message, 1),
		done: make(chan error, 1), replies: map[string][][]byte{}}
}

// buildScript turns a recording into steps. Actions whose ActionID is in foreign are
// another client's: their replies are streamed, nothing is awaited. The Logoff and
// everything after it are left out (the driver stays connected).
func buildScript(t testing.TB, rec *recording, foreign map[string]bool) *script {
	t.Helper()
	sc := newScript(rec.name)
	for _, e := range rec.timeline {
		switch e.Dir {
		case "in":
			chunk := rec.in[e.Off : e.Off+e.Len]
			if e.Off == 0 {
				// the banner comes first, whatever the timeline's order of the
				// client's first write and the server's
				i := bytes.Index(chunk, []byte("\r\n"))
				sc.steps = append([]step{{send: [][]byte{chunk[:i+2]}}}, sc.steps...)
				chunk = chunk[i+2:]
			}
			if len(chunk) > 0 {
				sc.steps = append(sc.steps, step{at: e.T, send: splitRaw(chunk)})
			}
		case "out":
			m := parseOne(rec.out[e.Off : e.Off+e.Len])
			switch {
			case m.Value("Action") == "Logoff":
				return sc
			case m.Value("Action") == "Login":
				sc.steps = append(sc.steps, step{at: e.T, expect: m, login: true})
			case foreign[m.Value("ActionID")]:
			default:
				sc.steps = append(sc.steps, step{at: e.T, expect: m})
			}
		}
	}
	return sc
}

// splitRaw splits bytes into messages, keeping a trailing partial message as is.
func splitRaw(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i := bytes.Index(b, []byte("\r\n\r\n"))
		if i < 0 {
			out = append(out, b)
			break
		}
		out = append(out, b[:i+4])
		b = b[i+4:]
	}
	return out
}

// insertResync makes the script wait for (and answer) the driver's resync right after
// the login's reply, as a real Asterisk answers it before later events happen.
func (sc *script) insertResync() {
	for i, st := range sc.steps {
		if st.login {
			// the step after the login is the chunk with its reply
			at := i + 2
			if at > len(sc.steps) {
				at = len(sc.steps)
			}
			sc.steps = append(sc.steps[:at], append([]step{{resync: true}}, sc.steps[at:]...)...)
			return
		}
	}
}

// replayServer accepts connections and plays one script per connection.
type replayServer struct {
	t       testing.TB
	ln      net.Listener
	speed   float64
	scripts chan *script
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   []net.Conn
}

func newReplayServer(t testing.TB) *replayServer { return newReplayServerTLS(t, nil) }

// newReplayServerTLS is a replay server behind TLS when tc is not nil.
func newReplayServerTLS(t testing.TB, tc *tls.Config) *replayServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if tc != nil {
		ln = tls.NewListener(ln, tc)
	}
	s := &replayServer{t: t, ln: ln, speed: 40, scripts: make(chan *script, 8)}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.close)
	return s
}

func (s *replayServer) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *replayServer) close() {
	s.ln.Close()
	s.mu.Lock()
	for _, c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *replayServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		var sc *script
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
			if sc.closeAfter || err != nil {
				select {
				case sc.done <- err:
				default:
				}
			}
		}()
	}
}

// conn state of one played connection
type playConn struct {
	s       *replayServer
	sc      *script
	c       net.Conn
	ids     map[string]string // recorded ActionID → the driver's
	actions chan *Message     // actions the driver sent that the script must see
	readErr chan error
	lastAt  float64
	started bool
	stopIdx int
}

func (s *replayServer) play(c net.Conn, sc *script) error {
	defer c.Close()
	pc := &playConn{s: s, sc: sc, c: c, ids: map[string]string{}, actions: make(chan *Message, 64), readErr: make(chan error, 1)}
	go pc.readActions()
	for i, st := range sc.steps {
		if err := pc.pace(st.at); err != nil {
			return err
		}
		switch {
		case st.send != nil:
			for _, raw := range st.send {
				if err := pc.write(raw); err != nil {
					return fmt.Errorf("step %d: %w", i, err)
				}
				if err := pc.checkpoint(raw); err != nil {
					return err
				}
			}
		case st.resync:
			if err := pc.answerResync(); err != nil {
				return err
			}
		case st.expect != nil:
			if err := pc.expectAction(st.expect, st.login); err != nil {
				return err
			}
		}
	}
	if sc.closeAfter {
		return nil
	}
	// the recording is played; tell the test, then keep the connection up
	sc.done <- nil
	// keep serving (Ping, actions with canned replies) until the driver logs off or the
	// test closes the server
	for {
		m, err := pc.nextAction(time.Hour)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		return fmt.Errorf("%s: unexpected action after the end of the recording:\n%s", sc.name, m)
	}
}

func (pc *playConn) readActions() {
	r := NewReader(pc.c)
	for {
		m, err := r.Next()
		if err != nil {
			pc.readErr <- err
			close(pc.actions)
			return
		}
		m = m.Clone()
		pc.sc.mu.Lock()
		pc.sc.received = append(pc.sc.received, m)
		pc.sc.mu.Unlock()
		pc.actions <- m
	}
}

// pace sleeps the compressed recorded time since the previous step, answering the
// driver's own actions meanwhile.
func (pc *playConn) pace(at float64) error {
	if at == 0 {
		return nil
	}
	if !pc.started {
		pc.started, pc.lastAt = true, at
		return nil
	}
	d := time.Duration((at - pc.lastAt) / pc.s.speed * float64(time.Second))
	pc.lastAt = at
	if d > 250*time.Millisecond {
		d = 250 * time.Millisecond
	}
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
		return fmt.Errorf("%s: action while the recording had none:\n%s", pc.sc.name, m)
	}
}

var errTimeout = errors.New("timeout")

// nextAction returns the driver's next action that is not answered automatically.
func (pc *playConn) nextAction(timeout time.Duration) (*Message, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case m, ok := <-pc.actions:
			if !ok {
				return nil, <-pc.readErr
			}
			handled, err := pc.auto(m)
			if err != nil {
				return nil, err
			}
			if !handled {
				return m, nil
			}
		case <-t.C:
			return nil, errTimeout
		}
	}
}

// recorded replies used for the driver's own actions (from basics and resync)
var (
	cannedOnce                           sync.Once
	cannedPing, cannedQueueStatus        [][]byte
	cannedNoChannels, cannedResyncQueues [][]byte
	cannedResyncChannels, cannedGoodbye  [][]byte
	cannedNoSuchChannel                  [][]byte
)

func loadCanned(t testing.TB) {
	cannedOnce.Do(func() {
		basics := &recording{in: fixture(t, "basics.ami")}
		resync := &recording{in: fixture(t, "resync.ami")}
		cannedPing = basics.replyTo("basics-02")
		cannedQueueStatus = basics.replyTo("basics-08")
		cannedNoSuchChannel = basics.replyTo("basics-11")
		cannedGoodbye = basics.replyTo("basics-13")
		cannedResyncChannels = resync.replyTo("resync-02")
		cannedResyncQueues = resync.replyTo("resync-03")
		// no channels: the recorded CoreShowChannels reply without its items
		for _, raw := range cannedResyncChannels {
			m := parseOne(raw)
			switch m.Value("Event") {
			case "CoreShowChannel":
				continue
			case "CoreShowChannelsComplete":
				raw = bytes.Replace(raw, []byte("ListItems: 5\r\n"), []byte("ListItems: 0\r\n"), 1)
			}
			cannedNoChannels = append(cannedNoChannels, raw)
		}
	})
}

// rewrite replaces the recorded ActionID of a raw message.
func rewriteID(raw []byte, recID, id string) []byte {
	if !bytes.Contains(raw, []byte("ActionID: "+recID+"\r\n")) {
		return raw
	}
	return bytes.Replace(raw, []byte("ActionID: "+recID+"\r\n"), []byte("ActionID: "+id+"\r\n"), 1)
}

func recordedID(msgs [][]byte) string {
	for _, raw := range msgs {
		if id := parseOne(raw).Value("ActionID"); id != "" {
			return id
		}
	}
	return ""
}

func (pc *playConn) writeReply(msgs [][]byte, id string) error {
	rec := recordedID(msgs)
	for _, raw := range msgs {
		if err := pc.write(rewriteID(raw, rec, id)); err != nil {
			return err
		}
	}
	return nil
}

// auto answers the driver's own actions; it reports whether m was handled.
func (pc *playConn) auto(m *Message) (bool, error) {
	id := m.Value("ActionID")
	switch name := m.Value("Action"); {
	case name == "Ping" && pc.sc.noPong:
		return true, nil
	case name == "Ping":
		return true, pc.writeReply(cannedPing, id)
	case name == "Logoff":
		_ = pc.writeReply(cannedGoodbye, id)
		pc.c.Close()
		return true, io.EOF
	case pc.sc.replies[name] != nil:
		return true, pc.writeReply(pc.sc.replies[name], id)
	}
	return false, nil
}

func (pc *playConn) answerResync() error {
	got := map[string]bool{}
	for !got["QueueStatus"] || !got["CoreShowChannels"] {
		m, err := pc.nextAction(5 * time.Second)
		if err != nil {
			return fmt.Errorf("%s: waiting for the resync: %w", pc.sc.name, err)
		}
		name := m.Value("Action")
		var reply [][]byte
		switch name {
		case "QueueStatus":
			reply = pc.sc.queueStatus
		case "CoreShowChannels":
			reply = pc.sc.coreShowChannels
		default:
			return fmt.Errorf("%s: %s before the resync finished", pc.sc.name, name)
		}
		got[name] = true
		if err := pc.writeReply(reply, m.Value("ActionID")); err != nil {
			return err
		}
	}
	return nil
}

func (pc *playConn) write(raw []byte) error {
	for rec, id := range pc.ids {
		raw = rewriteID(raw, rec, id)
	}
	_ = pc.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := pc.c.Write(raw)
	return err
}

func (pc *playConn) checkpoint(raw []byte) error {
	if pc.stopIdx >= len(pc.sc.stopAt) {
		return nil
	}
	m := parseOne(raw)
	if !pc.sc.stopAt[pc.stopIdx](m) {
		return nil
	}
	i := pc.stopIdx
	pc.stopIdx++
	pc.sc.stops <- i
	// answer the driver (Flush pings) until the test resumes
	for {
		select {
		case <-pc.sc.resume:
			return nil
		case m, ok := <-pc.actions:
			if !ok {
				return fmt.Errorf("%s: the driver hung up at checkpoint %d: %v", pc.sc.name, i, <-pc.readErr)
			}
			handled, err := pc.auto(m)
			if err != nil {
				return err
			}
			if !handled {
				return fmt.Errorf("%s: unexpected action at checkpoint %d:\n%s", pc.sc.name, i, m)
			}
		}
	}
}

// expectAction waits for the driver's action and compares it with the recorded one.
func (pc *playConn) expectAction(want *Message, login bool) error {
	if !login {
		pc.sc.due <- want
	}
	got, err := pc.nextAction(10 * time.Second)
	if err != nil {
		return fmt.Errorf("%s: waiting for %s: %w", pc.sc.name, want.Value("Action"), err)
	}
	if err := sameAction(want, got, pc.sc.name); err != nil {
		return err
	}
	pc.ids[want.Value("ActionID")] = got.Value("ActionID")
	return nil
}

// sameAction compares an action with the recorded one: the same action and the same
// key headers; ChanSpy options may add d (DTMF mode switching), and a Uniqueid target
// may be given as the exact channel name.
func sameAction(want, got *Message, scenario string) error {
	if !strings.EqualFold(want.Value("Action"), got.Value("Action")) {
		return fmt.Errorf("%s: got action %s, the recording sent %s:\n%s", scenario, got.Value("Action"), want.Value("Action"), got)
	}
	for _, k := range []string{"Username", "Secret", "Channel", "Application", "Context", "Exten", "Priority", "Async"} {
		if want.Has(k) && want.Value(k) != got.Value(k) {
			return fmt.Errorf("%s: %s %s = %q, the recording has %q", scenario, want.Value("Action"), k, got.Value(k), want.Value(k))
		}
	}
	if want.Has("Data") {
		wt, wo, _ := strings.Cut(want.Value("Data"), ",")
		gt, gopts, _ := strings.Cut(got.Value("Data"), ",")
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
