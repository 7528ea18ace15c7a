package audio

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// The jitter buffer is exercised in virtual time: a sender emits a 20 ms
// packet every 20 ms, a network model decides when (and whether) each one
// arrives, and a device model pulls a frame every 20 ms. Packets carry
// "marker" audio: every sample of packet i is markerBase+i, so the test
// can tell exactly which packet each output frame came from.

const markerBase = 1000

// markerDecode decodes the test payload: 2 bytes of packet index, then the
// sample count follows from the payload length (one sample per byte, as in
// G.711).
func markerDecode(pt uint8, payload []byte, out []int16) int {
	if pt != 96 || len(payload) < 2 {
		return 0
	}
	idx := int16(payload[0])<<8 | int16(payload[1])
	n := min(len(payload), len(out))
	for i := range n {
		out[i] = markerBase + idx
	}
	return n
}

func markerPayload(idx, samples int) []byte {
	p := make([]byte, samples)
	p[0], p[1] = byte(idx>>8), byte(idx)
	return p
}

type simPacket struct {
	at  time.Duration // arrival time
	pkt *rtp.Packet
	idx int // sender's packet index
}

// stream makes n consecutive 20 ms marker packets sent from start, index
// idx0 onwards, with the given SSRC, first sequence number and timestamp.
func stream(n int, start time.Duration, idx0 int, ssrc uint32, seq0 uint16, ts0 uint32) []simPacket {
	var ps []simPacket
	for i := range n {
		ps = append(ps, simPacket{
			at:  start + time.Duration(i)*20*time.Millisecond,
			idx: idx0 + i,
			pkt: &rtp.Packet{
				Header: rtp.Header{
					Version: 2, PayloadType: 96, SSRC: ssrc,
					SequenceNumber: seq0 + uint16(i),
					Timestamp:      ts0 + uint32(i)*160,
				},
				Payload: markerPayload(idx0+i, 160),
			},
		})
	}
	return ps
}

type simFrame struct {
	at  time.Duration
	pcm []int16
}

// marker is the packet index a frame plays (judged on its second half,
// which cross-fades never touch), or -1 if the frame is not wholly one
// packet's audio.
func (f simFrame) marker() int {
	tail := f.pcm[len(f.pcm)/2:]
	v := tail[0]
	for _, s := range tail {
		if s != v {
			return -1
		}
	}
	if v < markerBase {
		return -1
	}
	return int(v - markerBase)
}

// simulate delivers packets at their arrival times (stable for equal
// times) and pulls a frame every 20 ms from pullPhase until end.
func simulate(jb *JitterBuffer, packets []simPacket, pullPhase, end time.Duration) []simFrame {
	return simulateEvery(jb, packets, pullPhase, end, 20*time.Millisecond)
}

// simulateEvery is simulate with pulls of every's worth of audio, every
// `every`, as a device with that period does.
func simulateEvery(jb *JitterBuffer, packets []simPacket, pullPhase, end, every time.Duration) []simFrame {
	var pulls []time.Duration
	for t := pullPhase; t < end; t += every {
		pulls = append(pulls, t)
	}
	return simulateAt(jb, packets, pulls, durSamples(every, jb.ClockRate()))
}

// simulateAt delivers packets at their arrival times and pulls size
// samples at each of the (ascending) pull times.
func simulateAt(jb *JitterBuffer, packets []simPacket, pulls []time.Duration, size int) []simFrame {
	ps := slices.Clone(packets)
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].at < ps[j].at })
	var frames []simFrame
	next := 0
	// The buffer reads virtual time: packets arrive at their time, pulls
	// happen at theirs.
	var now time.Duration
	jb.now = func() time.Duration { return now }
	for _, t := range pulls {
		for next < len(ps) && ps[next].at <= t {
			now = ps[next].at
			jb.Push(ps[next].pkt)
			next++
		}
		now = t
		out := make([]int16, size)
		if n := jb.Pull(out); n != len(out) {
			panic("short pull")
		}
		frames = append(frames, simFrame{at: t, pcm: out})
	}
	return frames
}

// gaps counts the frames, between the first and the last that played a
// packet, that did not wholly play one (concealment, cross-fades, skips).
func gaps(frames []simFrame) int {
	first, last := -1, -1
	for i, f := range frames {
		if f.marker() >= 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	n := 0
	for i := first; i >= 0 && i <= last; i++ {
		if frames[i].marker() < 0 {
			n++
		}
	}
	return n
}

// waits returns, for packets from index `from` on, the time from each
// packet's arrival to the pull that first played it (packets never played
// are left out).
func waits(frames []simFrame, ps []simPacket, from int) []time.Duration {
	first := map[int]time.Duration{}
	for _, f := range frames {
		if m := f.marker(); m >= 0 {
			if _, ok := first[m]; !ok {
				first[m] = f.at
			}
		}
	}
	var ws []time.Duration
	for _, p := range ps {
		if at, ok := first[p.idx]; ok && p.idx >= from {
			ws = append(ws, at-p.at)
		}
	}
	return ws
}

func newMarkerJB() *JitterBuffer {
	return NewJitterBuffer(JitterConfig{ClockRate: 8000, Frame: 20 * time.Millisecond, Decode: markerDecode})
}

// delayed returns packets with their arrival shifted by base.
func delayed(ps []simPacket, base time.Duration) []simPacket {
	for i := range ps {
		ps[i].at += base
	}
	return ps
}

// playedOrder lists the markers of the frames, skipping non-audio frames.
func playedOrder(frames []simFrame) []int {
	var order []int
	for _, f := range frames {
		if m := f.marker(); m >= 0 {
			order = append(order, m)
		}
	}
	return order
}

func TestJitterInOrderPlaysEveryPacketOnce(t *testing.T) {
	jb := newMarkerJB()
	ps := delayed(stream(100, 0, 0, 1, 100, 5000), 5*time.Millisecond)
	frames := simulate(jb, ps, 7*time.Millisecond, 2000*time.Millisecond)
	order := playedOrder(frames)
	if len(order) != 100 {
		t.Fatalf("played %d packets, want 100", len(order))
	}
	for i, m := range order {
		if m != i {
			t.Fatalf("frame %d plays packet %d, want %d", i, m, i)
		}
	}
	// One packet of depth: packet i plays at the first pull after it
	// arrives, less than a frame later.
	for _, f := range frames {
		if m := f.marker(); m >= 0 {
			if wait := f.at - ps[m].at; wait < 0 || wait >= 20*time.Millisecond {
				t.Fatalf("packet %d waited %v in the buffer, want < 20ms", m, wait)
			}
		}
	}
	st := jb.Stats()
	if st.Received != 100 || st.Lost != 0 || st.Late != 0 || st.Concealed != 0 {
		t.Errorf("stats on a clean network: %+v", st)
	}
}

func TestJitterDecodesG711(t *testing.T) {
	jb := NewJitterBuffer(JitterConfig{})
	tone := make([]int16, 160)
	gen := NewTone(8000, 1000, 0.5)
	var sent []int16
	var got []int16
	for i := range 50 {
		gen.Read(tone)
		sent = append(sent, tone...)
		payload := make([]byte, 160)
		EncodeALaw(payload, tone)
		jb.Push(&rtp.Packet{Header: rtp.Header{PayloadType: PayloadPCMA, SequenceNumber: uint16(i), Timestamp: uint32(i * 160), SSRC: 7}, Payload: payload})
		for j := range payload {
			payload[j] = 0 // the caller may reuse the payload at once
		}
		out := make([]int16, 160)
		jb.Pull(out)
		got = append(got, out...)
	}
	want := make([]int16, len(sent))
	enc := make([]byte, len(sent))
	EncodeALaw(enc, sent)
	DecodeALaw(want, enc)
	if !slices.Equal(got, want) {
		t.Fatal("jitter buffer output differs from the decoded A-law stream")
	}
}

func TestJitterReordering(t *testing.T) {
	jb := newMarkerJB()
	ps := delayed(stream(250, 0, 0, 1, 0, 0), 5*time.Millisecond)
	// Every 10th packet arrives 30 ms late, behind the next one.
	for i := range ps {
		if i%10 == 5 {
			ps[i].at += 30 * time.Millisecond
		}
	}
	frames := simulate(jb, ps, 10*time.Millisecond, 5500*time.Millisecond)
	order := playedOrder(frames)
	for i := 1; i < len(order); i++ {
		if order[i] <= order[i-1] {
			t.Fatalf("played out of order: ... %d then %d", order[i-1], order[i])
		}
	}
	st := jb.Stats()
	t.Logf("stats: %+v", st)
	// The buffer adapts: once it has grown, reordered packets are on time.
	if st.Late > 2 {
		t.Errorf("%d late packets: the buffer did not adapt to reordering (%+v)", st.Late, st)
	}
	if len(order) < 245 {
		t.Errorf("played %d of 250 packets", len(order))
	}
	if st.Lost != 0 {
		t.Errorf("reordering counted as loss: %+v", st)
	}
}

func TestJitterLossIsConcealed(t *testing.T) {
	jb := NewJitterBuffer(JitterConfig{})
	rng := rand.New(rand.NewPCG(1, 2))
	gen := NewTone(8000, 440, 0.5)
	var ps []simPacket
	dropped := 0
	for i := range 500 {
		pcm := make([]int16, 160)
		gen.Read(pcm)
		if rng.Float64() < 0.05 && i > 0 && i < 499 {
			dropped++
			continue
		}
		payload := make([]byte, 160)
		EncodeULaw(payload, pcm)
		ps = append(ps, simPacket{at: time.Duration(i)*20*time.Millisecond + 5*time.Millisecond, pkt: &rtp.Packet{
			Header:  rtp.Header{PayloadType: PayloadPCMU, SSRC: 9, SequenceNumber: uint16(i + 60000), Timestamp: uint32(i * 160)},
			Payload: payload,
		}})
	}
	frames := simulate(jb, ps, 12*time.Millisecond, 10020*time.Millisecond)
	st := jb.Stats()
	t.Logf("stats: %+v", st)
	if st.Lost != uint64(dropped) {
		t.Errorf("Lost = %d, dropped %d", st.Lost, dropped)
	}
	if st.Concealed < uint64(dropped) || st.Concealed > uint64(3*dropped) {
		t.Errorf("Concealed = %d frames for %d lost packets", st.Concealed, dropped)
	}
	// The listener hears a continuous tone: no frame is silent and the
	// whole output is still a clean 440 Hz tone.
	var all []int16
	for i, f := range frames[1:] {
		if Level(f.pcm) < -20 {
			t.Fatalf("frame %d at %v is a dropout (%.1f dBFS)", i+1, f.at, Level(f.pcm))
		}
		all = append(all, f.pcm...)
	}
	// Concealment must not click: no sample-to-sample step larger than
	// the tone's own steepest slope allows (with margin).
	maxStep := 0
	for i := 1; i < len(all); i++ {
		maxStep = max(maxStep, abs(int(all[i])-int(all[i-1])))
	}
	if slope := int(math.Round(0.5 * 32767 * 2 * math.Pi * 440 / 8000)); maxStep > slope*3/2 {
		t.Errorf("largest step %d, the tone's slope is %d: concealment clicks", maxStep, slope)
	}
	if r := ToneRatio(all, 8000, 440); r < 0.8 {
		t.Errorf("tone ratio with 5%% loss concealed = %.2f, want >= 0.8", r)
	}
	if f := st.LossFraction(); f < 0.04 || f > 0.15 {
		t.Errorf("LossFraction %.3f with 5%% loss", f)
	}
}

func TestJitterAdaptsToJitter(t *testing.T) {
	jb := newMarkerJB()
	rng := rand.New(rand.NewPCG(3, 4))
	ps := stream(1000, 0, 0, 1, 0, 0)
	for i := range ps {
		ps[i].at += 5*time.Millisecond + time.Duration(rng.IntN(40))*time.Millisecond
	}
	frames := simulate(jb, ps, 3*time.Millisecond, 20100*time.Millisecond)
	st := jb.Stats()
	t.Logf("stats: %+v", st)
	// Up to 40 ms of jitter: after the first few late packets the buffer
	// holds enough that almost nothing is late.
	if st.Late > 20 {
		t.Errorf("%d of 1000 packets late with 40 ms jitter: %+v", st.Late, st)
	}
	if st.MaxDepth > 120*time.Millisecond {
		t.Errorf("buffer grew to %v for 40 ms of jitter", st.MaxDepth)
	}
	order := playedOrder(frames)
	if len(order) < 970 {
		t.Errorf("played %d of 1000 packets", len(order))
	}
	// The delay settles: in the last 5 s, packets wait at most the jitter
	// spread plus one frame.
	for _, f := range frames {
		if m := f.marker(); m >= 750 {
			if wait := f.at - ps[m].at; wait > 60*time.Millisecond {
				t.Errorf("packet %d waited %v", m, wait)
				break
			}
		}
	}
}

func TestJitterDuplicates(t *testing.T) {
	jb := newMarkerJB()
	ps := delayed(stream(100, 0, 0, 1, 0, 0), 5*time.Millisecond)
	var doubled []simPacket
	for _, p := range ps {
		dup := p
		dup.at += 3 * time.Millisecond
		doubled = append(doubled, p, dup)
	}
	// And a duplicate of an old packet long after it played.
	old := ps[3]
	old.at = 1500 * time.Millisecond
	doubled = append(doubled, old)
	frames := simulate(jb, doubled, 10*time.Millisecond, 2100*time.Millisecond)
	order := playedOrder(frames)
	if len(order) != 100 {
		t.Fatalf("played %d frames of audio, want 100", len(order))
	}
	for i, m := range order {
		if m != i {
			t.Fatalf("frame %d plays %d", i, m)
		}
	}
	if st := jb.Stats(); st.Duplicates != 101 || st.Received != 100 || st.Lost != 0 {
		t.Errorf("stats: %+v", st)
	}
}

// firstPlay returns when packet idx first played, or -1.
func firstPlay(frames []simFrame, idx int) time.Duration {
	for _, f := range frames {
		if f.marker() == idx {
			return f.at
		}
	}
	return -1
}

func TestJitterResumesAfterGap(t *testing.T) {
	cases := []struct {
		name  string
		after func(first []simPacket) []simPacket
	}{
		{
			// The sender went quiet for 500 ms; its timestamps kept counting.
			"sender gap, timestamps advance", func(first []simPacket) []simPacket {
				return delayed(stream(50, 1500*time.Millisecond, 50, 1, 50, 75*160), 5*time.Millisecond)
			},
		},
		{
			// The sender paused its clock too (hold/resume).
			"sender gap, timestamps continue", func(first []simPacket) []simPacket {
				return delayed(stream(50, 1500*time.Millisecond, 50, 1, 50, 50*160), 5*time.Millisecond)
			},
		},
		{
			// The network stalled for 500 ms, then delivered the queue at once.
			"network stall then burst", func(first []simPacket) []simPacket {
				ps := delayed(stream(75, 1000*time.Millisecond, 50, 1, 50, 50*160), 5*time.Millisecond)
				for i := range ps {
					if ps[i].at < 1505*time.Millisecond {
						ps[i].at = 1505 * time.Millisecond
					}
				}
				return ps
			},
		},
	}
	for _, c := range cases {
		for _, every := range []time.Duration{20 * time.Millisecond, 10 * time.Millisecond} {
			t.Run(fmt.Sprintf("%s, %v pulls", c.name, every), func(t *testing.T) {
				jb := newMarkerJB()
				first := delayed(stream(50, 0, 0, 1, 0, 0), 5*time.Millisecond)
				after := c.after(first)
				frames := simulateEvery(jb, append(first, after...), 11*time.Millisecond, 3500*time.Millisecond, every)
				back := after[0].at
				played := time.Duration(-1)
				for _, f := range frames {
					if f.marker() >= after[0].idx {
						played = f.at
						break
					}
				}
				if played < 0 {
					t.Fatalf("audio never resumed after the gap; stats %+v", jb.Stats())
				}
				t.Logf("resumed %v after packets returned; stats %+v", played-back, jb.Stats())
				if d := played - back; d > 60*time.Millisecond {
					t.Errorf("audio resumed %v after packets returned, want <= 60ms", d)
				}
				// During the gap the listener heard concealment fading to
				// silence, never stale or repeated audio for long.
				for _, f := range frames {
					if f.at > 1100*time.Millisecond && f.at < back && Level(f.pcm) > MinLevel {
						t.Errorf("non-silent frame at %v, 100 ms into the gap", f.at)
						break
					}
				}
				// The delay comes back down: at the end packets wait < 2 frames.
				last := after[len(after)-1]
				if d := firstPlay(frames, last.idx) - last.at; d < 0 || d > 40*time.Millisecond {
					t.Errorf("last packet waited %v in the buffer; stats %+v", d, jb.Stats())
				}
			})
		}
	}
}

func TestJitterSSRCChange(t *testing.T) {
	jb := newMarkerJB()
	a := delayed(stream(50, 0, 0, 0xAAAA, 100, 1000), 5*time.Millisecond)
	// New source: unrelated sequence numbers and timestamps.
	b := delayed(stream(50, 1000*time.Millisecond, 50, 0xBBBB, 40000, 3_000_000_000), 5*time.Millisecond)
	// A straggler of the old source arrives just after the switch.
	straggler := a[len(a)-1]
	straggler.at = b[1].at + time.Millisecond
	frames := simulate(jb, append(append(a, b...), straggler), 11*time.Millisecond, 2100*time.Millisecond)
	if d := firstPlay(frames, 50) - b[0].at; d < 0 || d > 20*time.Millisecond {
		t.Errorf("new source played %v after its first packet", d)
	}
	order := playedOrder(frames)
	if len(order) != 100 {
		t.Errorf("played %d packets, want 100: %v", len(order), order)
	}
	st := jb.Stats()
	if st.SSRCChanges != 1 || st.Dropped != 1 || st.Lost != 0 {
		t.Errorf("stats: %+v", st)
	}
}

func TestJitterSequenceWrap(t *testing.T) {
	jb := newMarkerJB()
	ps := delayed(stream(200, 0, 0, 5, 65436, 0xFFFFF000), 5*time.Millisecond)
	frames := simulate(jb, ps, 10*time.Millisecond, 4100*time.Millisecond)
	if order := playedOrder(frames); len(order) != 200 {
		t.Fatalf("played %d of 200 across the sequence and timestamp wrap", len(order))
	}
	if st := jb.Stats(); st.Lost != 0 || st.Late != 0 || st.Resyncs != 0 {
		t.Errorf("stats across wrap: %+v", st)
	}
}

func TestJitterTimestampJumps(t *testing.T) {
	for _, jump := range []int64{+8_000_000, -8_000_000, +4000} {
		jb := newMarkerJB()
		a := delayed(stream(50, 0, 0, 5, 0, 100_000_000), 5*time.Millisecond)
		// Same SSRC, continuous sequence numbers, timestamps jump.
		b := delayed(stream(50, 1000*time.Millisecond, 50, 5, 50, uint32(int64(100_000_000+50*160)+jump)), 5*time.Millisecond)
		frames := simulate(jb, append(a, b...), 11*time.Millisecond, 2100*time.Millisecond)
		if d := firstPlay(frames, 50) - b[0].at; d < 0 || d > 40*time.Millisecond {
			t.Errorf("jump %+d: audio resumed %v after the jump", jump, d)
		}
		if order := playedOrder(frames); len(order) < 98 {
			t.Errorf("jump %+d: played %d of 100", jump, len(order))
		}
	}
}

func TestJitterIgnoresNonAudioPayloads(t *testing.T) {
	jb := newMarkerJB()
	ps := delayed(stream(100, 0, 0, 1, 0, 0), 5*time.Millisecond)
	var mixed []simPacket
	for i, p := range ps {
		mixed = append(mixed, p)
		if i%5 == 0 {
			// A telephone-event packet the phone failed to filter: the
			// decoder returns 0 for it.
			ev := *p.pkt
			ev.PayloadType = 101
			ev.SequenceNumber = 0 // its own numbering would collide
			ev.Payload = []byte{1, 0x80, 0, 160}
			mixed = append(mixed, simPacket{at: p.at + time.Millisecond, pkt: &ev, idx: -1})
		}
	}
	frames := simulate(jb, mixed, 10*time.Millisecond, 2100*time.Millisecond)
	if order := playedOrder(frames); len(order) != 100 {
		t.Errorf("played %d of 100 with events mixed in", len(order))
	}

	// Non-audio packets under another SSRC (a gateway's separate event
	// stream) must not be taken for a new stream.
	jb = newMarkerJB()
	mixed = mixed[:0]
	for i, p := range ps {
		mixed = append(mixed, p)
		if i%3 == 0 {
			ev := *p.pkt
			ev.PayloadType, ev.SSRC, ev.Payload = 101, 0xDEAD, []byte{1, 0x80, 0, 160}
			mixed = append(mixed, simPacket{at: p.at + time.Millisecond, pkt: &ev, idx: -1})
		}
	}
	frames = simulate(jb, mixed, 10*time.Millisecond, 2100*time.Millisecond)
	if order := playedOrder(frames); len(order) != 100 {
		t.Errorf("played %d of 100 with a foreign event stream mixed in", len(order))
	}
	if st := jb.Stats(); st.SSRCChanges != 0 || st.Lost != 0 {
		t.Errorf("foreign event stream disturbed the buffer: %+v", st)
	}
}

func TestJitterSilenceBeforeFirstPacket(t *testing.T) {
	jb := NewJitterBuffer(JitterConfig{})
	out := make([]int16, 160)
	for i := range out {
		out[i] = 123
	}
	if n := jb.Pull(out); n != 160 {
		t.Fatalf("Pull = %d", n)
	}
	for _, s := range out {
		if s != 0 {
			t.Fatal("Pull before any packet is not silence")
		}
	}
	if st := jb.Stats(); st.Frames != 0 || st.Depth != 0 {
		t.Errorf("stats before any packet: %+v", st)
	}
}

// A device pulling 10 ms at a time: one packet arriving 12 ms late makes
// the buffer wait a pull longer (the pull it missed is concealed), and once
// a window has shown the extra pull is not needed the delay comes back
// down in pull-sized steps: every packet then plays at the first pull that
// leaves it the margin (5 ms), not a whole frame later.
func TestJitterShrinksBackInPullSteps(t *testing.T) {
	for _, phase := range []time.Duration{1, 3, 6, 9} {
		t.Run(fmt.Sprintf("arrival %v before a pull", 10*time.Millisecond-phase*time.Millisecond), func(t *testing.T) {
			jb := newMarkerJB()
			rng := rand.New(rand.NewPCG(7, uint64(phase)))
			ps := stream(500, 0, 0, 1, 0, 0)
			for i := range ps {
				ps[i].at += phase*time.Millisecond + time.Duration(rng.IntN(500))*time.Microsecond
				if i == 100 {
					ps[i].at += 12 * time.Millisecond
				}
			}
			frames := simulateEvery(jb, ps, 0, 10100*time.Millisecond, 10*time.Millisecond)
			st := jb.Stats()
			t.Logf("stats: %+v", st)
			// The first pull leaving a packet the margin is at most a pull
			// plus the margin away, plus the 0.5 ms of jitter.
			limit := 15500 * time.Microsecond
			ws := waits(frames, ps, 200) // from 2 s after the late packet on
			if len(ws) < 295 {
				t.Fatalf("only %d of the last 300 packets played", len(ws))
			}
			for i, w := range ws {
				if w < 0 || w > limit {
					t.Fatalf("packet %d waited %v for its pull, want <= %v; stats %+v", 200+i, w, limit, st)
				}
			}
			// The late packet costs one concealed pull, and each shrink a
			// cross-faded one.
			if g := gaps(frames); st.Late > 1 || st.Lost != 0 || g > 4 {
				t.Errorf("clean network: %d frames not wholly audio; %+v", g, st)
			}
		})
	}
}

// The paced null audio device does not pull at a steady 10 ms: it polls
// with 10 ms sleeps, so each pull comes a little later than the last (about
// 0.13 ms) until it is a whole period behind, then two pulls come at once.
// The buffer must absorb that without concealing again and again, and
// still keep packets no more than a period plus the margin beyond what that
// sawtooth needs.
func TestJitterSawtoothDevice(t *testing.T) {
	jb := newMarkerJB()
	rng := rand.New(rand.NewPCG(9, 9))
	ps := stream(1000, 0, 0, 1, 0, 0)
	for i := range ps {
		ps[i].at += 4*time.Millisecond + time.Duration(rng.IntN(500))*time.Microsecond
	}
	var pulls []time.Duration
	lag := time.Duration(0)
	for k := range 2010 {
		pulls = append(pulls, time.Duration(k)*10*time.Millisecond+lag)
		lag += 130 * time.Microsecond
		if lag >= 10*time.Millisecond {
			lag -= 10 * time.Millisecond
		}
	}
	slices.Sort(pulls)
	frames := simulateAt(jb, ps, pulls, 80)
	st := jb.Stats()
	t.Logf("stats: %+v", st)
	ws := waits(frames, ps, 250)
	if len(ws) < 740 {
		t.Fatalf("only %d of the last 750 packets played", len(ws))
	}
	var sum time.Duration
	for i, w := range ws {
		// The sawtooth spans a period; a pull more plus the margin on top.
		if w < 0 || w > 25500*time.Microsecond {
			t.Fatalf("packet %d waited %v for its pull; stats %+v", 250+i, w, st)
		}
		sum += w
	}
	mean := sum / time.Duration(len(ws))
	t.Logf("wait for the pull: mean %v", mean)
	if mean > 16*time.Millisecond {
		t.Errorf("mean wait %v: the buffer keeps more than the sawtooth needs", mean)
	}
	if g := gaps(frames); g > 4 || st.Late > 1 {
		t.Errorf("the device's sawtooth caused repeated concealment: %d frames not wholly audio; %+v", g, st)
	}
}

func TestJitterClockDrift(t *testing.T) {
	// The sender's clock runs 1% fast: the buffer must not grow without
	// bound (it sheds the surplus), nor stall.
	jb := newMarkerJB()
	var ps []simPacket
	for i := range 1500 {
		p := stream(1, 0, i, 1, uint16(i), uint32(i*160))[0]
		p.at = time.Duration(float64(i)*19.8*float64(time.Millisecond)) + 5*time.Millisecond
		ps = append(ps, p)
	}
	frames := simulate(jb, ps, 9*time.Millisecond, 30*time.Second)
	st := jb.Stats()
	t.Logf("stats: %+v", st)
	if st.Depth > 80*time.Millisecond || st.MaxDepth > 120*time.Millisecond {
		t.Errorf("fast sender: depth %v (max %v)", st.Depth, st.MaxDepth)
	}
	if order := playedOrder(frames); len(order) < 1450 {
		t.Errorf("played %d of 1500", len(order))
	}
}

func TestJitterPullDoesNotAllocate(t *testing.T) {
	jb := NewJitterBuffer(JitterConfig{})
	payload := make([]byte, 160)
	out := make([]int16, 160)
	i := 0
	pkt := &rtp.Packet{Header: rtp.Header{SSRC: 1}, Payload: payload}
	if n := testing.AllocsPerRun(200, func() {
		pkt.SequenceNumber = uint16(i)
		pkt.Timestamp = uint32(i * 160)
		if i%7 != 3 {
			jb.Push(pkt)
		}
		jb.Pull(out)
		i++
	}); n != 0 {
		t.Errorf("Push+Pull allocate %.1f times per frame", n)
	}
}

func TestJitterConcurrentPushPull(t *testing.T) {
	jb := NewJitterBuffer(JitterConfig{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		payload := make([]byte, 160)
		for i := range 2000 {
			jb.Push(&rtp.Packet{Header: rtp.Header{SSRC: 1, SequenceNumber: uint16(i), Timestamp: uint32(i * 160)}, Payload: payload})
		}
	}()
	out := make([]int16, 160)
	for range 2000 {
		if jb.Pull(out) != 160 {
			t.Fatal("short pull")
		}
		_ = jb.Stats()
	}
	<-done
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// Nobody pulls (the headset was lost) while RTP keeps coming: the buffer
// stays bounded, and when pulling starts again it plays recent audio.
func TestJitterBoundedWithoutPulls(t *testing.T) {
	jb := newMarkerJB()
	for _, p := range stream(1000, 0, 0, 1, 0, 0) {
		jb.Push(p.pkt)
		if d := jb.Stats().Depth; d > 300*time.Millisecond {
			t.Fatalf("depth %v without pulls", d)
		}
	}
	out := make([]int16, 160)
	jb.Pull(out)
	if m := (simFrame{pcm: out}).marker(); m < 1000-16 {
		t.Errorf("after resuming, played packet %d of 1000: stale audio", m)
	}
}

func TestRingtoneCadence(t *testing.T) {
	const rate = 16000
	r := NewRingtone(rate)
	pcm := make([]int16, 2*durSamples(RingPeriod, rate))
	r.Read(pcm[:1234])
	r.Read(pcm[1234:]) // any chunking gives the same signal
	on := durSamples(RingOn, rate)
	period := durSamples(RingPeriod, rate)
	for cycle := range 2 {
		c := pcm[cycle*period : (cycle+1)*period]
		if l := Level(c[:on]); l < -25 || l > -6 {
			t.Errorf("cycle %d: ring level %.1f dBFS", cycle, l)
		}
		if l := Level(c[on:]); l != MinLevel {
			t.Errorf("cycle %d: pause not silent (%.1f dBFS)", cycle, l)
		}
		// Each 300 ms note is one of the two pitches, 20 dB above the other.
		for i, f := range []float64{RingHigh, RingLow, RingHigh, RingLow} {
			other := RingLow + RingHigh - f
			note := c[i*on/4 : (i+1)*on/4]
			if p, q := Goertzel(note, rate, f), Goertzel(note, rate, other); p < 100*q {
				t.Errorf("cycle %d note %d: %.0f Hz only %.1f dB above %.0f Hz", cycle, i, f, 10*math.Log10(p/q), other)
			}
		}
	}
	// No clicks: no step steeper than the notes themselves (fundamental
	// and harmonics at full envelope) can make.
	slope := ringAmp * 32767 * 2 * math.Pi * RingHigh * (1 + 2*0.25 + 3*0.08) / rate
	for i := 1; i < len(pcm); i++ {
		if d := abs(int(pcm[i]) - int(pcm[i-1])); float64(d) > slope*1.05 {
			t.Fatalf("step of %d at sample %d", d, i)
		}
	}
}

// Packet times other than 20 ms (10 ms, 30 ms) play continuously with 20 ms
// pulls: the buffer works on samples, not packets.
func TestJitterOtherPacketTimes(t *testing.T) {
	for _, ptime := range []int{10, 30} {
		jb := NewJitterBuffer(JitterConfig{})
		gen := NewTone(8000, 500, 0.5)
		per := ptime * 8
		var ps []simPacket
		for i := range 3000 / ptime {
			pcm := make([]int16, per)
			gen.Read(pcm)
			payload := make([]byte, per)
			EncodeULaw(payload, pcm)
			ps = append(ps, simPacket{
				at:  time.Duration(i*ptime)*time.Millisecond + 2*time.Millisecond,
				pkt: &rtp.Packet{Header: rtp.Header{SSRC: 3, SequenceNumber: uint16(i), Timestamp: uint32(i * per)}, Payload: payload},
			})
		}
		frames := simulate(jb, ps, 5*time.Millisecond, 2900*time.Millisecond)
		st := jb.Stats()
		t.Logf("ptime %d ms: %+v", ptime, st)
		var all []int16
		for i, f := range frames[5:] {
			if l := Level(f.pcm); l < -12 {
				t.Fatalf("ptime %d ms: frame %d is a dropout (%.1f dBFS)", ptime, i+5, l)
			}
			all = append(all, f.pcm...)
		}
		if r := ToneRatio(all, 8000, 500); r < 0.95 {
			t.Errorf("ptime %d ms: tone ratio %.3f", ptime, r)
		}
		// 10 ms packets start without an underrun; 30 ms packets against
		// 20 ms pulls need one frame more than a packet, which the buffer
		// learns from one underrun at start-up.
		if st.Lost != 0 || (ptime == 10 && (st.Late != 0 || st.Concealed != 0)) || st.Late > 1 || st.Concealed > 2 {
			t.Errorf("ptime %d ms: %+v", ptime, st)
		}
	}
}

// simulateReadAtPulls is simulateAt for a reader that only reads the socket at
// each pull, just before it: every packet that arrived since the previous pull
// is pushed then, with its age (aged) or as if it had just arrived.
func simulateReadAtPulls(jb *JitterBuffer, packets []simPacket, pulls []time.Duration, size int, aged bool) []simFrame {
	ps := slices.Clone(packets)
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].at < ps[j].at })
	var frames []simFrame
	next := 0
	var now time.Duration
	jb.now = func() time.Duration { return now }
	for _, t := range pulls {
		now = t
		for next < len(ps) && ps[next].at <= t {
			age := time.Duration(0)
			if aged {
				age = t - ps[next].at
			}
			jb.PushAged(ps[next].pkt, age)
			next++
		}
		out := make([]int16, size)
		if n := jb.Pull(out); n != len(out) {
			panic("short pull")
		}
		frames = append(frames, simFrame{at: t, pcm: out})
	}
	return frames
}

// A phone that reads RTP on the audio thread pushes each packet just before the
// pull that plays it. Told each packet's age (the kernel's receive timestamp),
// the buffer must keep the same small delay as when packets are pushed the
// moment they arrive, and come back down after a late packet; pushed as if
// they had just arrived, every packet looks as if it came at the last moment
// and the buffer cannot shrink.
func TestJitterPushAgedReadAtPulls(t *testing.T) {
	const every = 10 * time.Millisecond
	var pulls []time.Duration
	for at := time.Duration(0); at < 10100*time.Millisecond; at += every {
		pulls = append(pulls, at)
	}
	run := func(phase time.Duration, aged bool) ([]time.Duration, JitterStats, int) {
		jb := newMarkerJB()
		rng := rand.New(rand.NewPCG(11, uint64(phase)))
		ps := stream(500, 0, 0, 1, 0, 0)
		for i := range ps {
			ps[i].at += phase + time.Duration(rng.IntN(500))*time.Microsecond
			if i == 100 {
				ps[i].at += 12 * time.Millisecond
			}
		}
		frames := simulateReadAtPulls(jb, ps, pulls, durSamples(every, jb.ClockRate()), aged)
		return waits(frames, ps, 200), jb.Stats(), gaps(frames)
	}
	// As when pushed on arrival: a pull plus the margin, plus the 0.5 ms of
	// jitter.
	limit := 15500 * time.Microsecond
	var plainWorst time.Duration
	for _, phase := range []time.Duration{1, 3, 6, 9} {
		phase *= time.Millisecond
		t.Run(fmt.Sprintf("arrival %v before a pull", every-phase), func(t *testing.T) {
			ws, st, g := run(phase, true)
			if len(ws) < 295 {
				t.Fatalf("only %d of the last 300 packets played", len(ws))
			}
			for i, w := range ws {
				if w < 0 || w > limit {
					t.Fatalf("packet %d waited %v from its arrival to its pull, want <= %v; stats %+v", 200+i, w, limit, st)
				}
			}
			if st.Late > 1 || st.Lost != 0 || g > 4 {
				t.Errorf("clean network: %d frames not wholly audio; %+v", g, st)
			}
			plain, _, _ := run(phase, false)
			plainWorst = max(plainWorst, slices.Max(plain))
		})
	}
	// Without the age the same packets wait longer, for packets that arrive
	// early in a pull period: the age is what lets the buffer see that.
	if plainWorst <= limit {
		t.Errorf("pushed without their age, packets waited at most %v: the test no longer tells the two apart", plainWorst)
	}
}
