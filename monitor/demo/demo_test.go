package demo

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/earshot-app/earshot/monitor"
)

func runEvents(seed int64, calls int, d time.Duration) ([]string, []monitor.Call) {
	drv := newTestDriver(Config{Seed: seed, Calls: calls})
	rec := &recorder{}
	drv.Attach(rec)
	drv.Advance(d)
	keys := make([]string, 0, len(rec.events))
	for _, e := range rec.all() {
		keys = append(keys, eventKey(e))
	}
	return keys, drv.Truth()
}

func TestSameSeedSameEventStream(t *testing.T) {
	a, truthA := runEvents(42, 500, 10*time.Minute)
	b, truthB := runEvents(42, 500, 10*time.Minute)
	if len(a) < 1000 {
		t.Fatalf("only %d events in 10 simulated minutes at 500 calls", len(a))
	}
	if len(a) != len(b) {
		t.Fatalf("same seed, different event counts: %d and %d", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, event %d differs:\n%s\n%s", i, a[i], b[i])
		}
	}
	if len(truthA) != len(truthB) {
		t.Fatalf("same seed, different truth: %d and %d calls", len(truthA), len(truthB))
	}
	for i := range truthA {
		if callKey(truthA[i]) != callKey(truthB[i]) {
			t.Fatalf("same seed, truth differs:\n%s\n%s", callKey(truthA[i]), callKey(truthB[i]))
		}
	}
	c, _ := runEvents(43, 500, 10*time.Minute)
	same := 0
	for i := range min(len(a), len(c)) {
		if a[i] == c[i] {
			same++
		}
	}
	if same > 2 { // the feed and sync headers may not even match: the calls differ
		t.Fatalf("seeds 42 and 43 share %d identical events", same)
	}
}

// callStory is what happened to one call, from its events.
type callStory struct {
	events []monitor.Event
}

func (s *callStory) kinds() []monitor.EventKind {
	k := make([]monitor.EventKind, len(s.events))
	for i, e := range s.events {
		k[i] = e.Kind
	}
	return k
}

func (s *callStory) first(k monitor.EventKind) (monitor.Event, bool) {
	for _, e := range s.events {
		if e.Kind == k {
			return e, true
		}
	}
	return monitor.Event{}, false
}

func (s *callStory) has(k monitor.EventKind) bool { _, ok := s.first(k); return ok }

func TestEveryScenarioPathAppears(t *testing.T) {
	d := newTestDriver(Config{Seed: 3, Calls: 300})
	rec := &recorder{}
	d.Attach(rec)
	d.Advance(30 * time.Minute)
	evs := rec.all()
	if evs[0].Kind != monitor.EventSync || evs[1].Kind != monitor.EventFeed || evs[1].Feed.State != monitor.FeedConnected {
		t.Fatalf("attach must sync, then report the feed connected; got %s, %s", evs[0].Kind, evs[1].Kind)
	}
	synced := map[string]bool{}
	for _, c := range evs[0].Calls {
		synced[c.ID] = true
	}
	stories := map[string]*callStory{}
	var order []string
	var last time.Time
	for _, e := range evs[2:] {
		if e.At.Before(last) {
			t.Fatalf("event %s of %s at %v goes back in time (previous %v)", e.Kind, e.CallID, e.At, last)
		}
		last = e.At
		s := stories[e.CallID]
		if s == nil {
			if e.Kind != monitor.EventCallStarted && !synced[e.CallID] {
				t.Fatalf("first event of unknown call %s is %s", e.CallID, e.Kind)
			}
			s = &callStory{}
			stories[e.CallID] = s
			order = append(order, e.CallID)
		}
		if len(s.events) > 0 && s.events[len(s.events)-1].Kind == monitor.EventCallEnded {
			t.Fatalf("call %s has %s after it ended", e.CallID, e.Kind)
		}
		s.events = append(s.events, e)
	}

	seen := map[string]int{}
	for _, id := range order {
		s := stories[id]
		if synced[id] {
			continue // started before the observation
		}
		start := s.events[0]
		ended, isEnded := s.first(monitor.EventCallEnded)
		switch start.Direction {
		case monitor.Inbound:
			if start.Campaign != "" {
				t.Fatalf("inbound call %s carries campaign %q", id, start.Campaign)
			}
			if start.Hotline == "" || start.Customer == "" {
				t.Fatalf("inbound call %s lacks a hotline or a customer: %+v", id, start)
			}
			join, joined := s.first(monitor.EventQueueJoined)
			if joined {
				if !join.At.After(start.At) {
					t.Fatalf("call %s joined the queue without IVR time", id)
				}
				seen["ivr then queue"]++
			}
			if isEnded && !joined && ended.Reason == monitor.EndAbandoned {
				seen["hang-up in the IVR"]++
			}
			if ring, rung := s.first(monitor.EventAgentRinging); rung && joined && ring.At.Sub(join.At) >= 5*time.Second {
				seen["queue wait"]++
			}
			if s.has(monitor.EventAnswered) {
				seen["inbound answered"]++
				if isEnded && ended.Reason == monitor.EndCompleted {
					seen["talk and hang-up"]++
				}
			}
			if isEnded && joined && ended.Reason == monitor.EndAbandoned && !s.has(monitor.EventAnswered) {
				seen["abandon from the queue"]++
			}
			// ring-no-answer, then the queue rings the next agent
			for i, e := range s.events {
				if e.Kind != monitor.EventAgentNoAnswer {
					continue
				}
				seen["ring-no-answer"]++
				for _, f := range s.events[i+1:] {
					if f.Kind == monitor.EventAgentRinging {
						if f.At.Sub(e.At) < retryDelay {
							t.Fatalf("call %s retried %v after a ring-no-answer", id, f.At.Sub(e.At))
						}
						if f.Agent != e.Agent {
							seen["retry to the next agent"]++
						}
						break
					}
				}
			}
		case monitor.Outbound:
			if start.Agent == "" {
				t.Fatalf("outbound call %s has no placing agent", id)
			}
			if s.has(monitor.EventQueueJoined) {
				t.Fatalf("outbound call %s joined a queue", id)
			}
			if start.Campaign != "" {
				seen["campaign call"]++
			} else {
				seen["outbound call outside any campaign"]++
			}
			ringing := s.has(monitor.EventCustomerRinging)
			if ringing {
				seen["outbound ringing"]++
			}
			if s.has(monitor.EventAnswered) {
				if !ringing {
					t.Fatalf("outbound call %s answered without ringing: %v", id, s.kinds())
				}
				seen["outbound answered"]++
			} else if isEnded && ringing {
				seen["outbound not answered"]++
			} else if isEnded {
				seen["outbound unreachable"]++
			}
		default:
			t.Fatalf("call %s has no direction", id)
		}
	}
	want := []string{"ivr then queue", "hang-up in the IVR", "queue wait", "inbound answered", "talk and hang-up",
		"abandon from the queue", "ring-no-answer", "retry to the next agent", "campaign call",
		"outbound call outside any campaign", "outbound ringing", "outbound answered", "outbound not answered",
		"outbound unreachable"}
	for _, w := range want {
		if seen[w] < 3 {
			t.Errorf("scenario %q seen %d times in 30 simulated minutes at 300 calls", w, seen[w])
		}
	}
	t.Logf("scenarios: %v", seen)
}

var (
	mobileRe      = regexp.MustCompile(`^0(3[2-9]|8[1-9]|9[0-9])[0-9]{7}$`)
	hotlineRe     = regexp.MustCompile(`^(1900|1800)[0-9]{4}$`)
	landlineRe    = regexp.MustCompile(`^02[48][0-9]{8}$`)
	callIDRe      = regexp.MustCompile(`^([0-9]{10})\.([0-9]+)$`)
	agentRe       = regexp.MustCompile(`^\p{Lu}\p{Ll}* \p{Lu}\p{Ll}* \p{Lu}\p{Ll}* \(([0-9]{4,5})\)$`)
	vietnameseRe  = regexp.MustCompile(`[àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ]`)
	defaultQNames = []string{"Chăm sóc khách hàng", "Kinh doanh", "Kỹ thuật", "Khiếu nại"}
)

func TestNumbersNamesAndIDsLookVietnamese(t *testing.T) {
	d := newTestDriver(Config{Seed: 9, Calls: 1000})
	rec := &recorder{}
	d.Attach(rec)
	d.Advance(10 * time.Minute)
	prefixes := MobilePrefixes()
	ids := map[string]bool{}
	carriers := map[string]bool{}
	for _, e := range rec.all() {
		if e.Kind != monitor.EventCallStarted {
			continue
		}
		if !mobileRe.MatchString(e.Customer) || !slices.Contains(prefixes, e.Customer[:3]) {
			t.Fatalf("customer number %q is not a 10-digit Vietnamese mobile number", e.Customer)
		}
		carriers[e.Customer[:3]] = true
		if e.Direction == monitor.Inbound && !hotlineRe.MatchString(e.Hotline) {
			t.Fatalf("inbound hotline %q is not a 1900/1800 number", e.Hotline)
		}
		if e.Direction == monitor.Outbound && !landlineRe.MatchString(e.Hotline) {
			t.Fatalf("outbound caller number %q is not a 024/028 fixed line", e.Hotline)
		}
		m := callIDRe.FindStringSubmatch(e.CallID)
		if m == nil {
			t.Fatalf("call ID %q is not an Asterisk linkedid (epoch.counter)", e.CallID)
		}
		if sec, _ := strconv.ParseInt(m[1], 10, 64); sec != e.At.Unix() {
			t.Fatalf("call ID %q does not carry the start second %d", e.CallID, e.At.Unix())
		}
		if ids[e.CallID] {
			t.Fatalf("call ID %q used twice", e.CallID)
		}
		ids[e.CallID] = true
		if e.Campaign != "" && !slices.Contains(DefaultCampaigns(), e.Campaign) {
			t.Fatalf("unknown campaign %q", e.Campaign)
		}
	}
	if len(carriers) < 15 {
		t.Fatalf("only %d mobile prefixes used: %v", len(carriers), carriers)
	}
	ags, err := d.Agents(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	withDiacritics := 0
	for i, a := range ags {
		m := agentRe.FindStringSubmatch(a.Name)
		if m == nil || m[1] != a.ID {
			t.Fatalf("agent %q (ID %s) is not named like \"Nguyễn Văn An (1001)\"", a.Name, a.ID)
		}
		if a.ID != strconv.Itoa(1001+i) {
			t.Fatalf("agent %d has extension %s, want %d", i, a.ID, 1001+i)
		}
		if vietnameseRe.MatchString(strings.ToLower(a.Name)) {
			withDiacritics++
		}
		for _, q := range a.Queues {
			if !slices.Contains(defaultQNames, q) {
				t.Fatalf("agent %s in unknown queue %q", a.ID, q)
			}
		}
	}
	if withDiacritics < len(ags)/2 {
		t.Fatalf("only %d of %d agent names carry Vietnamese diacritics", withDiacritics, len(ags))
	}
}

func TestConcurrentCallsHoverAroundTarget(t *testing.T) {
	for _, target := range []int{60, 2000} {
		d := newTestDriver(Config{Seed: 5, Calls: target})
		ags, _ := d.Agents(t.Context())
		var sum, samples int
		status := map[monitor.Status]int{}
		agentStates := map[monitor.AgentState]int{}
		for range 60 {
			tr := d.Truth()
			sum += len(tr)
			samples++
			for _, c := range tr {
				status[c.Status]++
			}
			ags, _ = d.Agents(t.Context())
			for _, a := range ags {
				agentStates[a.State]++
			}
			if target >= 1000 && (len(tr) < target*85/100 || len(tr) > target*115/100) {
				t.Fatalf("%d calls in progress, target %d", len(tr), target)
			}
			d.Advance(time.Minute)
		}
		mean := float64(sum) / float64(samples)
		if mean < float64(target)*0.85 || mean > float64(target)*1.15 {
			t.Fatalf("mean %.0f calls in progress over an hour, target %d", mean, target)
		}
		total := status[monitor.StatusCalling] + status[monitor.StatusRinging] + status[monitor.StatusAnswered]
		for _, st := range monitor.Statuses {
			if share := float64(status[st]) / float64(total); share < 0.03 {
				t.Fatalf("target %d: status %s is only %.1f%% of the calls", target, st, share*100)
			}
		}
		for _, st := range []monitor.AgentState{monitor.AgentAvailable, monitor.AgentRinging, monitor.AgentBusy, monitor.AgentPaused} {
			if agentStates[st] == 0 {
				t.Fatalf("target %d: no agent was ever %s", target, st)
			}
		}
		t.Logf("target %d: mean %.0f calls, %d agents, status %v, agent states %v", target, mean, len(ags), status, agentStates)
	}
}

func TestDefaultsAndExplicitCentre(t *testing.T) {
	d := newTestDriver(Config{})
	if d.Name() != "demo" || d.Permissions() != monitor.AllPermissions || d.Supervisor() != DefaultSupervisor {
		t.Fatalf("name %q, permissions %+v, supervisor %q", d.Name(), d.Permissions(), d.Supervisor())
	}
	if n := d.Len(); n < DefaultCalls/2 || n > DefaultCalls*2 {
		t.Fatalf("default centre has %d calls, want about %d", n, DefaultCalls)
	}
	if !d.Now().Equal(testStart) {
		t.Fatalf("Now() = %v, want the start %v", d.Now(), testStart)
	}

	cfg := Config{
		Seed:  2,
		Calls: 8,
		Queues: []Queue{
			{Name: "Tổng đài bảo hành", Hotlines: []string{"18006000"}, TalkTime: time.Minute},
		},
		Agents: []AgentSpec{
			{ID: "201", Name: "Trần Thị Mai (201)", Queues: []string{"Tổng đài bảo hành"}},
			{ID: "202", Queues: []string{"Tổng đài bảo hành", "Không tồn tại"}},
			{ID: "301"}, // outbound
			{ID: "201"}, // duplicate: skipped
		},
		Campaigns:       []string{"Bảo hành mở rộng"},
		OutboundNumbers: []string{"02838001234"},
		Supervisor:      "Lê Minh Tâm",
	}
	d = newTestDriver(cfg)
	ags, err := d.Agents(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(ags) != 3 || ags[0].ID != "201" || ags[1].Name != "Agent 202" || len(ags[1].Queues) != 1 || len(ags[2].Queues) != 0 {
		t.Fatalf("agents: %+v", ags)
	}
	rec := &recorder{}
	d.Attach(rec)
	d.Advance(30 * time.Minute)
	var in, out int
	for _, e := range rec.all() {
		switch {
		case e.Kind == monitor.EventQueueJoined && e.Queue != "Tổng đài bảo hành":
			t.Fatalf("call joined queue %q", e.Queue)
		case e.Kind == monitor.EventCallStarted && e.Direction == monitor.Inbound:
			in++
			if e.Hotline != "18006000" {
				t.Fatalf("inbound hotline %q", e.Hotline)
			}
		case e.Kind == monitor.EventCallStarted && e.Direction == monitor.Outbound:
			out++
			if e.Agent != "Agent 301" || e.Hotline != "02838001234" || (e.Campaign != "" && e.Campaign != "Bảo hành mở rộng") {
				t.Fatalf("outbound call %+v", e)
			}
		}
	}
	if in == 0 || out == 0 {
		t.Fatalf("%d inbound and %d outbound calls in 30 minutes", in, out)
	}

	// an unnamed queue gets a name; a repeated one is skipped; empty hotlines are ignored
	d = newTestDriver(Config{Seed: 4, Calls: 40, Queues: []Queue{
		{Hotlines: []string{"", "19001000"}}, {Name: "Hàng đợi 1"}, {Name: "VIP"},
	}})
	queues := map[string]bool{}
	for _, a := range mustAgents(t, d) {
		for _, q := range a.Queues {
			queues[q] = true
		}
	}
	if len(queues) != 2 || !queues["Hàng đợi 1"] || !queues["VIP"] {
		t.Fatalf("queues %v, want Hàng đợi 1 and VIP", queues)
	}
	rec = &recorder{}
	d.Attach(rec)
	d.Advance(10 * time.Minute)
	for _, e := range rec.all() {
		if e.Kind == monitor.EventCallStarted && e.Direction == monitor.Inbound && e.Hotline != "19001000" && e.Hotline != "19002468" {
			t.Fatalf("inbound hotline %q", e.Hotline)
		}
	}

	// no outbound at all
	d = newTestDriver(Config{Seed: 1, Calls: 100, OutboundShare: -1})
	for _, c := range d.Truth() {
		if c.Direction != monitor.Inbound {
			t.Fatalf("outbound call %s with OutboundShare < 0", c.ID)
		}
	}
}

func mustAgents(t *testing.T, d *Driver) []monitor.Agent {
	t.Helper()
	ags, err := d.Agents(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return ags
}

func TestRunFollowsTheClock(t *testing.T) {
	clock := NewSimClock(testStart)
	d := newTestDriver(Config{Seed: 11, Calls: 200, Clock: clock, Tick: 100 * time.Millisecond})
	events := make(chan monitor.Event, 100000)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, monitor.SinkFunc(func(e monitor.Event) { events <- e })) }()

	next := func() monitor.Event {
		t.Helper()
		select {
		case e := <-events:
			return e
		case <-time.After(10 * time.Second):
			t.Fatal("no event from Run")
		}
		return monitor.Event{}
	}
	sync := next()
	if sync.Kind != monitor.EventSync || len(sync.Calls) != d.Len() {
		t.Fatalf("first event %s with %d calls, want a sync of %d", sync.Kind, len(sync.Calls), d.Len())
	}
	if e := next(); e.Kind != monitor.EventFeed || e.Feed.State != monitor.FeedConnected || e.Feed.Driver != "demo" {
		t.Fatalf("second event %s %+v, want the feed connected", e.Kind, e.Feed)
	}
	// a second Run while the first runs is refused
	if err := d.Run(ctx, monitor.SinkFunc(func(monitor.Event) {})); err == nil {
		t.Fatal("a second concurrent Run was accepted")
	}
	// nothing happens while the clock stands still
	select {
	case e := <-events:
		t.Fatalf("event %s while the clock stood still", e.Kind)
	case <-time.After(50 * time.Millisecond):
	}
	// one simulated minute, in ticks
	deadline := testStart.Add(time.Minute)
	for clock.Now().Before(deadline) {
		clock.Advance(100 * time.Millisecond)
		for d.Now().Before(clock.Now()) {
			time.Sleep(time.Millisecond)
		}
	}
	n := 0
	for len(events) > 0 {
		e := <-events
		if e.At.After(deadline) || e.At.Before(testStart) {
			t.Fatalf("event at %v outside the minute the clock moved", e.At)
		}
		n++
	}
	if n < 20 {
		t.Fatalf("only %d events in a simulated minute at 200 calls", n)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v, want context.Canceled", err)
	}
	if err := d.Run(t.Context(), nil); err == nil {
		t.Fatal("Run accepted a nil sink")
	}
}

func TestSimClock(t *testing.T) {
	c := NewSimClock(testStart)
	ch := c.After(2 * time.Second)
	c.Advance(time.Second)
	select {
	case <-ch:
		t.Fatal("fired a second early")
	default:
	}
	c.Set(testStart) // going back is ignored
	c.Advance(-time.Hour)
	c.Advance(time.Second)
	select {
	case at := <-ch:
		if !at.Equal(testStart.Add(2 * time.Second)) {
			t.Fatalf("fired at %v", at)
		}
	default:
		t.Fatal("did not fire")
	}
	if at := <-c.After(0); !at.Equal(c.Now()) {
		t.Fatalf("After(0) fired at %v", at)
	}
	if w := WallClock(); time.Since(w.Now()) > time.Minute {
		t.Fatal("wall clock is off")
	}
}

func TestQuietQueueLineStaysBounded(t *testing.T) {
	// agents in two queues, one of which almost never gets a call: the quiet queue's
	// line of free agents must not grow with every call the busy queue gives them
	var agents []AgentSpec
	for i := range 6 {
		agents = append(agents, AgentSpec{ID: strconv.Itoa(501 + i), Queues: []string{"Bận", "Vắng"}})
	}
	d := newTestDriver(Config{Seed: 8, Calls: 5, OutboundShare: -1, Agents: agents,
		Queues: []Queue{{Name: "Bận", Share: 1}, {Name: "Vắng", Share: 1e-9}}})
	d.Advance(6 * time.Hour)
	quiet := d.sim.queues[1]
	if n := len(quiet.avail) - quiet.head; n > 2*quiet.members+65 {
		t.Fatalf("quiet queue holds %d free-agent entries for %d members", n, quiet.members)
	}
	if d.Events() < 1000 {
		t.Fatalf("only %d events in six hours", d.Events())
	}
}
