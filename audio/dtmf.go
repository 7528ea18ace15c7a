package audio

import "github.com/pion/rtp"

// EventDigit maps an RFC 4733 telephone-event code to its DTMF digit ('0'–'9', '*',
// '#', 'A'–'D'), or 0 for any other event.
func EventDigit(code byte) rune {
	switch {
	case code <= 9:
		return rune('0' + code)
	case code == 10:
		return '*'
	case code == 11:
		return '#'
	case code >= 12 && code <= 15:
		return rune('A' + code - 12)
	}
	return 0
}

// DTMFReceiver turns received RFC 4733 telephone-event packets into digits, once per
// event: a sender repeats each event's packets (and its end packets) under the event's
// one RTP timestamp, so only the first packet of a new timestamp yields the digit. The
// zero value is ready; it is not safe for concurrent use (one per RTP stream).
type DTMFReceiver struct {
	last uint32
	seen bool
}

// Digit returns the digit p starts, or 0 when p repeats an event already reported, is
// too short, or carries an event that is not a digit.
func (d *DTMFReceiver) Digit(p *rtp.Packet) rune {
	if len(p.Payload) < 4 || (d.seen && p.Timestamp == d.last) {
		return 0
	}
	d.seen, d.last = true, p.Timestamp
	return EventDigit(p.Payload[0])
}
