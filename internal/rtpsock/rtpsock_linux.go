package rtpsock

import (
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Socket is a look at a UDP socket another library reads. Peek and Discard are
// not safe for concurrent use; they neither block nor allocate.
type Socket struct {
	fd     int
	stamps bool

	msg  unix.Msghdr
	iov  unix.Iovec
	oob  [64]byte
	junk [1]byte
}

func enableTimestamps(fd int) error {
	return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
}

// Peek copies the datagram waiting at the head of the socket into buf (cut to
// len(buf)) without taking it off the socket, and returns its length and how
// long ago the kernel received it (0 without timestamps). It returns ErrEmpty at
// once when nothing is waiting.
func (s *Socket) Peek(buf []byte) (int, time.Duration, error) {
	if len(buf) == 0 {
		return 0, 0, fmt.Errorf("peek: empty buffer")
	}
	s.iov.Base = &buf[0]
	s.iov.SetLen(len(buf))
	s.msg.Name, s.msg.Namelen = nil, 0
	s.msg.Iov = &s.iov
	s.msg.SetIovlen(1)
	s.msg.Control = &s.oob[0]
	s.msg.SetControllen(len(s.oob))
	s.msg.Flags = 0
	for {
		r, _, errno := unix.Syscall(unix.SYS_RECVMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&s.msg)), unix.MSG_PEEK|unix.MSG_DONTWAIT)
		switch errno {
		case 0:
			return int(r), s.age(), nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, 0, ErrEmpty
		}
		return 0, 0, fmt.Errorf("peek at the RTP socket: %w", errno)
	}
}

// age reads the receive timestamp from the control data of the latest Peek.
func (s *Socket) age() time.Duration {
	hdr := unix.CmsgLen(0)
	if !s.stamps || int(s.msg.Controllen) < unix.CmsgLen(int(unsafe.Sizeof(unix.Timespec{}))) {
		return 0
	}
	h := (*unix.Cmsghdr)(unsafe.Pointer(&s.oob[0]))
	if h.Level != unix.SOL_SOCKET || h.Type != unix.SCM_TIMESTAMPNS {
		return 0
	}
	ts := (*unix.Timespec)(unsafe.Pointer(&s.oob[hdr]))
	return clampAge(time.Since(time.Unix(ts.Unix())))
}

// Discard takes the datagram at the head of the socket off it unread. It
// returns ErrEmpty when nothing is waiting.
func (s *Socket) Discard() error {
	for {
		_, _, errno := unix.Syscall6(unix.SYS_RECVFROM, uintptr(s.fd), uintptr(unsafe.Pointer(&s.junk[0])), 1, unix.MSG_DONTWAIT, 0, 0)
		switch errno {
		case 0:
			return nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return ErrEmpty
		}
		return fmt.Errorf("discard from the RTP socket: %w", errno)
	}
}
