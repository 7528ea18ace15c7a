package ami

import (
	"bytes"
	"testing"
	"time"

	"github.com/earshot-app/earshot/monitor"
)

// TestSupervisorDoesNotAnswer: the PBX accepted the listen request (Pending), then the
// supervisor's phone did not answer: OriginateResponse reports a failure and the
// monitoring marker goes away. The failure is the recorded OriginateResponse of the spy
// scenario with Asterisk's failure values (Response: Failure, Reason: 3 = no answer).
func TestSupervisorDoesNotAnswer(t *testing.T) {
	board := monitor.NewBoard(monitor.Options{Logger: quietLogger})
	mp := newMapper(mapperConfig{vars: [nVars]string{"HOTLINE", "CAMPAIGN", "DIRECTION"},
		supervisorDevice: "PJSIP/2001", supervisorName: "Supervisor", log: quietLogger}, board.Apply)
	var originate []byte
	for _, raw := range splitMessages(fixture(t, "spy.ami")) {
		m := parseOne(raw)
		if m.IsEvent() {
			mp.handle(m)
		}
		if m.Value("Event") == "AgentConnect" {
			break
		}
	}
	const call = "1795668897.8"
	if c, ok := board.Get(call); !ok || c.Status != monitor.StatusAnswered {
		t.Fatalf("call before the listen: %+v", c)
	}
	s := &spySession{actionID: "earshot-7", callID: call, targetChan: "PJSIP/1001-0000000a", mode: monitor.MonitorListen,
		supervisor: "Supervisor", device: "PJSIP/2001", dtmf: true}
	mp.spies[s.actionID] = s
	mp.originateAccepted(s, time.Now())
	if c, _ := board.Get(call); c.Monitor != monitor.MonitorPending {
		t.Fatalf("monitor after the accepted Originate: %v", c.Monitor)
	}
	for _, raw := range splitMessages(fixture(t, "spy.ami")) {
		if parseOne(raw).Value("Event") == "OriginateResponse" {
			originate = raw
		}
	}
	failed := bytes.Replace(originate, []byte("Response: Success"), []byte("Response: Failure"), 1)
	failed = bytes.Replace(failed, []byte("Reason: 4"), []byte("Reason: 3"), 1)
	failed = bytes.Replace(failed, []byte("ActionID: spy-02"), []byte("ActionID: earshot-7"), 1)
	mp.handle(parseOne(failed))
	c, _ := board.Get(call)
	if c.Monitor != monitor.MonitorNone || c.Supervisor != "" {
		t.Errorf("after the supervisor did not answer: monitor %v, supervisor %q", c.Monitor, c.Supervisor)
	}
	if _, pending := mp.spies["earshot-7"]; pending {
		t.Error("the failed session is still pending")
	}
	if c.Status != monitor.StatusAnswered || c.LastAgent != "Agent 1001" {
		t.Errorf("the call changed: %+v", c)
	}
}
