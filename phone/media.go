package phone

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/pion/rtp"

	"github.com/earshot-app/earshot/audio"
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
}

// Media timing: G.711 at 8 kHz in 20 ms packets.
const (
	clockRate     = 8000
	frameDur      = 20 * time.Millisecond
	frameSamples  = clockRate * int(frameDur/time.Millisecond) / 1000
	maxCaptureLag = 3 // frames of microphone audio kept before the oldest is dropped
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
	// CaptureDropped counts microphone frames dropped because the device ran ahead
	// of the network clock.
	CaptureDropped uint64
}

// callMedia moves one call's audio: RTP in → jitter buffer → headset, and
// microphone → mute gate → G.711 → RTP out every 20 ms, with DTMF events on the
// same stream.
type callMedia struct {
	c  *Call
	dm *diago.DialogMedia

	codec   media.Codec // negotiated audio codec (send payload type)
	recvPT  uint8       // audio payload type we receive
	dtmf    media.Codec // negotiated telephone-event, if any
	hasDTMF bool
	dtmfRx  uint8
	encode  func(dst []byte, src []int16)

	jb     *audio.JitterBuffer
	stream *audio.CallStream

	muted atomic.Bool
	held  atomic.Bool

	capMu   sync.Mutex
	capFIFO [][]int16
	capFree [][]int16

	dtmfMu    sync.Mutex
	dtmfQueue []rune

	sent, dtmfSent, capDropped atomic.Uint64

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
	m := &callMedia{c: c, dm: dm, stopCh: make(chan struct{})}
	m.codec = media.CodecAudioFromSession(ms)
	m.recvPT = m.codec.PayloadTypeRecv()
	for _, cd := range ms.CommonCodecs() {
		if strings.EqualFold(cd.Name, "telephone-event") && cd.SampleRate == clockRate {
			m.dtmf, m.hasDTMF, m.dtmfRx = cd, true, cd.PayloadTypeRecv()
			break
		}
	}
	switch strings.ToLower(m.codec.Name) {
	case "pcmu":
		m.encode = audio.EncodeULaw
	case "pcma":
		m.encode = audio.EncodeALaw
	default:
		return nil, fmt.Errorf("negotiated codec %s is not G.711", m.codec.Name)
	}
	recvPT := m.recvPT
	m.jb = audio.NewJitterBuffer(audio.JitterConfig{
		ClockRate: clockRate,
		Frame:     frameDur,
		MaxDelay:  c.p.cfg.Media.JitterMaxDelay,
		// Only the negotiated audio payload type becomes sound: telephone-event
		// and comfort noise packets are counted but never reach the speaker.
		Decode: func(pt uint8, payload []byte, out []int16) int {
			if pt != recvPT {
				return 0
			}
			return audio.DecodeG711(codecStaticPT(m.codec.Name), payload, out)
		},
	})

	mc := c.p.cfg.Media
	if mc.Audio != nil {
		cs, err := mc.Audio.StartCall(audio.CallConfig{
			Output:        mc.Output,
			Input:         mc.Input,
			NetworkRate:   clockRate,
			Frame:         frameDur,
			PlaybackTap:   mc.PlaybackTap,
			CaptureSource: mc.CaptureSource,
			OnError:       m.deviceLost,
		}, m.jb.Pull, m.captured)
		if err != nil {
			m.setAudioErr(err, false)
			return m, fmt.Errorf("open the headset: %w", err)
		}
		m.stream = cs
	}
	return m, nil
}

// codecStaticPT maps the codec name to its static payload type, which is what
// audio.DecodeG711 switches on (a peer may use another number for the same codec).
func codecStaticPT(name string) uint8 {
	if strings.EqualFold(name, "pcma") {
		return audio.PayloadPCMA
	}
	return audio.PayloadPCMU
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
}

func (m *callMedia) start() {
	// The send loop keeps its own 20 ms clock and writes with WriteSamples; the
	// writer's own pacing ticker (used only by Write) would wake the process for
	// nothing 50 times a second.
	m.dm.RTPPacketWriter.ClockDisable()
	m.wg.Add(2)
	go m.receiveLoop()
	go m.sendLoop()
}

// stop ends the media goroutines and closes the headset stream. The RTP sockets
// belong to the dialog and close with it.
func (m *callMedia) stop() {
	m.stopOnce.Do(func() {
		close(m.stopCh)
		// Unblock the reader: the dialog closes the socket when it ends; if it has
		// not yet, an expired deadline does it.
		if ms := m.dm.MediaSession(); ms != nil {
			_ = ms.StopRTP(1, -time.Second)
		}
		m.wg.Wait()
		if m.stream != nil {
			m.stream.Close()
		}
	})
}

func (m *callMedia) setMuted(on bool) {
	m.muted.Store(on)
	if m.stream != nil {
		m.stream.SetMuted(on)
	}
}

func (m *callMedia) setHeld(on bool) { m.held.Store(on) }

// captured receives 20 ms microphone frames from the audio thread's delivery
// goroutine and queues them for the network clock.
func (m *callMedia) captured(in []int16) {
	m.capMu.Lock()
	defer m.capMu.Unlock()
	var f []int16
	if n := len(m.capFree); n > 0 {
		f = m.capFree[n-1][:0]
		m.capFree = m.capFree[:n-1]
	} else {
		f = make([]int16, 0, frameSamples)
	}
	f = append(f, in...)
	m.capFIFO = append(m.capFIFO, f)
	for len(m.capFIFO) > maxCaptureLag {
		m.capFree = append(m.capFree, m.capFIFO[0])
		m.capFIFO = m.capFIFO[1:]
		m.capDropped.Add(1)
	}
}

// nextCapture copies the oldest queued microphone frame into out, or silence.
func (m *callMedia) nextCapture(out []int16) {
	m.capMu.Lock()
	defer m.capMu.Unlock()
	if len(m.capFIFO) == 0 {
		clear(out)
		return
	}
	f := m.capFIFO[0]
	m.capFIFO = m.capFIFO[1:]
	n := copy(out, f)
	clear(out[n:])
	m.capFree = append(m.capFree, f)
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

func (m *callMedia) popDTMF() (rune, bool) {
	m.dtmfMu.Lock()
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
func dtmfDigit(code byte) rune {
	switch {
	case code <= 9:
		return rune('0' + code)
	case code == 10:
		return '*'
	case code == 11:
		return '#'
	case code >= 12 && code <= 15:
		return rune('A' + code - 12)
	}
	return 0
}

// sendLoop sends one packet every 20 ms for the whole call: microphone audio (or
// true silence when muted, held or without a microphone), or, while a digit is
// being sent, its RFC 4733 event packets. All packets go through the one RTP
// writer, so sequence numbers and timestamps stay one stream: each event keeps the
// timestamp of its start and the timestamp then jumps over the event's duration.
func (m *callMedia) sendLoop() {
	defer m.wg.Done()
	w := m.dm.RTPPacketWriter
	pcm := make([]int16, frameSamples)
	payload := make([]byte, frameSamples)
	ev := make([]byte, 4)
	tick := time.NewTicker(frameDur)
	defer tick.Stop()

	first := true
	var (
		digit    rune
		inDigit  bool
		evPacket int // packets of the current event sent
		gapLeft  int // audio packets still due before the next digit
	)
	for {
		select {
		case <-m.stopCh:
			return
		case <-tick.C:
		}
		if !inDigit && gapLeft == 0 {
			if d, ok := m.popDTMF(); ok {
				digit, inDigit, evPacket = d, true, 0
			}
		}
		var err error
		if inDigit {
			evPacket++
			end := evPacket > dtmfPackets
			dur := min(evPacket, dtmfPackets) * frameSamples
			ev[0] = dtmfEventCode(digit)
			ev[1] = dtmfVolume
			if end {
				ev[1] |= 0x80
			}
			ev[2], ev[3] = byte(dur>>8), byte(dur)
			_, err = w.WriteSamples(ev, 0, evPacket == 1, m.dtmf.PayloadType)
			if evPacket == dtmfPackets+dtmfEndRepeats {
				// Audio resumes at the time the event took on the wire.
				w.DelayTimestamp(uint32(evPacket * frameSamples))
				inDigit, gapLeft = false, dtmfGapPackets
				m.dtmfSent.Add(1)
			}
		} else {
			if gapLeft > 0 {
				gapLeft--
			}
			m.nextCapture(pcm)
			if m.muted.Load() || m.held.Load() {
				// Mute happens on PCM, before encoding: zeroed G.711 bytes are
				// not silence.
				clear(pcm)
			}
			m.encode(payload, pcm)
			_, err = w.WriteSamples(payload, uint32(frameSamples), first, m.codec.PayloadType)
			first = false
		}
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			m.c.p.log.Debug("RTP write", "call", m.c.id, "error", err)
			continue
		}
		m.sent.Add(1)
	}
}

// receiveLoop reads RTP until the call's socket closes and feeds the jitter
// buffer. telephone-event packets become DTMF events; the jitter buffer's decoder
// ignores every payload type but the audio one.
func (m *callMedia) receiveLoop() {
	defer m.wg.Done()
	r := m.dm.RTPPacketReader
	buf := make([]byte, media.RTPBufSize)
	var (
		pkt        rtp.Packet
		lastEvTS   uint32
		haveLastEv bool
	)
	for {
		n, err := r.Read(buf)
		if err != nil {
			select {
			case <-m.stopCh:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
				return
			}
			m.c.p.log.Debug("RTP read", "call", m.c.id, "error", err)
			continue
		}
		if n == 0 {
			// On hold (we are sendonly) or a keep-alive: nothing to play.
			continue
		}
		pkt.Header = r.PacketHeader
		pkt.Payload = buf[:n]
		if m.hasDTMF && pkt.PayloadType == m.dtmfRx && n >= 4 {
			if !haveLastEv || pkt.Timestamp != lastEvTS {
				haveLastEv, lastEvTS = true, pkt.Timestamp
				if d := dtmfDigit(buf[0]); d != 0 {
					m.c.p.events.publish(Event{Kind: EventDTMF, Call: m.c, CallInfo: m.c.Info(), Digit: d})
				}
			}
		}
		m.jb.Push(&pkt)
	}
}

func (m *callMedia) stats() MediaStats {
	s := MediaStats{
		Jitter:         m.jb.Stats(),
		PacketsSent:    m.sent.Load(),
		DTMFSent:       m.dtmfSent.Load(),
		CaptureDropped: m.capDropped.Load(),
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
