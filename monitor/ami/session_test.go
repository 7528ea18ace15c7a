package ami

import (
	"context"
	"sync"
	"testing"

	"github.com/earshot-app/earshot/monitor"
	"github.com/earshot-app/earshot/monitor/ami/amitest"
)

// TestTemporarySessionsTakeTurns: two actions from the command line's path (no Run) at
// the same time each open a session, log in and resync; they must not overlap (each
// resync replaces the mapper's state), and both succeed.
func TestTemporarySessionsTakeTurns(t *testing.T) {
	c := loadCanned(t)
	srv := newServer(t, 0)
	var scripts [2]*amitest.Script
	for i := range scripts {
		sc := joinScript(t)
		sc.Steps = sc.Steps[:4] // banner, login, its reply, the resync
		sc.Replies["Redirect"] = c.HangupOK
		srv.Play(sc)
		scripts[i] = sc
	}
	drv, err := New(testConfig(srv.Port()))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = drv.Act(context.Background(), monitor.Action{Kind: monitor.ActSteal, CallID: "1795669110.47"})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("steal %d: %v", i, err)
		}
	}
	for _, sc := range scripts {
		<-sc.Done
	}
	a0, e0 := scripts[0].Span()
	a1, e1 := scripts[1].Span()
	if a1.Before(e0) && a0.Before(e1) {
		t.Errorf("the two temporary sessions overlapped: %v–%v and %v–%v", a0, e0, a1, e1)
	}
}

// TestResyncCollectorsIndependent interleaves two resyncs on one mapper, as two sessions
// would: the lists of one never reach the other, and an item that arrives after its
// list completed (a late QueueEntry) is harmless.
func TestResyncCollectorsIndependent(t *testing.T) {
	c := loadCanned(t)
	board := monitor.NewBoard(monitor.Options{Logger: quietLogger})
	mp := newMapper(mapperConfig{vars: [nVars]string{"HOTLINE", "CAMPAIGN", "DIRECTION"},
		supervisorDevice: "PJSIP/2001", supervisorName: "Supervisor", log: quietLogger}, board.Apply)
	feed := func(sc *syncCollector, msgs [][]byte) {
		for _, raw := range msgs {
			m := parseOne(raw)
			switch m.Value("Event") {
			case "QueueMember", "QueueEntry", "QueueParams":
				mp.queueStatusItem(sc, m)
			case "QueueStatusComplete":
				mp.queueStatusComplete(sc)
			case "CoreShowChannel":
				mp.channelItem(sc, m)
			case "CoreShowChannelsComplete":
				mp.channelsComplete(sc)
			}
		}
	}
	a, b := newSyncCollector(), newSyncCollector()
	feed(a, c.ResyncQueues)
	feed(b, c.QueueStatus)
	feed(a, c.ResyncChannels[:3]) // the response and two items
	feed(b, c.NoChannels)         // b completes: an idle PBX
	if board.Len() != 0 {
		t.Fatalf("after b: %d calls", board.Len())
	}
	feed(a, c.ResyncChannels[3:])
	if board.Len() != 2 {
		t.Fatalf("after a: %d calls, want A and B", board.Len())
	}
	// a QueueEntry of a's list arriving late: no panic, no change
	feed(a, c.ResyncQueues)
	if board.Len() != 2 {
		t.Fatalf("after a late QueueEntry: %d calls", board.Len())
	}
}
