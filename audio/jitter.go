package audio

import (
	"math"
	"sync"
	"time"

	"github.com/pion/rtp"
)

// JitterConfig configures a [JitterBuffer]. Zero fields take the defaults
// given on each field.
type JitterConfig struct {
	// ClockRate is the RTP clock rate in Hz, which is also the sample rate
	// of the PCM that Decode produces. Default 8000.
	ClockRate int
	// Frame is the duration of audio each Pull returns. Default 20 ms.
	Frame time.Duration
	// Decode turns one RTP payload into PCM at ClockRate, writing at most
	// len(out) samples, and returns the number written. A packet it returns
	// 0 (or less) for is counted as received (it fills its sequence number)
	// and otherwise ignored, which suits telephone-event, comfort noise or
	// any payload type that is not audio; such a packet never switches the
	// stream to a new SSRC. Default [DecodeG711].
	Decode func(payloadType uint8, payload []byte, out []int16) int
	// MaxDelay is the most audio the buffer holds ahead of the playout
	// point; older audio is discarded when more arrives. Default 300 ms.
	MaxDelay time.Duration
	// Conceal is how long packet-loss concealment keeps repeating the last
	// audio (fading out) before it gives way to silence. Default 60 ms.
	Conceal time.Duration
	// Margin is the least time ahead of its playout that every packet must
	// have arrived, over the adaptation window, for the delay to shrink by
	// one pull: the safety left for jitter beyond what the window saw.
	// Default 5 ms.
	Margin time.Duration
	// Clock is the monotonic clock the buffer reads at every Push and Pull
	// to learn where, between two pulls, packets arrive. Default: the
	// system's monotonic clock. Simulations in virtual time pass their own.
	Clock func() time.Duration
}

// JitterStats are the counters of a [JitterBuffer]. Packet counters count
// RTP packets; frame counters count Pull calls.
type JitterStats struct {
	Received    uint64        // packets that arrived (each sequence number once), including late ones
	Lost        uint64        // packets that never arrived (sequence gaps)
	Late        uint64        // packets that arrived after their playout time and were discarded
	Duplicates  uint64        // packets whose sequence number had already arrived
	Dropped     uint64        // packets discarded for other reasons: a stray packet of a replaced SSRC, overflow
	Frames      uint64        // frames pulled since the first packet
	Concealed   uint64        // frames that contained packet-loss concealment
	Silent      uint64        // frames of silence: nothing to play and nothing left to conceal
	Skipped     time.Duration // audio discarded to shrink the delay or to catch up after a jump
	Resyncs     uint64        // times the playout point jumped to new packets (after a gap, a timestamp jump, a new SSRC)
	SSRCChanges uint64        // times the stream's SSRC changed
	Depth       time.Duration // audio buffered ahead of the playout point now
	MaxDepth    time.Duration // the largest Depth seen
}

// LossFraction is the fraction of the frames pulled since the first packet
// that were not wholly decoded audio (concealed or silent), in 0..1.
func (s JitterStats) LossFraction() float64 {
	if s.Frames == 0 {
		return 0
	}
	return float64(s.Concealed+s.Silent) / float64(s.Frames)
}

// JitterBuffer reorders RTP packets by timestamp, decodes them and plays
// them out one frame at a time at the pace of Pull's caller (the audio
// device). It starts playing as soon as the first packet is there (a depth
// of one packet), grows its delay only when packets arrive late, shrinks it
// again when the extra delay has not been needed for a while, conceals lost
// packets by repeating the last pitch period with a fade, and re-synchronises
// at once after a gap, a timestamp or sequence jump or an SSRC change.
//
// Push and Pull may be called concurrently; Pull neither blocks for long nor
// allocates, so it may be called from an audio callback.
type JitterBuffer struct {
	mu sync.Mutex

	rate     int
	n        int // samples per frame
	decode   func(uint8, []byte, []int16) int
	maxAhead int // samples: MaxDelay
	fadeLen  int // samples of concealment before silence
	xfade    int // samples of cross-fade when resuming or skipping
	margin   int // samples: Margin
	now      func() time.Duration

	ring    []int16
	valid   []bool
	mask    uint32
	scratch []int16
	count   int // valid samples in ring

	// stream identity
	haveSSRC      bool
	ssrc, oldSSRC uint32
	lastSSRCAt    uint64 // clock when the current SSRC last sent

	// playout
	started  bool
	primed   bool          // a whole pull's worth has been buffered since the anchor
	play     uint32        // RTP timestamp of the next sample to play
	highEnd  uint32        // one past the newest stored sample
	held     int           // consecutive frames concealed while waiting at play
	lateRun  int           // consecutive late packets
	clock    uint64        // samples pulled so far: the buffer's sense of time
	pullSize int           // samples of the latest pull
	pullAt   time.Duration // Clock at the latest pull
	pulled   bool          // a pull has happened (pullAt is valid)
	realSeen bool          // any real audio has been played in this stream

	// sequence accounting for the current run of sequence numbers
	seqInit  bool
	baseExt  int64
	maxExt   int64
	recvSeg  uint64
	lostPrev uint64
	seen     [1024]int64 // ext seq + 1 of recent packets, for duplicates

	// concealment
	hist    []int16 // last real samples, circular, len 2n
	histPos int
	plcSrc  []int16
	plcLen  int
	plcPos  int
	plcGain float32
	plcStep float32
	conceal bool // the previous sample was concealed
	resume  int  // samples left of the cross-fade from concealment to audio

	// delay adaptation
	minFast    int    // least depth beyond the frame played, over the fast window
	minSlack   int    // least slack (samples from a packet's arrival to the pull that plays it) over the slow window
	fastN      int    // samples played in the fast window
	slowN      int    // samples played in the slow window
	backoff    int    // the slow window is 1 s << backoff
	grow       int    // samples of delay still to add
	lastShrink uint64 // clock at the last shrink (0: none recently)
	lastGrow   uint64 // clock at the last growth
	lastRelax  uint64 // clock when the backoff last relaxed

	stats JitterStats
}

// NewJitterBuffer returns an empty jitter buffer configured by cfg.
func NewJitterBuffer(cfg JitterConfig) *JitterBuffer {
	if cfg.ClockRate <= 0 {
		cfg.ClockRate = 8000
	}
	if cfg.Frame <= 0 {
		cfg.Frame = 20 * time.Millisecond
	}
	if cfg.Decode == nil {
		cfg.Decode = DecodeG711
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = 300 * time.Millisecond
	}
	if cfg.Conceal <= 0 {
		cfg.Conceal = 60 * time.Millisecond
	}
	if cfg.Margin <= 0 {
		cfg.Margin = 5 * time.Millisecond
	}
	if cfg.Clock == nil {
		start := time.Now()
		cfg.Clock = func() time.Duration { return time.Since(start) }
	}
	j := &JitterBuffer{
		rate:   cfg.ClockRate,
		decode: cfg.Decode,
		now:    cfg.Clock,
	}
	j.n = max(1, durSamples(cfg.Frame, j.rate))
	j.maxAhead = max(2*j.n, durSamples(cfg.MaxDelay, j.rate))
	j.fadeLen = max(1, durSamples(cfg.Conceal, j.rate))
	j.xfade = max(4, j.rate/500) // 2 ms
	j.margin = durSamples(cfg.Margin, j.rate)
	j.pullSize = j.n
	size := 1
	for size < 4*(j.maxAhead+j.n) || size < 2*j.rate {
		size <<= 1
	}
	j.ring = make([]int16, size)
	j.valid = make([]bool, size)
	j.mask = uint32(size - 1)
	j.scratch = make([]int16, max(size/4, j.n))
	j.hist = make([]int16, 2*j.n)
	j.plcSrc = make([]int16, 2*j.n)
	j.resetAdapt()
	return j
}

func durSamples(d time.Duration, rate int) int {
	return int(int64(d) * int64(rate) / int64(time.Second))
}

func (j *JitterBuffer) samplesDur(n int) time.Duration {
	return time.Duration(int64(n) * int64(time.Second) / int64(j.rate))
}

// since is the audio time, in samples, from clock value t to now.
func (j *JitterBuffer) since(t uint64) int { return int(j.clock - t) }

// FrameSamples is the number of samples one Pull produces.
func (j *JitterBuffer) FrameSamples() int { return j.n }

// ClockRate is the sample rate of the PCM that Pull produces.
func (j *JitterBuffer) ClockRate() int { return j.rate }

// Stats returns a snapshot of the buffer's counters.
func (j *JitterBuffer) Stats() JitterStats {
	j.mu.Lock()
	defer j.mu.Unlock()
	s := j.stats
	s.Lost = j.lostPrev + j.segLost()
	s.Depth = j.samplesDur(j.depth())
	return s
}

// Reset forgets all buffered audio and the stream's identity, as for a new
// call. Counters are kept.
func (j *JitterBuffer) Reset() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.closeSeqSegment()
	j.clearRing()
	j.haveSSRC = false
	j.started = false
	j.realSeen = false
}

func (j *JitterBuffer) segLost() uint64 {
	if !j.seqInit {
		return 0
	}
	expected := uint64(j.maxExt - j.baseExt + 1)
	if expected > j.recvSeg {
		return expected - j.recvSeg
	}
	return 0
}

func (j *JitterBuffer) closeSeqSegment() {
	j.lostPrev += j.segLost()
	j.seqInit = false
	j.recvSeg = 0
}

func (j *JitterBuffer) clearRing() {
	if j.count > 0 {
		clear(j.valid)
		j.count = 0
	}
	j.held = 0
	j.lateRun = 0
	j.grow = 0
	j.resetAdapt()
}

func (j *JitterBuffer) resetAdapt() {
	j.minFast, j.minSlack = math.MaxInt, math.MaxInt
	j.fastN, j.slowN = 0, 0
}

// depth is the number of samples from the playout point to the newest
// stored sample (0 when nothing is buffered).
func (j *JitterBuffer) depth() int {
	if !j.started || j.count == 0 {
		return 0
	}
	d := int32(j.highEnd - j.play)
	if d < 0 {
		return 0
	}
	return int(d)
}

// resync moves the playout point to ts, discarding everything buffered.
func (j *JitterBuffer) resync(ts uint32) {
	j.clearRing()
	j.play = ts
	j.highEnd = ts
	j.started = true
	j.primed = false
	j.stats.Resyncs++
}

// Push adds one RTP packet that has just arrived. The payload is decoded at
// once, so the packet and its payload may be reused by the caller as soon as
// Push returns.
func (j *JitterBuffer) Push(p *rtp.Packet) { j.PushAged(p, 0) }

// PushAged adds one RTP packet that arrived age ago, for example one that
// waited in the socket until the audio thread read it (the kernel's receive
// timestamp tells its age). The delay adaptation places the packet's arrival
// then, not at the read: a packet read just before the pull that plays it
// may still have arrived well ahead of it. A negative age counts as zero.
func (j *JitterBuffer) PushAged(p *rtp.Packet, age time.Duration) {
	if p == nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	arrived := j.now() - max(0, age)

	n := j.decode(p.PayloadType, p.Payload, j.scratch)
	if n <= 0 && j.haveSSRC && p.SSRC != j.ssrc {
		// Not audio, and not of the stream playing: it must not switch
		// streams.
		j.stats.Dropped++
		return
	}

	// Stream identity: a new SSRC is a new stream, except for stragglers of
	// the stream it just replaced.
	switch {
	case !j.haveSSRC:
		j.haveSSRC = true
		j.ssrc = p.SSRC
	case p.SSRC != j.ssrc:
		if p.SSRC == j.oldSSRC && j.clock-j.lastSSRCAt < uint64(j.rate/10) {
			j.stats.Dropped++
			return
		}
		j.oldSSRC = j.ssrc
		j.ssrc = p.SSRC
		j.stats.SSRCChanges++
		j.closeSeqSegment()
		j.clearRing()
		j.started = false
	}
	j.lastSSRCAt = j.clock

	// Sequence accounting (stats and duplicates).
	seq := p.SequenceNumber
	var ext int64
	if !j.seqInit {
		j.seqInit = true
		ext = int64(seq)
		j.baseExt, j.maxExt = ext, ext
		clear(j.seen[:])
	} else {
		d := int64(int16(seq - uint16(j.maxExt)))
		ext = j.maxExt + d
		if d > 3000 || d < -3000 {
			// A sequence jump: start a new run of numbers.
			j.closeSeqSegment()
			j.seqInit = true
			ext = int64(seq)
			j.baseExt, j.maxExt = ext, ext
			clear(j.seen[:])
		} else if d > 0 {
			j.maxExt = ext
		} else if ext < j.baseExt {
			j.baseExt = ext
		}
	}
	slot := &j.seen[ext&int64(len(j.seen)-1)]
	if *slot == ext+1 {
		j.stats.Duplicates++
		return
	}
	*slot = ext + 1
	j.recvSeg++
	j.stats.Received++
	if n <= 0 {
		return
	}
	n = min(n, len(j.scratch))
	ts := p.Timestamp

	// A packet the playout point is (re)anchored on plays at the next pull
	// by construction: its slack says nothing about the network.
	anchored := !j.started
	if !j.started {
		// Anchor the playout point on the first packet of a stream; that is
		// a re-sync only if another stream played before.
		j.clearRing()
		j.play, j.highEnd, j.started, j.primed = ts, ts, true, false
		if j.realSeen {
			j.stats.Resyncs++
		}
	}
	rel := int(int32(ts - j.play))
	jump := max(j.rate, 2*j.maxAhead)
	switch {
	case rel+n <= 0:
		j.lateRun++
		if -rel > jump || j.lateRun >= 5 {
			// The timestamps went back for good: follow them.
			j.resync(ts)
			rel, anchored = 0, true
		} else {
			j.stats.Late++
			j.late(-rel)
			return
		}
	case rel > jump:
		// The timestamps leapt forward: follow them.
		j.resync(ts)
		rel, anchored = 0, true
	case rel+n > j.maxAhead:
		if j.count == 0 {
			// Nothing buffered (after a gap): start again from here.
			j.resync(ts)
			rel, anchored = 0, true
		} else {
			// Too much audio: drop the oldest.
			j.advance(rel + n - j.maxAhead)
			j.stats.Dropped++
			rel = int(int32(ts - j.play))
		}
	}
	j.lateRun = 0
	// A packet longer than the delay bound keeps only what fits.
	n = min(n, j.maxAhead-rel)
	if rel < 0 {
		j.late(-rel)
	} else if !anchored {
		j.minSlack = min(j.minSlack, j.slack(rel, arrived))
	}
	for i := max(0, -rel); i < n; i++ {
		idx := (ts + uint32(i)) & j.mask
		j.ring[idx] = j.scratch[i]
		if !j.valid[idx] {
			j.valid[idx] = true
			j.count++
		}
	}
	if end := ts + uint32(n); int32(end-j.highEnd) > 0 {
		j.highEnd = end
	}
	if d := j.samplesDur(j.depth()); d > j.stats.MaxDepth {
		j.stats.MaxDepth = d
	}
}

// slack is how long, in samples, a packet that arrived at clock time
// arrived, whose first sample is rel samples past the playout point, waits
// for the pull that plays it: the pulls before that one, plus what is left
// of the current pull period (where between two pulls the packet arrived).
// A packet that arrived before the latest pull but is only pushed now counts
// as arriving at that pull (the least slack it can have had).
func (j *JitterBuffer) slack(rel int, arrived time.Duration) int {
	p := j.pullSize
	since := p
	if j.pulled {
		since = min(p, max(0, durSamples(arrived-j.pullAt, j.rate)))
	}
	return rel/p*p + p - since
}

// late notes a packet that arrived by samples after its playout time: the
// delay grows by that much (in whole pulls) so the next one is in time.
func (j *JitterBuffer) late(by int) {
	if by > j.maxAhead/2 {
		return // a straggler, not a sign of jitter
	}
	g := (by + j.pullSize - 1) / j.pullSize * j.pullSize
	if j.grow < g {
		j.grow = g
	}
	j.noteGrowth()
}

// noteGrowth records that the delay had to grow; if that happens soon after
// a shrink, the next shrink waits longer.
func (j *JitterBuffer) noteGrowth() {
	if j.lastShrink > 0 && j.since(j.lastShrink) < 10*j.rate {
		j.backoff = min(j.backoff+1, 3)
		j.lastShrink = 0
	}
	j.lastGrow = j.clock
	j.resetAdapt()
}

// advance moves the playout point k samples forward, discarding them.
func (j *JitterBuffer) advance(k int) {
	for i := range k {
		idx := (j.play + uint32(i)) & j.mask
		if j.valid[idx] {
			j.valid[idx] = false
			j.count--
		}
	}
	j.play += uint32(k)
	if int32(j.highEnd-j.play) < 0 {
		j.highEnd = j.play
	}
}

// nextValid returns the offset from play of the first buffered sample, or
// -1 when nothing is buffered.
func (j *JitterBuffer) nextValid() int {
	if j.count == 0 {
		return -1
	}
	span := int(int32(j.highEnd - j.play))
	for i := range span {
		if j.valid[(j.play+uint32(i))&j.mask] {
			return i
		}
	}
	return -1
}

// Pull writes the next frame of audio into out and returns the number of
// samples written: [JitterBuffer.FrameSamples], or len(out) if out is
// shorter. Every sample is written: decoded audio, concealment or silence.
func (j *JitterBuffer) Pull(out []int16) int {
	k := min(len(out), j.n)
	if k <= 0 {
		return 0
	}
	out = out[:k]
	at := j.now()
	j.mu.Lock()
	defer j.mu.Unlock()
	j.clock += uint64(k)
	j.pullSize, j.pullAt, j.pulled = k, at, true

	if !j.started || (!j.primed && !j.realSeen && j.depth() < k) {
		// No stream yet, or less than a pull's worth of its first audio:
		// silence, not counted as a frame of the stream.
		clear(out)
		return k
	}
	j.stats.Frames++
	if !j.primed {
		if j.depth() < k {
			// Re-anchored, waiting for a pull's worth of the new audio.
			j.concealFrame(out)
			return k
		}
		j.primed = true
	}

	if j.grow > 0 && j.count > 0 {
		// Add delay: conceal a frame without moving the playout point.
		j.grow -= k
		j.concealFrame(out)
		return k
	}
	j.adapt(k)

	have := 0
	for i := range k {
		if j.valid[(j.play+uint32(i))&j.mask] {
			have++
		}
	}
	if have == 0 {
		next := j.nextValid()
		switch {
		case next < 0:
			// Nothing to play: conceal while waiting here, which lets the
			// delay grow by a frame if the packet is only late.
			j.held++
			j.concealFrame(out)
			return k
		case j.held > 0 || next > j.fadeLen+j.n:
			// Already waited here, or a long hole: jump to the audio.
			if next > j.fadeLen+j.n {
				j.stats.Resyncs++
			}
			j.advance(next)
			j.held = 0
		}
	}
	if j.held > 0 {
		// The audio waited for arrived late: the delay grew by the pulls
		// concealed meanwhile, which the shrinking rule must know.
		j.noteGrowth()
		j.held = 0
	}

	concealed := false
	for i := range k {
		idx := (j.play + uint32(i)) & j.mask
		if j.valid[idx] {
			s := j.ring[idx]
			j.valid[idx] = false
			j.count--
			if j.resume > 0 {
				w := float32(j.resume) / float32(j.xfade)
				s = clamp16(float32(s)*(1-w) + float32(j.plcNext())*w)
				j.resume--
			}
			j.conceal = false
			j.remember(s)
			out[i] = s
		} else {
			out[i] = j.concealSample()
			concealed = true
		}
	}
	j.play += uint32(k)
	if int32(j.highEnd-j.play) < 0 {
		j.highEnd = j.play
	}
	j.realSeen = true
	if concealed {
		j.stats.Concealed++
	}
	return k
}

// concealFrame fills out with concealment (or silence once it has faded).
func (j *JitterBuffer) concealFrame(out []int16) {
	silent := !j.realSeen || (j.conceal && j.plcGain <= 0)
	for i := range out {
		out[i] = j.concealSample()
	}
	if silent {
		j.stats.Silent++
	} else {
		j.stats.Concealed++
	}
}

// remember appends one real sample to the history used for concealment.
func (j *JitterBuffer) remember(s int16) {
	j.hist[j.histPos] = s
	j.histPos++
	if j.histPos == len(j.hist) {
		j.histPos = 0
	}
}

// concealSample returns the next concealment sample, starting a new
// concealment period (pitch search over the history) if needed.
func (j *JitterBuffer) concealSample() int16 {
	if !j.realSeen {
		return 0
	}
	if !j.conceal {
		j.startConceal()
	}
	if j.plcGain <= 0 {
		return 0
	}
	s := float32(j.plcSrc[j.plcPos]) * j.plcGain
	j.plcPos++
	if j.plcPos == j.plcLen {
		j.plcPos = 0
	}
	j.plcGain -= j.plcStep
	return clamp16(s)
}

// plcNext returns the concealment signal's continuation without fading,
// for cross-fading into real audio.
func (j *JitterBuffer) plcNext() int16 {
	if j.plcLen == 0 {
		return 0
	}
	s := float32(j.plcSrc[j.plcPos]) * max(j.plcGain, 0)
	j.plcPos++
	if j.plcPos == j.plcLen {
		j.plcPos = 0
	}
	return clamp16(s)
}

func (j *JitterBuffer) startConceal() {
	j.conceal = true
	h := len(j.hist)
	get := func(i int) float32 { // i in 0..h-1, oldest first
		return float32(j.hist[(j.histPos+i)%h])
	}
	// Pitch period: the lag with the best normalised correlation between
	// the last w samples and the w samples lag earlier.
	minLag := max(2, j.rate/400)
	maxLag := min(h/2, j.rate/60)
	w := h - maxLag
	best, bestScore := j.n, float32(-1)
	for lag := minLag; lag <= maxLag; lag++ {
		var xy, yy float32
		for i := h - w; i < h; i++ {
			x, y := get(i), get(i-lag)
			xy += x * y
			yy += y * y
		}
		if yy > 0 {
			if score := xy / float32(math.Sqrt(float64(yy))); score > bestScore {
				best, bestScore = lag, score
			}
		}
	}
	if bestScore <= 0 {
		best = j.n
	}
	// Repeat whole periods that fit in the history so the loop is smooth.
	periods := max(1, (h/2)/best)
	j.plcLen = min(h, best*periods)
	for i := range j.plcLen {
		j.plcSrc[i] = int16(get(h - j.plcLen + i))
	}
	j.plcPos = 0
	j.plcGain = 1
	j.plcStep = 1 / float32(j.fadeLen)
	j.resume = j.xfade
}

// adapt shrinks the delay when the extra buffered audio was not needed:
// quickly when a lot is buffered (a burst after a stall), and, when every
// packet of a window arrived at least a pull plus the margin before the
// pull that played it, by as many whole pulls as every one of them could
// have spared. k is the size of the pull about to play.
func (j *JitterBuffer) adapt(k int) {
	if j.count == 0 {
		return
	}
	j.minFast = min(j.minFast, max(0, j.depth()-k))
	j.fastN += k
	j.slowN += k
	// A long spell without growth relaxes the backoff again.
	if j.backoff > 0 && j.clock-max(j.lastGrow, j.lastRelax) > uint64(30*j.rate) {
		j.backoff--
		j.lastRelax = j.clock
	}
	if j.fastN >= j.rate/5 {
		if j.minFast >= 4*j.n {
			j.skip((j.minFast - j.n) / j.n * j.n)
			return
		}
		j.fastN, j.minFast = 0, math.MaxInt
	}
	if j.slowN >= j.rate<<j.backoff {
		if j.minSlack != math.MaxInt && j.minSlack >= k+j.margin {
			// Every packet of the window would still have arrived the
			// margin ahead with this much less delay (whole pulls), and the
			// pull about to play keeps its audio.
			if d := min((j.minSlack-j.margin)/k*k, (j.depth()-k)/k*k); d > 0 {
				j.skip(d)
			}
			// Otherwise keep the window open until a pull finds the audio
			// to skip (the next packet brings it).
			return
		}
		j.slowN, j.minSlack = 0, math.MaxInt
	}
}

// skip discards d samples at the playout point, cross-fading across the cut
// so that it does not click.
func (j *JitterBuffer) skip(d int) {
	if d <= 0 {
		return
	}
	x := min(j.xfade, d)
	for i := range x {
		a := j.ring[(j.play+uint32(i))&j.mask]
		if !j.valid[(j.play+uint32(i))&j.mask] {
			a = 0
		}
		bi := (j.play + uint32(d+i)) & j.mask
		if !j.valid[bi] {
			continue
		}
		w := float32(i+1) / float32(x+1)
		j.ring[bi] = clamp16(float32(a)*(1-w) + float32(j.ring[bi])*w)
	}
	j.advance(d)
	j.stats.Skipped += j.samplesDur(d)
	j.lastShrink = j.clock
	j.resetAdapt()
}

func clamp16(v float32) int16 {
	if v > 32767 {
		return 32767
	}
	if v < -32768 {
		return -32768
	}
	return int16(v)
}
