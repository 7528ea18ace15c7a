package ami

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/earshot-app/earshot/monitor"
	"github.com/earshot-app/earshot/monitor/ami/amitest"
)

// TestHangupEveryLeg: "Hangup on the call's channels". The driver joins the PBX while
// calls A (answered) and B (waiting, two agents ringing) are up and hangs each up from
// the command line's path. The PBX accepts the customer's Hangup (the hangup
// recording's "Channel Hungup") but sends no teardown events here, so after the grace
// every other leg is hung up too: A's agent, B's two ringing agents. "No such channel"
// for a leg that ended meanwhile is no failure.
func TestHangupEveryLeg(t *testing.T) {
	c := loadCanned(t)
	for _, tc := range []struct {
		call     string
		want     []string // Hangup channels, in order
		agentErr [][]byte // the reply to the agents' Hangups
	}{
		{"1795669110.47", []string{"PJSIP/7001-0000002f", "PJSIP/1001-00000031"}, c.NoSuchChannel},
		{"1795669115.50", []string{"PJSIP/7003-00000032", "PJSIP/1003-00000033", "PJSIP/1002-00000034"}, c.HangupOK},
	} {
		srv := newServer(t, 0)
		sc := joinScript(t)
		sc.Steps = sc.Steps[:4] // banner, login, its reply, the resync
		customer := tc.want[0]
		sc.Reply = func(m amitest.Msg) [][]byte {
			switch {
			case m.Get("Action") != "Hangup":
				return nil
			case m.Get("Channel") == customer:
				return c.HangupOK
			}
			return tc.agentErr
		}
		srv.Play(sc)
		cfg := testConfig(srv.Port())
		cfg.HangupGrace = 200 * time.Millisecond
		drv, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		err = drv.Act(context.Background(), monitor.Action{Kind: monitor.ActHangup, CallID: tc.call})
		if err != nil {
			t.Fatalf("hang up %s: %v", tc.call, err)
		}
		if el := time.Since(start); el < cfg.HangupGrace {
			t.Errorf("hang up %s returned after %v, before the grace", tc.call, el)
		}
		<-sc.Done
		var got []string
		for _, m := range sc.Received() {
			if m.Get("Action") == "Hangup" {
				got = append(got, m.Get("Channel"))
			}
		}
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("call %s: Hangup of %v, want %v (customer first)", tc.call, got, tc.want)
		}
		srv.Close()
	}
}

// TestHangupAllGone: every leg answers "No such channel" (basics' recorded reply): the
// call has ended, and the error says so.
func TestHangupAllGone(t *testing.T) {
	c := loadCanned(t)
	srv := newServer(t, 0)
	sc := joinScript(t)
	sc.Steps = sc.Steps[:4]
	sc.Replies["Hangup"] = c.NoSuchChannel
	srv.Play(sc)
	cfg := testConfig(srv.Port())
	cfg.HangupGrace = 50 * time.Millisecond
	drv, _ := New(cfg)
	err := drv.Act(context.Background(), monitor.Action{Kind: monitor.ActHangup, CallID: "1795669110.47"})
	if !errors.Is(err, monitor.ErrCallGone) {
		t.Fatalf("hang up with every leg gone: %v, want ErrCallGone", err)
	}
	<-sc.Done
	if got := strings.Join(sc.ActionNames(), ","); !strings.HasPrefix(got, "Challenge,Login,QueueStatus,CoreShowChannels,Hangup,Hangup") {
		t.Errorf("actions %s", got)
	}
}
