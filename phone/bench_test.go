package phone

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/earshot-app/earshot/audio"
)

// cpuTime is the CPU time (user + system, all threads) this process has used.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCallAudioPathCPU measures what one call costs the process, on a real
// call to sipp's RTP echo. Every op is one 20 ms frame of the call: one RTP packet
// received and jitter-buffered, one frame encoded and sent. Reported: % of one
// core for the call and CPU time per frame. Run with -benchtime 250x (5 s).
//
//   - rtp: the phone's RTP receive and send path alone (no audio device; the
//     jitter buffer is filled, a 20 ms ticker pulls it as a device would).
//   - null-device: the whole call with the headset on audio's paced null
//     backend (device thread, resampling to the device rate, capture source).
//   - null-device-idle: the null backend's call stream alone, without any call,
//     to tell the device's own cost from the phone's.
func BenchmarkCallAudioPathCPU(b *testing.B) {
	b.Run("rtp", func(b *testing.B) { benchCall(b, false) })
	b.Run("null-device", func(b *testing.B) { benchCall(b, true) })
	b.Run("null-device-idle", func(b *testing.B) {
		ac := nullAudio(b)
		cs, err := ac.StartCall(audio.CallConfig{CaptureSource: toneSource()}, func(out []int16) int { clear(out); return len(out) }, func([]int16) {})
		if err != nil {
			b.Fatal(err)
		}
		defer cs.Close()
		time.Sleep(300 * time.Millisecond)
		cpu0, wall0 := cpuTime(b), time.Now()
		b.ResetTimer()
		time.Sleep(time.Duration(b.N) * frameDur)
		b.StopTimer()
		cpu, wall := cpuTime(b)-cpu0, time.Since(wall0)
		b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "%core/call")
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/frame")
	})
}

func benchCall(b *testing.B, device bool) {
	pp := startPBXPhone(b, func(c *Config) {
		c.Media.CaptureSource = toneSource()
		c.Media.PlaybackTap = nil
		c.Logger = testLogger(b, nil)
		if !device {
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
	if !device {
		// Play out the jitter buffer at the device's pace.
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			out := make([]int16, frameSamples)
			tk := time.NewTicker(frameDur)
			defer tk.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tk.C:
					c.media.jb.Pull(out)
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	before := c.MediaStats()
	cpu0, wall0 := cpuTime(b), time.Now()
	b.ResetTimer()
	time.Sleep(time.Duration(b.N) * frameDur)
	b.StopTimer()
	cpu, wall := cpuTime(b)-cpu0, time.Since(wall0)
	after := c.MediaStats()
	if b.N < 25 {
		// The framework's probing run: too short to measure a call.
		return
	}
	rx := after.Jitter.Received - before.Jitter.Received
	tx := after.PacketsSent - before.PacketsSent
	if rx == 0 || tx == 0 {
		b.Fatalf("no media during the benchmark (rx %d, tx %d)", rx, tx)
	}
	b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "%core/call")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(tx), "cpu-ns/frame")
	b.ReportMetric(float64(rx)/wall.Seconds(), "rx-pkt/s")
	b.ReportMetric(float64(tx)/wall.Seconds(), "tx-pkt/s")
}
