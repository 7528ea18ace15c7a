package demo

import (
	"sync"
	"time"
)

// Clock tells the time that drives Run. The wall clock drives the app; a SimClock drives
// tests of Run. (Tests that only need the simulation itself use Step and Advance, which
// need no clock at all.)
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// After returns a channel that receives the time once d has passed on this clock.
	After(d time.Duration) <-chan time.Time
}

// WallClock returns the real time clock.
func WallClock() Clock { return wallClock{} }

type wallClock struct{}

func (wallClock) Now() time.Time                         { return time.Now() }
func (wallClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// SimClock is a clock that moves only when told to (Advance, Set). It is safe for
// concurrent use.
type SimClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []simWaiter
}

type simWaiter struct {
	at time.Time
	ch chan time.Time
}

// NewSimClock returns a simulated clock that reads start.
func NewSimClock(start time.Time) *SimClock { return &SimClock{now: start} }

// Now returns the simulated time.
func (c *SimClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After returns a channel that receives once the clock has been advanced by d.
func (c *SimClock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.mu.Lock()
	defer c.mu.Unlock()
	at := c.now.Add(d)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, simWaiter{at: at, ch: ch})
	return ch
}

// Advance moves the clock forward by d (a negative d is ignored) and wakes the waiters
// whose time has come.
func (c *SimClock) Advance(d time.Duration) {
	if d < 0 {
		return
	}
	c.mu.Lock()
	c.set(c.now.Add(d))
	c.mu.Unlock()
}

// Set moves the clock to t if t is later than the current time.
func (c *SimClock) Set(t time.Time) {
	c.mu.Lock()
	if t.After(c.now) {
		c.set(t)
	}
	c.mu.Unlock()
}

func (c *SimClock) set(t time.Time) {
	c.now = t
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(t) {
			w.ch <- t
			continue
		}
		kept = append(kept, w)
	}
	clear(c.waiters[len(kept):])
	c.waiters = kept
}
