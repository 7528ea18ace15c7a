//go:build linux || darwin

package rtpsock

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"testing"
	"time"
)

// owned is a UDP socket as a library would own it, and a peer sending to it.
func owned(t *testing.T) (lib *net.UDPConn, peer *net.UDPConn) {
	t.Helper()
	lib, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lib.Close() })
	peer, err = net.DialUDP("udp4", nil, lib.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })
	return lib, peer
}

func findOwned(t *testing.T, lib *net.UDPConn) *Socket {
	t.Helper()
	s, err := Find(lib.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatalf("Find: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// waitForStamps waits until the kernel stamps datagrams on arrival. Linux turns
// receive timestamps on for the whole system, lazily (deferred work), once the
// first socket asks: until then a datagram gets the time it is read (age 0).
func waitForStamps(t *testing.T, s *Socket, lib, peer *net.UDPConn) {
	t.Helper()
	buf := make([]byte, 64)
	for range 50 {
		if _, err := peer.Write([]byte("probe")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
		_, age, err := s.Peek(buf)
		_ = lib.SetReadDeadline(time.Now().Add(time.Second))
		if _, _, rerr := lib.ReadFrom(buf); rerr != nil {
			t.Fatal(rerr)
		}
		if err == nil && age >= 10*time.Millisecond {
			return
		}
	}
	t.Fatal("the kernel never stamped a datagram on arrival")
}

// The audio thread looks at what is waiting without taking it: the library
// still reads every datagram, in order, and Peek says how long each waited.
func TestPeekLeavesTheDatagramToItsOwner(t *testing.T) {
	lib, peer := owned(t)
	s := findOwned(t, lib)
	if runtime.GOOS == "linux" && !s.Timestamps() {
		t.Error("the kernel does not stamp the socket's datagrams")
	}
	buf := make([]byte, 1500)
	if _, _, err := s.Peek(buf); !errors.Is(err, ErrEmpty) {
		t.Fatalf("Peek on an empty socket: %v, want ErrEmpty", err)
	}
	if s.Timestamps() {
		waitForStamps(t, s, lib, peer)
	}
	for _, msg := range []string{"first datagram", "second"} {
		if _, err := peer.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	const wait = 30 * time.Millisecond
	time.Sleep(wait)
	for range 2 {
		n, age, err := s.Peek(buf)
		if err != nil {
			t.Fatalf("Peek: %v", err)
		}
		if got := string(buf[:n]); got != "first datagram" {
			t.Fatalf("Peek = %q, want the first datagram", got)
		}
		if s.Timestamps() && (age < wait || age > maxAge) {
			t.Errorf("age %v, want at least the %v it waited", age, wait)
		}
	}
	for _, want := range []string{"first datagram", "second"} {
		_ = lib.SetReadDeadline(time.Now().Add(time.Second))
		n, _, err := lib.ReadFrom(buf)
		if err != nil || string(buf[:n]) != want {
			t.Fatalf("the owner read %q, %v; want %q", buf[:n], err, want)
		}
	}
	if _, _, err := s.Peek(buf); !errors.Is(err, ErrEmpty) {
		t.Fatalf("Peek after the owner read everything: %v, want ErrEmpty", err)
	}
}

// Discard takes exactly the head datagram; the owner reads the next one.
func TestDiscardTakesOneDatagram(t *testing.T) {
	lib, peer := owned(t)
	s := findOwned(t, lib)
	for _, msg := range []string{"junk that is not RTP", "rtp"} {
		if _, err := peer.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(time.Second)
	buf := make([]byte, 1500)
	for {
		if _, _, err := s.Peek(buf); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the datagrams never arrived")
		}
		time.Sleep(time.Millisecond)
	}
	if err := s.Discard(); err != nil {
		t.Fatalf("Discard: %v", err)
	}
	_ = lib.SetReadDeadline(time.Now().Add(time.Second))
	n, _, err := lib.ReadFrom(buf)
	if err != nil || !bytes.Equal(buf[:n], []byte("rtp")) {
		t.Fatalf("after Discard the owner read %q, %v; want the second datagram", buf[:n], err)
	}
	if err := s.Discard(); !errors.Is(err, ErrEmpty) {
		t.Fatalf("Discard on an empty socket: %v, want ErrEmpty", err)
	}
}

// Only the UDP socket bound to that very address is found: not a TCP socket on
// the same port, not another address.
func TestFindMatchesOnlyThatUDPSocket(t *testing.T) {
	lib, _ := owned(t)
	addr := lib.LocalAddr().(*net.UDPAddr)
	tcp, err := net.Listen("tcp4", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	other, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	s := findOwned(t, lib)
	if !boundTo(s.fd, addr) {
		t.Fatalf("found descriptor %d, which is not bound to %s", s.fd, addr)
	}
	free := other.LocalAddr().(*net.UDPAddr).Port
	other.Close()
	if _, err := Find(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: free}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Find on a closed socket's address: %v, want ErrNotFound", err)
	}
	if _, err := Find(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 2), Port: addr.Port}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Find on another IP: %v, want ErrNotFound", err)
	}
}

// When the owner closes its socket first (the far end hung up), the Socket's own
// descriptor still works and never reads another socket that reuses the number.
func TestOwnerClosesFirst(t *testing.T) {
	lib, _ := owned(t)
	s := findOwned(t, lib)
	lib.Close()
	// A new socket may take the owner's old descriptor number.
	reuse, peer := owned(t)
	if _, err := peer.Write([]byte("for the new socket")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	buf := make([]byte, 1500)
	if n, _, err := s.Peek(buf); !errors.Is(err, ErrEmpty) {
		t.Fatalf("Peek after the owner closed: %q, %v; want ErrEmpty (the new socket's datagram is not ours)", buf[:n], err)
	}
	_ = reuse.SetReadDeadline(time.Now().Add(time.Second))
	if _, _, err := reuse.ReadFrom(buf); err != nil {
		t.Fatalf("the new socket lost its datagram: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// Reading stops when the socket is closed, reads again after a deadline, and
// counts anything else as a bad datagram.
func TestClassifyRead(t *testing.T) {
	lib, _ := owned(t)
	buf := make([]byte, 64)
	_ = lib.SetReadDeadline(time.Now().Add(-time.Second))
	if _, _, err := lib.ReadFrom(buf); ClassifyRead(err) != ReadTimedOut {
		t.Errorf("a read past its deadline (%v) is %v, want ReadTimedOut", err, ClassifyRead(err))
	}
	lib.Close()
	if _, _, err := lib.ReadFrom(buf); ClassifyRead(err) != ReadClosed {
		t.Errorf("a read of a closed socket (%v) is %v, want ReadClosed", err, ClassifyRead(err))
	}
	if got := ClassifyRead(fmt.Errorf("diago: %w", io.EOF)); got != ReadClosed {
		t.Errorf("diago's EOF is %v, want ReadClosed", got)
	}
	if got := ClassifyRead(errors.New("rtp: payload too small")); got != ReadFailed {
		t.Errorf("a parse error is %v, want ReadFailed", got)
	}
}
