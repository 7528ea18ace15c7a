package ami

import (
	"fmt"
	"testing"
	"time"

	"github.com/earshot-app/earshot/monitor"
	"github.com/earshot-app/earshot/monitor/ami/amitest"
)

// recordedAt returns, for the first message of a recording that match accepts, the
// recorded time it was read and its Timestamp header (on the PBX's clock).
func recordedAt(t testing.TB, rec *amitest.Recording, match func(amitest.Msg) bool) (read, stamp time.Time) {
	t.Helper()
	off := len(rec.Banner())
	for _, raw := range amitest.SplitRaw(rec.In[off:]) {
		m := amitest.ParseMsg(raw)
		if match(m) {
			return ts(fmt.Sprintf("%.6f", rec.TimeAt(off))), ts(m.Get("Timestamp"))
		}
		off += len(raw)
	}
	t.Fatalf("%s: no such message", rec.Name)
	return
}

// TestClockSkew replays inbound-answered on a PC whose clock is 90 s behind and 90 s
// ahead of the PBX's: the time in status follows the README's timeline (waiting in the
// queue from QueueCallerJoin at t3.82, talking from AgentConnect at t5.34) and the answer
// time is AgentConnect's on the PC's clock, whatever the skew.
func TestClockSkew(t *testing.T) {
	rec := loadRecording(t, "inbound-answered")
	_, joined := recordedAt(t, rec, on("QueueCallerJoin"))
	rung, _ := recordedAt(t, rec, on("AgentCalled", "MemberName", "Agent 1001"))
	_, answered := recordedAt(t, rec, on("AgentConnect"))
	byeRead, _ := recordedAt(t, rec, on("HangupRequest", "Channel", "PJSIP/7001-00000000"))
	call := "1795668852.0"
	for _, skew := range []time.Duration{-90 * time.Second, 90 * time.Second} {
		t.Run(fmt.Sprint(skew), func(t *testing.T) {
			waiting := row{customer: "0912345678", hotline: "19006000", queue: "support", status: monitor.StatusCalling,
				agent: "Agent 1001", dir: monitor.Inbound, checkTIS: true, inStatus: rung.Sub(joined)}
			talking := row{customer: "0912345678", hotline: "19006000", queue: "support", status: monitor.StatusAnswered,
				agent: "Agent 1001", answer: "1795668856.293194", dir: monitor.Inbound, checkTIS: true, inStatus: byeRead.Sub(answered)}
			playScenario(t, scenarioCase{
				name: "inbound-answered",
				skew: skew,
				checks: []check{
					{desc: "t3.83 1001 rung: waiting since t3.82", after: on("AgentCalled", "MemberName", "Agent 1001"), total: 1, rows: map[string]row{call: waiting}},
					{desc: "t10.53 customer hangs up: talking since t5.34", after: on("HangupRequest", "Channel", "PJSIP/7001-00000000"), total: 1, rows: map[string]row{call: talking}},
				},
				queues: map[string][2]int{"support": {1, 0}},
			})
		})
	}
	if d := byeRead.Sub(answered); d < 5*time.Second || d > 5400*time.Millisecond {
		t.Errorf("talk time in the recording %v, the README says about 5 s", d)
	}
}

// TestClockSkewResync joins the resync recording with the PC's clock 90 s off: the
// times rebuilt from the lists (channel ages, queue waits, on the PC's clock) and those
// of the events that follow (on the PBX's clock) agree.
func TestClockSkewResync(t *testing.T) {
	rec := loadRecording(t, "resync")
	abandonRead, _ := recordedAt(t, rec, on("QueueCallerAbandon"))
	list := resyncListTime(t)
	for _, skew := range []time.Duration{-90 * time.Second, 90 * time.Second} {
		t.Run(fmt.Sprint(skew), func(t *testing.T) {
			sc := resyncCaseSkewed(skew)
			b := resyncB
			b.checkTIS, b.inStatus = true, abandonRead.Sub(list.Add(-time.Second)) // QueueEntry Wait: 1
			sc.checks[1].rows["1795669115.50"] = b
			a := resyncA // talking since the estimated answer
			a.checkTIS, a.inStatus = true, abandonRead.Sub(resyncAnswerEst)
			sc.checks[1].rows["1795669110.47"] = a
			playScenario(t, sc)
		})
	}
}

// TestPBXClock checks the offset estimate: the smallest delay wins, a late read does not
// move it, a single absurd Timestamp is ignored, and a real clock change is followed.
func TestPBXClock(t *testing.T) {
	local := time.Unix(1795668852, 0)
	c := &pbxClock{now: func() time.Time { return local }}
	pbx := local.Add(-90 * time.Second) // the PBX's clock is 90 s behind
	step := func(d time.Duration, delay time.Duration) time.Time {
		local = local.Add(d)
		pbx = pbx.Add(d)
		local = local.Add(delay) // read late
		got := c.local(pbx)
		local = local.Add(-delay)
		return got
	}
	// first event read 5 ms late, then 0.1 ms late: the estimate tightens
	if got := step(time.Second, 5*time.Millisecond); !got.Equal(local.Add(5 * time.Millisecond)) {
		t.Fatalf("first event at %v, want its read time", got.Sub(local))
	}
	if got := step(time.Second, 100*time.Microsecond); !got.Equal(local.Add(100 * time.Microsecond)) {
		t.Fatalf("second event at %v", got.Sub(local))
	}
	// a burst read 2 s late keeps the estimate
	if got := step(time.Second, 2*time.Second); !got.Equal(local.Add(100 * time.Microsecond)) {
		t.Errorf("late read moved the event to %v", got.Sub(local))
	}
	// one absurd Timestamp: the event gets its read time, the estimate stays
	local = local.Add(time.Second)
	pbx = pbx.Add(time.Second)
	if got := c.local(pbx.Add(100 * 24 * time.Hour)); !got.Equal(local) {
		t.Errorf("absurd Timestamp mapped to %v", got)
	}
	if got := step(time.Second, 300*time.Microsecond); !got.Equal(local.Add(100 * time.Microsecond)) {
		t.Errorf("after the absurd event %v", got.Sub(local))
	}
	// the PBX's clock is set 10 minutes back (NTP): followed after three events
	pbx = pbx.Add(-10 * time.Minute)
	for i := 0; i < clockConfirm; i++ {
		step(time.Second, time.Millisecond)
	}
	if got := step(time.Second, 0); got.Sub(local) > 2*time.Millisecond || got.Sub(local) < 0 {
		t.Errorf("after the PBX's clock was set back: event at %v from its read", got.Sub(local))
	}
	if off, ok := c.offset(); !ok || off < 10*time.Minute+89*time.Second || off > 10*time.Minute+91*time.Second {
		t.Errorf("offset %v, want about 11m30s", off)
	}
	// the window slides: after 5 minutes without better samples, a larger delay is
	// the new minimum (the old samples aged out)
	for i := 0; i < 12; i++ {
		step(30*time.Second, 20*time.Millisecond)
	}
	if got := step(time.Second, 30*time.Millisecond); got.Sub(local) != 20*time.Millisecond {
		t.Errorf("after the window slid: %v, want 20ms", got.Sub(local))
	}
}
