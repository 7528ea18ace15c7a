package phone

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// The phone stops while a call's answer waits for the PBX's ACK: the hang-up
// cannot complete, so the call is ended locally (what Run does after 3 s). When
// the ACK then arrives, no audio starts for the ended call, the headset is never
// opened, and the PBX gets a BYE. (Before, the media started after the end and
// was never stopped.)
func TestEndWhileAnsweringStartsNoMedia(t *testing.T) {
	pp := startPBXPhone(t, func(c *Config) { c.AutoAnswerHints = true })
	var callAudio atomic.Int64
	pp.audio.SetPlaybackTap(func(stream string, pcm []int16, rate int) {
		if stream == "call" {
			callAudio.Add(1)
		}
	})
	sp := pp.call(t, "127.0.0.1", uacParams{Mode: "wait-bye", AckDelayMS: 1500,
		Headers: []string{"Answer-Mode: Auto"}}, nil)
	e := incomingEvent(t, pp.runningPhone)
	c := e.Call
	waitFor(t, 5*time.Second, "the 200 OK at the caller", func() bool { return len(sp.received(`^SIP/2.0 200`)) > 0 })

	start := time.Now()
	pp.hangupOrEnd(c, 300*time.Millisecond, "the phone stopped")
	if time.Since(start) > time.Second {
		t.Errorf("ending the call took %s", time.Since(start))
	}
	ended := waitCallState(t, pp.runningPhone, c, CallEnded)
	if ended.CallInfo.EndReason != "the phone stopped" {
		t.Errorf("end reason %q", ended.CallInfo.EndReason)
	}
	// The ACK comes 1.5 s after the 200; the phone must then hang up.
	if code := sp.wait(10 * time.Second); code != 0 {
		t.Fatalf("caller exit %d, want 0 (the phone's BYE after the late ACK)", code)
	}
	time.Sleep(300 * time.Millisecond)
	if st := c.MediaStats(); st.PacketsSent != 0 || st.Jitter.Received != 0 {
		t.Errorf("media ran for the ended call: %d packets sent, %d received", st.PacketsSent, st.Jitter.Received)
	}
	if n := callAudio.Load(); n != 0 {
		t.Errorf("the headset played %d buffers for a call that had ended", n)
	}
	if err := c.SendDTMF("1"); !errors.Is(err, ErrCallEnded) {
		t.Errorf("SendDTMF on the ended call = %v, want ErrCallEnded", err)
	}
	if c.State() != CallEnded || len(pp.Calls()) != 0 {
		t.Errorf("call %s, %d calls left", c.State(), len(pp.Calls()))
	}
}
