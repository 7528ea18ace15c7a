package ami

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/earshot-app/earshot/monitor"
)

// FuzzMapper feeds arbitrary AMI message sequences into the mapper and a Board, the way
// the driver does: events to the mapper, list items (QueueMember, QueueEntry,
// CoreShowChannel) to a resync collector and their ...Complete to its completion, and
// the actions' call lookups after every message. Nothing may panic, and the board may
// only hold calls the mapper shows. The seed corpus (testdata/fuzz/FuzzMapper) is every
// recording without its noise (Newexten, RTCP, ...) and with the headers the mapper
// reads, plus what fuzzing found.
func FuzzMapper(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		now := time.Unix(1795668852, 0)
		clock := func() time.Time { return now }
		board := monitor.NewBoard(monitor.Options{Logger: quietLogger, Now: clock})
		mp := newMapper(mapperConfig{vars: [nVars]string{"HOTLINE", "CAMPAIGN", "DIRECTION"},
			supervisorDevice: "PJSIP/2001", supervisorName: "Supervisor", now: clock, log: quietLogger}, board.Apply)
		r := NewReader(bytes.NewReader(data))
		r.SetMaxMessage(1 << 12)
		var sc *syncCollector
		collector := func() *syncCollector {
			if sc == nil {
				sc = newSyncCollector()
			}
			return sc
		}
		for i := 0; i < 5000; i++ {
			m, err := r.Next()
			if errors.Is(err, ErrMessageTooLong) {
				continue
			}
			if err != nil {
				break
			}
			now = now.Add(time.Millisecond)
			switch string(m.Event()) {
			case "QueueMember", "QueueEntry", "QueueParams":
				mp.queueStatusItem(collector(), m)
			case "QueueStatusComplete":
				mp.queueStatusComplete(collector())
			case "CoreShowChannel":
				mp.channelItem(collector(), m)
			case "CoreShowChannelsComplete":
				mp.channelsComplete(collector())
				sc = nil
			default:
				if m.IsEvent() {
					mp.handle(m)
				}
			}
			for id := range mp.calls {
				if ci, ok := mp.info(id); ok {
					ci.hangupLegs()
				}
			}
			snap := board.Snapshot(monitor.Query{})
			for _, c := range snap.Calls {
				mc := mp.calls[c.ID]
				if mc == nil || mc.hidden || !mc.started {
					t.Fatalf("message %d (%s): the board shows call %s that the mapper does not (%+v)", i, m.Event(), c.ID, mc)
				}
				if c.TimeInStatus(snap.At) < 0 {
					t.Fatalf("call %s: negative time in status", c.ID)
				}
			}
		}
	})
}
