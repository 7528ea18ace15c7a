package phone

import (
	"context"
	"math/rand"
	"net"
	"sync"
	"testing"
	"time"
)

// relay sits between the phone and sipp's RTP echo. It forwards what the phone
// sends to the echo untouched and impairs what comes back: random loss, random
// delay (which also reorders), and on demand a total gap.
type relay struct {
	a, b     *net.UDPConn // a faces the phone, b faces the echo
	echo     *net.UDPAddr
	loss     float64
	jitter   time.Duration
	mu       sync.Mutex
	rng      *rand.Rand
	phone    *net.UDPAddr
	gapUntil time.Time
	inGap    bool
	resumed  time.Time // first packet forwarded after the last gap
	fwd      int       // packets forwarded to the phone
	dropped  int       // lost on purpose (not counting the gap)
	gapDrop  int
	reorder  int // packets forwarded after one with a higher sequence number
	maxSeq   uint16
	seqSeen  bool
	wg       sync.WaitGroup
}

func startRelay(t *testing.T, echoPort int, loss float64, jitter time.Duration) *relay {
	t.Helper()
	lo := net.IPv4(127, 0, 0, 1)
	a, err := net.ListenUDP("udp", &net.UDPAddr{IP: lo, Port: freeUDPPort(t, "127.0.0.1", true)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := net.ListenUDP("udp", &net.UDPAddr{IP: lo})
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{a: a, b: b, echo: &net.UDPAddr{IP: lo, Port: echoPort}, loss: loss, jitter: jitter,
		rng: rand.New(rand.NewSource(6))}
	r.wg.Add(2)
	go r.forward()
	go r.back()
	t.Cleanup(func() {
		a.Close()
		b.Close()
		r.wg.Wait()
	})
	return r
}

func (r *relay) port() int { return r.a.LocalAddr().(*net.UDPAddr).Port }

func (r *relay) forward() {
	defer r.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, from, err := r.a.ReadFromUDP(buf)
		if err != nil {
			return
		}
		r.mu.Lock()
		r.phone = from
		r.mu.Unlock()
		_, _ = r.b.WriteToUDP(buf[:n], r.echo)
	}
}

func (r *relay) back() {
	defer r.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, _, err := r.b.ReadFromUDP(buf)
		if err != nil {
			return
		}
		pkt := append([]byte(nil), buf[:n]...)
		now := time.Now()
		r.mu.Lock()
		to := r.phone
		switch {
		case now.Before(r.gapUntil):
			r.gapDrop++
			r.mu.Unlock()
			continue
		case r.rng.Float64() < r.loss:
			r.dropped++
			r.mu.Unlock()
			continue
		}
		delay := time.Duration(r.rng.Int63n(int64(r.jitter) + 1))
		r.mu.Unlock()
		time.AfterFunc(delay, func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			if r.inGap && !time.Now().Before(r.gapUntil) {
				r.inGap = false
				r.resumed = time.Now()
			}
			if len(pkt) >= 4 {
				seq := uint16(pkt[2])<<8 | uint16(pkt[3])
				if !r.seqSeen {
					r.seqSeen, r.maxSeq = true, seq
				}
				if d := int16(seq - r.maxSeq); d < 0 {
					r.reorder++
				} else {
					r.maxSeq = seq
				}
			}
			r.fwd++
			_, _ = r.a.WriteToUDP(pkt, to)
		})
	}
}

// gap drops everything coming back for d from now.
func (r *relay) gap(d time.Duration) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	r.gapUntil = now.Add(d)
	r.inGap = true
	return now
}

func (r *relay) stats() (fwd, dropped, gapDrop, reorder int, resumed time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fwd, r.dropped, r.gapDrop, r.reorder, r.resumed
}

// dialEchoThroughRelay has the phone call sipp's RTP echo with a relay, impairing
// with loss and jitter, on the way back.
func dialEchoThroughRelay(ctx context.Context, t *testing.T, pp *pbxPhone, loss float64, jitter time.Duration) (*relay, *sippProc, *Call) {
	t.Helper()
	echoPort := freeUDPPort(t, "127.0.0.1", true)
	rl := startRelay(t, echoPort, loss, jitter)
	sp, target := startFarEnd(t, rl.port(), echoPort, true)
	c, err := pp.Dial(ctx, target)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	return rl, sp, c
}

func TestImpairedNetworkAudioStaysContinuous(t *testing.T) {
	pp := startPBXPhone(t, func(c *Config) { c.Media.CaptureSource = toneSource() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rl, sp, c := dialEchoThroughRelay(ctx, t, pp, 0.03, 40*time.Millisecond)
	time.Sleep(1 * time.Second) // the jitter buffer settles on the jittery path
	impStart := time.Now()
	time.Sleep(3 * time.Second)
	gapStart := rl.gap(500 * time.Millisecond)
	time.Sleep(2 * time.Second)
	end := time.Now()
	st := c.MediaStats()
	if err := c.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if code := sp.wait(10 * time.Second); code != 0 {
		t.Errorf("far end exit code %d", code)
	}

	fwd, dropped, gapDrop, reorder, resumed := rl.stats()
	bs := pp.tap.blocks(1000)
	before, n1, _ := toneWindow(bs, impStart, gapStart)
	t.Logf("relay: %d forwarded, %d lost (%.1f%%), %d reordered, %d dropped in the 500 ms gap",
		fwd, dropped, 100*float64(dropped)/float64(fwd+dropped), reorder, gapDrop)
	t.Logf("jitter buffer: %d received, %d lost, %d late, %d concealed frames, %d resyncs, depth max %s",
		st.Jitter.Received, st.Jitter.Lost, st.Jitter.Late, st.Jitter.Concealed, st.Jitter.Resyncs, st.Jitter.MaxDepth)
	if dropped == 0 || reorder == 0 || gapDrop < 20 {
		t.Fatalf("the relay did not impair the path (lost %d, reordered %d, gap %d)", dropped, reorder, gapDrop)
	}
	t.Logf("3 %% loss + 0-40 ms jitter: tone in %.1f%% of %d blocks at the headset", 100*before, n1)
	if before < 0.97 {
		t.Errorf("with loss and jitter the tone is in only %.1f%% of the blocks; concealment should keep it continuous", 100*before)
	}
	if resumed.IsZero() {
		t.Fatal("no packet came back after the gap")
	}
	// The user hears the gap as silence (the jitter buffer may have played some
	// buffered audio into it first); the tone must be back at most 60 ms after the
	// first packet following the gap reached the phone.
	silent := -1
	for i, b := range bs {
		if b.at.After(gapStart) && b.level < -60 {
			silent = i
			break
		}
	}
	if silent < 0 {
		t.Fatal("the 500 ms gap was never heard as silence")
	}
	var back time.Time
	for _, b := range bs[silent:] {
		if b.tone {
			back = b.at
			break
		}
	}
	if back.IsZero() {
		t.Fatal("the tone never came back after the gap")
	}
	silence := back.Sub(bs[silent].at)
	delay := back.Sub(resumed)
	t.Logf("500 ms gap: %s of silence at the headset; the tone is back %s after the first packet following the gap",
		silence.Round(time.Millisecond), delay.Round(time.Millisecond))
	if delay > 60*time.Millisecond {
		t.Errorf("audio resumed %s after the gap ended, want within 60 ms", delay)
	}
	if silence > 560*time.Millisecond {
		t.Errorf("the gap lasted %s at the headset, want at most the network's 500 ms (+60 ms)", silence)
	}
	after, n2, _ := toneWindow(bs, back, end)
	if after < 0.97 {
		t.Errorf("after the gap the tone is in %.1f%% of %d blocks", 100*after, n2)
	}
}
