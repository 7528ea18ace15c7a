package audio

import "math"

// Resampler converts a stream of mono PCM from one sample rate to another
// with a polyphase windowed-sinc (Kaiser) low-pass filter: the cut-off sits
// just below the Nyquist frequency of the lower rate, so downsampling is
// anti-aliased and upsampling does not leave images. Its delay is
// [Resampler.Delay]. A Resampler is not safe for concurrent use.
type Resampler struct {
	inRate, outRate int
	l, m            int // out/in = l/m, reduced
	phases          int // filter phases in the table
	taps            int // taps per phase (input samples per output sample)
	coef            []float32

	x     []float32 // input history and pending samples
	pos   int       // index in x of the current output's base sample
	phase int       // numerator of the fractional position, 0..l-1
}

// Quality parameters of the resampling filter.
const (
	resampleHalf   = 24   // filter half-width in samples of the lower rate
	resampleCutoff = 0.47 // cut-off as a fraction of the lower rate
	resampleBeta   = 8.0  // Kaiser window shape (about 80 dB stop band)
	maxPhases      = 1024 // phase table size limit for unusual ratios
)

// NewResampler returns a resampler from inRate to outRate (Hz, both > 0).
// Equal rates pass the samples through unchanged.
func NewResampler(inRate, outRate int) *Resampler {
	if inRate <= 0 || outRate <= 0 {
		panic("audio: NewResampler: rates must be positive")
	}
	g := gcd(inRate, outRate)
	r := &Resampler{inRate: inRate, outRate: outRate, l: outRate / g, m: inRate / g}
	if inRate == outRate {
		return r
	}
	// Cut-off in cycles per input sample.
	c := resampleCutoff * float64(min(inRate, outRate)) / float64(inRate)
	half := (resampleHalf*inRate + min(inRate, outRate) - 1) / min(inRate, outRate)
	r.taps = 2 * half
	r.phases = min(r.l, maxPhases)
	r.coef = make([]float32, r.phases*r.taps)
	i0 := bessel0(resampleBeta)
	for p := range r.phases {
		frac := float64(p) / float64(r.phases)
		var sum float64
		row := r.coef[p*r.taps : (p+1)*r.taps]
		for k := range r.taps {
			// Distance (in input samples) from the output instant to tap k.
			t := frac + float64(half-1-k)
			v := 2 * c * sinc(2*c*t)
			if a := t / float64(half); a > -1 && a < 1 {
				v *= bessel0(resampleBeta*math.Sqrt(1-a*a)) / i0
			} else {
				v = 0
			}
			row[k] = float32(v)
			sum += v
		}
		// Unity gain at DC for every phase.
		for k := range row {
			row[k] = float32(float64(row[k]) / sum)
		}
	}
	r.x = make([]float32, r.taps, 4*r.taps)
	r.pos = half - 1
	return r
}

// InRate and OutRate are the resampler's rates.
func (r *Resampler) InRate() int { return r.inRate }

// OutRate is the output sample rate.
func (r *Resampler) OutRate() int { return r.outRate }

// Delay is the resampler's delay in input samples: output sample j
// stands for the input at time j*inRate/outRate - Delay. (The first
// outputs are the filter's lead-in of silence.)
func (r *Resampler) Delay() int {
	if r.taps == 0 {
		return 0
	}
	return r.taps/2 + 1
}

// MaxOut is the most output samples a Process call with n input samples can
// produce; size the out buffer with it to keep Process allocation-free.
func (r *Resampler) MaxOut(n int) int {
	return (n*r.l+r.m-1)/r.m + 1
}

// Reset clears the resampler's history, as for a new stream.
func (r *Resampler) Reset() {
	if r.taps == 0 {
		return
	}
	r.x = r.x[:r.taps]
	clear(r.x)
	r.pos = r.taps/2 - 1
	r.phase = 0
}

// Process resamples in, appends the output to out and returns it. It keeps
// the filter's history between calls, so a stream may be fed in pieces of
// any size. With cap(out) >= len(out)+MaxOut(len(in)) it does not allocate.
func (r *Resampler) Process(in []int16, out []int16) []int16 {
	if r.taps == 0 {
		return append(out, in...)
	}
	for _, s := range in {
		r.x = append(r.x, float32(s))
	}
	half := r.taps / 2
	for r.pos+half < len(r.x) {
		base := r.x[r.pos-half+1 : r.pos+half+1]
		ph := r.phase
		if r.phases != r.l {
			ph = r.phase * r.phases / r.l
		}
		row := r.coef[ph*r.taps : (ph+1)*r.taps]
		out = append(out, round16(dot(base[:len(row)], row)))
		r.phase += r.m
		if r.phase >= r.l {
			if r.phase < 2*r.l {
				// Upsampling: at most one input sample per output.
				r.phase -= r.l
				r.pos++
			} else {
				r.pos += r.phase / r.l
				r.phase %= r.l
			}
		}
	}
	// Keep only the history the next output needs.
	keep := r.pos - half + 1
	if keep > 0 {
		n := copy(r.x, r.x[keep:])
		r.x = r.x[:n]
		r.pos -= keep
	}
	return out
}

// dot is the dot product of x and c (same length; the filter's taps are
// always even in number). Four independent sums let the processor overlap
// the multiplications instead of waiting for each addition.
func dot(x, c []float32) float32 {
	var a0, a1, a2, a3 float32
	k := 0
	for ; k+4 <= len(c); k += 4 {
		x4, c4 := x[k:k+4:k+4], c[k:k+4:k+4]
		a0 += x4[0] * c4[0]
		a1 += x4[1] * c4[1]
		a2 += x4[2] * c4[2]
		a3 += x4[3] * c4[3]
	}
	for ; k < len(c); k++ {
		a0 += x[k] * c[k]
	}
	return (a0 + a1) + (a2 + a3)
}

// round16 rounds v to the nearest int16, saturating.
func round16(v float32) int16 {
	if v >= 0 {
		return clamp16(v + 0.5)
	}
	return clamp16(v - 0.5)
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// bessel0 is the modified Bessel function of the first kind, order 0.
func bessel0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 50; k++ {
		term *= (x / 2) / float64(k)
		sum += term * term
		if term*term < sum*1e-12 {
			break
		}
	}
	return sum
}
