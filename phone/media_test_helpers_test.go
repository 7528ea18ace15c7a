package phone

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/pion/rtp"

	"github.com/earshot-app/earshot/audio"
)

// pcapRTP describes the RTP stream written to a pcap for sipp's play_pcap_audio.
type pcapRTP struct {
	// Segments are played in order; each is audio (a tone or silence) or one
	// telephone-event.
	Segments []pcapSegment
	SSRC     uint32
	// PCMA sends A-law (payload type 8) instead of µ-law (0).
	PCMA bool
}

type pcapSegment struct {
	Dur   time.Duration
	Freq  float64 // tone frequency, 0 for silence
	Amp   float64 // peak amplitude 0..1
	Digit byte    // RFC 4733 event code, used when Event is true
	Event bool
	// EventPT is the telephone-event payload type (101 if zero).
	EventPT uint8
}

// writeTonePcap writes a libpcap file (Ethernet/IPv4/UDP) carrying PCMU RTP
// packets every 20 ms, as sipp's play_pcap_audio expects, and returns the
// timestamps (from the start of the stream) at which each segment begins.
func writeTonePcap(t testing.TB, path string, spec pcapRTP) []time.Duration {
	t.Helper()
	var buf bytes.Buffer
	le := binary.LittleEndian
	hdr := make([]byte, 24)
	le.PutUint32(hdr[0:], 0xa1b2c3d4)
	le.PutUint16(hdr[4:], 2)
	le.PutUint16(hdr[6:], 4)
	le.PutUint32(hdr[16:], 65535)
	le.PutUint32(hdr[20:], 1) // Ethernet
	buf.Write(hdr)

	seq := uint16(1000)
	ts := uint32(160000)
	var at time.Duration
	var starts []time.Duration
	phase := 0.0
	pcm := make([]int16, frameSamples)
	payload := make([]byte, frameSamples)
	for _, seg := range spec.Segments {
		starts = append(starts, at)
		n := int(seg.Dur / frameDur)
		evTS := ts
		for i := range n {
			p := rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, SSRC: spec.SSRC}}
			if seg.Event {
				p.PayloadType = 101
				if seg.EventPT != 0 {
					p.PayloadType = seg.EventPT
				}
				p.Timestamp = evTS
				p.Marker = i == 0
				dur := uint16((i + 1) * frameSamples)
				flags := byte(10)
				if i == n-1 {
					flags |= 0x80
				}
				p.Payload = []byte{seg.Digit, flags, byte(dur >> 8), byte(dur)}
			} else {
				for k := range pcm {
					pcm[k] = int16(math.Round(seg.Amp * 32767 * math.Sin(phase)))
					phase += 2 * math.Pi * seg.Freq / clockRate
				}
				if spec.PCMA {
					audio.EncodeALaw(payload, pcm)
					p.PayloadType = 8
				} else {
					audio.EncodeULaw(payload, pcm)
					p.PayloadType = 0
				}
				p.Timestamp = ts
				p.Payload = append([]byte(nil), payload...)
			}
			raw, err := p.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			writePcapUDP(&buf, at, raw)
			if seg.Event && i == n-1 {
				// The end packet is sent three times (RFC 4733).
				writePcapUDP(&buf, at, raw)
				writePcapUDP(&buf, at, raw)
			}
			seq++
			ts += uint32(frameSamples)
			at += frameDur
		}
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return starts
}

// writePcapUDP appends one Ethernet/IPv4/UDP frame carrying payload, captured at
// at.
func writePcapUDP(buf *bytes.Buffer, at time.Duration, payload []byte) {
	le, be := binary.LittleEndian, binary.BigEndian
	frame := make([]byte, 14+20+8+len(payload))
	be.PutUint16(frame[12:], 0x0800)
	ip := frame[14:34]
	ip[0] = 0x45
	be.PutUint16(ip[2:], uint16(20+8+len(payload)))
	ip[8] = 64
	ip[9] = 17
	copy(ip[12:16], []byte{127, 0, 0, 1})
	copy(ip[16:20], []byte{127, 0, 0, 1})
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(be.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = (sum >> 16) + (sum & 0xffff)
	}
	be.PutUint16(ip[10:], ^uint16(sum))
	udp := frame[34:42]
	be.PutUint16(udp[0:], 40000)
	be.PutUint16(udp[2:], 40002)
	be.PutUint16(udp[4:], uint16(8+len(payload)))
	copy(frame[42:], payload)

	rec := make([]byte, 16)
	le.PutUint32(rec[0:], uint32(at/time.Second))
	le.PutUint32(rec[4:], uint32((at%time.Second)/time.Microsecond))
	le.PutUint32(rec[8:], uint32(len(frame)))
	le.PutUint32(rec[12:], uint32(len(frame)))
	buf.Write(rec)
	buf.Write(frame)
}

// tap records what the headset is given: every buffer with the wall-clock time
// it was handed to the device.
type tap struct {
	mu     sync.Mutex
	rate   int
	pcm    []int16
	stamps []tapStamp
}

type tapStamp struct {
	at  time.Time
	off int
}

func (tp *tap) fn(pcm []int16, rate int) {
	now := time.Now()
	tp.mu.Lock()
	tp.rate = rate
	tp.stamps = append(tp.stamps, tapStamp{at: now, off: len(tp.pcm)})
	tp.pcm = append(tp.pcm, pcm...)
	tp.mu.Unlock()
}

// block is 20 ms of the recorded playback with the time it was played.
type block struct {
	at    time.Time
	tone  bool
	level float64
	peak  int
}

// blocks cuts the recording into 20 ms blocks and flags those that carry the tone
// freq (most of their power at freq, and loud enough to hear).
func (tp *tap) blocks(freq float64) []block {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if tp.rate == 0 {
		return nil
	}
	n := tp.rate / 50
	var out []block
	si := 0
	for off := 0; off+n <= len(tp.pcm); off += n {
		for si+1 < len(tp.stamps) && tp.stamps[si+1].off <= off {
			si++
		}
		st := tp.stamps[si]
		at := st.at.Add(time.Duration(off-st.off) * time.Second / time.Duration(tp.rate))
		b := tp.pcm[off : off+n]
		lvl := audio.Level(b)
		peak := 0
		for _, s := range b {
			peak = max(peak, int(math.Abs(float64(s))))
		}
		out = append(out, block{at: at, level: lvl, peak: peak,
			tone: lvl > -40 && audio.ToneRatio(b, tp.rate, freq) > 0.6})
	}
	return out
}

// toneStats summarises blocks between the first and the last tone block: how many
// carried the tone.
func toneStats(bs []block) (first, last int, present, total int) {
	first, last = -1, -1
	for i, b := range bs {
		if b.tone {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return
	}
	for _, b := range bs[first : last+1] {
		total++
		if b.tone {
			present++
		}
	}
	return
}

// uacParams fill testdata/uac.xml.tmpl: a sipp caller that calls the phone.
type uacParams struct {
	// Mode: "answer" (play Pcap, hang up after HoldMS), "wait-bye" (play, wait
	// for the phone's BYE), "refuse" (expect Code), "cancel" (cancel after
	// CancelMS of ringing).
	Mode        string
	CallerName  string
	Caller      string
	Headers     []string
	SDP         string // body; default: PCMU, PCMA, telephone-event
	Pcap        string
	HoldMS      int
	CancelMS    int
	Code        int
	ContentType string
	// HoldSDP replaces the body of the first re-INVITE of Mode "hold", which is
	// then expected to get HoldCode (200 if zero; another code is ACKed and the
	// scenario goes on with the resume).
	HoldSDP  string
	HoldCode int
	// AckDelayMS delays the ACK of the 200 (modes answer, hold, wait-bye).
	AckDelayMS int
}

func defaultOffer() string {
	return "v=0\n" +
		"o=pbx 53655765 2353687637 IN IP[local_ip_type] [local_ip]\n" +
		"s=-\n" +
		"c=IN IP[media_ip_type] [media_ip]\n" +
		"t=0 0\n" +
		"m=audio [media_port] RTP/AVP 0 8 101\n" +
		"a=rtpmap:0 PCMU/8000\n" +
		"a=rtpmap:8 PCMA/8000\n" +
		"a=rtpmap:101 telephone-event/8000\n" +
		"a=fmtp:101 0-16\n" +
		"a=ptime:20\n" +
		"a=sendrecv\n"
}

// writeUAC renders the caller scenario into dir and returns its path.
func writeUAC(t testing.TB, dir string, p uacParams) string {
	t.Helper()
	if p.SDP == "" {
		p.SDP = defaultOffer()
	}
	if p.ContentType == "" {
		p.ContentType = "application/sdp"
	}
	if p.Caller == "" {
		p.Caller = "0912345678"
	}
	tmpl, err := template.ParseFiles(filepath.Join("testdata", "uac.xml.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, p); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "uac.xml")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
