package ami

import "time"

// The PBX stamps its events with its own clock (Timestamp), while everything else on
// the board (resync times, "now", time in status) is on the PC's clock. pbxClock maps
// PBX times onto the PC's clock with a measured offset, so that a PBX whose clock is
// behind or ahead of the PC's shows the right talk and waiting times.
//
// Every timestamped event gives a sample: the local time it was received minus its
// Timestamp, that is the clock offset plus the network and processing delay. The
// smallest sample over a sliding window (clockBuckets buckets of clockBucketLen) is the
// estimate: delays only ever add, so the minimum is the closest to the true offset, and
// a burst of late reads does not inflate it. A sample more than clockJump away from the
// estimate is suspect (a malformed Timestamp, or the PBX's or the PC's clock was set):
// such an event gets its local receive time, and only clockConfirm consecutive suspect
// samples that agree with each other replace the estimate.
const (
	clockBucketLen = 30 * time.Second
	clockBuckets   = 10 // a window of 5 minutes
	clockJump      = time.Minute
	clockConfirm   = 3
)

type clockBucket struct {
	idx int64 // local time / clockBucketLen
	min time.Duration
	ok  bool
}

// pbxClock converts PBX Timestamps to local times. Not safe for concurrent use (the
// mapper's lock guards it).
type pbxClock struct {
	now     func() time.Time
	buckets [clockBuckets]clockBucket
	est     time.Duration // the current offset estimate
	have    bool
	odd     [clockConfirm]time.Duration
	nodd    int
}

// local returns the PC's time of an event the PBX stamped ts (zero stays zero).
func (c *pbxClock) local(ts time.Time) time.Time {
	if ts.IsZero() {
		return ts
	}
	recv := c.now()
	s := recv.Sub(ts)
	if c.have && (s > c.est+clockJump || s < c.est-clockJump) {
		c.odd[c.nodd] = s
		c.nodd++
		if c.nodd < clockConfirm {
			return recv
		}
		c.nodd = 0
		lo, hi := c.odd[0], c.odd[0]
		for _, o := range c.odd[1:] {
			lo, hi = min(lo, o), max(hi, o)
		}
		if hi-lo > clockJump {
			return recv
		}
		// the clocks were really set: start a new window
		c.buckets = [clockBuckets]clockBucket{}
		s = lo
	} else {
		c.nodd = 0
	}
	idx := recv.UnixNano() / int64(clockBucketLen)
	b := &c.buckets[((idx%clockBuckets)+clockBuckets)%clockBuckets]
	if !b.ok || b.idx != idx {
		*b = clockBucket{idx: idx, min: s, ok: true}
	} else if s < b.min {
		b.min = s
	}
	est := s
	for i := range c.buckets {
		o := &c.buckets[i]
		if o.ok && o.idx <= idx && idx-o.idx < clockBuckets && o.min < est {
			est = o.min
		}
	}
	c.est, c.have = est, true
	return ts.Add(est)
}

// offset returns the current estimate of the local clock minus the PBX's, and whether
// there is one yet.
func (c *pbxClock) offset() (time.Duration, bool) { return c.est, c.have }
