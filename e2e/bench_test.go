package e2e

import (
	"testing"
	"time"

	"github.com/earshot-app/earshot/monitor"
)

// BenchmarkListenRequest measures, on loopback, what a supervisor waits for after
// clicking Listen on a demo call: until the softphone rings (ring-ms), until the demo
// PBX has the answer (answer-ms) and until speech plays on the headset (audio-ms). Each
// iteration then hangs up and waits for the marker to go.
func BenchmarkListenRequest(b *testing.B) {
	r := newRig(b, rigOptions{})
	c := r.talkingCalls()[0]
	var ring, answer, heard time.Duration
	for b.Loop() {
		asked, res := r.request(monitor.ActListen, c.ID)
		in := r.nextIncoming(2 * time.Second)
		if err := r.result(res); err != nil {
			b.Fatalf("listen: %v", err)
		}
		var first time.Time
		r.waitFor("speech plays on the headset", 2*time.Second, func() bool {
			var ok bool
			first, ok = r.hs.firstSound(asked)
			return ok
		})
		s := r.session(c.ID)
		ring += in.at.Sub(asked)
		answer += s.Timing().Answered.Sub(asked)
		heard += first.Sub(asked)
		if err := in.call.Hangup(r.ctx); err != nil {
			b.Fatal(err)
		}
		r.waitFor("the marker goes", 2*time.Second, func() bool {
			row, _ := r.boardCall(c.ID)
			return row.Monitor == monitor.MonitorNone
		})
	}
	n := float64(b.N)
	b.ReportMetric(float64(ring.Microseconds())/1000/n, "ring-ms")
	b.ReportMetric(float64(answer.Microseconds())/1000/n, "answer-ms")
	b.ReportMetric(float64(heard.Microseconds())/1000/n, "audio-ms")
}
