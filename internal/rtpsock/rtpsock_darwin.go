package rtpsock

import (
	"errors"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Socket is a look at a UDP socket another library reads. Peek and Discard are
// not safe for concurrent use and never block; on macOS each allocates the
// sender's address.
type Socket struct {
	fd     int
	stamps bool

	oob  [64]byte
	junk [1]byte
}

func enableTimestamps(fd int) error {
	return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMP, 1)
}

// Peek copies the datagram waiting at the head of the socket into buf (cut to
// len(buf)) without taking it off the socket, and returns its length and how
// long ago the kernel received it (0 without timestamps). It returns ErrEmpty at
// once when nothing is waiting.
func (s *Socket) Peek(buf []byte) (int, time.Duration, error) {
	for {
		n, oobn, _, _, err := unix.Recvmsg(s.fd, buf, s.oob[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		switch {
		case err == nil:
			return n, s.age(oobn), nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			return 0, 0, ErrEmpty
		}
		return 0, 0, fmt.Errorf("peek at the RTP socket: %w", err)
	}
}

// age reads the receive timestamp from oobn bytes of control data.
func (s *Socket) age(oobn int) time.Duration {
	hdr := unix.CmsgLen(0)
	if !s.stamps || oobn < unix.CmsgLen(int(unsafe.Sizeof(unix.Timeval{}))) {
		return 0
	}
	h := (*unix.Cmsghdr)(unsafe.Pointer(&s.oob[0]))
	if h.Level != unix.SOL_SOCKET || h.Type != unix.SCM_TIMESTAMP {
		return 0
	}
	tv := (*unix.Timeval)(unsafe.Pointer(&s.oob[hdr]))
	return clampAge(time.Since(time.Unix(tv.Unix())))
}

// Discard takes the datagram at the head of the socket off it unread. It
// returns ErrEmpty when nothing is waiting.
func (s *Socket) Discard() error {
	for {
		_, _, err := unix.Recvfrom(s.fd, s.junk[:], unix.MSG_DONTWAIT)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			return ErrEmpty
		}
		return fmt.Errorf("discard from the RTP socket: %w", err)
	}
}
