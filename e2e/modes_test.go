package e2e

import (
	"testing"
	"time"

	"github.com/earshot-app/earshot/monitor"
	"github.com/earshot-app/earshot/monitor/demo/demosip"
	"github.com/earshot-app/earshot/phone"
)

// hears measures the supervisor's tone in what each party of the monitored call heard
// over the last 300 ms, after letting 350 ms of the current mode pass.
func hears(s *demosip.Session) (agent, customer float64) {
	time.Sleep(350 * time.Millisecond)
	a := s.Heard(demosip.SideAgent, 300*time.Millisecond)
	c := s.Heard(demosip.SideCustomer, 300*time.Millisecond)
	return toneAmp(a, demosip.SampleRate, supervisorTone), toneAmp(c, demosip.SampleRate, supervisorTone)
}

// checkRouting asserts who hears the supervisor's microphone, and that the supervisor
// hears both voices.
func (r *rig) checkRouting(s *demosip.Session, mode string, agentHears, customerHears bool) {
	r.t.Helper()
	a, c := hears(s)
	r.t.Logf("%s: supervisor's tone heard by the agent %.0f, by the customer %.0f", mode, a, c)
	check := func(who string, amp float64, want bool) {
		switch {
		case want && amp < supervisorPresent:
			r.t.Errorf("%s: the %s does not hear the supervisor (tone %.0f, want above %.0f)", mode, who, amp, supervisorPresent)
		case !want && amp > supervisorAbsent:
			r.t.Errorf("%s: the %s hears the supervisor (tone %.0f, want below %.0f)", mode, who, amp, supervisorAbsent)
		}
	}
	check("agent", a, agentHears)
	check("customer", c, customerHears)
	sup := s.Heard(demosip.SideSupervisor, 300*time.Millisecond)
	if ap, cp := toneAmp(sup, demosip.SampleRate, agentPilot), toneAmp(sup, demosip.SampleRate, customerPilot); ap < pilotPresent || cp < pilotPresent {
		r.t.Errorf("%s: the supervisor is sent agent pilot %.0f and customer pilot %.0f, want both voices", mode, ap, cp)
	}
}

// Listen, whisper and barge route the supervisor's microphone as on Asterisk's ChanSpy,
// and DTMF 4, 5 and 6 from the softphone switch between them, with the grid's marker
// following.
func TestModesRouteTheSupervisorAndDTMFSwitchesThem(t *testing.T) {
	r := newRig(t, rigOptions{conversation: pilotConversation(t)})
	r.mic.on.Store(true)
	c := r.talkingCalls()[0]

	_, res := r.request(monitor.ActListen, c.ID)
	in := r.nextIncoming(2 * time.Second)
	if err := r.result(res); err != nil {
		t.Fatalf("listen: %v", err)
	}
	r.waitFor("the call is up", time.Second, func() bool { return in.call.State() == phone.CallActive })
	s := r.session(c.ID)
	r.checkRouting(s, "listen", false, false)

	steps := []struct {
		digit     string
		mode      monitor.MonitorMode
		sess      demosip.Mode
		agent     bool
		customer  bool
		stepLabel string
	}{
		{"5", monitor.MonitorWhisper, demosip.ModeWhisper, true, false, "DTMF 5 (whisper)"},
		{"6", monitor.MonitorBarge, demosip.ModeBarge, true, true, "DTMF 6 (barge)"},
		{"4", monitor.MonitorListen, demosip.ModeListen, false, false, "DTMF 4 (listen)"},
	}
	for i, st := range steps {
		sent := time.Now()
		if err := in.call.SendDTMF(st.digit); err != nil {
			t.Fatalf("%s: %v", st.stepLabel, err)
		}
		r.waitFor(st.stepLabel+" shows on the grid", 2*time.Second, func() bool {
			row, _ := r.boardCall(c.ID)
			return row.Monitor == st.mode && s.Mode() == st.sess
		})
		t.Logf("%s: grid marker switched %s after the key press", st.stepLabel, time.Since(sent).Round(time.Millisecond))
		// While the digit is on the wire (about 220 ms) the phone sends events in
		// place of the microphone: measure once it is done.
		r.waitFor(st.stepLabel+" is sent", 2*time.Second, func() bool { return in.call.MediaStats().DTMFSent == uint64(i+1) })
		r.checkRouting(s, st.stepLabel, st.agent, st.customer)
	}
	if got := s.Digits(); got != "564" {
		t.Errorf("the demo PBX received digits %q, want 564", got)
	}
	if isEnded(in.call) {
		t.Error("switching modes ended the supervisor's call")
	}
}

// Whisper and barge asked for from the grid start in their mode.
func TestWhisperAndBargeRequestedDirectly(t *testing.T) {
	r := newRig(t, rigOptions{conversation: pilotConversation(t)})
	r.mic.on.Store(true)
	calls := r.talkingCalls()
	if len(calls) < 2 {
		t.Fatal("need two calls with agents talking")
	}
	for i, tc := range []struct {
		kind     monitor.ActionKind
		mode     monitor.MonitorMode
		label    string
		customer bool
	}{
		{monitor.ActWhisper, monitor.MonitorWhisper, "Whisper: ", false},
		{monitor.ActBarge, monitor.MonitorBarge, "Barge: ", true},
	} {
		c := calls[i]
		_, res := r.request(tc.kind, c.ID)
		in := r.nextIncoming(2 * time.Second)
		if err := r.result(res); err != nil {
			t.Fatalf("%s: %v", tc.kind, err)
		}
		if want := tc.label + c.LastAgent + " ↔ " + demosip.FormatNumber(c.Customer); in.info.RemoteName != want {
			t.Errorf("caller name %q, want %q", in.info.RemoteName, want)
		}
		if row, _ := r.boardCall(c.ID); row.Monitor != tc.mode {
			t.Errorf("%s: grid shows %q", tc.kind, row.Monitor)
		}
		r.checkRouting(r.session(c.ID), tc.kind.String(), true, tc.customer)
		if err := in.call.Hangup(r.ctx); err != nil {
			t.Fatal(err)
		}
		r.waitFor("the marker goes when the supervisor hangs up", 2*time.Second, func() bool {
			row, _ := r.boardCall(c.ID)
			return row.Monitor == monitor.MonitorNone
		})
	}
}
