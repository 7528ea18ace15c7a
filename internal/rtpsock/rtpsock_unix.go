//go:build linux || darwin

package rtpsock

import (
	"fmt"
	"net"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// fdDirs list the process's open descriptors, in order of preference.
var fdDirs = []string{"/proc/self/fd", "/dev/fd"}

// Find returns a Socket on the process's UDP socket bound to laddr (its IP and
// port as getsockname reports them). It looks at each open descriptor once, so
// call it when the call starts, not per packet.
func Find(laddr *net.UDPAddr) (*Socket, error) {
	if laddr == nil || laddr.Port == 0 {
		return nil, fmt.Errorf("find the RTP socket: no local port")
	}
	for _, fd := range openFDs() {
		if !boundTo(fd, laddr) {
			continue
		}
		// Our own descriptor for the same socket, then check it again: the
		// number may have been closed and reused in between.
		own, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("find the RTP socket %s: duplicate descriptor %d: %w", laddr, fd, err)
		}
		if !boundTo(own, laddr) {
			unix.Close(own)
			continue
		}
		s := &Socket{fd: own}
		s.stamps = enableTimestamps(own) == nil
		return s, nil
	}
	return nil, fmt.Errorf("find the RTP socket %s: %w", laddr, ErrNotFound)
}

// openFDs lists the process's open descriptors.
func openFDs() []int {
	for _, dir := range fdDirs {
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		fds := make([]int, 0, len(ents))
		for _, e := range ents {
			if fd, err := strconv.Atoi(e.Name()); err == nil {
				fds = append(fds, fd)
			}
		}
		return fds
	}
	// No directory lists them: try the usual range.
	fds := make([]int, 4096)
	for i := range fds {
		fds[i] = i
	}
	return fds
}

// boundTo reports whether fd is a UDP socket bound to want.
func boundTo(fd int, want *net.UDPAddr) bool {
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil || typ != unix.SOCK_DGRAM {
		return false
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return false
	}
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return sameAddr(net.IP(a.Addr[:]), a.Port, want)
	case *unix.SockaddrInet6:
		return sameAddr(net.IP(a.Addr[:]), a.Port, want)
	}
	return false
}

// Close closes the Socket's own descriptor. The library's socket is closed by
// the library; the kernel frees it once both are closed. Peek and Discard must
// not run during or after Close.
func (s *Socket) Close() error {
	if s.fd < 0 {
		return nil
	}
	err := unix.Close(s.fd)
	s.fd = -1
	return err
}

// Timestamps reports whether the kernel stamps the socket's datagrams: without
// it Peek's age is always zero.
func (s *Socket) Timestamps() bool { return s.stamps }
