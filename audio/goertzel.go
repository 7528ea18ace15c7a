package audio

import "math"

// Goertzel returns the power of the frequency freq (Hz) in samples taken at
// rate (Hz), on the same scale as the mean square of the samples: a full
// sine of amplitude A centred on freq gives about A²/2. A Hann window keeps
// frequencies that fall between analysis bins from leaking.
func Goertzel(samples []int16, rate int, freq float64) float64 {
	n := len(samples)
	if n == 0 || rate <= 0 {
		return 0
	}
	w := 2 * math.Pi * freq / float64(rate)
	coeff := 2 * math.Cos(w)
	var s1, s2, wsum float64
	for i, x := range samples {
		win := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n))
		wsum += win
		s0 := float64(x)*win + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	re := s1 - s2*math.Cos(w)
	im := s2 * math.Sin(w)
	if wsum == 0 {
		return 0
	}
	return 2 * (re*re + im*im) / (wsum * wsum)
}

// MeanSquare is the mean of the squared samples (the signal's power).
func MeanSquare(samples []int16) float64 {
	if len(samples) == 0 {
		return 0
	}
	var sum float64
	for _, x := range samples {
		sum += float64(x) * float64(x)
	}
	return sum / float64(len(samples))
}

// ToneRatio is the fraction of the power of samples that lies at freq, in
// 0..1 (slightly above 1 is possible through windowing): close to 1 for a
// clean tone at freq, close to 0 when freq is absent. Silence gives 0.
func ToneRatio(samples []int16, rate int, freq float64) float64 {
	p := MeanSquare(samples)
	if p == 0 {
		return 0
	}
	return Goertzel(samples, rate, freq) / p
}

// MinLevel is the lowest level, in dBFS, that [Level] reports (digital
// silence).
const MinLevel = -96.0

// Level is the RMS level of samples in dBFS (0 for a full-scale square wave,
// about -3 for a full-scale sine), never below [MinLevel].
func Level(samples []int16) float64 {
	p := MeanSquare(samples)
	if p == 0 {
		return MinLevel
	}
	db := 10 * math.Log10(p/(32768.0*32768.0))
	return max(db, MinLevel)
}

// LevelUnit maps a dBFS level onto 0..1 for a meter: -60 dBFS and below is
// 0, 0 dBFS is 1.
func LevelUnit(db float64) float64 {
	return min(1, max(0, (db+60)/60))
}
