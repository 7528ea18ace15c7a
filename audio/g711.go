package audio

// G.711 (ITU-T G.711) µ-law and A-law companding.
//
// Encoding uses lookup tables indexed by the significant bits of the linear
// sample (14 bits for µ-law, 13 bits for A-law), so both directions are a
// single table lookup per sample and never allocate.

// RTP static payload types for G.711 (RFC 3551).
const (
	PayloadPCMU uint8 = 0 // G.711 µ-law
	PayloadPCMA uint8 = 8 // G.711 A-law
)

var (
	ulawDecodeTable [256]int16
	alawDecodeTable [256]int16
	ulawEncodeTable [1 << 14]byte // indexed by uint16(sample) >> 2
	alawEncodeTable [1 << 13]byte // indexed by uint16(sample) >> 3
)

func init() {
	for i := range 256 {
		ulawDecodeTable[i] = ulawDecode(byte(i))
		alawDecodeTable[i] = alawDecode(byte(i))
	}
	for i := range len(ulawEncodeTable) {
		s := int16(uint16(i) << 2)
		ulawEncodeTable[i] = ulawEncode(s)
	}
	for i := range len(alawEncodeTable) {
		s := int16(uint16(i) << 3)
		alawEncodeTable[i] = alawEncode(s)
	}
}

// ulawEncode compresses one sample with the G.711 µ-law segment rule
// (14-bit magnitude, bias 33, 8 segments).
func ulawEncode(s int16) byte {
	// Negative samples use the one's complement magnitude, as the ITU
	// reference implementation (G.191) does, so that the quantiser is
	// symmetric about zero.
	v := int32(s)
	var mask byte = 0xFF
	if v < 0 {
		v = ^v
		mask = 0x7F
	}
	v >>= 2 // 14-bit magnitude
	if v > 8159 {
		v = 8159
	}
	v += 33
	seg := 0
	for t := v >> 6; t > 0; t >>= 1 {
		seg++
	}
	if seg >= 8 {
		return 0x7F ^ mask
	}
	mant := (v >> uint(seg+1)) & 0x0F
	return byte(seg<<4|int(mant)) ^ mask
}

// ulawDecode expands one µ-law code to a 16-bit linear sample.
func ulawDecode(u byte) int16 {
	u = ^u
	t := (int32(u&0x0F) << 3) + 0x84
	t <<= (u & 0x70) >> 4
	if u&0x80 != 0 {
		return int16(0x84 - t)
	}
	return int16(t - 0x84)
}

// alawEncode compresses one sample with the G.711 A-law segment rule
// (13-bit magnitude, 8 segments, even bits inverted).
func alawEncode(s int16) byte {
	v := int32(s) >> 3 // 13-bit signed
	var mask byte = 0xD5
	if v < 0 {
		v = -v - 1
		mask = 0x55
	}
	seg := 0
	for t := v >> 5; t > 0 && seg < 8; t >>= 1 {
		seg++
	}
	if seg >= 8 {
		return 0x7F ^ mask
	}
	var a int32
	if seg < 2 {
		a = (v >> 1) & 0x0F
	} else {
		a = (v >> uint(seg)) & 0x0F
	}
	return byte(int32(seg<<4)|a) ^ mask
}

// alawDecode expands one A-law code to a 16-bit linear sample.
func alawDecode(a byte) int16 {
	a ^= 0x55
	t := int32(a&0x0F) << 4
	seg := (a & 0x70) >> 4
	switch seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if a&0x80 != 0 {
		return int16(t)
	}
	return int16(-t)
}

// EncodeULaw encodes min(len(dst), len(src)) samples of src as µ-law into dst.
func EncodeULaw(dst []byte, src []int16) {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, s := range src {
		dst[i] = ulawEncodeTable[uint16(s)>>2]
	}
}

// DecodeULaw decodes min(len(dst), len(src)) µ-law bytes of src into dst.
func DecodeULaw(dst []int16, src []byte) {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, b := range src {
		dst[i] = ulawDecodeTable[b]
	}
}

// EncodeALaw encodes min(len(dst), len(src)) samples of src as A-law into dst.
func EncodeALaw(dst []byte, src []int16) {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, s := range src {
		dst[i] = alawEncodeTable[uint16(s)>>3]
	}
}

// DecodeALaw decodes min(len(dst), len(src)) A-law bytes of src into dst.
func DecodeALaw(dst []int16, src []byte) {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, b := range src {
		dst[i] = alawDecodeTable[b]
	}
}

// ULawSilence and ALawSilence are the codes of a zero sample: a muted G.711
// stream must carry these bytes, not zero bytes (0x00 is a loud negative
// sample in µ-law and a small one in A-law).
const (
	ULawSilence byte = 0xFF
	ALawSilence byte = 0xD5
)

// DecodeG711 decodes a PCMU (payload type 0) or PCMA (8) payload into out
// and returns the number of samples written; any other payload type yields
// 0. It has the signature of [JitterConfig].Decode.
func DecodeG711(payloadType uint8, payload []byte, out []int16) int {
	n := min(len(out), len(payload))
	switch payloadType {
	case PayloadPCMU:
		DecodeULaw(out[:n], payload[:n])
	case PayloadPCMA:
		DecodeALaw(out[:n], payload[:n])
	default:
		return 0
	}
	return n
}
