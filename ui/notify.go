package ui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"

	"github.com/earshot-app/earshot/monitor"
)

// Long-wait notifications are rate-limited: at most one round every longWaitGap, and
// a round with more than longWaitSingles calls is one summary.
const (
	longWaitGap     = 10 * time.Second
	longWaitSingles = 2
)

// notifier sends desktop notifications on changes a supervisor must not miss: an
// incoming monitoring call, the PBX feed lost and restored, a failed registration,
// and a customer waiting in a queue longer than the threshold. Each fires once per
// change (per call for long waits).
type notifier struct {
	app      fyne.App
	longWait time.Duration

	feedKnown bool
	feedState monitor.FeedState
	regState  RegState
	// waitSeen are the calls known to wait too long (notified, or pending); waitPending
	// those not notified yet; lastWait is when the last long-wait round went out.
	waitSeen    map[string]uint64
	waitRound   uint64
	waitPending []longWait
	lastWait    time.Time

	// sent counts notifications, for tests and logs.
	sent []*fyne.Notification
}

func newNotifier(app fyne.App) *notifier {
	return &notifier{app: app, waitSeen: make(map[string]uint64)}
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
		n.send(tr("notify.reg_failed.title"), trf("notify.reg_failed.body", "Account", r.Account, "Reason", regFailureText(r.Failure)))
	}
	if r.State == RegRegistering && prev == RegFailed {
		n.regState = RegFailed // a retry is not a recovery
	}
}

// longWaits notifies of each call that has waited in a queue longer than the
// threshold, once per call: calls lists the calls waiting too long now (any queue,
// whatever the filters). Calls crossing within longWaitGap of the last round wait for
// the next; a round of more than longWaitSingles calls is one summary.
func (n *notifier) longWaits(calls []longWait, now time.Time) {
	// waitSeen maps each call known to wait too long to the round it was last seen
	// in; no allocation while the set stays the same
	n.waitRound++
	for _, c := range calls {
		if _, ok := n.waitSeen[c.id]; !ok {
			n.waitPending = append(n.waitPending, c)
		}
		n.waitSeen[c.id] = n.waitRound
	}
	for id, r := range n.waitSeen {
		if r != n.waitRound {
			delete(n.waitSeen, id) // a call that stops waiting is forgotten
		}
	}
	n.waitPending = slices.DeleteFunc(n.waitPending, func(c longWait) bool { _, ok := n.waitSeen[c.id]; return !ok })
	if len(n.waitPending) > 0 {
		// the waits as they are now
		at := make(map[string]int, len(n.waitPending))
		for i, c := range n.waitPending {
			at[c.id] = i
		}
		for _, c := range calls {
			if i, ok := at[c.id]; ok {
				n.waitPending[i] = c
			}
		}
	}
	if len(n.waitPending) == 0 || (!n.lastWait.IsZero() && now.Sub(n.lastWait) < longWaitGap) {
		return
	}
	n.lastWait = now
	pending := n.waitPending
	n.waitPending = nil
	if len(pending) <= longWaitSingles {
		for _, c := range pending {
			n.send(tr("notify.long_wait.title"), trf("notify.long_wait.body", "Customer", fmtPhone(c.customer),
				"Queue", c.queue, "Wait", fmtDuration(c.wait)))
		}
		return
	}
	longest := time.Duration(0)
	perQueue := map[string]int{}
	for _, c := range pending {
		longest = max(longest, c.wait)
		perQueue[c.queue]++
	}
	var qs []string
	for q := range perQueue {
		qs = append(qs, q)
	}
	slices.Sort(qs)
	for i, q := range qs {
		qs[i] = fmt.Sprintf("%s %d", q, perQueue[q])
	}
	n.send(tr("notify.long_wait.title_many"), trf("notify.long_wait.many", "Count", len(pending),
		"Threshold", fmtDuration(n.longWait), "Wait", fmtDuration(longest), "Queues", strings.Join(qs, ", ")))
}

// incoming notifies of a ringing call (a monitoring call says which call it watches).
func (n *notifier) incoming(c PhoneCall) {
	if c.Monitoring {
		n.send(tr("notify.monitoring.title"), callLabel(c))
		return
	}
	n.send(tr("notify.incoming.title"), callLabel(c))
}
