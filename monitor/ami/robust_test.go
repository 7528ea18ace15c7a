package ami

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/earshot-app/earshot/monitor"
	"github.com/earshot-app/earshot/monitor/ami/amitest"
)

// TestMalformedEventsSkipped mixes broken messages into inbound-answered: the driver
// logs and skips them, and the board still shows exactly the recorded call.
func TestMalformedEventsSkipped(t *testing.T) {
	sc := scenarioCases[0]
	if sc.name != "inbound-answered" {
		t.Fatal("scenarioCases[0] should be inbound-answered")
	}
	junk := [][]byte{
		[]byte("Event: Hangup\r\nPrivilege: call,all\r\n\r\n"),
		[]byte("Event: Newchannel\r\nUniqueid: 1.1\r\n\r\n"),
		[]byte("Event: ChanSpyStart\r\nSpyeeLinkedid: 1795668852.0\r\n\r\n"),
		[]byte("Event: AgentConnect\r\nUniqueid: \r\nDestUniqueid: nope\r\nMemberName: X\r\n\r\n"),
		[]byte("Event: QueueCallerJoin\r\nUniqueid: 1795668852.0\r\nQueue: \r\nTimestamp: 17x5.1\r\n\r\n"),
		[]byte("a line without a colon\r\n\r\n"),
		[]byte("\x00\xff\xfe: \x01\r\n:\r\n: :\r\n\r\n"),
		[]byte("Event: DialBegin\r\nTimestamp: 99999999999999999999.9\r\nUniqueid: 1795668852.0\r\nDestUniqueid: 1795668852.0\r\n\r\n"),
		[]byte("Event: Big\r\n" + strings.Repeat("Output: "+strings.Repeat("x", 1000)+"\r\n", 1100) + "\r\n"),
	}
	sc.script = func(t *testing.T) *amitest.Script {
		s := idleScript(t, "inbound-answered", nil)
		// before the customer's Newchannel and after the answer (where they cannot
		// be mistaken for the test's checkpoints)
		first := true
		for i := range s.Steps {
			joined := bytes.Join(s.Steps[i].Send, nil)
			switch {
			case first && bytes.Contains(joined, []byte("Event: Newchannel\r\n")):
				first = false
				s.Steps[i].Send = append(append([][]byte{}, junk...), s.Steps[i].Send...)
			case bytes.Contains(joined, []byte("Event: AgentConnect\r\n")):
				s.Steps[i].Send = append(append([][]byte{}, s.Steps[i].Send...), junk...)
			}
		}
		return s
	}
	logs := newLogBuffer()
	sc.cfg = func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	playScenario(t, sc)
	out := logs.String()
	for _, want := range []string{"over-long message skipped", "malformed event skipped"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

// TestActionRefusals: the PBX's refusals (recorded error replies) and the driver's own
// checks become the typed errors the UI explains.
func TestActionRefusals(t *testing.T) {
	loadCanned(t)
	basics := loadRecording(t, "basics")
	srv := amitest.NewServer(t)
	sc := idleScript(t, "inbound-answered", nil)
	sc.StopAt = []func(amitest.Msg) bool{on("QueueCallerJoin"), on("AgentConnect")}
	sc.Replies["Hangup"] = loadCanned(t).NoSuchChannel
	sc.Replies["Originate"] = basics.ReplyTo("basics-10") // Originate failed
	// manager.c answers an action outside the account's write classes with this error
	sc.Replies["Redirect"] = [][]byte{[]byte("Response: Error\r\nActionID: denied-01\r\nMessage: Permission denied\r\n\r\n")}
	srv.Play(sc)
	drv, board, cancel, runErr := startDriver(t, testConfig(srv.Port()))
	ctx := context.Background()
	call := "1795668852.0"
	act := func(k monitor.ActionKind, id, agent string) error {
		return drv.Act(ctx, monitor.Action{Kind: k, CallID: id, Agent: agent})
	}
	expect := func(what string, err, want error, sentence string) {
		t.Helper()
		var ae *monitor.ActionError
		if !errors.As(err, &ae) || !errors.Is(err, want) {
			t.Errorf("%s: %v, want an ActionError wrapping %v", what, err, want)
			return
		}
		if got := monitor.Sentence(err); got != sentence {
			t.Errorf("%s: sentence %q, want %q", what, got, sentence)
		}
	}

	<-sc.Stops // waiting in the queue
	if err := drv.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	expect("listen before any agent answered", act(monitor.ActListen, call, ""), monitor.ErrNotApplicable,
		"That action is not possible for this call right now.")
	sc.Resume <- struct{}{}

	<-sc.Stops // answered by 1001
	if err := drv.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	expect("hangup refused with No such channel", act(monitor.ActHangup, call, ""), monitor.ErrCallGone, "That call has already ended.")
	expect("listen on an unknown call", act(monitor.ActListen, "42.42", ""), monitor.ErrCallGone, "That call has already ended.")
	expect("listen refused with Originate failed", act(monitor.ActListen, call, ""), monitor.ErrRejected, "The PBX refused the action.")
	if c, _ := board.Get(call); c.Monitor != monitor.MonitorNone {
		t.Errorf("a refused listen left the monitoring marker %v", c.Monitor)
	}
	expect("steal without the write class", act(monitor.ActSteal, call, ""), monitor.ErrNotPermitted, "Your PBX account is not allowed to do that.")
	if p := drv.Permissions(); p.Steal || !p.Monitor || !p.Transfer || !p.Hangup {
		t.Errorf("permissions after a denied steal: %+v", p)
	}
	expect("transfer to an unknown agent", act(monitor.ActTransfer, call, "9999"), monitor.ErrAgentUnavailable, "That agent cannot take the call right now.")
	expect("transfer with an injected header", act(monitor.ActTransfer, call, "1003\r\nAction: Originate"), monitor.ErrAgentUnavailable, "That agent cannot take the call right now.")
	expect("transfer to the agent on the call", act(monitor.ActTransfer, call, "1001"), monitor.ErrNotApplicable, "That action is not possible for this call right now.")
	sc.Resume <- struct{}{}
	if err := <-sc.Done; err != nil {
		t.Fatal(err)
	}
	// nothing the driver refused by itself reached the PBX
	got := strings.Join(sc.ActionNames(), ",")
	// the hang-up tried the customer's leg, then (after the grace) the agent's: both
	// "No such channel" in this replay
	want := "Challenge,Login,QueueStatus,CoreShowChannels,Ping,Ping,Hangup,Hangup,Originate,Redirect"
	if got != want {
		t.Errorf("actions sent %s, want %s", got, want)
	}
	stopDriver(t, cancel, runErr)
}

func TestAgentsFromQueueStatus(t *testing.T) {
	loadCanned(t)
	srv := amitest.NewServer(t)
	sc := idleScript(t, "inbound-answered", nil)
	sc.StopAt = []func(amitest.Msg) bool{on("DialState", "DestChannel", "PJSIP/1001-00000002"), on("AgentConnect")}
	srv.Play(sc)
	drv, _, cancel, runErr := startDriver(t, testConfig(srv.Port()))
	ctx := context.Background()
	states := func() string {
		ags, err := drv.Agents(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, a := range ags {
			b.WriteString(a.ID + "(" + a.Name + ";" + strings.Join(a.Queues, "+") + ")=" + a.State.String() + " ")
		}
		return strings.TrimSpace(b.String())
	}
	<-sc.Stops
	if err := drv.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// both support agents ring (QueueMemberStatus 6); 1003 (sales) is idle
	want := "1001(Agent 1001;support)=Ringing 1002(Agent 1002;sales+support)=Ringing 1003(Agent 1003;sales)=Available"
	if got := states(); got != want {
		t.Errorf("agents while ringing:\n got %s\nwant %s", got, want)
	}
	sc.Resume <- struct{}{}
	<-sc.Stops
	if err := drv.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	want = "1001(Agent 1001;support)=Busy 1002(Agent 1002;sales+support)=Available 1003(Agent 1003;sales)=Available"
	if got := states(); got != want {
		t.Errorf("agents after the answer:\n got %s\nwant %s", got, want)
	}
	sc.Resume <- struct{}{}
	<-sc.Done
	stopDriver(t, cancel, runErr)
}

func TestRefusalMapping(t *testing.T) {
	for msg, want := range map[string]error{
		"No such channel":   monitor.ErrCallGone,
		"Permission denied": monitor.ErrNotPermitted,
		"Originate failed":  monitor.ErrRejected,
		"Invalid/unknown command: NoSuchAction. Use Action: ListCommands to show available commands.": monitor.ErrRejected,
	} {
		m := parseOne([]byte("Response: Error\r\nActionID: x\r\nMessage: " + msg + "\r\n\r\n"))
		if err := refusal("X", m); !errors.Is(err, want) || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q → %v, want %v", msg, err, want)
		}
	}
	_ = time.Second
}
