package demosip

import (
	"testing"

	"github.com/earshot-app/earshot/audio"
)

// BenchmarkSessionFrame is the work of one session every 20 ms besides the network:
// take the two voices, mix what each side hears, record it and encode the supervisor's
// packet. frames/s-per-core says how many 20 ms frames one core mixes per second
// (50 per session).
func BenchmarkSessionFrame(b *testing.B) {
	conv, err := DefaultConversation()
	if err != nil {
		b.Fatal(err)
	}
	h := newHearing()
	sup := tone(FrameSamples, 1900, 4000)
	toSup, toAgent, toCust := make([]int16, FrameSamples), make([]int16, FrameSamples), make([]int16, FrameSamples)
	payload := make([]byte, FrameSamples)
	pos := 0
	b.ReportAllocs()
	for b.Loop() {
		if pos+FrameSamples > conv.Len() {
			pos = 0
		}
		agent, cust := conv.Agent[pos:pos+FrameSamples], conv.Customer[pos:pos+FrameSamples]
		pos += FrameSamples
		mixFrame(ModeBarge, agent, cust, sup, toSup, toAgent, toCust)
		h.record(toSup, toAgent, toCust)
		audio.EncodeULaw(payload, toSup)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s-per-core")
}
