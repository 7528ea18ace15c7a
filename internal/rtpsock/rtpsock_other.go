//go:build !linux && !darwin

package rtpsock

import (
	"errors"
	"fmt"
	"net"
	"time"
)

// Socket is a look at a UDP socket another library reads; on this system
// [Find] never returns one.
type Socket struct{}

// Find is not supported on this system: the caller reads the socket its usual
// way.
func Find(laddr *net.UDPAddr) (*Socket, error) {
	return nil, fmt.Errorf("find the RTP socket %s: %w", laddr, errors.ErrUnsupported)
}

// Peek is never called on this system.
func (s *Socket) Peek([]byte) (int, time.Duration, error) { return 0, 0, errors.ErrUnsupported }

// Discard is never called on this system.
func (s *Socket) Discard() error { return errors.ErrUnsupported }

// Close is never called on this system.
func (s *Socket) Close() error { return nil }

// Timestamps is never called on this system.
func (s *Socket) Timestamps() bool { return false }
