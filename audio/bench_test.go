package audio

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// BenchmarkJitterPushPull: one 20 ms G.711 packet in, one 20 ms frame out
// (decode + reorder bookkeeping + playout), per op.
func BenchmarkJitterPushPull(b *testing.B) {
	jb := NewJitterBuffer(JitterConfig{})
	pcm := make([]int16, 160)
	NewTone(8000, 1000, 0.5).Read(pcm)
	payload := make([]byte, 160)
	EncodeULaw(payload, pcm)
	out := make([]int16, 160)
	pkt := &rtp.Packet{Header: rtp.Header{SSRC: 1, PayloadType: PayloadPCMU}, Payload: payload}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		pkt.SequenceNumber = uint16(i)
		pkt.Timestamp = uint32(i * 160)
		jb.Push(pkt)
		jb.Pull(out)
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/20ms")
}

func BenchmarkG711Decode20ms(b *testing.B) {
	payload := make([]byte, 160)
	out := make([]int16, 160)
	for b.Loop() {
		DecodeULaw(out, payload)
	}
}

func BenchmarkG711Encode20ms(b *testing.B) {
	pcm := make([]int16, 160)
	NewTone(8000, 1000, 0.5).Read(pcm)
	out := make([]byte, 160)
	for b.Loop() {
		EncodeULaw(out, pcm)
	}
}

func BenchmarkResample8kTo48k20ms(b *testing.B) {
	r := NewResampler(8000, 48000)
	in := tone(8000, 1000, 0.5, 160)
	out := make([]int16, 0, r.MaxOut(160))
	for b.Loop() {
		out = r.Process(in, out[:0])
	}
}

func BenchmarkResample48kTo8k20ms(b *testing.B) {
	r := NewResampler(48000, 8000)
	in := tone(48000, 1000, 0.5, 960)
	out := make([]int16, 0, r.MaxOut(960))
	for b.Loop() {
		out = r.Process(in, out[:0])
	}
}

// newCallPath builds a call stream's audio path without a device, to drive
// it in virtual time.
func newCallPath(devRate int, period time.Duration, playback func([]int16) int, capture func([]int16)) *CallStream {
	cs := newCallStream(CallConfig{NetworkRate: 8000, Frame: 20 * time.Millisecond}, playback, capture)
	cs.prepare(devRate, period)
	return cs
}

// BenchmarkCallAudioPath is the signal processing one call costs, per 20 ms
// of audio, run back to back without a device (so without the device
// callbacks, the network and the Go scheduler, which cost more: the whole
// call's CPU is phone's BenchmarkCallAudioPathCPU): one RTP packet into the
// jitter buffer, two 10 ms device periods at
// 48 kHz or 44.1 kHz (jitter buffer playout, 8->48 kHz upsampling, volume, level
// meter; microphone 48->8 kHz downsampling, level meter, framing) and the
// G.711 encoding of the outgoing frame.
func BenchmarkCallAudioPath(b *testing.B) {
	for _, rate := range []int{48000, 44100} {
		b.Run(fmt.Sprintf("device=%dHz", rate), func(b *testing.B) { benchCallAudioPath(b, rate) })
	}
}

func benchCallAudioPath(b *testing.B, devRate int) {
	jb := NewJitterBuffer(JitterConfig{})
	enc := make([]byte, 160)
	frames := 0
	cs := newCallPath(devRate, 10*time.Millisecond, jb.Pull, func(in []int16) {
		EncodeULaw(enc, in)
		frames++
	})
	pcm := make([]int16, 160)
	NewTone(8000, 1000, 0.5).Read(pcm)
	payload := make([]byte, 160)
	EncodeULaw(payload, pcm)
	pkt := &rtp.Packet{Header: rtp.Header{SSRC: 1, PayloadType: PayloadPCMU}, Payload: payload}
	out := make([]int16, devRate/100)
	mic := tone(devRate, 700, 0.3, devRate/100)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		pkt.SequenceNumber = uint16(i)
		pkt.Timestamp = uint32(i * 160)
		jb.Push(pkt)
		for range 2 {
			cs.process(out, mic)
		}
		i++
	}
	if frames < b.N-1 {
		b.Fatalf("%d microphone frames for %d periods of 20 ms", frames, b.N)
	}
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(ns, "ns/20ms")
	b.ReportMetric(100*ns/float64(20*time.Millisecond), "%core-dsp-only")
}

// BenchmarkPlayoutLatency measures the audio Earshot adds between an RTP
// packet's arrival and the device, at steady state on a clean network (0-1
// ms of arrival jitter): the wait in the jitter buffer, the call stream's
// staging, the resampler's filter delay, and one device period of
// buffering. Packets alternate between two levels so that each packet
// boundary shows up as a zero crossing at the device; the crossing's play
// time minus the packet's arrival is that packet's latency. It runs in
// virtual time (the result does not depend on the machine) and reports the
// mean and the worst case.
func BenchmarkPlayoutLatency(b *testing.B) {
	const (
		devRate = 48000
		period  = 10 * time.Millisecond
		packets = 400
	)
	var mean, worst float64
	for b.Loop() {
		var total float64
		var count int
		worst = 0
		for ph := range 20 {
			sum, max, n := latencyRun(b, devRate, period, packets, time.Duration(ph)*time.Millisecond, uint64(ph))
			total += sum
			count += n
			worst = maxf(worst, max)
		}
		mean = total / float64(count)
	}
	b.ReportMetric(mean, "ms-latency")
	b.ReportMetric(worst, "ms-latency-max")
}

// latencyRun simulates one stream whose packets arrive at phase (plus up to
// 1 ms of jitter) relative to the device's callbacks and returns the sum,
// maximum and count of the steady-state latencies in ms.
func latencyRun(b *testing.B, devRate int, period time.Duration, packets int, phase time.Duration, seed uint64) (float64, float64, int) {
	{
		rng := rand.New(rand.NewPCG(seed, 8))
		jb := NewJitterBuffer(JitterConfig{Decode: func(_ uint8, p []byte, out []int16) int {
			v := int16(8000)
			if p[0]&1 == 1 {
				v = -8000
			}
			for i := range 160 {
				out[i] = v
			}
			return 160
		}})
		cs := newCallPath(devRate, period, jb.Pull, nil)
		arrive := make([]time.Duration, packets)
		for i := range arrive {
			arrive[i] = phase + time.Duration(i)*20*time.Millisecond + time.Duration(rng.IntN(1000))*time.Microsecond
		}
		out := make([]int16, devRate*int(period)/int(time.Second))
		next := 0
		var sum, max float64
		n := 0
		state := 0                 // +1 or -1 once the level is clearly one or the other
		var lastZero time.Duration // play time of the latest sign change
		prevSign := 0
		boundary := 1 // the next packet whose start we look for
		var now time.Duration
		jb.now = func() time.Duration { return now }
		for cb := time.Duration(0); boundary < packets-1; cb += period {
			for next < packets && arrive[next] <= cb {
				now = arrive[next]
				jb.Push(&rtp.Packet{Header: rtp.Header{SSRC: 1, SequenceNumber: uint16(next), Timestamp: uint32(next * 160)}, Payload: []byte{byte(next)}})
				next++
			}
			now = cb
			cs.fill(out)
			for k, s := range out {
				// Played one device period after the callback fills it.
				at := cb + time.Duration(k)*time.Second/time.Duration(devRate) + period
				sign := 0
				if s > 0 {
					sign = 1
				} else if s < 0 {
					sign = -1
				}
				if sign != 0 && sign != prevSign {
					lastZero = at
					prevSign = sign
				}
				var st int
				switch {
				case s > 4000:
					st = 1
				case s < -4000:
					st = -1
				default:
					continue
				}
				if state != 0 && st != state {
					// Packet `boundary` started playing at the zero crossing.
					lat := float64(lastZero-arrive[boundary]) / float64(time.Millisecond)
					if boundary > 100 { // steady state after 2 s
						sum += lat
						max = maxf(max, lat)
						n++
					}
					boundary++
				}
				state = st
			}
			if cb > time.Duration(packets+100)*20*time.Millisecond {
				b.Fatalf("stream stalled at packet %d; stats %+v", boundary, jb.Stats())
			}
		}
		if st := jb.Stats(); st.Concealed+st.Silent > 2 || st.Late > 0 {
			b.Fatalf("not a clean run: %+v", st)
		}
		return sum, max, n
	}
}

func maxf(a, b float64) float64 {
	if a > b {
		return a
	}
	return b
}

// processCPU is the CPU time (user + system, all threads) and the voluntary
// context switches of this process so far.
func processCPU(tb testing.TB) (time.Duration, int64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Nvcsw
}

// BenchmarkNullDeviceCPU is what a call's headset costs the process on the
// paced null backend (48 kHz, 10 ms periods), with no call: one op is 20 ms;
// run with -benchtime 250x (5 s). Reported: % of one core and voluntary
// context switches (thread wake-ups) per second.
//
//   - empty-callback: a duplex device whose callback only clears the output:
//     the device thread entering Go 100 times a second, and what the Go
//     runtime does around it.
//   - call-stream: [Context.StartCall] with a silent far end, the microphone
//     path and a G.711 encoding of each frame in capture: all the audio
//     thread does in a call except the RTP send.
//   - goroutine-50Hz: no device, one goroutine woken by a 20 ms ticker
//     (doing nothing): what one more wake-up source costs, as a call's RTP
//     receive goroutine is woken by each packet.
//   - empty-callback+goroutine-50Hz: both at once. On a 2-core VM this costs
//     more than the sum: while the device thread holds a processor (P) of
//     the Go scheduler between its callbacks, the other goroutine's wake-ups
//     keep the runtime's monitor thread (sysmon) polling.
func BenchmarkNullDeviceCPU(b *testing.B) {
	run := func(b *testing.B, start func(c *Context, calls *atomic.Int64) func()) {
		if b.N < 25 {
			return // the framework's probing run: too short to measure
		}
		c := newNullContext(b)
		var calls atomic.Int64
		stop := start(c, &calls)
		defer stop()
		time.Sleep(300 * time.Millisecond)
		n0 := calls.Load()
		cpu0, cs0 := processCPU(b)
		wall0 := time.Now()
		b.ResetTimer()
		time.Sleep(time.Duration(b.N) * 20 * time.Millisecond)
		b.StopTimer()
		cpu1, cs1 := processCPU(b)
		wall := time.Since(wall0)
		if rate := float64(calls.Load()-n0) / wall.Seconds(); rate < 90 || rate > 110 {
			b.Fatalf("%.1f device callbacks per second, want 100", rate)
		}
		b.ReportMetric(100*(cpu1-cpu0).Seconds()/wall.Seconds(), "%core")
		b.ReportMetric(float64(cs1-cs0)/wall.Seconds(), "wakeups/s")
	}
	emptyDevice := func(c *Context, calls *atomic.Int64) func() {
		out, err := c.FindDevice(Playback, "")
		if err != nil {
			b.Fatal(err)
		}
		in, err := c.FindDevice(Capture, "")
		if err != nil {
			b.Fatal(err)
		}
		ds, err := c.open(streamSpec{name: "bench", output: &out, input: &in, period: 10 * time.Millisecond, periods: 2,
			describe: "bench", data: func(o, _ []int16) { clear(o); calls.Add(1) }})
		if err != nil {
			b.Fatal(err)
		}
		return ds.close
	}
	// goroutine50Hz wakes a goroutine every 20 ms; with count it also counts
	// 100 "callbacks" a second so that run's rate check holds without a device.
	goroutine50Hz := func(calls *atomic.Int64, count bool) func() {
		done := make(chan struct{})
		go func() {
			t := time.NewTicker(20 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					if count {
						calls.Add(2)
					}
				}
			}
		}()
		return func() { close(done) }
	}
	b.Run("empty-callback", func(b *testing.B) { run(b, emptyDevice) })
	b.Run("goroutine-50Hz", func(b *testing.B) {
		run(b, func(_ *Context, calls *atomic.Int64) func() { return goroutine50Hz(calls, true) })
	})
	b.Run("empty-callback+goroutine-50Hz", func(b *testing.B) {
		run(b, func(c *Context, calls *atomic.Int64) func() {
			stopDev := emptyDevice(c, calls)
			stopG := goroutine50Hz(calls, false)
			return func() { stopG(); stopDev() }
		})
	})
	b.Run("call-stream", func(b *testing.B) {
		run(b, func(c *Context, calls *atomic.Int64) func() {
			enc := make([]byte, 160)
			cs, err := c.StartCall(CallConfig{},
				func(out []int16) int { clear(out); calls.Add(1); return len(out) },
				func(in []int16) { EncodeULaw(enc, in) })
			if err != nil {
				b.Fatal(err)
			}
			return func() { cs.Close() }
		})
	})
}
