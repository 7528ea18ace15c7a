package demosip

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"

	"github.com/earshot-app/earshot/audio"
	"github.com/earshot-app/earshot/internal/rtpsock"
	"github.com/earshot-app/earshot/monitor"
	"github.com/earshot-app/earshot/monitor/demo"
)

// frameDur is the RTP packet time.
const frameDur = 20 * time.Millisecond

// Timing records when a session's steps happened.
type Timing struct {
	// Requested is when the demo driver asked for the session (OnMonitor).
	Requested time.Time
	// Ringing is when the softphone reported ringing (180/183); zero when it answered
	// at once (auto-answer).
	Ringing time.Time
	// Answered is when the softphone's 200 OK arrived.
	Answered time.Time
	// FirstAudio is when the first RTP packet was sent to the softphone.
	FirstAudio time.Time
	// Ended is when the session ended (zero while it runs).
	Ended time.Time
}

// SessionStats are a session's media counters.
type SessionStats struct {
	// PacketsSent counts RTP packets sent to the supervisor.
	PacketsSent uint64
	// PacketsReceived counts RTP packets from the supervisor (audio and DTMF).
	PacketsReceived uint64
	// Codec is the negotiated audio codec, "PCMU" or "PCMA".
	Codec string
}

// Session is one monitoring call between the demo PBX and the supervisor's softphone.
type Session struct {
	p      *PBX
	centre Centre
	req    demo.MonitorRequest
	label  string
	mode   atomic.Uint32

	mu        sync.Mutex
	timing    Timing
	endReason string
	digits    []rune

	dialog  *diago.DialogClientSession
	med     *diago.DialogMedia
	codec   string
	sendPT  uint8
	recvPT  uint8
	dtmfPT  uint8
	hasDTMF bool
	encode  func(dst []byte, src []int16)
	jb      *audio.JitterBuffer
	hear    *hearing

	sent, received atomic.Uint64

	digitCh chan rune
	byeCh   chan struct{} // closed when earlyBye took the supervisor's BYE
	forget  func()        // drops the session from PBX.dialing
	poke    chan struct{}
	quit    chan struct{}
	done    chan struct{}
	endOnce sync.Once
	wg      sync.WaitGroup
}

func newSession(p *PBX, c Centre, r demo.MonitorRequest, m Mode) *Session {
	s := &Session{
		p:       p,
		centre:  c,
		req:     r,
		label:   CallerName(r),
		hear:    newHearing(),
		poke:    make(chan struct{}, 1),
		digitCh: make(chan rune, 32),
		byeCh:   make(chan struct{}),
		forget:  func() {},
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	s.timing.Requested = time.Now()
	s.mode.Store(uint32(m))
	return s
}

// CallID is the simulated call the session is on.
func (s *Session) CallID() string { return s.req.Call.ID }

// Kind is the action that opened the session (listen, whisper, barge or steal).
func (s *Session) Kind() monitor.ActionKind { return s.req.Kind }

// Label is the caller name the supervisor's phone was shown.
func (s *Session) Label() string { return s.label }

// Mode is the session's current mode (it follows DTMF and the driver's mode switches).
func (s *Session) Mode() Mode { return Mode(s.mode.Load()) }

// Done is closed when the session has ended.
func (s *Session) Done() <-chan struct{} { return s.done }

// EndReason says why the session ended ("" while it runs).
func (s *Session) EndReason() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.endReason
}

// Timing returns when the session's steps happened.
func (s *Session) Timing() Timing {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.timing
}

// Digits returns the DTMF digits received from the supervisor, in order.
func (s *Session) Digits() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.digits)
}

// Stats returns the session's media counters.
func (s *Session) Stats() SessionStats {
	return SessionStats{PacketsSent: s.sent.Load(), PacketsReceived: s.received.Load(), Codec: s.codec}
}

// Heard returns the last d (at most 5 s) of what side heard, 8 kHz PCM, oldest first:
// SideSupervisor is what the PBX sent to the softphone; SideAgent and SideCustomer are
// what the agent and the customer of the simulated call hear (the other party's voice
// and, depending on the mode, the supervisor's audio; the agent hears nothing once the
// call is stolen).
func (s *Session) Heard(side Side, d time.Duration) []int16 { return s.hear.last(side, d) }

// connect rings the supervisor and, on answer, starts the session. giveUp ends ictx,
// and with it the INVITE, with a cause (the caller's context ended). Whatever happens,
// the outcome reaches the simulated call through the request's ticket before connect
// returns.
func (s *Session) connect(ictx context.Context, giveUp context.CancelCauseFunc, target sip.Uri) error {
	p := s.p
	t := s.req.Ticket
	defer giveUp(nil)
	stopOnClose := context.AfterFunc(p.ctx, func() { giveUp(errStopped) })
	defer stopOnClose()
	tctx, tcancel := context.WithTimeoutCause(ictx, p.ringTimeout(), errNoAnswer)
	defer tcancel()
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		s.watchRinging(tctx, stop, giveUp)
	}()

	from := &sip.FromHeader{
		DisplayName: s.label,
		Address:     sip.Uri{Scheme: "sip", User: callerUser(s.req), Host: p.host, Port: p.port},
		Params:      sip.NewParams(),
	}
	// The PBX picks the Call-ID, so it knows the supervisor's BYE even before diago does.
	callID := sip.CallIDHeader(sip.GenerateTagN(24) + "@" + p.host)
	s.forget = p.dial(string(callID), s)
	opts := diago.InviteOptions{
		Headers: []sip.Header{
			from,
			&callID,
			// Earshot asked for this call: the phone may answer it at once.
			sip.NewHeader("Call-Info", fmt.Sprintf("<sip:%s>;answer-after=0", p.Addr())),
		},
		OnResponse: func(res *sip.Response) error {
			if res.StatusCode == sip.StatusRinging || res.StatusCode == sip.StatusSessionInProgress {
				s.mu.Lock()
				if s.timing.Ringing.IsZero() {
					s.timing.Ringing = time.Now()
				}
				s.mu.Unlock()
			}
			return nil
		},
	}
	p.log.Info("demo PBX: ringing the supervisor", "call", s.CallID(), "action", s.req.Kind.String(), "to", target.String(), "caller", s.label)
	dialog, med, err := p.dg.Invite(tctx, target, opts)
	close(stop)
	<-watched
	if err != nil {
		s.forget()
		err = s.inviteError(tctx, target, err)
		t.Failed(err)
		p.log.Info("demo PBX: the supervisor was not connected", "call", s.CallID(), "action", s.req.Kind.String(), "error", err)
		return err
	}
	s.mu.Lock()
	s.timing.Answered = time.Now()
	s.dialog, s.med = dialog, med // from now on diago has the dialog: earlyBye leaves BYE to it
	s.mu.Unlock()
	if err := s.prepareMedia(); err != nil {
		s.forget()
		s.bye()
		err = fmt.Errorf("demo PBX: call %s: %w: %w", s.CallID(), err, monitor.ErrRejected)
		t.Failed(err)
		return err
	}
	// The driver applies the answer now (the marker, or the steal), before anything
	// can see the supervisor's call end: whenever the supervisor hangs up from here on,
	// the session's end undoes it.
	if err := t.Answered(); err != nil {
		s.forget()
		s.bye()
		p.log.Info("demo PBX: the supervisor answered too late", "call", s.CallID(), "action", s.req.Kind.String(), "error", err)
		return fmt.Errorf("demo PBX: call %s: the supervisor answered too late: %w", s.CallID(), err)
	}
	if !p.add(s) {
		s.forget()
		s.bye()
		t.Ended()
		return fmt.Errorf("demo PBX: stopped: %w", monitor.ErrUnreachable)
	}
	s.wg.Add(2)
	go s.sendLoop()
	go s.receiveLoop()
	go s.supervise()
	if p.begin() {
		go s.digitWorker()
	}
	p.log.Info("demo PBX: the supervisor answered", "call", s.CallID(), "action", s.req.Kind.String(), "codec", s.codec)
	return nil
}

// inviteError turns a failed INVITE into the hook's error.
func (s *Session) inviteError(tctx context.Context, target sip.Uri, err error) error {
	id := s.CallID()
	cause := context.Cause(tctx)
	switch {
	case errors.Is(cause, errCallEnded):
		return fmt.Errorf("demo PBX: call %s: %w: %w", id, errCallEnded, monitor.ErrCallGone)
	case errors.Is(cause, errWithdrawn):
		return fmt.Errorf("demo PBX: call %s: %w: %w", id, errWithdrawn, monitor.ErrNotApplicable)
	case errors.Is(cause, errStopped):
		return fmt.Errorf("demo PBX: call %s: %w: %w", id, errStopped, monitor.ErrUnreachable)
	case errors.Is(cause, errNoAnswer):
		return fmt.Errorf("demo PBX: call %s: %w within %s: %w", id, errNoAnswer, s.p.ringTimeout(), monitor.ErrUnreachable)
	case errors.Is(cause, errGivenUp):
		return fmt.Errorf("demo PBX: call %s: ring the supervisor: %w", id, cause)
	}
	var res *sip.Response
	var pe *sipgo.ErrDialogResponse
	var ve sipgo.ErrDialogResponse
	switch {
	case errors.As(err, &pe):
		res = pe.Res
	case errors.As(err, &ve):
		res = ve.Res
	}
	if res != nil {
		switch res.StatusCode {
		case sip.StatusBusyHere, sip.StatusGlobalBusyEverywhere, sip.StatusGlobalDecline:
			return fmt.Errorf("demo PBX: call %s: the supervisor declined the call (%d %s): %w", id, res.StatusCode, res.Reason, monitor.ErrRejected)
		}
		return fmt.Errorf("demo PBX: call %s: the softphone at %s answered %d %s: %w", id, target.String(), res.StatusCode, res.Reason, monitor.ErrUnreachable)
	}
	return fmt.Errorf("demo PBX: call %s: ring the supervisor at %s: %v: %w", id, target.String(), err, monitor.ErrUnreachable)
}

// watchRinging gives up the INVITE when the request no longer holds the simulated call
// (the call ended, or the request was withdrawn) while the supervisor's phone rings.
// Checking every Config.Poll is enough: if the phone answers in between, the ticket
// refuses the answer and the session hangs up.
func (s *Session) watchRinging(ctx context.Context, stop <-chan struct{}, cancel context.CancelCauseFunc) {
	t := time.NewTicker(s.p.poll())
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, live := s.req.Ticket.Live(); live {
			continue
		}
		if _, ok := s.centre.TruthCall(s.CallID()); !ok {
			cancel(errCallEnded)
		} else {
			cancel(errWithdrawn)
		}
		return
	}
}

// prepareMedia reads the negotiated codecs and sets up the receive path.
func (s *Session) prepareMedia() error {
	ms := s.med.MediaSession()
	if ms == nil || s.med.RTPPacketReader == nil || s.med.RTPPacketWriter == nil {
		return errors.New("the media session was not negotiated")
	}
	codec := media.CodecAudioFromSession(ms)
	staticPT := audio.PayloadPCMU
	switch strings.ToUpper(codec.Name) {
	case "PCMU":
		s.encode = audio.EncodeULaw
	case "PCMA":
		s.encode = audio.EncodeALaw
		staticPT = audio.PayloadPCMA
	default:
		return fmt.Errorf("the softphone chose %s, not G.711", codec.Name)
	}
	s.codec = strings.ToUpper(codec.Name)
	s.sendPT, s.recvPT = codec.PayloadType, codec.PayloadTypeRecv()
	for _, c := range ms.CommonCodecs() {
		if strings.EqualFold(c.Name, "telephone-event") && c.SampleRate == SampleRate {
			s.hasDTMF, s.dtmfPT = true, c.PayloadTypeRecv()
			break
		}
	}
	recvPT := s.recvPT
	s.jb = audio.NewJitterBuffer(audio.JitterConfig{
		ClockRate: SampleRate,
		Frame:     frameDur,
		Decode: func(pt uint8, payload []byte, out []int16) int {
			if pt != recvPT {
				return 0
			}
			return audio.DecodeG711(staticPT, payload, out)
		},
	})
	return nil
}

// startOffset picks where in the conversation the session starts: at the start of a
// turn (so the supervisor hears speech at once), the same one for a given call.
func (s *Session) startOffset() int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s.CallID()))
	return s.p.conv.StartOf(int(h.Sum32() % 1024))
}

// sendLoop mixes and sends one 20 ms frame at once, then one per tick: the voices
// the supervisor hears in the current mode. It records what every side hears.
func (s *Session) sendLoop() {
	defer s.wg.Done()
	conv := s.p.conv
	w := s.med.RTPPacketWriter
	agent := make([]int16, FrameSamples)
	cust := make([]int16, FrameSamples)
	sup := make([]int16, FrameSamples)
	toSup := make([]int16, FrameSamples)
	toAgent := make([]int16, FrameSamples)
	toCust := make([]int16, FrameSamples)
	payload := make([]byte, FrameSamples)
	pos := s.startOffset()
	tick := time.NewTicker(frameDur)
	defer tick.Stop()
	first := true
	for {
		for i := range FrameSamples {
			agent[i], cust[i] = conv.Agent[pos], conv.Customer[pos]
			pos++
			if pos == conv.Len() {
				pos = 0
			}
		}
		s.jb.Pull(sup)
		mixFrame(s.Mode(), agent, cust, sup, toSup, toAgent, toCust)
		s.hear.record(toSup, toAgent, toCust)
		s.encode(payload, toSup)
		if _, err := w.WriteSamples(payload, FrameSamples, first, s.sendPT); err != nil {
			if errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) {
				return
			}
			s.p.log.Debug("demo PBX: RTP write", "call", s.CallID(), "error", err)
		} else {
			if first {
				s.mu.Lock()
				s.timing.FirstAudio = time.Now()
				s.mu.Unlock()
			}
			first = false
			s.sent.Add(1)
		}
		select {
		case <-s.quit:
			return
		case <-tick.C:
		}
	}
}

// receiveLoop reads the supervisor's RTP: audio into the jitter buffer, RFC 4733
// events as DTMF digits.
func (s *Session) receiveLoop() {
	defer s.wg.Done()
	r := s.med.RTPPacketReader
	buf := make([]byte, media.RTPBufSize)
	var (
		pkt  rtp.Packet
		dtmf audio.DTMFReceiver
	)
	for {
		n, err := r.Read(buf)
		if err != nil {
			select {
			case <-s.quit:
				return
			default:
			}
			switch rtpsock.ClassifyRead(err) {
			case rtpsock.ReadClosed:
				return
			case rtpsock.ReadFailed:
				s.p.log.Debug("demo PBX: RTP read", "call", s.CallID(), "error", err)
			}
			continue
		}
		if n == 0 {
			continue
		}
		s.received.Add(1)
		pkt.Header = r.PacketHeader
		pkt.Payload = buf[:n]
		if s.hasDTMF && pkt.PayloadType == s.dtmfPT {
			if d := dtmf.Digit(&pkt); d != 0 {
				s.mu.Lock()
				s.digits = append(s.digits, d)
				s.mu.Unlock()
				select {
				case s.digitCh <- d:
				default:
					s.p.log.Info("demo PBX: DTMF digit dropped (too many at once)", "call", s.CallID(), "digit", string(d))
				}
			}
			continue
		}
		s.jb.Push(&pkt)
	}
}

// digitWorker acts on the supervisor's digits in order, away from the RTP reader (a
// mode switch goes through the demo driver, which may call back into the PBX).
func (s *Session) digitWorker() {
	defer s.p.wg.Done()
	for {
		select {
		case <-s.quit:
			return
		case d := <-s.digitCh:
			s.onDigit(d)
		}
	}
}

// onDigit switches the monitoring mode on 4, 5 and 6, as ChanSpy's option d does. The
// switch goes through the request's ticket, which refuses it once the session is over:
// a digit handled after the supervisor hung up never starts a new session.
func (s *Session) onDigit(d rune) {
	k, ok := actionOfDigit(d)
	if !ok || s.req.Kind == monitor.ActSteal {
		return
	}
	mode := monitor.MonitorListen
	switch k {
	case monitor.ActWhisper:
		mode = monitor.MonitorWhisper
	case monitor.ActBarge:
		mode = monitor.MonitorBarge
	}
	if err := s.req.Ticket.SwitchMode(mode); err != nil {
		s.p.log.Info("demo PBX: DTMF mode switch refused", "call", s.CallID(), "digit", string(d), "error", err)
		return
	}
	s.p.log.Info("demo PBX: mode switched by DTMF", "call", s.CallID(), "digit", string(d), "mode", k.String())
	select {
	case s.poke <- struct{}{}:
	default:
	}
}

// supervise follows the simulated call and the supervisor's call until one ends.
func (s *Session) supervise() {
	defer s.p.wg.Done()
	t := time.NewTicker(s.p.poll())
	defer t.Stop()
	dctx := s.dialog.Context()
	for {
		select {
		case <-s.quit:
			return
		case <-dctx.Done():
			s.end("the supervisor hung up", false)
			return
		case <-s.byeCh:
			s.end("the supervisor hung up", false)
			return
		case <-t.C:
		case <-s.poke:
		}
		if why := s.follow(); why != "" {
			s.end(why, true)
			return
		}
	}
}

// follow applies the simulated call's state to the session (the mode the driver shows,
// switched by DTMF or from the window) and says why the session must end, or "".
func (s *Session) follow() string {
	if m, live := s.req.Ticket.Live(); live {
		if mm := modeOfMonitor(m); mm != 0 {
			s.mode.Store(uint32(mm))
		}
		return ""
	}
	c, ok := s.centre.TruthCall(s.CallID())
	switch {
	case !ok:
		return "the call ended"
	case s.req.Kind == monitor.ActSteal:
		return "the call was transferred"
	case c.Stolen:
		return "the call was taken over"
	case c.Monitor == monitor.MonitorPending:
		return "replaced by another request"
	}
	return "the monitoring session was stopped"
}

// takeEarlyBye is earlyBye's question: true (and the session will end as a hang-up)
// if the INVITE has not returned the dialog yet, so diago cannot match the BYE.
func (s *Session) takeEarlyBye() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dialog != nil {
		return false
	}
	select {
	case <-s.byeCh:
	default:
		close(s.byeCh)
	}
	return true
}

// hangup ends the session from the PBX's side (BYE to the supervisor).
func (s *Session) hangup(reason string) { s.end(reason, true) }

// end ends the session once: it stops the media, hangs up the supervisor's call when
// bye is set, and brings the simulated call in line (see release).
func (s *Session) end(reason string, bye bool) {
	s.endOnce.Do(func() {
		s.mu.Lock()
		s.endReason = reason
		s.mu.Unlock()
		close(s.quit)
		if bye {
			s.bye()
		} else {
			_ = s.dialog.Close()
			_ = s.med.Close()
		}
		s.wg.Wait()
		s.forget()
		s.p.remove(s)
		s.release()
		s.mu.Lock()
		s.timing.Ended = time.Now()
		s.mu.Unlock()
		s.p.log.Info("demo PBX: session ended", "call", s.CallID(), "action", s.req.Kind.String(), "reason", reason)
		close(s.done)
	})
}

// bye hangs up the supervisor's call and releases its media.
func (s *Session) bye() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.dialog.Hangup(ctx); err != nil {
		s.p.log.Debug("demo PBX: BYE", "call", s.CallID(), "error", err)
	}
	_ = s.dialog.Close()
	_ = s.med.Close()
}

// release tells the simulated call that the supervisor's call is over (the supervisor
// hung up, or the PBX hung up): through the ticket, so it changes the call only if this
// session still holds it. A monitoring session still shown on the call stops and the
// call goes on; a call the supervisor stole ends, its only agent-side party gone. When
// the session ended because of the call (ended, transferred, stopped, or taken by a new
// request) it changes nothing.
func (s *Session) release() { s.req.Ticket.Ended() }
