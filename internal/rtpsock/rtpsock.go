// Package rtpsock watches, from the audio thread, a UDP socket that another
// library owns and reads: it finds the socket bound to a local address and
// tells, without blocking and without taking it off the socket, whether a
// datagram is waiting, what it holds and how long ago the kernel received it.
//
// The phone's SIP library (diago) keeps its RTP socket to itself and offers
// only a blocking read, so reading RTP would need a goroutine woken for every
// packet. With a [Socket] the audio thread looks first and calls the library's
// read only when a datagram it will return at once is waiting.
//
// [ClassifyRead] sorts the errors of reading RTP the same way for every reader
// (the audio thread, a receive goroutine, the demo PBX).
//
// The receive time comes from the kernel's timestamp (SO_TIMESTAMPNS on Linux,
// SO_TIMESTAMP on macOS). Linux switches timestamping on for the whole system,
// lazily, when the first socket asks, and off again when none needs it: a
// datagram that arrived before that took effect gets the time it is read, and
// so an age of 0, the conservative answer.
//
// A Socket holds its own duplicate of the descriptor: it never reads another
// socket that happens to reuse the library's descriptor number, and the socket
// stays open (and bound) until both the library and [Socket.Close] have closed
// it. Supported on Linux and macOS; elsewhere [Find] returns an error wrapping
// [errors.ErrUnsupported].
package rtpsock

import (
	"errors"
	"io"
	"net"
	"time"
)

// ErrEmpty is returned by [Socket.Peek] when no datagram is waiting.
var ErrEmpty = errors.New("no datagram is waiting")

// ErrNotFound is wrapped by [Find] when no UDP socket of the process is bound
// to the address.
var ErrNotFound = errors.New("no UDP socket of this process is bound to the address")

// maxAge bounds the age Peek reports: a receive timestamp further in the past
// (or in the future) means the wall clock was stepped in between.
const maxAge = 500 * time.Millisecond

// sameAddr reports whether a socket bound to ip:port is bound to want.
func sameAddr(ip net.IP, port int, want *net.UDPAddr) bool {
	if port != want.Port {
		return false
	}
	if len(want.IP) == 0 || want.IP.IsUnspecified() {
		return ip.IsUnspecified()
	}
	return ip.Equal(want.IP)
}

// clampAge turns a receive timestamp's distance from now into an age.
func clampAge(age time.Duration) time.Duration {
	if age < 0 || age > maxAge {
		return 0
	}
	return age
}

// ReadOutcome sorts an error from a read of an RTP socket (diago's or any
// net.PacketConn's).
type ReadOutcome int

const (
	// ReadFailed is any other error: a datagram that could not be used; read on.
	ReadFailed ReadOutcome = iota
	// ReadClosed means the socket is closed (or diago's reader reports EOF): stop.
	ReadClosed
	// ReadTimedOut means a read deadline passed.
	ReadTimedOut
)

// ClassifyRead sorts err, a non-nil error from reading RTP.
func ClassifyRead(err error) ReadOutcome {
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return ReadClosed
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ReadTimedOut
	}
	return ReadFailed
}
