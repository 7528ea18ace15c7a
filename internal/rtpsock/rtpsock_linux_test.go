package rtpsock

import (
	"testing"
	"time"
)

// On Linux the audio thread calls Peek and Discard: they must not allocate.
func TestPeekDoesNotAllocate(t *testing.T) {
	lib, peer := owned(t)
	s := findOwned(t, lib)
	buf := make([]byte, 1500)
	if _, err := peer.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if a := testing.AllocsPerRun(100, func() { _, _, _ = s.Peek(buf) }); a != 0 {
		t.Errorf("Peek allocates %.1f times", a)
	}
	if a := testing.AllocsPerRun(100, func() { _ = s.Discard() }); a != 0 {
		t.Errorf("Discard allocates %.1f times", a)
	}
}
