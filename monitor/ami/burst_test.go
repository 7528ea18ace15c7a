package ami

import (
	"bytes"
	"io"
	"testing"

	"github.com/earshot-app/earshot/monitor"
)

// TestBurstTotals maps the burst recording (150 inbound calls at 10 calls/s) and checks
// the README's figures: a peak of 144 customer calls, 25 answered, 125 abandoned, and an
// empty board at the end.
func TestBurstTotals(t *testing.T) {
	board := monitor.NewBoard(monitor.Options{Logger: quietLogger})
	started := map[string]bool{}
	mp := newMapper(mapperConfig{vars: [nVars]string{"HOTLINE", "CAMPAIGN", "DIRECTION"},
		supervisorDevice: "PJSIP/2001", log: quietLogger},
		func(e monitor.Event) {
			if e.Kind == monitor.EventCallStarted {
				started[e.CallID] = true
				if e.Direction != monitor.Inbound || len(e.Customer) != 10 || e.Customer[:2] != "09" {
					t.Errorf("call %s started as %v from %q", e.CallID, e.Direction, e.Customer)
				}
			}
			board.Apply(e)
		})
	r := NewReader(bytes.NewReader(fixture(t, "burst.ami")))
	if _, err := r.ReadBanner(); err != nil {
		t.Fatal(err)
	}
	peak := 0
	hotlines := map[string]int{}
	for {
		m, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !m.IsEvent() {
			continue
		}
		mp.handle(m)
		if n := board.Len(); n > peak {
			peak = n
			for _, c := range board.Snapshot(monitor.Query{}).Calls {
				hotlines[c.Hotline]++
			}
		}
	}
	if peak != 144 {
		t.Errorf("peak %d calls on the board, the README counts 144 customer channels", peak)
	}
	if len(started) != 150 {
		t.Errorf("%d calls started, want 150", len(started))
	}
	answered, abandoned := 0, 0
	for _, s := range board.Stats() {
		answered += s.Answered
		abandoned += s.Abandoned
	}
	if answered != 25 || abandoned != 125 {
		t.Errorf("answered/abandoned %d/%d, the README counts 25/125", answered, abandoned)
	}
	if board.Len() != 0 {
		t.Errorf("%d calls left at the end", board.Len())
	}
	if hotlines["19006000"] == 0 || hotlines["19006001"] == 0 || len(hotlines) != 2 {
		t.Errorf("hotlines seen %v, want both 19006000 and 19006001 only", hotlines)
	}
}
