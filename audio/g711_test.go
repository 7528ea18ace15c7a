package audio

import (
	"math"
	"testing"

	"github.com/zaf/g711"
)

// Known code points of G.711 (ITU-T G.711 tables 1a/2a).
func TestG711KnownVectors(t *testing.T) {
	cases := []struct {
		name string
		fn   func(byte) int16
		code byte
		want int16
	}{
		{"µ-law +0", ulawDecodeTable2, 0xFF, 0},
		{"µ-law -0", ulawDecodeTable2, 0x7F, 0},
		{"µ-law max", ulawDecodeTable2, 0x80, 32124},
		{"µ-law min", ulawDecodeTable2, 0x00, -32124},
		{"µ-law small", ulawDecodeTable2, 0xFE, 8},
		{"A-law small +", alawDecodeTable2, 0xD5, 8},
		{"A-law small -", alawDecodeTable2, 0x55, -8},
		{"A-law max", alawDecodeTable2, 0xAA, 32256},
		{"A-law min", alawDecodeTable2, 0x2A, -32256},
	}
	for _, c := range cases {
		if got := c.fn(c.code); got != c.want {
			t.Errorf("%s: decode(0x%02X) = %d, want %d", c.name, c.code, got, c.want)
		}
	}
	enc := []struct {
		name string
		fn   func([]byte, []int16)
		in   int16
		want byte
	}{
		{"µ-law 0", EncodeULaw, 0, ULawSilence},
		{"µ-law max", EncodeULaw, 32767, 0x80},
		{"µ-law min", EncodeULaw, -32768, 0x00},
		{"A-law 0", EncodeALaw, 0, ALawSilence},
		{"A-law max", EncodeALaw, 32767, 0xAA},
		{"A-law min", EncodeALaw, -32768, 0x2A},
	}
	for _, c := range enc {
		var b [1]byte
		c.fn(b[:], []int16{c.in})
		if b[0] != c.want {
			t.Errorf("%s: encode(%d) = 0x%02X, want 0x%02X", c.name, c.in, b[0], c.want)
		}
	}
}

func ulawDecodeTable2(b byte) int16 {
	var o [1]int16
	DecodeULaw(o[:], []byte{b})
	return o[0]
}

func alawDecodeTable2(b byte) int16 {
	var o [1]int16
	DecodeALaw(o[:], []byte{b})
	return o[0]
}

// Every 16-bit sample and every code agree with an independent
// implementation of G.711 (github.com/zaf/g711, after the ITU G.191
// reference code).
func TestG711MatchesReferenceExhaustively(t *testing.T) {
	in := make([]int16, 65536)
	raw := make([]byte, 2*len(in))
	for i := range in {
		in[i] = int16(i - 32768)
		raw[2*i] = byte(in[i])
		raw[2*i+1] = byte(uint16(in[i]) >> 8)
	}
	u := make([]byte, len(in))
	a := make([]byte, len(in))
	EncodeULaw(u, in)
	EncodeALaw(a, in)
	refU := g711.EncodeUlaw(raw)
	refA := g711.EncodeAlaw(raw)
	for i := range in {
		if u[i] != refU[i] {
			t.Fatalf("µ-law encode(%d) = 0x%02X, reference 0x%02X", in[i], u[i], refU[i])
		}
		if a[i] != refA[i] {
			t.Fatalf("A-law encode(%d) = 0x%02X, reference 0x%02X", in[i], a[i], refA[i])
		}
	}
	codes := make([]byte, 256)
	for i := range codes {
		codes[i] = byte(i)
	}
	du := make([]int16, 256)
	da := make([]int16, 256)
	DecodeULaw(du, codes)
	DecodeALaw(da, codes)
	ru, ra := g711.DecodeUlaw(codes), g711.DecodeAlaw(codes)
	for i := range codes {
		if want := int16(uint16(ru[2*i]) | uint16(ru[2*i+1])<<8); du[i] != want {
			t.Errorf("µ-law decode(0x%02X) = %d, reference %d", i, du[i], want)
		}
		if want := int16(uint16(ra[2*i]) | uint16(ra[2*i+1])<<8); da[i] != want {
			t.Errorf("A-law decode(0x%02X) = %d, reference %d", i, da[i], want)
		}
	}
}

// Round trips: decoding is exact on codes, and encoding then decoding keeps
// the signal within G.711's quantisation error (about 38 dB SNR on speech
// levels).
func TestG711RoundTrip(t *testing.T) {
	codes := make([]byte, 256)
	for i := range codes {
		codes[i] = byte(i)
	}
	pcm := make([]int16, 256)
	back := make([]byte, 256)
	for _, c := range []struct {
		name string
		enc  func([]byte, []int16)
		dec  func([]int16, []byte)
	}{{"µ-law", EncodeULaw, DecodeULaw}, {"A-law", EncodeALaw, DecodeALaw}} {
		c.dec(pcm, codes)
		c.enc(back, pcm)
		for i := range codes {
			// µ-law 0x7F (-0) re-encodes as 0xFF (+0); the value is the same.
			if back[i] != codes[i] && pcm[i] != 0 {
				t.Errorf("%s: code 0x%02X -> %d -> 0x%02X", c.name, codes[i], pcm[i], back[i])
			}
		}
		tone := make([]int16, 8000)
		NewTone(8000, 1000, 0.3).Read(tone)
		enc := make([]byte, len(tone))
		dec := make([]int16, len(tone))
		c.enc(enc, tone)
		c.dec(dec, enc)
		var sig, noise float64
		for i := range tone {
			d := float64(tone[i]) - float64(dec[i])
			sig += float64(tone[i]) * float64(tone[i])
			noise += d * d
		}
		if snr := 10 * math.Log10(sig/noise); snr < 35 {
			t.Errorf("%s: SNR of a -10 dBFS tone = %.1f dB, want >= 35", c.name, snr)
		}
	}
}

func TestDecodeG711PayloadTypes(t *testing.T) {
	out := make([]int16, 4)
	if n := DecodeG711(PayloadPCMU, []byte{0xFF, 0x80, 0x00, 0x7F}, out); n != 4 || out[1] != 32124 {
		t.Errorf("PCMU: n=%d out=%v", n, out)
	}
	if n := DecodeG711(PayloadPCMA, []byte{0xD5, 0xAA}, out); n != 2 || out[1] != 32256 {
		t.Errorf("PCMA: n=%d out=%v", n, out)
	}
	if n := DecodeG711(101, []byte{1, 2, 3, 4}, out); n != 0 {
		t.Errorf("telephone-event decoded as audio: n=%d", n)
	}
	if n := DecodeG711(PayloadPCMU, make([]byte, 10), out); n != 4 {
		t.Errorf("long payload into short buffer: n=%d, want 4", n)
	}
}

func TestG711DoesNotAllocate(t *testing.T) {
	pcm := make([]int16, 160)
	b := make([]byte, 160)
	if n := testing.AllocsPerRun(100, func() {
		EncodeULaw(b, pcm)
		DecodeULaw(pcm, b)
		EncodeALaw(b, pcm)
		DecodeALaw(pcm, b)
	}); n != 0 {
		t.Errorf("G.711 allocates %.0f times per frame", n)
	}
}
