package phone

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// This file holds the test harness for real SIP peers: sipp processes (and the
// helpers to start, watch and stop them), free ports, a phone running in the
// background and an event recorder.

// handedOut are the ports freeUDPPort returned to this test binary: the ports are
// free only when handed out, so none is given twice, nor inside another's media
// range (sipp binds audio RTP and RTCP and video RTP and RTCP from -mp on: four
// ports).
var handedOut struct {
	sync.Mutex
	ports map[int]bool
}

// freeUDPPort returns a UDP port on ip that is free now and never handed out
// before; for RTP (pair) the port is even and it and its next three are free (a
// sipp -mp takes four).
func freeUDPPort(t testing.TB, ip string, pair bool) int {
	t.Helper()
	handedOut.Lock()
	defer handedOut.Unlock()
	if handedOut.ports == nil {
		handedOut.ports = map[int]bool{}
	}
	span := 1
	if pair {
		span = 4
	}
	for range 200 {
		c, err := net.ListenPacket("udp", net.JoinHostPort(ip, "0"))
		if err != nil {
			t.Fatalf("free port: %v", err)
		}
		port := c.LocalAddr().(*net.UDPAddr).Port
		c.Close()
		if (pair && port%2 == 1) || port > 65000 {
			continue
		}
		ok := true
		for p := port; p < port+span && ok; p++ {
			if handedOut.ports[p] {
				ok = false
				break
			}
			if p > port {
				c2, err := net.ListenPacket("udp", net.JoinHostPort(ip, strconv.Itoa(p)))
				if err != nil {
					ok = false
					break
				}
				c2.Close()
			}
		}
		if !ok {
			continue
		}
		for p := port; p < port+span; p++ {
			handedOut.ports[p] = true
		}
		return port
	}
	t.Fatal("no free UDP port")
	return 0
}

// sippProc is a running sipp.
type sippProc struct {
	t       testing.TB
	cmd     *exec.Cmd
	dir     string
	name    string
	out     *syncBuffer
	done    chan struct{}
	exitErr error
	args    []string
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// requireSipp fails the test when sipp is missing: the peers are part of the
// proof, CI installs them (.ci/run).
func requireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed (Debian package %s); the real-peer tests need it", name,
			map[string]string{"sipp": "sip-tester", "baresip": "baresip-core"}[name])
	}
	return p
}

// startSipp runs sipp with the scenario testdata/<scenario> (or a built-in one when
// scenario starts with "-sn") and args, logging messages to a trace file. The
// process is killed at the end of the test.
func startSipp(t testing.TB, scenario string, args ...string) *sippProc {
	t.Helper()
	return startSippIn(t, t.TempDir(), scenario, args...)
}

// startSippIn is startSipp with dir as sipp's working directory (where relative
// files such as pcaps are found). An absolute scenario path is used as is.
func startSippIn(t testing.TB, dir, scenario string, args ...string) *sippProc {
	t.Helper()
	bin := requireTool(t, "sipp")
	name := strings.TrimSuffix(filepath.Base(scenario), ".xml")
	full := []string{}
	if scenario != "" {
		src := scenario
		if !filepath.IsAbs(src) {
			var err error
			src, err = filepath.Abs(filepath.Join("testdata", scenario))
			if err != nil {
				t.Fatal(err)
			}
		}
		full = append(full, "-sf", src)
	}
	full = append(full, args...)
	full = append(full, "-trace_msg", "-message_file", filepath.Join(dir, "messages.log"),
		"-trace_err", "-error_file", filepath.Join(dir, "errors.log"),
		"-nostdin")
	cmd := exec.Command(bin, full...)
	cmd.Dir = dir
	out := &syncBuffer{}
	cmd.Stdout = out
	cmd.Stderr = out
	// Its own process group (stopped as a whole), and killed by the kernel if the
	// test binary dies (a crash, a timeout panic) before the cleanup runs.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := startPinned(cmd); err != nil {
		t.Fatalf("start sipp: %v", err)
	}
	p := &sippProc{t: t, cmd: cmd, dir: dir, name: name, out: out, done: make(chan struct{}), args: full}
	go func() {
		p.exitErr = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("sipp %s %s\noutput:\n%s", name, strings.Join(p.args, " "), tail(out.String(), 3000))
			t.Logf("sipp %s messages:\n%s", name, tail(p.messages(), 6000))
			if b, err := os.ReadFile(filepath.Join(dir, "errors.log")); err == nil {
				t.Logf("sipp %s errors:\n%s", name, tail(string(b), 3000))
			}
		}
	})
	return p
}

// startPinned starts cmd from a locked OS thread. Pdeathsig fires when the thread
// that forked the child exits; the Go runtime only ends threads that a goroutine
// left locked, so a thread locked and unlocked here lives on.
func startPinned(cmd *exec.Cmd) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return cmd.Start()
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// stop ends sipp (SIGTERM, then SIGKILL) and waits for it.
func (p *sippProc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(3 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// wait waits for sipp to exit by itself and returns its exit code.
func (p *sippProc) wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.t.Fatalf("sipp %s did not finish within %s", p.name, timeout)
	}
	if p.exitErr == nil {
		return 0
	}
	if ee, ok := p.exitErr.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

// messages is sipp's message trace so far.
func (p *sippProc) messages() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "messages.log"))
	return string(b)
}

// received returns the SIP messages sipp received whose first line matches re.
func (p *sippProc) received(re string) []string {
	rx := regexp.MustCompile(re)
	var out []string
	for _, m := range splitTrace(p.messages()) {
		if m.dir == "received" && rx.MatchString(m.first) {
			out = append(out, m.text)
		}
	}
	return out
}

type traceMsg struct {
	dir   string // "received" or "sent"
	first string // start line
	text  string
}

// splitTrace parses sipp's -trace_msg file: each message follows a line of dashes
// and a line like "UDP message received [412] bytes :" or "UDP message sent (345
// bytes):".
func splitTrace(s string) []traceMsg {
	var out []traceMsg
	lines := strings.Split(s, "\n")
	var cur *traceMsg
	var b strings.Builder
	flush := func() {
		if cur != nil {
			cur.text = b.String()
			out = append(out, *cur)
		}
		cur = nil
		b.Reset()
	}
	for i := 0; i < len(lines); i++ {
		line := strings.TrimRight(lines[i], "\r")
		if strings.HasPrefix(line, "-----------") {
			flush()
			continue
		}
		if cur == nil && (strings.Contains(line, "message received") || strings.Contains(line, "message sent")) {
			cur = &traceMsg{dir: "sent"}
			if strings.Contains(line, "message received") {
				cur.dir = "received"
			}
			continue
		}
		if cur == nil {
			continue
		}
		if cur.first == "" {
			if strings.TrimSpace(line) == "" {
				continue
			}
			cur.first = strings.TrimSpace(line)
		}
		b.WriteString(line)
		b.WriteString("\n")
	}
	flush()
	return out
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", timeout, what)
}

// testLogger writes the phone's logs to the test log (and to buf, if given).
func testLogger(t testing.TB, buf *syncBuffer) *slog.Logger {
	w := &testWriter{t: t, buf: buf}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct {
	t   testing.TB
	buf *syncBuffer
	mu  sync.Mutex
	off bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	if w.buf != nil {
		w.buf.Write(p)
	}
	if os.Getenv("PHONE_TEST_LOG") != "" {
		w.mu.Lock()
		if !w.off {
			w.t.Log(strings.TrimRight(string(p), "\n"))
		}
		w.mu.Unlock()
	}
	return len(p), nil
}

// runningPhone is a Phone running in the background for a test.
type runningPhone struct {
	*Phone
	events *recorder
	cancel context.CancelFunc
	done   chan error
}

// startPhone creates a phone from cfg, runs it and records its events. It stops at
// the end of the test.
func startPhone(t testing.TB, cfg Config) *runningPhone {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t, nil)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	rec := newRecorder(p)
	ctx, cancel := context.WithCancel(context.Background())
	rp := &runningPhone{Phone: p, events: rec, cancel: cancel, done: make(chan error, 1)}
	go func() { rp.done <- p.Run(ctx) }()
	t.Cleanup(func() { rp.stop(t) })
	return rp
}

func (rp *runningPhone) stop(t testing.TB) {
	rp.cancel()
	select {
	case err := <-rp.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
		rp.done <- err
	case <-time.After(15 * time.Second):
		t.Errorf("Run did not return within 15 s of the cancel")
	}
	rp.events.close()
}

// waitRegistered waits until the phone is registered.
func (rp *runningPhone) waitRegistered(t testing.TB, timeout time.Duration) Registration {
	t.Helper()
	e := rp.events.waitFor(t, timeout, "registered", func(e Event) bool {
		return e.Kind == EventRegistration && e.Registration.State == RegRegistered
	})
	return e.Registration
}

// recorder keeps every event of a phone for assertions.
type recorder struct {
	mu     sync.Mutex
	events []Event
	wake   chan struct{}
	cancel func()
	done   chan struct{}
}

func newRecorder(p *Phone) *recorder {
	ch, cancel := p.Subscribe()
	r := &recorder{wake: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for e := range ch {
			r.mu.Lock()
			r.events = append(r.events, e)
			r.mu.Unlock()
			select {
			case r.wake <- struct{}{}:
			default:
			}
		}
	}()
	return r
}

func (r *recorder) close() {
	r.cancel()
	<-r.done
}

func (r *recorder) all() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// waitFor returns the first recorded event (from the start) that matches.
func (r *recorder) waitFor(t testing.TB, timeout time.Duration, what string, match func(Event) bool) Event {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		for _, e := range r.all() {
			if match(e) {
				return e
			}
		}
		select {
		case <-r.wake:
		case <-time.After(50 * time.Millisecond):
		case <-deadline.C:
			var kinds []string
			for _, e := range r.all() {
				kinds = append(kinds, describeEvent(e))
			}
			t.Fatalf("timed out after %s waiting for %s; events: %s", timeout, what, strings.Join(kinds, " | "))
		}
	}
}

func describeEvent(e Event) string {
	switch e.Kind {
	case EventRegistration:
		return fmt.Sprintf("reg:%s %s", e.Registration.State, e.Registration.Reason)
	case EventIncomingCall:
		return fmt.Sprintf("incoming:%s from %s", e.CallInfo.ID, e.CallInfo.RemoteNumber)
	case EventCallState:
		return fmt.Sprintf("call:%s %s %s", e.CallInfo.ID, e.CallInfo.State, e.CallInfo.EndReason)
	case EventDTMF:
		return fmt.Sprintf("dtmf:%c", e.Digit)
	}
	return e.Kind.String()
}

// count returns how many recorded events match.
func (r *recorder) count(match func(Event) bool) int {
	n := 0
	for _, e := range r.all() {
		if match(e) {
			n++
		}
	}
	return n
}
