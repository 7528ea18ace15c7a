package demosip

import (
	"math"
	"testing"
	"time"

	"github.com/earshot-app/earshot/audio"
	"github.com/earshot-app/earshot/monitor"
)

// RoutesOf follows Asterisk's ChanSpy: q (listen) hears both and is heard by nobody, w
// (whisper) is heard by the spied-on agent only, B (barge) by both; after a steal the
// agent is gone.
func TestRoutesOf(t *testing.T) {
	for _, tc := range []struct {
		m    Mode
		want Routes
	}{
		{ModeListen, Routes{AgentPresent: true, SupervisorHearsAgent: true, SupervisorHearsCustomer: true}},
		{ModeWhisper, Routes{AgentPresent: true, SupervisorHearsAgent: true, SupervisorHearsCustomer: true, AgentHearsSupervisor: true}},
		{ModeBarge, Routes{AgentPresent: true, SupervisorHearsAgent: true, SupervisorHearsCustomer: true, AgentHearsSupervisor: true, CustomerHearsSupervisor: true}},
		{ModeSteal, Routes{SupervisorHearsCustomer: true, CustomerHearsSupervisor: true}},
	} {
		if got := RoutesOf(tc.m); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.m, got, tc.want)
		}
	}
}

func tone(n int, freq, amp float64) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amp * math.Sin(2*math.Pi*freq*float64(i)/SampleRate))
	}
	return out
}

func amp(pcm []int16, freq float64) float64 {
	return math.Sqrt(2 * audio.Goertzel(pcm, SampleRate, freq))
}

// mixFrame puts each voice where the mode routes it, and nowhere else.
func TestMixFrameRoutesEachVoice(t *testing.T) {
	const n = 1600
	const fa, fc, fs = 500.0, 1100.0, 1900.0
	agent, cust, sup := tone(n, fa, 8000), tone(n, fc, 8000), tone(n, fs, 8000)
	for _, m := range []Mode{ModeListen, ModeWhisper, ModeBarge, ModeSteal} {
		r := RoutesOf(m)
		toSup, toAgent, toCust := make([]int16, n), make([]int16, n), make([]int16, n)
		mixFrame(m, agent, cust, sup, toSup, toAgent, toCust)
		for _, c := range []struct {
			side string
			pcm  []int16
			freq float64
			want bool
		}{
			{"supervisor hears agent", toSup, fa, r.SupervisorHearsAgent},
			{"supervisor hears customer", toSup, fc, r.SupervisorHearsCustomer},
			{"supervisor hears themself", toSup, fs, false},
			{"agent hears customer", toAgent, fc, r.AgentPresent},
			{"agent hears supervisor", toAgent, fs, r.AgentHearsSupervisor},
			{"agent hears themself", toAgent, fa, false},
			{"customer hears agent", toCust, fa, r.AgentPresent},
			{"customer hears supervisor", toCust, fs, r.CustomerHearsSupervisor},
			{"customer hears themself", toCust, fc, false},
		} {
			a := amp(c.pcm, c.freq)
			if got := a > 4000; got != c.want || (!c.want && a > 10) {
				t.Errorf("%s: %s: tone amplitude %.0f, want present=%v", m, c.side, a, c.want)
			}
		}
	}
	// Loud voices saturate instead of wrapping around.
	loud := []int16{30000, -30000}
	out := make([]int16, 2)
	mixFrame(ModeBarge, loud, loud, loud, out, make([]int16, 2), make([]int16, 2))
	if out[0] != 32767 || out[1] != -32768 {
		t.Errorf("mix of loud voices gives %v, want clipped to full scale", out)
	}
}

func TestRingKeepsTheLatestAudio(t *testing.T) {
	r := newRing(time.Millisecond * 2) // 16 samples
	if got := r.last(10); len(got) != 0 {
		t.Errorf("empty ring returned %v", got)
	}
	var in []int16
	for i := range 40 {
		in = append(in, int16(i))
	}
	r.write(in[:5])
	if got := r.last(10); len(got) != 5 || got[4] != 4 {
		t.Errorf("after 5 samples: %v", got)
	}
	r.write(in[5:])
	got := r.last(100)
	if len(got) != 16 || got[0] != 24 || got[15] != 39 {
		t.Errorf("after wrapping: %v, want 24..39", got)
	}
}

func TestDigitsSwitchModesAsChanSpy(t *testing.T) {
	for d, want := range map[rune]monitor.ActionKind{'4': monitor.ActListen, '5': monitor.ActWhisper, '6': monitor.ActBarge} {
		if k, ok := actionOfDigit(d); !ok || k != want {
			t.Errorf("digit %c gives %v, want %v", d, k, want)
		}
	}
	for _, d := range "0123789*#A" {
		if _, ok := actionOfDigit(d); ok {
			t.Errorf("digit %c switches the mode", d)
		}
	}
}
