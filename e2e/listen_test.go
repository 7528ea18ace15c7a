package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/earshot-app/earshot/monitor"
	"github.com/earshot-app/earshot/monitor/demo/demosip"
	"github.com/earshot-app/earshot/phone"
)

// Listen on a demo call: the softphone rings at once and answers by itself, the call's
// voices reach the headset, the grid shows the supervisor listening, and when the call
// ends the supervisor's call ends with it.
func TestListenRingsAnswersAndPlaysTheCall(t *testing.T) {
	r := newRig(t, rigOptions{})
	c := r.talkingCalls()[0]

	asked, res := r.request(monitor.ActListen, c.ID)
	in := r.nextIncoming(2 * time.Second)
	ring := in.at.Sub(asked)
	if ring > 200*time.Millisecond {
		t.Errorf("the softphone rang %s after the request, want within 200 ms", ring)
	}
	if !in.info.AutoAnswer {
		t.Errorf("the monitoring call was not auto-answered (hint %q)", in.info.AutoAnswerHint)
	}
	if want := "Listen: " + c.LastAgent + " ↔ " + demosip.FormatNumber(c.Customer); in.info.RemoteName != want {
		t.Errorf("caller name %q, want %q", in.info.RemoteName, want)
	}
	if err := r.result(res); err != nil {
		t.Fatalf("listen: %v", err)
	}
	if row, _ := r.boardCall(c.ID); row.Monitor != monitor.MonitorListen || row.Supervisor != "Lan Supervisor" {
		t.Errorf("grid row shows monitor %q by %q, want Listen by Lan Supervisor", row.Monitor, row.Supervisor)
	}
	r.waitFor("the call is up", time.Second, func() bool { return in.call.State() == phone.CallActive })

	var heard time.Time
	r.waitFor("the headset plays the conversation", 2*time.Second, func() bool {
		var ok bool
		heard, ok = r.hs.firstSound(asked)
		return ok
	})
	first := heard.Sub(asked)
	if first > 500*time.Millisecond {
		t.Errorf("speech reached the headset %s after the request, want within 500 ms", first)
	}
	tm := r.session(c.ID).Timing()
	t.Logf("request → ring %s, → answer %s, → first RTP sent %s, → speech at the headset %s (codec %s)",
		ring.Round(time.Microsecond), tm.Answered.Sub(asked).Round(time.Microsecond),
		tm.FirstAudio.Sub(asked).Round(time.Microsecond), first.Round(time.Microsecond), in.call.Info().Codec)

	// The supervisor hears speech, not a moment of it: most of a second is loud.
	time.Sleep(time.Second)
	pcm, rate := r.hs.since(heard)
	if loud := loudShare(pcm, rate); loud < 0.3 {
		t.Errorf("only %.0f%% of the first second after the first sound was speech", loud*100)
	}

	// The call ends by itself: the supervisor's call ends with it.
	ended := time.Now()
	r.endCall(c.ID)
	if err := within(in.call.Done(), 2*time.Second); err != nil {
		t.Fatal("the supervisor's call went on after the monitored call ended")
	}
	t.Logf("monitored call end → supervisor's call ended %s (%s)", time.Since(ended).Round(time.Millisecond), in.call.Info().EndReason)
	if _, ok := r.boardCall(c.ID); ok {
		t.Error("the ended call is still on the grid")
	}
	r.waitFor("the demo PBX closes the session", time.Second, func() bool { return len(r.pbx.Sessions()) == 0 })
}

// loudShare is the share of 10 ms blocks louder than speechLevel.
func loudShare(pcm []int16, rate int) float64 {
	n := rate / 100
	if n == 0 || len(pcm) < n {
		return 0
	}
	loud, all := 0, 0
	for i := 0; i+n <= len(pcm); i += n {
		all++
		if level(pcm[i:i+n]) > speechLevel {
			loud++
		}
	}
	return float64(loud) / float64(all)
}

// When the supervisor hangs up, the monitored call goes on and its marker goes away.
func TestSupervisorHangsUpTheCallGoesOn(t *testing.T) {
	r := newRig(t, rigOptions{})
	c := r.talkingCalls()[0]
	_, res := r.request(monitor.ActListen, c.ID)
	in := r.nextIncoming(2 * time.Second)
	if err := r.result(res); err != nil {
		t.Fatalf("listen: %v", err)
	}
	s := r.session(c.ID)
	if err := in.call.Hangup(r.ctx); err != nil {
		t.Fatalf("hang up: %v", err)
	}
	if err := within(s.Done(), 2*time.Second); err != nil {
		t.Fatal("the demo PBX kept the session after the supervisor hung up")
	}
	if !strings.Contains(s.EndReason(), "supervisor hung up") {
		t.Errorf("session end reason %q", s.EndReason())
	}
	r.waitFor("the grid drops the monitoring marker", time.Second, func() bool {
		row, ok := r.boardCall(c.ID)
		return ok && row.Monitor == monitor.MonitorNone
	})
	row, ok := r.boardCall(c.ID)
	if !ok || row.Status != monitor.StatusAnswered || row.LastAgent != c.LastAgent || row.Stolen {
		t.Errorf("after the supervisor hung up the call shows %+v, want it going on with %s", row, c.LastAgent)
	}
	// The supervisor may listen again.
	_, res = r.request(monitor.ActListen, c.ID)
	in2 := r.nextIncoming(2 * time.Second)
	if err := r.result(res); err != nil {
		t.Fatalf("listen again: %v", err)
	}
	if in2.call == in.call {
		t.Fatal("the second listen did not bring a new call")
	}
	r.waitFor("the second monitoring call is up", time.Second, func() bool { return in2.call.State() == phone.CallActive })
}

// The app runs the centre in real time (Driver.Run): the same request works while
// the simulation moves on around it.
func TestListenWhileTheCentreRunsInRealTime(t *testing.T) {
	r := newRig(t, rigOptions{realTime: true})
	r.waitFor("the grid fills", 2*time.Second, func() bool { return r.board.Len() > 0 })
	c := r.talkingCalls()[0]
	asked, res := r.request(monitor.ActListen, c.ID)
	in := r.nextIncoming(2 * time.Second)
	if err := r.result(res); err != nil {
		t.Fatalf("listen: %v", err)
	}
	r.waitFor("the grid shows the supervisor listening", time.Second, func() bool {
		row, _ := r.boardCall(c.ID)
		return row.Monitor == monitor.MonitorListen
	})
	r.waitFor("speech plays on the headset", 2*time.Second, func() bool {
		_, ok := r.hs.firstSound(asked)
		return ok
	})
	_, res = r.request(monitor.ActHangup, c.ID)
	if err := r.result(res); err != nil {
		t.Fatalf("hang up: %v", err)
	}
	if err := within(in.call.Done(), 2*time.Second); err != nil {
		t.Fatal("the supervisor's call went on after the call was hung up")
	}
	r.waitFor("the call leaves the grid", time.Second, func() bool {
		_, ok := r.boardCall(c.ID)
		return !ok
	})
}
