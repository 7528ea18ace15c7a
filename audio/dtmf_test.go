package audio

import (
	"testing"

	"github.com/pion/rtp"
)

func TestEventDigit(t *testing.T) {
	want := "0123456789*#ABCD"
	for code, r := range want {
		if got := EventDigit(byte(code)); got != r {
			t.Errorf("EventDigit(%d) = %q, want %q", code, got, r)
		}
	}
	if EventDigit(16) != 0 || EventDigit(255) != 0 {
		t.Error("non-digit events must map to 0")
	}
}

// A sender repeats an event's packets and end packets under one timestamp (RFC 4733
// §2.5.1.4): the digit comes out once per event, also for the same digit twice.
func TestDTMFReceiverReportsEachEventOnce(t *testing.T) {
	var rx DTMFReceiver
	event := func(code byte, ts uint32, end bool) *rtp.Packet {
		flags := byte(10)
		if end {
			flags |= 0x80
		}
		return &rtp.Packet{Header: rtp.Header{PayloadType: 101, Timestamp: ts}, Payload: []byte{code, flags, 0, 160}}
	}
	var got []rune
	for _, p := range []*rtp.Packet{
		event(5, 1000, false), event(5, 1000, false), event(5, 1000, true), event(5, 1000, true), event(5, 1000, true),
		event(5, 2600, false), event(5, 2600, true), // the same digit again: a new event
		event(11, 4000, false), event(11, 4000, true),
		{Header: rtp.Header{PayloadType: 101, Timestamp: 5000}, Payload: []byte{1, 2}}, // too short
	} {
		if d := rx.Digit(p); d != 0 {
			got = append(got, d)
		}
	}
	if string(got) != "55#" {
		t.Fatalf("digits %q, want \"55#\"", string(got))
	}
}
