package phone

import (
	"context"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/earshot-app/earshot/audio"
)

// latencyLevel is the level of packet i of the latency probe stream: six
// magnitudes, the sign alternating, so that every packet boundary is a zero
// crossing at the device and the magnitude tells which packet started there.
func latencyLevel(i int) int16 {
	v := int16(6000 + (i%6)*4000)
	if i%2 == 1 {
		v = -v
	}
	return v
}

// latencyClass reads back i%6 from a magnitude written by latencyLevel.
func latencyClass(mag int) int { return (mag - 6000 + 2000) / 4000 }

// BenchmarkPlayoutLatencyRTP is the figure of record for the audio Earshot adds
// between an RTP packet's arrival and the headset, measured on the real pipeline: a
// real call (Earshot dials a sipp far end), real RTP over loopback UDP sent by the
// test every 20 ms into the phone's socket (diago's reader, the jitter buffer), the
// call stream with its resampler on the paced null audio device at 48 kHz, and one
// device period of buffering.
//
// Every packet carries a constant level that encodes its number (see latencyLevel);
// each packet boundary is a zero crossing in the PCM handed to the device. A
// packet's latency is the time its first sample is played (the device callback
// that carried it, plus its offset in the buffer, plus one device period: the
// double-buffered device plays a buffer one period after it is filled) minus the
// time the test's sendto returned (by then the kernel has queued it on the phone's
// socket). Only boundaries whose level names the expected packet are counted, and
// a run where any does not is refused. The first 2 s (the jitter buffer's
// adaptation) are left out.
//
// clean sends every packet on time. start-burst sends the first two packets at
// once, as sipp's pcap player (and many a PBX) does when a stream starts: the
// buffer starts a packet deeper than it needs. late-packet sends packet 25 (0.5 s
// in) 30 ms late, a hiccup any network or PBX has now and then: the buffer waits
// for it once. Either way it must come back down within its adaptation window,
// not keep the extra delay for the rest of the call.
//
// One op is one 20 ms packet; run with -benchtime 400x (8 s). Reported: mean,
// 95th percentile and worst latency in ms; the mean part of it before the device
// callback that carried the packet (arrival to the jitter buffer's pull; the rest is
// the resampler's 3.1 ms and the device period); and the jitter buffer's concealed
// frames (including those after the stream stops) and skipped audio.
func BenchmarkPlayoutLatencyRTP(b *testing.B) {
	b.Run("clean", func(b *testing.B) { benchPlayoutLatency(b, false, -1) })
	b.Run("start-burst", func(b *testing.B) { benchPlayoutLatency(b, true, -1) })
	b.Run("late-packet", func(b *testing.B) { benchPlayoutLatency(b, false, 25) })
}

// benchPlayoutLatency runs one probe call; with burst the first two packets go
// out at once, and packet late (if >= 0) is sent 30 ms late.
func benchPlayoutLatency(b *testing.B, burst bool, late int) {
	const (
		warmup     = 100 // packets (2 s) before latencies are counted
		minPackets = 250
		period     = 10 * time.Millisecond // audio.CallConfig's default device period
	)
	pp := startPBXPhone(b, nil)
	conn, port := listenRTPPair(b)
	sp, target := startFarEnd(b, port, freeUDPPort(b, "127.0.0.1", true), false)
	defer sp.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := pp.Dial(ctx, target)
	if err != nil {
		b.Fatalf("Dial: %v", err)
	}
	defer c.Hangup(ctx)

	// The phone's first packet gives its RTP address (symmetric RTP); what it sends
	// afterwards is drained and ignored.
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1500)
	_, phoneAddr, err := conn.ReadFromUDP(buf)
	if err != nil {
		b.Fatalf("no RTP from the phone: %v", err)
	}
	_ = conn.SetReadDeadline(time.Time{})
	go func() {
		for {
			if _, _, err := conn.ReadFromUDP(buf); err != nil {
				return
			}
		}
	}()

	var sent []time.Time
	pcm := make([]int16, frameSamples)
	payload := make([]byte, frameSamples)
	raw := make([]byte, 12+frameSamples)
	start := time.Now().Add(frameDur)
	send := func() {
		i := len(sent)
		v := latencyLevel(i)
		for k := range pcm {
			pcm[k] = v
		}
		audio.EncodeULaw(payload, pcm)
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: audio.PayloadPCMU,
			SequenceNumber: uint16(4000 + i), Timestamp: uint32(80000 + i*frameSamples), SSRC: 0x1a7e}, Payload: payload}
		n, err := p.MarshalTo(raw)
		if err != nil {
			b.Fatal(err)
		}
		due := start.Add(time.Duration(i) * frameDur)
		if i == late {
			due = due.Add(30 * time.Millisecond)
		}
		if burst && i > 0 {
			due = due.Add(-frameDur)
		}
		time.Sleep(time.Until(due))
		if _, err := conn.WriteToUDP(raw[:n], phoneAddr); err != nil {
			b.Fatalf("send RTP: %v", err)
		}
		sent = append(sent, time.Now())
	}
	for b.Loop() {
		send()
	}
	for len(sent) < minPackets {
		send()
	}
	time.Sleep(100 * time.Millisecond)
	js := c.MediaStats().Jitter
	if err := c.Hangup(ctx); err != nil {
		b.Fatalf("Hangup: %v", err)
	}

	lats, waits, mismatched := measureLatencies(pp.tap, sent, warmup, period)
	if mismatched > 0 {
		b.Fatalf("%d packet boundaries at the device after the first %d packets do not carry the packet expected there (glitches at steady state); jitter buffer %+v", mismatched, warmup, js)
	}
	if want := (len(sent) - warmup) * 9 / 10; len(lats) < want {
		b.Fatalf("only %d of %d packet starts found at the device; jitter buffer %+v", len(lats), len(sent)-warmup, js)
	}
	var wsum float64
	for _, w := range waits {
		wsum += w
	}
	slices.Sort(lats)
	var sum float64
	for _, l := range lats {
		sum += l
	}
	b.ReportMetric(sum/float64(len(lats)), "ms-mean")
	b.ReportMetric(lats[len(lats)*95/100], "ms-p95")
	b.ReportMetric(lats[len(lats)-1], "ms-max")
	b.ReportMetric(wsum/float64(len(waits)), "ms-wait-mean")
	b.ReportMetric(float64(js.Concealed+js.Silent), "concealed-frames")
	b.ReportMetric(float64(js.Skipped)/float64(time.Millisecond), "ms-skipped")
	b.Logf("%d packets, %d latencies measured: min %.1f median %.1f mean %.1f p95 %.1f max %.1f ms (of which %.1f ms on average before the device callback); jitter buffer %+v",
		len(sent), len(lats), lats[0], lats[len(lats)/2], sum/float64(len(lats)), lats[len(lats)*95/100], lats[len(lats)-1], wsum/float64(len(waits)), js)
}

// listenRTPPair opens the far end's RTP socket on a free even port of 127.0.0.1.
func listenRTPPair(tb testing.TB) (*net.UDPConn, int) {
	tb.Helper()
	port := freeUDPPort(tb, "127.0.0.1", true)
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	return conn, port
}

// measureLatencies finds in the PCM handed to the device the start of every packet
// of the probe stream sent at the times sent, and returns the latency in ms of
// those from packet `from` on, the part of it spent before the device callback that
// carried the packet's first sample (the jitter buffer's wait for that pull), and how
// many boundaries from there on carried another packet than the one expected next.
func measureLatencies(tp *tap, sent []time.Time, from int, period time.Duration) (lats, waits []float64, mismatched int) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	rate := tp.rate
	if rate == 0 {
		return nil, nil, 0
	}
	// playedAt is when sample off reaches the listener, and when the device
	// callback that carried it ran.
	playedAt := func(off int) (played, callback time.Time) {
		i, _ := slices.BinarySearchFunc(tp.stamps, off, func(s tapStamp, off int) int {
			if s.off > off {
				return 1
			}
			return -1
		})
		st := tp.stamps[max(0, i-1)]
		return st.at.Add(time.Duration(off-st.off)*time.Second/time.Duration(rate) + period), st.at
	}
	pcm := tp.pcm
	const clear = 3000 // a level is "clearly" one sign beyond this
	next := 0          // the packet whose start is expected next
	state, prevSign, lastZero := 0, 0, 0
	for off, s := range pcm {
		sign := 0
		switch {
		case s > 0:
			sign = 1
		case s < 0:
			sign = -1
		}
		if sign != 0 && sign != prevSign {
			lastZero, prevSign = off, sign
		}
		st := 0
		switch {
		case s > clear:
			st = 1
		case s < -clear:
			st = -1
		default:
			continue
		}
		if st == state {
			continue
		}
		state = st
		// A packet starts at lastZero: its magnitude 2-8 ms later says which.
		a, z := lastZero+rate/500, lastZero+rate/125
		if z > len(pcm) {
			break
		}
		var mag int
		for _, v := range pcm[a:z] {
			mag += int(max(v, -v))
		}
		mag /= z - a
		cls := latencyClass(mag)
		// The expected packet, or one of the next two if a start was missed.
		p := -1
		for q := next; q < next+3 && q < len(sent); q++ {
			if q%6 == cls && (latencyLevel(q) > 0) == (st > 0) {
				p = q
				break
			}
		}
		if p < 0 {
			if next >= from && next < len(sent) {
				mismatched++
			}
			continue
		}
		if p >= from {
			played, cb := playedAt(lastZero)
			lats = append(lats, float64(played.Sub(sent[p]))/float64(time.Millisecond))
			waits = append(waits, float64(cb.Sub(sent[p]))/float64(time.Millisecond))
		}
		next = p + 1
	}
	return lats, waits, mismatched
}
