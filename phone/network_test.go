package phone

import (
	"context"
	"net"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// movableRoute stands in for the kernel's routing table, which a test cannot
// change on the machine it runs on: the local address that reaches the PBX.
type movableRoute struct{ ip atomic.Pointer[net.IP] }

func (r *movableRoute) set(ip string) {
	a := net.ParseIP(ip)
	r.ip.Store(&a)
}

func (r *movableRoute) lookup(string, int) (net.IP, error) { return *r.ip.Load(), nil }

// When the address that reaches the PBX changes (Wi-Fi to cable, a VPN), the phone
// moves its SIP transport to it and registers again from there, and the PBX's next
// call rings on the new address. A call in progress keeps the old address: the move
// waits until it ends. The PBX is a real sipp registrar with digest on 127.0.0.1;
// the phone moves from 127.0.0.1 to 127.0.0.2.
func TestNetworkChangeMovesTheSIPTransport(t *testing.T) {
	reg, addr := startRegistrar(t, "sup-2001-lab", 300)
	route := &movableRoute{}
	route.set("127.0.0.1")
	ph := startPhone(t, Config{
		Account:     Account{Server: addr, User: "2001", Password: "sup-2001-lab", DisplayName: "Supervisor"},
		Media:       MediaConfig{Audio: nullAudio(t)},
		RouteCheck:  50 * time.Millisecond,
		routeLookup: route.lookup,
	})
	ph.waitRegistered(t, 10*time.Second)
	old := ph.LocalAddr()
	if !strings.HasPrefix(old, "127.0.0.1:") {
		t.Fatalf("listening on %s, want the address that reaches the PBX, 127.0.0.1", old)
	}

	// A call is up when the network changes: it keeps its address.
	pp := &pbxPhone{runningPhone: ph}
	sp := pp.call(t, "127.0.0.1", uacParams{Mode: "wait-bye"}, nil)
	e := incomingEvent(t, ph)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Call.Answer(ctx); err != nil {
		t.Fatalf("Answer: %v", err)
	}
	route.set("127.0.0.2")
	time.Sleep(400 * time.Millisecond) // eight checks
	if got := ph.LocalAddr(); got != old || e.Call.State() != CallActive {
		t.Fatalf("with a call up the phone moved to %s (call %s); it must wait for the call to end", got, e.Call.State())
	}
	movedAt := time.Now()
	if err := e.Call.Hangup(ctx); err != nil {
		t.Fatalf("Hangup: %v", err)
	}
	sp.wait(10 * time.Second)

	// Then it moves, and registers again from the new address.
	ph.events.waitFor(t, 10*time.Second, "registered again after the move", func(ev Event) bool {
		return ev.Kind == EventRegistration && ev.Registration.State == RegRegistered && ev.Time.After(movedAt) &&
			strings.HasPrefix(ph.LocalAddr(), "127.0.0.2:")
	})
	now := ph.LocalAddr()
	_, port, _ := net.SplitHostPort(now)
	contact := regexp.MustCompile(`(?mi)^Contact:.*@127\.0\.0\.2:` + port + `[;>]`)
	found := false
	for _, r := range reg.received(`^REGISTER `) {
		if contact.MatchString(r) && strings.Contains(r, "Authorization:") {
			found = true
		}
	}
	if !found {
		t.Fatalf("the registrar saw no authenticated REGISTER with Contact %s", now)
	}
	if s := ph.State(); s.State != RegRegistered {
		t.Errorf("registration %s after the move, want registered", s.State)
	}

	// The PBX's next call reaches the phone at its new address.
	sp2 := pp.call(t, "127.0.0.1", uacParams{Mode: "cancel", CancelMS: 300}, nil)
	e2 := ph.events.waitFor(t, 5*time.Second, "a call to the new address", func(ev Event) bool {
		return ev.Kind == EventIncomingCall && ev.Call != e.Call
	})
	waitCallState(t, ph, e2.Call, CallEnded)
	sp2.wait(10 * time.Second)
}
