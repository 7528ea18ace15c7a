package ui

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/earshot-app/earshot/audio"
	"github.com/earshot-app/earshot/config"
	"github.com/earshot-app/earshot/monitor"
	"github.com/earshot-app/earshot/monitor/demo"
	"github.com/earshot-app/earshot/monitor/demo/demosip"
	"github.com/earshot-app/earshot/phone"
)

// desk is the window on the real pieces: the demo contact centre, its SIP side on
// loopback, the real softphone (diago) with the null audio backend, and PhoneAdapter.
type desk struct {
	*UI
	drv    *demo.Driver
	board  *monitor.Board
	ph     *phone.Phone
	events <-chan PhoneEvent
	audit  *AuditLog
}

func newDesk(t *testing.T, autoAnswer bool) *desk {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pbx, err := demosip.Start(ctx, demosip.Config{Logger: log})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	drv := demo.New(demo.Config{Seed: 11, Calls: 24, Supervisor: "Mai", OnMonitor: pbx.OnMonitor, Logger: log})
	pbx.Attach(drv)
	board := monitor.NewBoard(monitor.Options{Now: drv.Now, Logger: log})
	drv.Attach(board)
	actx, err := audio.NewContext(audio.BackendNull)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ph, err := phone.New(phone.Config{
		Account: phone.Account{Server: pbx.Addr(), User: "2001", DisplayName: "Mai"},
		Media:   phone.MediaConfig{Audio: actx, NoRingtone: true},
		Logger:  log,
	})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		_ = ph.Run(ctx)
	}()
	adapter := NewPhoneAdapter(ph, "2001@"+pbx.Addr())
	events, unsub := adapter.Subscribe()
	audit, err := OpenAuditLog(t.TempDir() + "/audit.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Supervisor = "Mai"
	cfg.AutoAnswerMonitoring = autoAnswer
	u := New(Options{App: test.NewTempApp(t), Driver: drv, Board: board, Phone: adapter, Config: cfg, Audit: audit})
	u.ctx = ctx
	t.Cleanup(func() {
		u.bg.Wait()
		cancel()
		<-ran
		unsub()
		pbx.Close()
		actx.Close()
	})
	d := &desk{UI: u, drv: drv, board: board, ph: ph, events: events, audit: audit}
	d.pump(t, "the softphone registers with the demo PBX", func() bool { return u.reg.State == RegRegistered })
	u.refreshNow()
	return d
}

// pump applies the softphone's events to the window on the test goroutine (the UI
// goroutine of a test) until cond holds.
func (d *desk) pump(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for !cond() {
		select {
		case ev := <-d.events:
			d.onPhoneEvent(ev)
		case <-time.After(20 * time.Millisecond):
			d.refreshNow()
		case <-deadline:
			t.Fatalf("timed out waiting until %s", what)
		}
	}
	d.refreshNow()
}

// talkingCall selects a call an agent is talking on.
func (d *desk) talkingCall(t *testing.T) monitor.Call {
	t.Helper()
	for _, c := range d.drv.Truth() {
		if c.Status == monitor.StatusAnswered && !c.Stolen && c.Monitor == monitor.MonitorNone && c.LastAgent != "" {
			if !d.grid.selectID(c.ID) {
				t.Fatalf("call %s is not in the grid", c.ID)
			}
			return c
		}
	}
	t.Fatal("the demo centre has no call with an agent talking")
	return monitor.Call{}
}

func TestListenWithTheRealSoftphone(t *testing.T) {
	d := newDesk(t, true)
	if d.panel.regText.Text != d.o.Phone.Registration().Account+" registered" {
		t.Errorf("registration line %q", d.panel.regText.Text)
	}
	c := d.talkingCall(t)
	if d.actions.buttons[monitor.ActListen].Disabled() {
		t.Fatal("listen disabled on a talking call with the softphone registered")
	}
	label := fmt.Sprintf("Listening: agent %s with %s", c.LastAgent, fmtPhone(c.Customer))
	d.tapAndWait(d.actions.buttons[monitor.ActListen])
	d.pump(t, "the monitoring call is up in the call panel", func() bool {
		pc, ok := d.panel.liveCall()
		return ok && pc.State == CallActive && pc.Monitoring
	})
	pc, _ := d.panel.liveCall()
	if pc.Label != label || d.panel.activeLabel.Text != label || d.panel.activeTitle.Text != "Monitoring" {
		t.Fatalf("call panel shows %q / %q, want %q", d.panel.activeTitle.Text, d.panel.activeLabel.Text, label)
	}
	if !d.panel.modeRow.Visible() || d.panel.currentMode() != monitor.MonitorListen {
		t.Fatal("the mode buttons do not show listen")
	}
	if got := d.message.Text; got != "Connected. "+label {
		t.Errorf("status message once connected %q", got)
	}
	d.pump(t, "the board shows the supervisor listening", func() bool {
		bc, _ := d.board.Get(c.ID)
		return bc.Monitor == monitor.MonitorListen && bc.Supervisor == "Mai"
	})
	if !d.actions.buttons[monitor.ActListen].Disabled() {
		t.Error("listen still enabled on the call the supervisor monitors")
	}

	// Whisper: DTMF 5 over RTP to the demo PBX, which switches the session like ChanSpy.
	d.tapAndWait(d.panel.modeBtns[monitor.MonitorWhisper])
	d.pump(t, "the board shows the supervisor whispering", func() bool {
		bc, _ := d.board.Get(c.ID)
		return bc.Monitor == monitor.MonitorWhisper
	})
	if d.panel.currentMode() != monitor.MonitorWhisper || d.panel.modeBtns[monitor.MonitorWhisper].Importance != widget.HighImportance ||
		!strings.HasPrefix(d.panel.activeLabel.Text, "Whispering to agent") {
		t.Errorf("panel mode %v, label %q", d.panel.currentMode(), d.panel.activeLabel.Text)
	}
	// DTMF 6 typed on the dial pad switches to barge too: the card follows the board
	d.panel.digit("6")
	d.bg.Wait()
	d.pump(t, "the board and the card show barge", func() bool {
		bc, _ := d.board.Get(c.ID)
		return bc.Monitor == monitor.MonitorBarge && d.panel.activeLabel.Text == fmt.Sprintf("Joining: agent %s with %s", c.LastAgent, fmtPhone(c.Customer))
	})
	d.tapAndWait(d.panel.modeBtns[monitor.MonitorWhisper])
	d.pump(t, "the board shows whisper again", func() bool {
		bc, _ := d.board.Get(c.ID)
		return bc.Monitor == monitor.MonitorWhisper
	})
	d.tapAndWait(d.panel.modeBtns[monitor.MonitorBarge])
	d.pump(t, "the board shows the supervisor barging in", func() bool {
		bc, _ := d.board.Get(c.ID)
		return bc.Monitor == monitor.MonitorBarge
	})

	// Hanging up ends the session; the agent and customer talk on.
	d.tapAndWait(d.panel.hangup)
	d.pump(t, "the call panel is empty again", func() bool { _, ok := d.panel.liveCall(); return !ok })
	d.pump(t, "the board shows no monitoring", func() bool {
		bc, ok := d.board.Get(c.ID)
		return ok && bc.Monitor == monitor.MonitorNone && bc.Status == monitor.StatusAnswered
	})
	var actions []string
	for _, e := range d.audit.Recent(10) {
		actions = append(actions, e.Action+":"+e.Result)
	}
	if fmt.Sprint(actions) != "[mode_barge:ok mode_whisper:ok mode_barge:ok mode_whisper:ok listen:ok]" {
		t.Fatalf("audit log %v", actions)
	}
}

func TestMonitoringCallRingsWithoutAutoAnswer(t *testing.T) {
	d := newDesk(t, false)
	c := d.talkingCall(t)
	d.requestAction(monitor.ActBarge) // the action completes only when the supervisor answers
	label := fmt.Sprintf("Joining: agent %s with %s", c.LastAgent, fmtPhone(c.Customer))
	d.pump(t, "the ring panel shows the monitoring call", func() bool { return d.panel.ring.Visible() })
	if d.panel.ringTitle.Text != "Incoming monitoring call" || d.panel.ringLabel.Text != label {
		t.Fatalf("ring panel %q / %q, want the label %q", d.panel.ringTitle.Text, d.panel.ringLabel.Text, label)
	}
	if n := d.notify.sent; len(n) == 0 || n[len(n)-1].Content != label {
		t.Fatalf("notifications %v", n)
	}
	if d.tray.state != trayInCall {
		t.Errorf("tray state %v while ringing", d.tray.state)
	}
	// The barge action waits for the answer, so the test answers with the button's own
	// handler (no tap: tapping walks the widget tree while the action's goroutine runs).
	if !d.panel.answer.Visible() || d.panel.answer.Disabled() {
		t.Fatal("no Answer button on the ring panel")
	}
	d.panel.answer.OnTapped()
	d.bg.Wait()
	d.pump(t, "the barge call is up", func() bool {
		pc, ok := d.panel.liveCall()
		return ok && pc.State == CallActive
	})
	d.pump(t, "the board shows the supervisor barging in", func() bool {
		bc, _ := d.board.Get(c.ID)
		return bc.Monitor == monitor.MonitorBarge
	})
	if d.panel.currentMode() != monitor.MonitorBarge {
		t.Errorf("panel mode %v, want barge", d.panel.currentMode())
	}
	d.tapAndWait(d.panel.hangup)
	d.pump(t, "the call panel is empty again", func() bool { _, ok := d.panel.liveCall(); return !ok })
}

// tapAndWait taps a button and waits for the background work it started (with
// auto-answer, an action completes once the softphone answered by itself).
func (d *desk) tapAndWait(b fyne.Tappable) {
	test.Tap(b)
	d.bg.Wait()
}

// A monitoring call answered by hand after ringing longer than the 15 s the other
// actions may take still connects: the action waits as long as the PBX rings.
func TestMonitoringCallAnsweredAfterLongRinging(t *testing.T) {
	d := newDesk(t, false)
	c := d.talkingCall(t)
	d.requestAction(monitor.ActListen)
	d.pump(t, "the ring panel shows the monitoring call", func() bool { return d.panel.ring.Visible() })
	ringing := time.Now()
	for time.Since(ringing) < 17*time.Second {
		select {
		case ev := <-d.events:
			d.onPhoneEvent(ev)
		case <-time.After(200 * time.Millisecond):
		}
	}
	if !d.panel.ring.Visible() {
		t.Fatal("the monitoring call stopped ringing before 17 s")
	}
	d.panel.answer.OnTapped()
	d.bg.Wait()
	d.pump(t, "the board shows the supervisor listening", func() bool {
		bc, _ := d.board.Get(c.ID)
		return bc.Monitor == monitor.MonitorListen
	})
	label := fmt.Sprintf("Listening: agent %s with %s", c.LastAgent, fmtPhone(c.Customer))
	if got := d.message.Text; got != "Connected. "+label {
		t.Errorf("status message %q", got)
	}
	if e := waitAudit(t, d.audit, 1)[0]; e.Action != "listen" || e.Result != "ok" {
		t.Fatalf("audit entry %+v", e)
	}
	d.tapAndWait(d.panel.hangup)
	d.pump(t, "the call panel is empty again", func() bool { _, ok := d.panel.liveCall(); return !ok })
}
