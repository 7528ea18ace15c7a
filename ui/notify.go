package ui

import (
	"time"

	"fyne.io/fyne/v2"

	"github.com/earshot-app/earshot/monitor"
)

// notifier sends desktop notifications on changes a supervisor must not miss: an
// incoming monitoring call, the PBX feed lost and restored, a failed registration,
// and a queue whose longest wait passes the threshold. Each fires once per change.
type notifier struct {
	app      fyne.App
	longWait time.Duration

	feedKnown bool
	feedState monitor.FeedState
	regState  RegState
	over      map[string]bool // queues currently over the long-wait threshold

	// sent counts notifications, for tests and logs.
	sent []*fyne.Notification
}

func newNotifier(app fyne.App) *notifier {
	return &notifier{app: app, over: make(map[string]bool)}
}

func (n *notifier) send(title, body string) {
	note := fyne.NewNotification(title, body)
	n.sent = append(n.sent, note)
	if len(n.sent) > 100 {
		n.sent = n.sent[len(n.sent)-100:]
	}
	n.app.SendNotification(note)
}

// feed notifies when the feed is lost, and when it comes back after a loss.
func (n *notifier) feed(f monitor.Feed, driver string) {
	if !n.feedKnown {
		n.feedKnown = true
		n.feedState = f.State
		if f.State == monitor.FeedLost {
			n.send(tr("notify.feed_lost.title"), trf("notify.feed_lost.body", "Driver", driver, "Reason", errorText(f.Err)))
		}
		return
	}
	if f.State == n.feedState {
		return
	}
	prev := n.feedState
	n.feedState = f.State
	switch {
	case f.State == monitor.FeedLost:
		n.send(tr("notify.feed_lost.title"), trf("notify.feed_lost.body", "Driver", driver, "Reason", errorText(f.Err)))
	case f.State == monitor.FeedConnected && prev == monitor.FeedLost:
		n.send(tr("notify.feed_restored.title"), trf("notify.feed_restored.body", "Driver", driver))
	case f.State == monitor.FeedConnecting && prev == monitor.FeedLost:
		n.feedState = monitor.FeedLost // still lost until connected
	}
}

// registration notifies when the softphone's registration fails.
func (n *notifier) registration(r Registration) {
	if r.State == n.regState {
		return
	}
	prev := n.regState
	n.regState = r.State
	if r.State == RegFailed {
		n.send(tr("notify.reg_failed.title"), trf("notify.reg_failed.body", "Account", r.Account, "Reason", r.Reason))
	}
	if r.State == RegRegistering && prev == RegFailed {
		n.regState = RegFailed // a retry is not a recovery
	}
}

// queues notifies when a queue's longest wait passes the threshold (again after it
// fell below it).
func (n *notifier) queues(stats []monitor.QueueStats) {
	if n.longWait <= 0 {
		return
	}
	for _, s := range stats {
		over := s.Waiting > 0 && s.LongestWait >= n.longWait
		if over && !n.over[s.Queue] {
			n.send(tr("notify.long_wait.title"), trf("notify.long_wait.body", "Queue", s.Queue,
				"Wait", fmtDuration(s.LongestWait), "Count", s.Waiting))
		}
		n.over[s.Queue] = over
	}
}

// incoming notifies of a ringing call (a monitoring call says which call it watches).
func (n *notifier) incoming(c PhoneCall) {
	if c.Monitoring {
		n.send(tr("notify.monitoring.title"), callLabel(c))
		return
	}
	n.send(tr("notify.incoming.title"), callLabel(c))
}
