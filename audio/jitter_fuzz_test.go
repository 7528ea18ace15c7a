package audio

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// FuzzJitterBuffer drives a jitter buffer with arbitrary packet sequences:
// each 6-byte record either pulls a frame or pushes a packet whose
// sequence number, timestamp, SSRC, payload type and payload length derive
// from the record. Whatever arrives, Pull must fill a whole frame, the
// buffer must stay within its delay bound, and nothing may panic.
func FuzzJitterBuffer(f *testing.F) {
	f.Add([]byte{0, 1, 0, 0, 0, 160, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 160})
	f.Add([]byte{0, 0xFF, 0xFF, 0xFF, 8, 160, 0, 0x80, 0, 3, 8, 160, 1, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		jb := NewJitterBuffer(JitterConfig{MaxDelay: 200 * time.Millisecond})
		frame := jb.FrameSamples()
		out := make([]int16, frame)
		var seq uint16
		var ts uint32
		ssrcs := [4]uint32{0x1111, 0x2222, 0x3333, 0x4444}
		payload := make([]byte, 2048)
		for i := range payload {
			payload[i] = byte(i * 37)
		}
		pulls := 0
		for len(data) >= 6 {
			rec := data[:6]
			data = data[6:]
			if rec[0]&1 == 1 {
				for k := range out {
					out[k] = 0x5A5A
				}
				if n := jb.Pull(out); n != frame {
					t.Fatalf("Pull returned %d, want %d", n, frame)
				}
				pulls++
				continue
			}
			// Sequence and timestamp steps: mostly forward, sometimes back
			// or far away.
			seq += uint16(int16(int8(rec[1])))
			switch rec[0] >> 6 {
			case 0:
				ts += uint32(int32(int8(rec[2]))) * 160
			case 1:
				ts += uint32(int32(int8(rec[2]))) * 37
			case 2:
				ts = binary.BigEndian.Uint32([]byte{rec[2], rec[3], rec[1], rec[2]})
			case 3:
				ts -= uint32(rec[2]) * 160
			}
			pt := []uint8{PayloadPCMU, PayloadPCMA, 101, 13}[rec[3]&3]
			plen := int(binary.BigEndian.Uint16(rec[4:6])) % len(payload)
			jb.Push(&rtp.Packet{
				Header:  rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: ts, SSRC: ssrcs[(rec[3]>>2)&3]},
				Payload: payload[:plen],
			})
			st := jb.Stats()
			if st.Depth > 200*time.Millisecond+20*time.Millisecond {
				t.Fatalf("depth %v beyond MaxDelay", st.Depth)
			}
		}
		st := jb.Stats()
		if st.Frames > uint64(pulls) || st.Concealed+st.Silent > st.Frames {
			t.Fatalf("inconsistent frame counts after %d pulls: %+v", pulls, st)
		}
	})
}
