package demosip

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/earshot-app/earshot/audio"
	"github.com/earshot-app/earshot/monitor"
	"github.com/earshot-app/earshot/monitor/demo"
)

// The PBX is tested here against a small SIP phone on diago (a real UA on loopback,
// not Earshot's phone package, which the e2e tests use); it answers, rings forever or
// declines as told, and records the audio it receives.

type phoneMode int32

const (
	phoneAnswers phoneMode = iota
	phoneRings
	phoneDeclines
	phoneHangsUpAtOnce
	// phoneDigitThenHangsUp answers, sends one RFC 4733 event for the digit '5'
	// (whisper) and hangs up straight after it, so the mode switch races the hang-up.
	phoneDigitThenHangsUp
)

type fakePhone struct {
	t     *testing.T
	ext   string
	dg    *diago.Diago
	ua    *sipgo.UserAgent
	cli   *sipgo.Client
	conn  net.PacketConn
	host  string
	port  int
	mode  atomic.Int32
	calls chan *fakeCall
}

type fakeCall struct {
	req   *sip.Request
	ended chan struct{}
	codec string

	mu  sync.Mutex
	pcm []int16
}

func (c *fakeCall) received() []int16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int16(nil), c.pcm...)
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newFakePhone(t *testing.T, ext string) *fakePhone {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := conn.LocalAddr().(*net.UDPAddr).Port
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(ext), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := sipgo.NewClient(ua, sipgo.WithClientConnectionAddr(conn.LocalAddr().String()))
	if err != nil {
		t.Fatal(err)
	}
	f := &fakePhone{t: t, ext: ext, ua: ua, cli: cli, conn: conn, host: "127.0.0.1", port: port, calls: make(chan *fakeCall, 8)}
	f.dg = diago.NewDiago(ua, diago.WithServer(srv), diago.WithLogger(quietLogger()),
		diago.WithTransport(diago.Transport{Transport: "udp", BindHost: "127.0.0.1", BindPort: port}))
	f.dg.HandleFunc(f.serve)
	go func() { _ = srv.ServeUDP(conn) }()
	for i := 0; i < 500 && ua.TransportLayer().Pool("udp").Get(conn.LocalAddr().String()) == nil; i++ {
		time.Sleep(time.Millisecond)
	}
	t.Cleanup(func() {
		srv.Close()
		ua.Close()
		conn.Close()
	})
	return f
}

func (f *fakePhone) addr() string { return net.JoinHostPort(f.host, strconv.Itoa(f.port)) }

func (f *fakePhone) serve(d *diago.DialogServerSession) {
	c := &fakeCall{req: d.InviteRequest, ended: make(chan struct{})}
	defer close(c.ended)
	switch phoneMode(f.mode.Load()) {
	case phoneRings:
		f.calls <- c
		_ = d.Ringing()
		<-d.Context().Done()
		return
	case phoneDeclines:
		f.calls <- c
		_ = d.Respond(sip.StatusGlobalDecline, "Decline", nil)
		return
	}
	med, err := d.Answer(diago.AnswerOptions{})
	if err != nil {
		f.t.Errorf("fake phone: answer: %v", err)
		return
	}
	ms := med.MediaSession()
	for _, cd := range ms.CommonCodecs() {
		if n := strings.ToUpper(cd.Name); n == "PCMU" || n == "PCMA" {
			c.codec = n
			break
		}
	}
	f.calls <- c
	switch phoneMode(f.mode.Load()) {
	case phoneDigitThenHangsUp:
		for _, cd := range ms.CommonCodecs() {
			if strings.EqualFold(cd.Name, "telephone-event") {
				ev := media.DTMFEncode(media.DTMFEvent{Event: 5, Volume: 10, Duration: 160})
				if _, err := med.RTPPacketWriter.WriteSamples(ev, 0, true, cd.PayloadType); err != nil {
					f.t.Errorf("fake phone: send DTMF: %v", err)
				}
				break
			}
		}
		fallthrough
	case phoneHangsUpAtOnce:
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = d.Hangup(ctx)
		return
	}
	go func() {
		buf := make([]byte, 1500)
		pcm := make([]int16, 1500)
		for {
			n, err := med.RTPPacketReader.Read(buf)
			if err != nil {
				return
			}
			pt := med.RTPPacketReader.PacketHeader.PayloadType
			k := audio.DecodeG711(pt, buf[:n], pcm)
			c.mu.Lock()
			c.pcm = append(c.pcm, pcm[:k]...)
			c.mu.Unlock()
		}
	}()
	<-d.Context().Done()
}

// register sends one REGISTER to the PBX.
func (f *fakePhone) register(pbx string, expires int, contact bool) *sip.Response {
	f.t.Helper()
	host, p, _ := net.SplitHostPort(pbx)
	port, _ := strconv.Atoi(p)
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: host, Port: port})
	aor := sip.Uri{Scheme: "sip", User: f.ext, Host: host}
	from := sip.NewParams()
	from.Add("tag", sip.GenerateTagN(12))
	req.AppendHeader(&sip.FromHeader{Address: aor, Params: from})
	req.AppendHeader(&sip.ToHeader{Address: aor, Params: sip.NewParams()})
	if contact {
		req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: f.ext, Host: f.host, Port: f.port}, Params: sip.NewParams()})
	}
	exp := sip.ExpiresHeader(uint32(expires))
	req.AppendHeader(&exp)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	res, err := f.cli.Do(ctx, req)
	if err != nil {
		f.t.Fatalf("REGISTER: %v", err)
	}
	return res
}

func (f *fakePhone) nextCall(d time.Duration) *fakeCall {
	f.t.Helper()
	select {
	case c := <-f.calls:
		return c
	case <-time.After(d):
		f.t.Fatalf("the fake phone did not ring within %s", d)
	}
	return nil
}

// newCentre is a demo contact centre wired to a PBX (DEMOSIP_LOG=1 shows its logs).
func newCentre(t *testing.T, cfg Config) (*PBX, *demo.Driver) {
	t.Helper()
	if os.Getenv("DEMOSIP_LOG") != "" && cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	pbx, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pbx.Close() })
	drv := demo.New(demo.Config{Seed: 3, Calls: 12, OnMonitor: pbx.OnMonitor, Logger: cfg.Logger})
	pbx.Attach(drv)
	return pbx, drv
}

func talking(t *testing.T, drv *demo.Driver) monitor.Call {
	t.Helper()
	for _, c := range drv.Truth() {
		if c.Status == monitor.StatusAnswered && !c.Stolen && c.LastAgent != "" {
			return c
		}
	}
	t.Fatal("no call with an agent talking")
	return monitor.Call{}
}

func act(drv *demo.Driver, k monitor.ActionKind, id string) <-chan error {
	res := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res <- drv.Act(ctx, monitor.Action{Kind: k, CallID: id})
	}()
	return res
}

func wait[T any](t *testing.T, ch <-chan T, d time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}

func TestRegistrar(t *testing.T) {
	pbx, _ := newCentre(t, Config{})
	f := newFakePhone(t, "2001")

	res := f.register(pbx.Addr(), 120, true)
	if res.StatusCode != 200 {
		t.Fatalf("REGISTER answered %s", res.StartLine())
	}
	c, ok := res.GetHeader("Contact").(*sip.ContactHeader)
	if !ok || c.Address.Port != f.port {
		t.Fatalf("the 200 OK does not echo the contact: %v", res.GetHeader("Contact"))
	}
	if v, _ := c.Params.Get("expires"); v != "120" {
		t.Errorf("granted expires=%s, want 120", v)
	}
	regs := pbx.Registrations()
	if len(regs) != 1 || regs[0].Extension != "2001" || !strings.Contains(regs[0].Contact, f.addr()) {
		t.Fatalf("registrations %+v", regs)
	}
	if time.Until(regs[0].Expires) > 121*time.Second || time.Until(regs[0].Expires) < 100*time.Second {
		t.Errorf("registration expires in %s, want 120 s", time.Until(regs[0].Expires))
	}

	// A longer lifetime than the PBX grants is cut down.
	res = f.register(pbx.Addr(), 86400, true)
	if v, _ := res.GetHeader("Contact").(*sip.ContactHeader).Params.Get("expires"); v != "3600" {
		t.Errorf("asked a day, granted %s s, want 3600", v)
	}
	// A query (no Contact) answers with the binding and changes nothing.
	res = f.register(pbx.Addr(), 60, false)
	if res.StatusCode != 200 || res.GetHeader("Contact") == nil || len(pbx.Registrations()) != 1 {
		t.Errorf("query answered %s with contact %v", res.StartLine(), res.GetHeader("Contact"))
	}
	// Expires 0 removes it.
	res = f.register(pbx.Addr(), 0, true)
	if res.StatusCode != 200 || len(pbx.Registrations()) != 0 {
		t.Errorf("unregister answered %s, registrations %+v", res.StartLine(), pbx.Registrations())
	}
	// No extension in To: refused.
	anon := newFakePhone(t, "")
	if res := anon.register(pbx.Addr(), 60, true); res.StatusCode != 400 {
		t.Errorf("REGISTER without an extension answered %s, want 400", res.StartLine())
	}
}

// With no softphone registered the request fails as unreachable and the call is left
// as it was.
func TestNoSoftphoneRegistered(t *testing.T) {
	_, drv := newCentre(t, Config{})
	c := talking(t, drv)
	err := wait(t, act(drv, monitor.ActListen, c.ID), 5*time.Second, "the listen request")
	if !errors.Is(err, monitor.ErrUnreachable) || !strings.Contains(err.Error(), "no softphone is registered") {
		t.Errorf("listen without a softphone: %v, want ErrUnreachable saying no softphone is registered", err)
	}
	if got, _ := drv.TruthCall(c.ID); got.Monitor != monitor.MonitorNone {
		t.Errorf("the call shows %q after the failed request", got.Monitor)
	}
}

// waitTruth waits until the centre's view of the call satisfies ok (false when the
// call is gone), for what happens on the PBX's own goroutines after a request returned.
func waitTruth(t *testing.T, drv *demo.Driver, id string, what string, ok func(c monitor.Call, found bool) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, found := drv.TruthCall(id)
		if ok(c, found) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s (call %+v, in progress %v)", what, c, found)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A softphone that rings and is never answered: the request fails after the ring
// timeout, the INVITE is cancelled, the call is as it was.
func TestRingTimeoutCancelsTheInvite(t *testing.T) {
	pbx, drv := newCentre(t, Config{RingTimeout: 300 * time.Millisecond})
	f := newFakePhone(t, "2001")
	f.mode.Store(int32(phoneRings))
	f.register(pbx.Addr(), 60, true)
	c := talking(t, drv)
	res := act(drv, monitor.ActListen, c.ID)
	call := f.nextCall(2 * time.Second)
	if got, _ := drv.TruthCall(c.ID); got.Monitor != monitor.MonitorPending {
		t.Errorf("while the phone rings the call shows %q, want Pending", got.Monitor)
	}
	err := wait(t, res, 5*time.Second, "the listen request")
	if !errors.Is(err, monitor.ErrUnreachable) || !strings.Contains(err.Error(), "did not answer") {
		t.Errorf("unanswered listen: %v", err)
	}
	wait(t, call.ended, 3*time.Second, "the INVITE to be cancelled")
	if got, _ := drv.TruthCall(c.ID); got.Monitor != monitor.MonitorNone || got.LastAgent != c.LastAgent || got.Stolen {
		t.Errorf("after the timeout the call shows %+v", got)
	}
	if len(pbx.Sessions()) != 0 {
		t.Error("a session is left after the ring timeout")
	}
}

// The call ends while the supervisor's phone rings: the INVITE is cancelled and the
// request fails with ErrCallGone.
func TestCallEndsWhileRinging(t *testing.T) {
	pbx, drv := newCentre(t, Config{})
	f := newFakePhone(t, "2001")
	f.mode.Store(int32(phoneRings))
	f.register(pbx.Addr(), 60, true)
	c := talking(t, drv)
	res := act(drv, monitor.ActSteal, c.ID)
	call := f.nextCall(2 * time.Second)
	for range 2000 {
		if _, ok := drv.TruthCall(c.ID); !ok {
			break
		}
		drv.Advance(5 * time.Second)
	}
	err := wait(t, res, 5*time.Second, "the steal request")
	if !errors.Is(err, monitor.ErrCallGone) {
		t.Errorf("steal of a call that ended while ringing: %v, want ErrCallGone", err)
	}
	wait(t, call.ended, 3*time.Second, "the INVITE to be cancelled")
	if len(pbx.Sessions()) != 0 {
		t.Error("a session is left for a call that ended while the phone rang")
	}
}

// Declining fails the request with ErrRejected.
func TestDeclined(t *testing.T) {
	pbx, drv := newCentre(t, Config{})
	f := newFakePhone(t, "2001")
	f.mode.Store(int32(phoneDeclines))
	f.register(pbx.Addr(), 60, true)
	c := talking(t, drv)
	err := wait(t, act(drv, monitor.ActBarge, c.ID), 5*time.Second, "the barge request")
	if !errors.Is(err, monitor.ErrRejected) || !strings.Contains(err.Error(), "603") {
		t.Errorf("declined barge: %v, want ErrRejected with the 603", err)
	}
}

// A fixed target and A-law: the phone is called without registering, gets the caller
// name, the auto-answer hint and PCMA speech; Close hangs it up.
func TestTargetPCMAAndClose(t *testing.T) {
	f := newFakePhone(t, "2001")
	pbx, drv := newCentre(t, Config{Target: f.addr(), Codec: "PCMA"})
	c := talking(t, drv)
	if err := wait(t, act(drv, monitor.ActListen, c.ID), 5*time.Second, "the listen request"); err != nil {
		t.Fatal(err)
	}
	call := f.nextCall(time.Second)
	if call.codec != "PCMA" {
		t.Errorf("codec %q, want PCMA", call.codec)
	}
	from := call.req.From()
	if want := CallerName(demo.MonitorRequest{Kind: monitor.ActListen, Call: c}); from.DisplayName != want {
		t.Errorf("caller name %q", from.DisplayName)
	}
	if h := call.req.GetHeader("Call-Info"); h == nil || !strings.Contains(h.Value(), "answer-after=0") || !strings.Contains(h.Value(), pbx.Addr()) {
		t.Errorf("Call-Info %v, want the PBX with answer-after=0", h)
	}
	time.Sleep(500 * time.Millisecond)
	pcm := call.received()
	if len(pcm) < 3000 {
		t.Fatalf("the phone received %d samples in 500 ms", len(pcm))
	}
	if lvl := audio.Level(pcm); lvl < -45 {
		t.Errorf("the phone received audio at %.1f dBFS, want speech", lvl)
	}
	s, ok := pbx.Session(c.ID)
	if !ok || s.Stats().Codec != "PCMA" || s.Stats().PacketsSent < 20 {
		t.Fatalf("session %v: %+v", ok, s.Stats())
	}
	pbx.Close()
	wait(t, call.ended, 3*time.Second, "the phone to be hung up on Close")
	wait(t, s.Done(), time.Second, "the session to end")
	if !strings.Contains(s.EndReason(), "stopped") {
		t.Errorf("end reason %q", s.EndReason())
	}
	if got, _ := drv.TruthCall(c.ID); got.Monitor != monitor.MonitorNone {
		t.Errorf("after Close the call still shows %q", got.Monitor)
	}
	if err := wait(t, act(drv, monitor.ActListen, c.ID), 5*time.Second, "a request after Close"); !errors.Is(err, monitor.ErrUnreachable) {
		t.Errorf("request after Close: %v, want ErrUnreachable", err)
	}
}

// The softphone dialling the demo PBX gets a clear refusal.
func TestCallsToThePBXAreRefused(t *testing.T) {
	pbx, _ := newCentre(t, Config{})
	f := newFakePhone(t, "2001")
	host, p, _ := net.SplitHostPort(pbx.Addr())
	port, _ := strconv.Atoi(p)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, _, err := f.dg.Invite(ctx, sip.Uri{Scheme: "sip", User: "1001", Host: host, Port: port}, diago.InviteOptions{})
	var de *sipgo.ErrDialogResponse
	if !errors.As(err, &de) || de.Res.StatusCode != 404 {
		t.Errorf("INVITE to the demo PBX: %v, want 404", err)
	}
}

// A supervisor who hangs up the moment the call is answered leaves no marker behind,
// and a stolen call they drop at once ends. The driver applies the answer before the
// session can see the hang-up, so this holds however late the PBX's goroutines run.
func TestSupervisorHangsUpAtOnce(t *testing.T) {
	pbx, drv := newCentre(t, Config{})
	f := newFakePhone(t, "2001")
	f.mode.Store(int32(phoneHangsUpAtOnce))
	f.register(pbx.Addr(), 60, true)
	c := talking(t, drv)
	err := wait(t, act(drv, monitor.ActListen, c.ID), 5*time.Second, "the listen request")
	if err != nil && !errors.Is(err, monitor.ErrUnreachable) {
		t.Fatalf("listen: %v", err)
	}
	f.nextCall(time.Second)
	waitTruth(t, drv, c.ID, "the marker goes", func(got monitor.Call, ok bool) bool {
		return ok && got.Monitor == monitor.MonitorNone && len(pbx.Sessions()) == 0
	})
	if got, _ := drv.TruthCall(c.ID); got.LastAgent != c.LastAgent || got.Stolen {
		t.Errorf("after the supervisor hung up the call shows %+v, want it going on with %s", got, c.LastAgent)
	}

	c = talking(t, drv)
	err = wait(t, act(drv, monitor.ActSteal, c.ID), 5*time.Second, "the steal request")
	if err != nil && !errors.Is(err, monitor.ErrUnreachable) {
		t.Fatalf("steal: %v", err)
	}
	f.nextCall(time.Second)
	if err == nil {
		// the steal went through: the supervisor was the customer's only party
		waitTruth(t, drv, c.ID, "the stolen call ends", func(got monitor.Call, ok bool) bool { return !ok })
	} else {
		// the INVITE failed (the BYE overtook the answer): the call is as it was
		waitTruth(t, drv, c.ID, "the call is as it was", func(got monitor.Call, ok bool) bool {
			return ok && !got.Stolen && got.Monitor == monitor.MonitorNone && got.LastAgent == c.LastAgent
		})
	}
	waitTruth(t, drv, c.ID, "the session is gone", func(monitor.Call, bool) bool { return len(pbx.Sessions()) == 0 })
}

// A DTMF mode switch that races the supervisor's hang-up: whichever the PBX handles
// first, the marker goes and the late digit never rings the supervisor again.
func TestDigitRacingTheHangUp(t *testing.T) {
	pbx, drv := newCentre(t, Config{})
	f := newFakePhone(t, "2001")
	f.mode.Store(int32(phoneDigitThenHangsUp))
	f.register(pbx.Addr(), 60, true)
	for round := range 5 {
		c := talking(t, drv)
		err := wait(t, act(drv, monitor.ActListen, c.ID), 5*time.Second, "the listen request")
		if err != nil && !errors.Is(err, monitor.ErrUnreachable) {
			t.Fatalf("round %d: listen: %v", round, err)
		}
		call := f.nextCall(time.Second)
		wait(t, call.ended, 3*time.Second, "the supervisor's call to end")
		waitTruth(t, drv, c.ID, "the marker goes", func(got monitor.Call, ok bool) bool {
			return ok && got.Monitor == monitor.MonitorNone && len(pbx.Sessions()) == 0
		})
		select {
		case again := <-f.calls:
			t.Fatalf("round %d: the supervisor's phone rang again (%s)", round, again.req.From().DisplayName)
		case <-time.After(100 * time.Millisecond):
		}
		if got, _ := drv.TruthCall(c.ID); got.Monitor != monitor.MonitorNone {
			t.Fatalf("round %d: the call shows %q after the hang-up", round, got.Monitor)
		}
	}
}

func TestStartRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{Host: "localhost"},
		{Port: 70000},
		{Codec: "G729"},
		{Target: "sip:"},
		{Conversation: &Conversation{Agent: make([]int16, 10), Customer: make([]int16, 10)}},
	} {
		p, err := Start(context.Background(), cfg)
		if err == nil {
			p.Close()
			t.Errorf("Start(%+v) accepted", cfg)
		}
	}
}
