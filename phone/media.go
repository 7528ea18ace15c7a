package phone

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/earshot-app/earshot/audio"
	"github.com/earshot-app/earshot/internal/rtpsock"
)

// MediaConfig configures the audio of calls.
type MediaConfig struct {
	// Audio is the audio system. Nil means calls have no local audio: the phone
	// still sends RTP (silence) and receives it, but plays and captures nothing.
	Audio *audio.Context
	// Output and Input are the headset's devices (ID or name, "" = default).
	Output, Input string
	// Ring is the device the ringtone plays on (ID or name, "" = default).
	Ring string
	// NoRingtone silences the ringtone (the UI still shows the call).
	NoRingtone bool
	// PlaybackTap, if set, sees the PCM sent to the headset (tests, meters).
	PlaybackTap func(pcm []int16, rate int)
	// CaptureSource, if set, replaces the microphone (tests).
	CaptureSource func(out []int16)
	// JitterMaxDelay bounds the jitter buffer (audio's default if zero).
	JitterMaxDelay time.Duration

	// readRTPGoroutine makes every call read RTP on a goroutine of its own, as
	// on systems where the socket cannot be watched (tests of that path).
	readRTPGoroutine bool
}

// Media timing: G.711 at 8 kHz in 20 ms packets.
const (
	clockRate    = 8000
	frameDur     = 20 * time.Millisecond
	frameSamples = clockRate * int(frameDur/time.Millisecond) / 1000
)

// The headset's capture clock paces sending. The watchdog looks at it every
// deviceWatch; when no microphone frame came in that time (the device has not
// started, stalled or was lost) a 20 ms ticker sends instead, and hands back once
// the device has delivered a frame at each of deviceSteady ticks in a row.
const (
	deviceWatch  = 200 * time.Millisecond
	deviceSteady = 5
)

// Reading RTP without a goroutine: at most drainMax datagrams per look at the
// socket; diago's read of a datagram seen waiting returns at once, and in case it
// ever does not, a read deadline readGuard ahead (pushed on every readGuard/4)
// bounds the wait and the call falls back to a receive goroutine.
const (
	drainMax  = 32
	readGuard = time.Second
)

// RFC 4733 sending: each digit lasts dtmfPackets packets, its end packet is sent
// three times, then dtmfGapPackets packets of audio separate it from the next.
const (
	dtmfPackets    = 8
	dtmfEndRepeats = 3
	dtmfGapPackets = 5
	dtmfVolume     = 10
)

// MediaStats are the counters of a call's media.
type MediaStats struct {
	// Jitter is the receive side: packets, loss, concealment, depth.
	Jitter audio.JitterStats
	// Device is the headset stream's counters (zero without audio).
	Device audio.CallStats
	// PacketsSent counts RTP packets sent (audio and DTMF).
	PacketsSent uint64
	// DTMFSent counts digits fully sent.
	DTMFSent uint64
	// CaptureDropped counts microphone frames that were not sent: captured while
	// the fallback ticker was sending (the headset had stalled and was coming back)
	// or while a packet was being sent by it.
	CaptureDropped uint64
	// RTPPolled is true while received RTP is read by the clock that plays it
	// (the headset's audio thread, or the fallback ticker) and false while a
	// goroutine of its own reads it (DTLS-SRTP, systems where the socket cannot
	// be watched, or after a fallback).
	RTPPolled bool
	// Discarded counts datagrams taken off the RTP socket unread because they
	// were not RTP of the call (a wrong version, an empty payload, a payload
	// type that was not negotiated).
	Discarded uint64
}

// Received payload types: what each one decodes as.
const (
	ptIgnore = iota // not audio (telephone-event, comfort noise, unknown)
	ptULaw
	ptALaw
)

// callMedia moves one call's audio: RTP in → jitter buffer → headset, and
// microphone → mute gate → G.711 → RTP out, with DTMF events on the same stream.
//
// There is one clock: each 20 ms microphone frame the headset delivers is encoded
// and sent at once, on the audio thread (no goroutine hand-off, no ticker of its
// own), and before each pull from the jitter buffer the audio thread reads the RTP
// datagrams waiting on the socket (no receive goroutine woken per packet; see
// drain). Without a headset, or while it delivers nothing, a 20 ms ticker sends
// silence and reads the socket instead (and, without a headset at all, plays the
// jitter buffer out to nowhere).
type callMedia struct {
	c  *Call
	dm *diago.DialogMedia

	codec   media.Codec // negotiated audio codec (send payload type)
	dtmf    media.Codec // negotiated telephone-event, if any
	hasDTMF bool
	encode  func(dst []byte, src []int16)
	// What each received payload type decodes as (ptIgnore, ptULaw, ptALaw).
	// Written by learnCodecs on the thread that reads RTP, read by decode on it.
	recvPT [128]uint8

	jb     *audio.JitterBuffer
	stream *audio.CallStream

	muted atomic.Bool
	held  atomic.Bool

	// deviceClock is true while the headset's frames drive sending; the watchdog
	// (clockLoop) sets it. devFrames counts the frames the headset delivered.
	deviceClock atomic.Bool
	devFrames   atomic.Uint64
	clockKick   chan struct{} // the headset was lost: take over at once

	// tx is held by whichever clock is sending a packet. The audio thread only
	// tries it, so it never waits for the ticker.
	tx sync.Mutex
	// Send state, under tx.
	silence  []int16
	payload  []byte
	ev       []byte
	first    bool
	digit    rune
	inDigit  bool
	evPacket int       // packets of the current event sent
	gapLeft  int       // audio packets still due before the next digit
	lastSend time.Time // when the latest packet went out

	dtmfMu    sync.Mutex
	dtmfQueue []rune

	sent, dtmfSent, capDropped atomic.Uint64

	// Receiving. With rx (diago's RTP socket, watched through rtpsock) the clock
	// that plays the jitter buffer out also reads it: the audio thread before each
	// pull, the fallback ticker while it sends. Otherwise (polling false) the
	// receive goroutine blocks in diago's read.
	ms        *media.MediaSession // the session at answer time (re-INVITEs keep its socket)
	rx        *rtpsock.Socket     // under rxMu
	polling   atomic.Bool
	rxMu      sync.Mutex // held while reading; the audio thread only tries it
	rxEnded   bool       // diago's socket is closed; under rxMu
	rxArmed   time.Time  // when the read deadline was last pushed ahead; under rxMu
	rxBuf     []byte     // under rxMu, or the receive goroutine's
	peekBuf   []byte     // under rxMu
	rxPkt     rtp.Packet // under rxMu, or the receive goroutine's
	rxHdr     rtp.Header // under rxMu
	rxDTMF    audio.DTMFReceiver
	rxReader  media.RTPReader // the session the receive tables below were learnt from
	rxPT      [128]bool       // payload types diago's read returns (the negotiated ones)
	rxDTMFPT  int             // telephone-event's received payload type, -1 if none
	srtpTag   int             // SRTP authentication tag bytes after the payload (SDES in use)
	discarded atomic.Uint64
	fallback  chan error // polling stopped: clockLoop starts the receive goroutine
	digits    chan rune  // received DTMF digits, published by clockLoop

	// RTP read and write errors: counted where they happen (the audio thread must
	// not log) and logged by clockLoop.
	sendErrs, readErrs errorCount

	audioErr atomic.Pointer[error]

	stopOnce sync.Once
	stopCh   chan struct{}
	wg       sync.WaitGroup
}

// newCallMedia builds the media of an answered call. When the headset cannot be
// opened it still returns the media (RTP keeps flowing, the call stays up) together
// with the error.
func newCallMedia(c *Call, dm *diago.DialogMedia) (*callMedia, error) {
	if dm == nil {
		return nil, errors.New("no media session")
	}
	ms := dm.MediaSession()
	if ms == nil || dm.RTPPacketReader == nil || dm.RTPPacketWriter == nil {
		return nil, errors.New("the media session is not negotiated")
	}
	m := &callMedia{
		c: c, dm: dm,
		ms:        ms,
		stopCh:    make(chan struct{}),
		clockKick: make(chan struct{}, 1),
		fallback:  make(chan error, 1),
		digits:    make(chan rune, 16),
		rxBuf:     make([]byte, media.RTPBufSize),
		silence:   make([]int16, frameSamples),
		payload:   make([]byte, frameSamples),
		ev:        make([]byte, 4),
		first:     true,
	}
	m.codec = media.CodecAudioFromSession(ms)
	for _, cd := range ms.CommonCodecs() {
		if strings.EqualFold(cd.Name, "telephone-event") && cd.SampleRate == clockRate {
			m.dtmf, m.hasDTMF = cd, true
			break
		}
	}
	m.learnCodecs(ms)
	m.rxReader = dm.RTPPacketReader.Reader()
	switch strings.ToLower(m.codec.Name) {
	case "pcmu":
		m.encode = audio.EncodeULaw
	case "pcma":
		m.encode = audio.EncodeALaw
	default:
		return nil, fmt.Errorf("negotiated codec %s is not G.711", m.codec.Name)
	}
	m.jb = audio.NewJitterBuffer(audio.JitterConfig{
		ClockRate: clockRate,
		Frame:     frameDur,
		MaxDelay:  c.p.cfg.Media.JitterMaxDelay,
		// Each packet is decoded by its own payload type; telephone-event,
		// comfort noise and anything not negotiated as G.711 are counted but
		// never reach the speaker.
		Decode: m.decode,
	})

	mc := c.p.cfg.Media
	m.watchSocket(mc.readRTPGoroutine)
	if mc.Audio != nil {
		cs, err := mc.Audio.StartCall(audio.CallConfig{
			Output:        mc.Output,
			Input:         mc.Input,
			NetworkRate:   clockRate,
			Frame:         frameDur,
			PlaybackTap:   mc.PlaybackTap,
			CaptureSource: mc.CaptureSource,
			OnError:       m.deviceLost,
		}, m.playout, m.captured)
		if err != nil {
			m.setAudioErr(err, false)
			return m, fmt.Errorf("open the headset: %w", err)
		}
		m.stream = cs
	}
	return m, nil
}

// learnCodecs sets what each received payload type is from session ms's
// negotiated codecs: at the start, and again on the thread that reads RTP
// whenever a re-INVITE replaced the session (the PBX may change payload types).
func (m *callMedia) learnCodecs(ms *media.MediaSession) {
	m.rxPT = [128]bool{}
	m.recvPT = [128]uint8{}
	m.rxDTMFPT = -1
	for _, cd := range ms.CommonCodecs() {
		pt := cd.PayloadTypeRecv()
		if pt >= 128 {
			continue
		}
		m.rxPT[pt] = true
		if cd.SampleRate != clockRate {
			continue
		}
		// Every negotiated G.711 payload type is audio: the PBX may switch
		// between them mid-call (RFC 3264 allows any codec of the answer).
		switch {
		case strings.EqualFold(cd.Name, "pcmu"):
			m.recvPT[pt] = ptULaw
		case strings.EqualFold(cd.Name, "pcma"):
			m.recvPT[pt] = ptALaw
		case strings.EqualFold(cd.Name, "telephone-event") && m.rxDTMFPT < 0:
			m.rxDTMFPT = int(pt)
		}
	}
}

// followSession learns the receive tables again if diago's reader moved to
// another session (a re-INVITE), and returns the reader.
func (m *callMedia) followSession() media.RTPReader {
	reader := m.dm.RTPPacketReader.Reader()
	if reader != m.rxReader {
		if rs, ok := reader.(*media.RTPSession); ok && rs.Sess != nil {
			m.learnCodecs(rs.Sess)
		}
		m.rxReader = reader
	}
	return reader
}

// decode turns one received payload into PCM by the packet's own payload type.
func (m *callMedia) decode(pt uint8, payload []byte, out []int16) int {
	if pt >= 128 {
		return 0
	}
	n := min(len(payload), len(out))
	switch m.recvPT[pt] {
	case ptULaw:
		audio.DecodeULaw(out[:n], payload[:n])
	case ptALaw:
		audio.DecodeALaw(out[:n], payload[:n])
	default:
		return 0
	}
	return n
}

func (m *callMedia) codecName() string { return strings.ToUpper(m.codec.Name) }

// setAudioErr records a headset problem; the call's next state event (or, for a
// device lost mid-call, an event now) carries it.
func (m *callMedia) setAudioErr(err error, publish bool) {
	m.audioErr.Store(&err)
	m.c.update(func(ci *CallInfo) { ci.AudioError = err.Error() })
	if publish {
		m.c.publishInfo()
	}
}

func (m *callMedia) deviceLost(err error) {
	m.c.p.log.Error("the headset stopped; the call stays up", "call", m.c.id, "error", err)
	m.setAudioErr(err, true)
	select {
	case m.clockKick <- struct{}{}:
	default:
	}
}

func (m *callMedia) start() {
	// With a headset its frames send from the first one on; the watchdog takes
	// over if they do not come.
	m.deviceClock.Store(m.stream != nil)
	if !m.polling.Load() {
		m.wg.Add(1)
		go m.receiveLoop()
	}
	m.wg.Add(1)
	go m.clockLoop()
}

// stop ends the media goroutines and closes the headset stream. The RTP sockets
// belong to the dialog and close with it.
func (m *callMedia) stop() {
	m.stopOnce.Do(func() {
		m.deviceClock.Store(false)
		close(m.stopCh)
		// Stop reading first: no more reads start, and an expired deadline
		// ends any read under way (the audio thread's, or the receive
		// goroutine's; the dialog also closes the socket when it ends). Again
		// under rxMu, once the reader is out: a receive goroutine started by a
		// fallback meanwhile (it clears the deadline) is unblocked too.
		m.polling.Store(false)
		_ = m.ms.StopRTP(1, -time.Second)
		m.rxMu.Lock()
		_ = m.ms.StopRTP(1, -time.Second)
		m.rxMu.Unlock()
		if m.stream != nil {
			// Returns once the audio thread is out of its callback: nothing
			// is sent from it afterwards.
			m.stream.Close()
		}
		m.wg.Wait()
		m.rxMu.Lock()
		if m.rx != nil {
			m.rx.Close()
			m.rx = nil
		}
		m.rxMu.Unlock()
	})
}

func (m *callMedia) setMuted(on bool) {
	m.muted.Store(on)
	if m.stream != nil {
		m.stream.SetMuted(on)
	}
}

func (m *callMedia) setHeld(on bool) { m.held.Store(on) }

// captured runs on the audio thread with each 20 ms microphone frame the headset
// delivers and sends it at once: the device's capture clock is the call's send
// clock. It never blocks (it only tries the send lock; the ticker holds it only
// while it has taken over) and allocates nothing.
func (m *callMedia) captured(in []int16) {
	m.devFrames.Add(1)
	if !m.deviceClock.Load() || !m.tx.TryLock() {
		m.capDropped.Add(1)
		return
	}
	defer m.tx.Unlock()
	if !m.deviceClock.Load() {
		m.capDropped.Add(1)
		return
	}
	m.sendFrame(in)
}

// clockLoop watches the headset's clock and, while it delivers no frames (no
// headset, not started yet, stalled or lost), sends a packet every 20 ms itself
// and reads the RTP socket. Without a headset stream it also plays the jitter
// buffer out, 20 ms per tick, so that its delay and counters behave as with one.
// It publishes the DTMF digits received, and starts the receive goroutine when
// reading without one has to stop.
func (m *callMedia) clockLoop() {
	defer m.wg.Done()
	ticking := !m.deviceClock.Load()
	period := deviceWatch
	if ticking {
		period = frameDur
	}
	tick := time.NewTicker(period)
	defer tick.Stop()
	pull := make([]int16, frameSamples)
	lastFrames := m.devFrames.Load()
	// While ticking: the headset's frame count at each of the last ticks.
	var recent [deviceSteady]uint64
	ticks := 0
	for {
		select {
		case <-m.stopCh:
			return
		case d := <-m.digits:
			m.c.p.events.publish(Event{Kind: EventDTMF, Call: m.c, CallInfo: m.c.Info(), Digit: d})
			continue
		case why := <-m.fallback:
			m.startReceiveGoroutine(why)
			continue
		case <-m.clockKick:
		case <-tick.C:
		}
		m.sendErrs.log(m, "RTP write failed")
		m.readErrs.log(m, "RTP read failed")
		n := m.devFrames.Load()
		fresh := n != lastFrames
		lastFrames = n
		devLost := m.stream == nil || m.stream.Err() != nil
		if !ticking {
			if fresh && !devLost {
				continue // the headset sends
			}
			// The headset delivered nothing for a while: send from here. The
			// timestamps skip the time nothing was sent, so that they keep
			// telling the far end when the audio is for.
			m.tx.Lock()
			m.deviceClock.Store(false)
			if !m.lastSend.IsZero() {
				if missed := int(time.Since(m.lastSend)/frameDur) - 1; missed > 0 {
					m.dm.RTPPacketWriter.DelayTimestamp(uint32(missed * frameSamples))
					m.first = true // a new talkspurt: marker bit
				}
			}
			m.tx.Unlock()
			ticking, ticks = true, 0
			tick.Reset(frameDur)
			if m.stream != nil {
				m.c.p.log.Info("the headset delivers no audio; RTP paced by a timer", "call", m.c.id)
			}
		}
		oldest := recent[ticks%deviceSteady]
		recent[ticks%deviceSteady] = n
		ticks++
		if !devLost && ticks > deviceSteady && n-oldest >= deviceSteady-1 {
			// The headset is back (a frame per tick, give or take one): its
			// frames send again.
			m.tx.Lock()
			m.deviceClock.Store(true)
			m.tx.Unlock()
			ticking = false
			tick.Reset(deviceWatch)
			m.c.p.log.Info("the headset delivers audio again; RTP paced by it", "call", m.c.id)
			continue
		}
		// The headset does not read the socket now: read it here.
		m.drain()
		if devLost {
			// Nothing plays the buffer out: do it here, as a headset would.
			m.jb.Pull(pull)
		}
		m.tx.Lock()
		m.sendFrame(nil)
		m.tx.Unlock()
	}
}

func (m *callMedia) queueDTMF(digits string) error {
	if !m.hasDTMF {
		return errors.New("send DTMF: the far end did not accept telephone-event (RFC 4733)")
	}
	m.dtmfMu.Lock()
	m.dtmfQueue = append(m.dtmfQueue, []rune(digits)...)
	m.dtmfMu.Unlock()
	return nil
}

// popDTMF takes the next queued digit. It only tries the queue's lock (it runs on
// the audio thread): if SendDTMF holds it at that instant the digit goes 20 ms
// later.
func (m *callMedia) popDTMF() (rune, bool) {
	if !m.dtmfMu.TryLock() {
		return 0, false
	}
	defer m.dtmfMu.Unlock()
	if len(m.dtmfQueue) == 0 {
		return 0, false
	}
	d := m.dtmfQueue[0]
	m.dtmfQueue = m.dtmfQueue[1:]
	return d, true
}

// dtmfEventCode maps a digit to its RFC 4733 event code.
func dtmfEventCode(d rune) byte {
	switch {
	case d >= '0' && d <= '9':
		return byte(d - '0')
	case d == '*':
		return 10
	case d == '#':
		return 11
	case d >= 'A' && d <= 'D':
		return byte(12 + d - 'A')
	}
	return 0
}

// dtmfDigit maps an RFC 4733 event code back to its digit (0 if not a digit).

// sendFrame sends the packet of one 20 ms frame, with m.tx held: pcm (nil for
// silence; true silence when muted or held), or, while a digit is being sent, its
// RFC 4733 event packet instead. All packets go through the one RTP writer, so
// sequence numbers and timestamps stay one stream: each event keeps the timestamp
// of its start and the timestamp then jumps over the event's duration.
func (m *callMedia) sendFrame(pcm []int16) {
	w := m.dm.RTPPacketWriter
	if !m.inDigit && m.gapLeft == 0 {
		if d, ok := m.popDTMF(); ok {
			m.digit, m.inDigit, m.evPacket = d, true, 0
		}
	}
	var err error
	if m.inDigit {
		m.evPacket++
		end := m.evPacket > dtmfPackets
		dur := min(m.evPacket, dtmfPackets) * frameSamples
		m.ev[0] = dtmfEventCode(m.digit)
		m.ev[1] = dtmfVolume
		if end {
			m.ev[1] |= 0x80
		}
		m.ev[2], m.ev[3] = byte(dur>>8), byte(dur)
		_, err = w.WriteSamples(m.ev, 0, m.evPacket == 1, m.dtmf.PayloadType)
		if m.evPacket == dtmfPackets+dtmfEndRepeats {
			// Audio resumes at the time the event took on the wire.
			w.DelayTimestamp(uint32(m.evPacket * frameSamples))
			m.inDigit, m.gapLeft = false, dtmfGapPackets
			m.dtmfSent.Add(1)
		}
	} else {
		if m.gapLeft > 0 {
			m.gapLeft--
		}
		if pcm == nil || len(pcm) < frameSamples || m.muted.Load() || m.held.Load() {
			// Mute happens on PCM, before encoding: zeroed G.711 bytes are
			// not silence.
			pcm = m.silence
		}
		m.encode(m.payload, pcm[:frameSamples])
		_, err = w.WriteSamples(m.payload, uint32(frameSamples), m.first, m.codec.PayloadType)
		m.first = false
	}
	if err != nil {
		if !errors.Is(err, net.ErrClosed) {
			m.sendErrs.add(err)
		}
		return
	}
	m.lastSend = time.Now()
	m.sent.Add(1)
}

// errorCount counts errors where they happen (possibly on the audio thread,
// which must not log) and keeps the first, for clockLoop to log.
type errorCount struct {
	n      atomic.Uint64
	first  atomic.Pointer[error]
	logged uint64 // the count at the last log (clockLoop only)
}

func (e *errorCount) add(err error) {
	if e.n.Add(1) == 1 {
		first := err // only this copy escapes, not err itself
		e.first.Store(&first)
	}
}

// log logs the errors counted since its last call, if any.
func (e *errorCount) log(m *callMedia, msg string) {
	n := e.n.Load()
	if n == e.logged {
		return
	}
	var first error
	if p := e.first.Load(); p != nil {
		first = *p
	}
	m.c.p.log.Debug(msg, "call", m.c.id, "times", n-e.logged, "first error", first)
	e.logged = n
}

// watchSocket sets up reading RTP without a goroutine: it finds diago's RTP
// socket so that the clocks can look at it before they read. It leaves polling
// off (the receive goroutine reads) with DTLS-SRTP, whose library reads the same
// socket on a goroutine of its own, with diago's source lock (it drops datagrams
// this side cannot predict), on systems rtpsock does not support, and when
// goroutine is set.
func (m *callMedia) watchSocket(goroutine bool) {
	ms := m.ms
	why := ""
	switch {
	case goroutine:
		why = "configured"
	case ms.SecureRTP == 2:
		why = "DTLS-SRTP reads the socket too"
	case media.RTPSourceLock:
		why = "diago's RTP source lock is on"
	}
	if why == "" {
		rx, err := rtpsock.Find(&ms.Laddr)
		if err == nil {
			m.rx = rx
			m.peekBuf = make([]byte, media.RTPBufSize)
			if ms.SecureRTP == 1 && strings.Contains(audioProfile(m.c.remoteSDP()), "SAVP") {
				// SDES is on and this call uses it (an SDES account also takes
				// plain RTP calls).
				tag, err := srtp.ProtectionProfile(ms.SRTPAlg).AuthTagRTPLen()
				if err == nil {
					m.srtpTag = tag
				}
			}
			m.polling.Store(true)
			return
		}
		why = err.Error()
	}
	m.c.p.log.Debug("RTP is read on a goroutine of its own", "call", m.c.id, "why", why)
}

// playout is the headset's playback function, on the audio thread: it reads
// what waits on the RTP socket, then plays the jitter buffer out.
func (m *callMedia) playout(out []int16) int {
	m.drain()
	return m.jb.Pull(out)
}

// drain reads every datagram waiting on the RTP socket into the jitter buffer
// and returns once none is left: it never waits for one. It runs on the clock
// that plays the buffer out (the audio thread before each pull, the fallback
// ticker while it sends) and never waits for the other either. A datagram diago's
// read would drop and then wait for another is taken off the socket here instead.
//
// It reads with the session's ReadRTP (what diago's RTPPacketReader.Read wraps),
// which neither logs per packet nor re-reads after an error.
func (m *callMedia) drain() {
	if !m.polling.Load() || !m.rxMu.TryLock() {
		return
	}
	defer m.rxMu.Unlock()
	if !m.polling.Load() || m.rxEnded {
		return
	}
	m.armReadGuard()
	retried := false
	for range drainMax {
		n, age, err := m.rx.Peek(m.peekBuf)
		if errors.Is(err, rtpsock.ErrEmpty) {
			return
		}
		if err != nil {
			m.stopPolling(err)
			return
		}
		reader := m.followSession()
		if !m.diagoReturns(m.peekBuf[:n]) {
			m.discarded.Add(1)
			if err := m.rx.Discard(); err != nil && !errors.Is(err, rtpsock.ErrEmpty) {
				m.stopPolling(err)
				return
			}
			continue
		}
		began := time.Now()
		k, err := reader.ReadRTP(m.rxBuf, &m.rxPkt)
		if err != nil {
			switch rtpsock.ClassifyRead(err) {
			case rtpsock.ReadClosed:
				m.rxEnded = true
				return
			case rtpsock.ReadTimedOut:
				if !retried && time.Since(began) < readGuard/2 {
					// A deadline set by someone else (diago interrupts a
					// read so when a re-INVITE swaps sessions): the datagram
					// is still there. Push the guard on and read again.
					retried = true
					m.rxArmed = time.Time{}
					m.armReadGuard()
					continue
				}
				m.stopPolling(fmt.Errorf("diago's read waited for another datagram until the guard deadline: %w", err))
				return
			}
			m.readErrs.add(err)
			m.rxArmed = time.Time{} // whatever went wrong, re-arm the guard next time
			continue
		}
		if k == 0 || len(m.rxPkt.Payload) == 0 {
			continue // on hold (we are sendonly) or a keep-alive: nothing to play
		}
		m.received(&m.rxPkt, age)
	}
}

// armReadGuard keeps a read deadline readGuard ahead on diago's socket, pushed
// on before it can expire while datagrams are read. Called with rxMu held.
func (m *callMedia) armReadGuard() {
	now := time.Now()
	if now.Sub(m.rxArmed) < readGuard/4 {
		return
	}
	m.rxArmed = now
	_ = m.ms.StopRTP(1, readGuard)
}

// stopPolling hands reading over to the receive goroutine, which clockLoop
// starts. Called with rxMu held (possibly on the audio thread).
func (m *callMedia) stopPolling(why error) {
	m.polling.Store(false)
	select {
	case m.fallback <- why:
	default:
	}
}

// startReceiveGoroutine takes over reading after polling stopped (clockLoop).
func (m *callMedia) startReceiveGoroutine(why error) {
	m.rxMu.Lock()
	defer m.rxMu.Unlock()
	select {
	case <-m.stopCh:
		return // the call's media is stopping: nothing more to read
	default:
	}
	if m.rx != nil {
		m.rx.Close()
		m.rx = nil
	}
	if m.rxEnded {
		return
	}
	m.c.p.log.Warn("reading RTP on a goroutine from now on", "call", m.c.id, "why", why)
	_ = m.ms.StartRTP(1) // no read deadline: the goroutine blocks until a datagram
	m.wg.Add(1)
	go m.receiveLoop()
}

// diagoReturns reports whether diago's read returns for datagram b rather than
// dropping it and reading again, which would wait for the next datagram. As
// diago v0.42.1's RTPSession.ReadRTP, it drops an RTP version of 0, an empty
// payload and a payload type that was not negotiated. A datagram diago cannot
// parse or decrypt makes its read return an error: that returns too.
func (m *callMedia) diagoReturns(b []byte) bool {
	hn, err := m.rxHdr.Unmarshal(b)
	if err != nil {
		return true
	}
	payload := len(b) - hn
	if m.srtpTag > 0 {
		// The tag follows the payload. The padding's length is encrypted:
		// a padded packet is sure to keep a payload only beyond 255 bytes.
		payload -= m.srtpTag
		if m.rxHdr.Padding {
			payload -= 255
		}
	} else if m.rxHdr.Padding {
		pad := int(b[len(b)-1])
		if payload == 0 || pad == 0 || pad > payload {
			return true // diago (pion) fails to parse it
		}
		payload -= pad
	}
	if m.rxHdr.Version == 0 || !m.rxPT[m.rxHdr.PayloadType] {
		return false
	}
	return payload > 0
}

// received hands one packet to DTMF detection and the jitter buffer; age is how
// long ago the kernel received it.
func (m *callMedia) received(pkt *rtp.Packet, age time.Duration) {
	if int(pkt.PayloadType) == m.rxDTMFPT {
		if d := m.rxDTMF.Digit(pkt); d != 0 {
			select {
			case m.digits <- d:
			default: // sixteen digits unpublished: the UI is not keeping up
			}
		}
	}
	m.jb.PushAged(pkt, age)
}

// receiveLoop reads RTP until the call's socket closes, blocked in diago's read,
// when the socket cannot be watched (see watchSocket).
func (m *callMedia) receiveLoop() {
	defer m.wg.Done()
	r := m.dm.RTPPacketReader
	buf := make([]byte, media.RTPBufSize)
	var pkt rtp.Packet
	for {
		n, err := r.Read(buf)
		m.followSession()
		if err != nil {
			select {
			case <-m.stopCh:
				return
			default:
			}
			switch rtpsock.ClassifyRead(err) {
			case rtpsock.ReadClosed:
				return
			case rtpsock.ReadFailed:
				m.readErrs.add(err)
			}
			continue
		}
		if n == 0 {
			// On hold (we are sendonly) or a keep-alive: nothing to play.
			continue
		}
		pkt.Header = r.PacketHeader
		pkt.Payload = buf[:n]
		m.received(&pkt, 0)
	}
}

func (m *callMedia) stats() MediaStats {
	s := MediaStats{
		Jitter:         m.jb.Stats(),
		PacketsSent:    m.sent.Load(),
		DTMFSent:       m.dtmfSent.Load(),
		CaptureDropped: m.capDropped.Load(),
		RTPPolled:      m.polling.Load(),
		Discarded:      m.discarded.Load(),
	}
	if m.stream != nil {
		s.Device = m.stream.Stats()
	}
	return s
}

// MediaStats returns the call's media counters (zero before the call is up).
func (c *Call) MediaStats() MediaStats {
	c.mu.Lock()
	m := c.media
	c.mu.Unlock()
	if m == nil {
		return MediaStats{}
	}
	return m.stats()
}

// AudioError is the headset problem of the call, nil if its audio works. The call
// stays up without audio.
func (c *Call) AudioError() error {
	c.mu.Lock()
	m := c.media
	c.mu.Unlock()
	if m == nil {
		return nil
	}
	if p := m.audioErr.Load(); p != nil {
		return *p
	}
	return nil
}

// SetVolume sets the headset volume of the call: 0 silent, 1 unchanged, up to 4.
func (c *Call) SetVolume(v float64) {
	c.mu.Lock()
	m := c.media
	c.mu.Unlock()
	if m != nil && m.stream != nil {
		m.stream.SetVolume(v)
	}
}

// Volume is the headset volume of the call (1 when there is no headset stream).
func (c *Call) Volume() float64 {
	c.mu.Lock()
	m := c.media
	c.mu.Unlock()
	if m != nil && m.stream != nil {
		return m.stream.Volume()
	}
	return 1
}

// InputLevel is the microphone level in dBFS (audio.MinLevel when silent, muted or
// without a headset).
func (c *Call) InputLevel() float64 {
	c.mu.Lock()
	m := c.media
	c.mu.Unlock()
	if m != nil && m.stream != nil {
		return m.stream.InputLevel()
	}
	return audio.MinLevel
}

// OutputLevel is the level played to the headset in dBFS.
func (c *Call) OutputLevel() float64 {
	c.mu.Lock()
	m := c.media
	c.mu.Unlock()
	if m != nil && m.stream != nil {
		return m.stream.OutputLevel()
	}
	return audio.MinLevel
}

// startRingtone rings on the ring device; the returned function stops it.
func (p *Phone) startRingtone() func() {
	mc := p.cfg.Media
	if mc.Audio == nil || mc.NoRingtone {
		return nil
	}
	stop, err := mc.Audio.PlayRingtone(mc.Ring)
	if err != nil {
		p.log.Error("cannot play the ringtone", "device", mc.Ring, "error", err)
		return nil
	}
	return stop
}
