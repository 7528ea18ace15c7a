package phone

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/earshot-app/earshot/audio"
)

// writeMixedPcap writes a pcap of a 1 kHz tone in 20 ms RTP packets whose payload
// type is chosen per packet by pt(i): µ-law for 0, A-law for 8.
func writeMixedPcap(t *testing.T, path string, n int, pt func(i int) uint8) {
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
	g := audio.NewTone(clockRate, 1000, 0.5)
	pcm := make([]int16, frameSamples)
	for i := range n {
		g.Read(pcm)
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt(i), SequenceNumber: uint16(2000 + i),
			Timestamp: uint32(320000 + i*frameSamples), SSRC: 0x5117c4}, Payload: make([]byte, frameSamples)}
		if p.PayloadType == audio.PayloadPCMA {
			audio.EncodeALaw(p.Payload, pcm)
		} else {
			audio.EncodeULaw(p.Payload, pcm)
		}
		raw, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		writePcapUDP(&buf, time.Duration(i)*frameDur, raw)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The PBX offered PCMU and PCMA and the answer keeps both, so it may switch between
// them mid-call (RFC 3264): every packet is decoded by its own payload type, and the
// tone goes on across the switch and back.
func TestPayloadTypeSwitchMidCall(t *testing.T) {
	pp := startPBXPhone(t, func(c *Config) { c.AutoAnswerHints = true })
	sp := pp.call(t, "127.0.0.1", uacParams{Mode: "answer", HoldMS: 2600, Pcap: "mixed.pcap",
		Headers: []string{"Answer-Mode: Auto"}}, func(dir string) {
		// 40 packets of PCMU, 40 of PCMA, 40 of PCMU again.
		writeMixedPcap(t, filepath.Join(dir, "mixed.pcap"), 120, func(i int) uint8 {
			if i/40 == 1 {
				return audio.PayloadPCMA
			}
			return audio.PayloadPCMU
		})
	})
	e := incomingEvent(t, pp.runningPhone)
	waitCallState(t, pp.runningPhone, e.Call, CallEnded)
	if code := sp.wait(10 * time.Second); code != 0 {
		t.Errorf("caller exit %d", code)
	}
	js := e.Call.MediaStats().Jitter
	first, last, present, total := toneStats(pp.tap.blocks(1000))
	t.Logf("tone from block %d to %d, %d of %d blocks; jitter buffer %+v", first, last, present, total, js)
	// 120 packets are 120 blocks of 20 ms; a block or two may straddle the
	// start or a concealed pull under load.
	if total < 115 || present < total-2 {
		t.Errorf("tone heard in %d of %d blocks across PCMU → PCMA → PCMU, want all ~120", present, total)
	}
	if js.Received < 118 {
		t.Errorf("received %d of 120 packets", js.Received)
	}
}

// Sending a packet (mute gate, G.711, the RTP writer and the UDP send) allocates
// nothing: it runs on the headset's audio thread.
func TestSendPathDoesNotAllocate(t *testing.T) {
	pp := startPBXPhone(t, func(c *Config) { c.Media.Audio = nil })
	conn, port := listenRTPPair(t)
	_, target := startFarEnd(t, port, freeUDPPort(t, "127.0.0.1", true), false)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := pp.Dial(ctx, target)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Hangup(ctx)
	// The far end sends nothing, so nothing else in the process runs meanwhile;
	// what the phone sends is drained.
	go func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := conn.ReadFromUDP(buf); err != nil {
				return
			}
		}
	}()
	waitFor(t, 5*time.Second, "packets sent", func() bool { return c.MediaStats().PacketsSent > 10 })
	m := c.media
	pcm := make([]int16, frameSamples)
	audio.NewTone(clockRate, 1000, 0.5).Read(pcm)
	m.tx.Lock() // the ticker waits meanwhile
	sent := m.sent.Load()
	allocs := testing.AllocsPerRun(200, func() { m.sendFrame(pcm) })
	sent = m.sent.Load() - sent
	m.tx.Unlock()
	if sent < 200 {
		t.Fatalf("%d packets sent by 201 calls", sent)
	}
	if allocs != 0 {
		t.Errorf("sending a packet allocates %.2f times", allocs)
	}
}

// The headset's clock paces sending; when the headset goes away mid-call (here the
// audio system is closed under the call) a timer takes over within the watchdog's
// period and the far end keeps getting one packet every 20 ms, with no gap in
// sequence numbers, and timestamps that skip the time nothing was sent.
func TestSendingGoesOnWithoutTheHeadset(t *testing.T) {
	pp := startPBXPhone(t, func(c *Config) { c.Media.CaptureSource = toneSource() })
	l := listenRTP(t)
	_, target := startFarEnd(t, l.port(), freeUDPPort(t, "127.0.0.1", true), false)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := pp.Dial(ctx, target)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	time.Sleep(time.Second)
	closed := time.Now()
	if err := pp.audio.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if err := c.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	st := c.MediaStats()

	l.mu.Lock()
	pkts, at := append([]rtp.Packet(nil), l.pkts...), append([]time.Time(nil), l.at...)
	l.mu.Unlock()
	if len(pkts) < 100 {
		t.Fatalf("the far end got %d packets in 2.5 s", len(pkts))
	}
	var before, after int
	var gap time.Duration
	for i, p := range pkts {
		if i > 0 {
			if p.SequenceNumber != pkts[i-1].SequenceNumber+1 {
				t.Fatalf("packet %d: seq %d after %d", i, p.SequenceNumber, pkts[i-1].SequenceNumber)
			}
			// The timestamp advances as time does (within the scheduling
			// jitter of a loaded machine).
			wall := at[i].Sub(at[i-1])
			ts := time.Duration(p.Timestamp-pkts[i-1].Timestamp) * time.Second / clockRate
			if ts < frameDur || (wall-ts).Abs() > 60*time.Millisecond {
				t.Errorf("packet %d: timestamp advanced %v over %v", i, ts, wall)
			}
			gap = max(gap, wall)
		}
		switch {
		case at[i].Before(closed) && at[i].After(closed.Add(-500*time.Millisecond)):
			before++
		case at[i].After(closed.Add(time.Second)):
			after++
		}
	}
	t.Logf("packets in the 0.5 s before the headset went: %d; in the last 0.5 s: %d; longest gap %v; stats %+v", before, after, gap, st)
	if before < 22 || before > 28 || after < 20 || after > 28 {
		t.Errorf("%d packets in 0.5 s with the headset, %d after it went, want 25", before, after)
	}
	if gap > 450*time.Millisecond {
		t.Errorf("sending stopped for %v when the headset went", gap)
	}
}
