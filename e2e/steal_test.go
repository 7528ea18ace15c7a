package e2e

import (
	"testing"
	"time"

	"github.com/earshot-app/earshot/audio"
	"github.com/earshot-app/earshot/monitor"
	"github.com/earshot-app/earshot/monitor/demo/demosip"
	"github.com/earshot-app/earshot/phone"
)

// pilots measures, in d of what the headset played after t, the agent's and the
// customer's pilot tones.
func (r *rig) pilots(after time.Time, d time.Duration) (agent, customer float64) {
	r.t.Helper()
	var pcm []int16
	var rate int
	deadline := time.Now().Add(d + 3*time.Second)
	for {
		pcm, rate = r.hs.since(after)
		if rate > 0 && len(pcm) >= int(d.Seconds()*float64(rate)) {
			pcm = pcm[:int(d.Seconds()*float64(rate))]
			break
		}
		if time.Now().After(deadline) {
			var audioErrs []string
			for _, c := range r.ph.Calls() {
				if err := c.AudioError(); err != nil {
					audioErrs = append(audioErrs, err.Error())
				}
			}
			r.t.Fatalf("the headset played only %d samples in %s (call audio errors: %q)", len(pcm), d+3*time.Second, audioErrs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return toneAmp(pcm, rate, agentPilot), toneAmp(pcm, rate, customerPilot)
}

// Steal: the agent is cut off and leaves the row, the supervisor's phone rings and on
// answer the supervisor talks with the customer; the agent's voice is gone from the
// headset. When the supervisor hangs up, the call ends.
func TestStealTakesTheCallOverFromTheAgent(t *testing.T) {
	r := newRig(t, rigOptions{conversation: pilotConversation(t)})
	c := r.talkingCalls()[0]

	// Listening first: both voices reach the headset.
	asked, res := r.request(monitor.ActListen, c.ID)
	listen := r.nextIncoming(2 * time.Second)
	if err := r.result(res); err != nil {
		t.Fatalf("listen: %v", err)
	}
	ag, cu := r.pilots(asked.Add(200*time.Millisecond), 600*time.Millisecond)
	t.Logf("listening: agent pilot %.0f, customer pilot %.0f", ag, cu)
	if ag < pilotPresent || cu < pilotPresent {
		t.Fatalf("while listening the headset has agent pilot %.0f and customer pilot %.0f, want both above %.0f", ag, cu, pilotPresent)
	}

	r.mic.on.Store(true)
	asked, res = r.request(monitor.ActSteal, c.ID)
	in := r.nextIncoming(2 * time.Second)
	if ring := in.at.Sub(asked); ring > 200*time.Millisecond {
		t.Errorf("the softphone rang %s after the steal request, want within 200 ms", ring)
	}
	if want := "Steal: " + c.LastAgent + " ↔ " + demosip.FormatNumber(c.Customer); in.info.RemoteName != want {
		t.Errorf("caller name %q, want %q", in.info.RemoteName, want)
	}
	if in.info.RemoteNumber != c.Customer {
		t.Errorf("caller number %q, want the customer's %q", in.info.RemoteNumber, c.Customer)
	}
	if err := within(listen.call.Done(), 2*time.Second); err != nil {
		t.Error("the listening call was not replaced by the steal")
	}
	if err := r.result(res); err != nil {
		t.Fatalf("steal: %v", err)
	}
	row, _ := r.boardCall(c.ID)
	if !row.Stolen || row.LastAgent != "Lan Supervisor" || row.Monitor != monitor.MonitorNone || row.Status != monitor.StatusAnswered {
		t.Errorf("after the steal the row shows stolen=%v party=%q monitor=%q status=%s, want the supervisor talking", row.Stolen, row.LastAgent, row.Monitor, row.Status)
	}
	agents, err := r.drv.Agents(r.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range agents {
		// Cut off mid-call, the agent is free at once (and its queue may ring it
		// with the next caller straight away).
		if a.Name == c.LastAgent && a.State != monitor.AgentAvailable && a.State != monitor.AgentRinging {
			t.Errorf("the agent cut off is %s, want free", a.State)
		}
	}
	var heard time.Time
	r.waitFor("the headset plays the customer", 2*time.Second, func() bool {
		var ok bool
		heard, ok = r.hs.firstSound(asked)
		return ok
	})
	if d := heard.Sub(asked); d > 500*time.Millisecond {
		t.Errorf("sound reached the headset %s after the steal request, want within 500 ms", d)
	}

	// Only the customer now: the agent's pilot is gone from the headset.
	r.waitFor("the steal call is up", time.Second, func() bool { return in.call.State() == phone.CallActive })
	ag, cu = r.pilots(time.Now().Add(100*time.Millisecond), time.Second)
	t.Logf("after the steal: agent pilot %.0f, customer pilot %.0f", ag, cu)
	if ag > pilotAbsent {
		t.Errorf("after the steal the agent's voice still reaches the headset (pilot %.0f, want below %.0f)", ag, pilotAbsent)
	}
	if cu < pilotPresent {
		t.Errorf("after the steal the customer is not heard (pilot %.0f, want above %.0f)", cu, pilotPresent)
	}

	// The customer hears the supervisor; no agent is left to hear anything.
	s := r.session(c.ID)
	if s.Mode() != demosip.ModeSteal {
		t.Errorf("session mode %s, want steal", s.Mode())
	}
	toCust := s.Heard(demosip.SideCustomer, 400*time.Millisecond)
	if a := toneAmp(toCust, demosip.SampleRate, supervisorTone); a < supervisorPresent {
		t.Errorf("the customer does not hear the supervisor (tone %.0f, want above %.0f)", a, supervisorPresent)
	}
	if p := audio.MeanSquare(s.Heard(demosip.SideAgent, 400*time.Millisecond)); p != 0 {
		t.Errorf("the agent cut off still hears the call (power %.0f)", p)
	}

	// The supervisor, now the customer's party, hangs up: the call is over.
	if err := in.call.Hangup(r.ctx); err != nil {
		t.Fatal(err)
	}
	r.waitFor("the stolen call ends when the supervisor hangs up", 2*time.Second, func() bool {
		_, ok := r.boardCall(c.ID)
		return !ok
	})
}
