package phone

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// usage is what the process (and one of its threads) has used so far.
type usage struct {
	cpu    time.Duration // user + system, all threads
	thread time.Duration // CPU of the watched thread (0 if none)
	wakes  int64         // voluntary context switches: times a thread slept and was woken
}

// measureUsage reads the process's CPU time and context switches, and the CPU time
// of thread tid from /proc (0: none).
func measureUsage(tb testing.TB, tid int) usage {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	u := usage{cpu: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), wakes: ru.Nvcsw}
	if tid > 0 {
		// schedstat: nanoseconds on the CPU, nanoseconds waiting, timeslices.
		b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/schedstat", tid))
		if err != nil {
			tb.Fatalf("CPU time of the audio thread: %v", err)
		}
		f := strings.Fields(string(b))
		if len(f) > 0 {
			ns, _ := strconv.ParseInt(f[0], 10, 64)
			u.thread = time.Duration(ns)
		}
	}
	return u
}

// threadTap is a PlaybackTap that learns which OS thread the headset's audio
// callback runs on (it asks once).
type threadTap struct{ tid atomic.Int64 }

func (t *threadTap) fn([]int16, int) {
	if t.tid.Load() == 0 {
		t.tid.Store(int64(syscall.Gettid()))
	}
}

// BenchmarkCallAudioPathCPU measures what one call costs the process, on a real
// call to sipp's RTP echo (so the phone receives as many packets as it sends).
// Every op is one 20 ms frame of the call; run with -benchtime 250x (5 s).
// Reported: % of one core for the whole process during the call, the part of it
// on the headset's audio thread (the device callbacks: reading the RTP waiting on
// the socket, jitter-buffer playout, resampling both ways, meters, G.711 encoding
// and the RTP send, all paced by the device), process wake-ups (voluntary context switches) per second, CPU time per
// frame and the packet rates. A run where packets did not flow at 50 per second
// each way is refused: it would not be measuring a call.
//
//   - call: the whole call with the headset on audio's paced null backend, the
//     figure of record.
//   - call-gomaxprocs-1: the same with GOMAXPROCS=1 while measuring, which shows
//     how much of the cost is the Go scheduler spreading wake-ups over two
//     processors.
//   - no-headset: the call without any audio device: one 20 ms ticker reads the
//     socket, plays the jitter buffer out and sends.
//
// The headset alone (no call) is audio's BenchmarkNullDeviceCPU. The microphone is
// the null device's (silence): the work per sample is the same as for speech, and
// a CaptureSource would add an upsampling that only tests do.
func BenchmarkCallAudioPathCPU(b *testing.B) {
	b.Run("call", func(b *testing.B) { benchCall(b, true, 0) })
	b.Run("call-gomaxprocs-1", func(b *testing.B) { benchCall(b, true, 1) })
	b.Run("no-headset", func(b *testing.B) { benchCall(b, false, 0) })
}

// reportUsage reports the CPU used between u0 and u1 over wall for frames frames.
func reportUsage(b *testing.B, u0, u1 usage, wall time.Duration, frames int) {
	cpu := u1.cpu - u0.cpu
	b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "%core")
	b.ReportMetric(100*(u1.thread-u0.thread).Seconds()/wall.Seconds(), "%core-audio-thread")
	b.ReportMetric(float64(u1.wakes-u0.wakes)/wall.Seconds(), "wakeups/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(frames), "cpu-ns/frame")
}

// benchCall measures one call to sipp's echo, with the null-backend headset or
// without audio, at GOMAXPROCS procs (0: unchanged) while measuring.
func benchCall(b *testing.B, headset bool, procs int) {
	if b.N < 25 {
		return // the framework's probing run: too short to measure a call
	}
	tt := &threadTap{}
	pp := startPBXPhone(b, func(c *Config) {
		c.Media.PlaybackTap = tt.fn
		c.Logger = testLogger(b, nil)
		if !headset {
			c.Media.Audio = nil
		}
	})
	mp := freeUDPPort(b, "127.0.0.1", true)
	_, target := startFarEnd(b, mp, mp, true)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := pp.Dial(ctx, target)
	if err != nil {
		b.Fatalf("Dial: %v", err)
	}
	defer c.Hangup(ctx)
	time.Sleep(500 * time.Millisecond)
	if procs > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
	}
	tid := int(tt.tid.Load())
	if headset && tid == 0 {
		b.Fatal("the headset's audio callback never ran")
	}
	before := c.MediaStats()
	u0, wall0 := measureUsage(b, tid), time.Now()
	b.ResetTimer()
	time.Sleep(time.Duration(b.N) * frameDur)
	b.StopTimer()
	u1, wall := measureUsage(b, tid), time.Since(wall0)
	after := c.MediaStats()
	rx := float64(after.Jitter.Received-before.Jitter.Received) / wall.Seconds()
	tx := float64(after.PacketsSent-before.PacketsSent) / wall.Seconds()
	if rx < 45 || rx > 55 || tx < 45 || tx > 55 {
		b.Fatalf("not a call: %.1f packets/s received, %.1f sent, want 50 each way (stats %+v)", rx, tx, after)
	}
	if !after.RTPPolled {
		b.Fatalf("RTP was read by a receive goroutine, not by the clock that plays it: not the production path (stats %+v)", after)
	}
	reportUsage(b, u0, u1, wall, b.N)
	b.ReportMetric(rx, "rx-pkt/s")
	b.ReportMetric(tx, "tx-pkt/s")
}
