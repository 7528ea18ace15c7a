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

// waitMoved waits until the phone, after since, registered again while listening
// on ip, and returns its address.
func waitMoved(t *testing.T, ph *runningPhone, since time.Time, ip string) string {
	t.Helper()
	ph.events.waitFor(t, 10*time.Second, "registered again on "+ip, func(ev Event) bool {
		return ev.Kind == EventRegistration && ev.Registration.State == RegRegistered && ev.Time.After(since) &&
			strings.HasPrefix(ph.LocalAddr(), ip+":")
	})
	return ph.LocalAddr()
}

var unregisterRE = regexp.MustCompile(`(?mi)^Expires:\s*0\s*$|expires=0\b`)

// registersFrom counts the authenticated REGISTERs the registrar got whose Contact
// is host:port, and how many of them removed it.
func registersFrom(reg *sippProc, hostPort string) (added, removed int) {
	host, port, _ := net.SplitHostPort(hostPort)
	contact := regexp.MustCompile(`(?mi)^Contact:.*@` + regexp.QuoteMeta(host) + `:` + port + `[;>]`)
	for _, r := range reg.received(`^REGISTER `) {
		if !contact.MatchString(r) || !strings.Contains(r, "Authorization:") {
			continue
		}
		if unregisterRE.MatchString(r) {
			removed++
		} else {
			added++
		}
	}
	return added, removed
}

// When the address that reaches the PBX changes (Wi-Fi to cable, a VPN), the phone
// moves its SIP transport there, registers from it, removes the old contact, and
// the PBX's next call rings on the new address. While it cannot listen on the new
// address, it stays as it is (no unregistering, no re-registering); while a
// monitoring call is expected or a call is up, the move waits. The PBX is a real
// sipp registrar with digest on 127.0.0.1 and real sipp callers.
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
	first := ph.LocalAddr()
	if !strings.HasPrefix(first, "127.0.0.1:") {
		t.Fatalf("listening on %s, want the address that reaches the PBX, 127.0.0.1", first)
	}
	pp := &pbxPhone{runningPhone: ph}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// An address the phone cannot listen on: it stays, registered, and leaves
	// its registration alone.
	route.set("192.0.2.77")
	time.Sleep(500 * time.Millisecond) // ten checks
	if got := ph.LocalAddr(); got != first {
		t.Fatalf("moved to %s, an address it cannot listen on", got)
	}
	if added, removed := registersFrom(reg, first); added != 1 || removed != 0 {
		t.Fatalf("while the new address could not be opened the phone registered %d times and unregistered %d times; want 1 and 0", added, removed)
	}
	if s := ph.State(); s.State != RegRegistered {
		t.Fatalf("registration %s, want still registered", s.State)
	}

	// A monitoring call is expected: the move waits for the window to close.
	stopExpecting := ph.ExpectMonitoringCall(MonitorExpectation{Label: "Listen: 1001"})
	route.set("127.0.0.2")
	time.Sleep(400 * time.Millisecond)
	if got := ph.LocalAddr(); got != first {
		t.Fatalf("moved to %s while a monitoring call was expected", got)
	}
	movedAt := time.Now()
	stopExpecting()
	second := waitMoved(t, ph, movedAt, "127.0.0.2")
	waitFor(t, 5*time.Second, "the new contact registered and the old one removed", func() bool {
		added, _ := registersFrom(reg, second)
		_, removed := registersFrom(reg, first)
		return added == 1 && removed == 1
	})

	// The PBX calls the new address; the route moves back during the call: the
	// call keeps its address, and the phone moves once it ends.
	sp := pp.call(t, "127.0.0.1", uacParams{Mode: "wait-bye"}, nil)
	e := incomingEvent(t, ph)
	if err := e.Call.Answer(ctx); err != nil {
		t.Fatalf("Answer on the new address: %v", err)
	}
	route.set("127.0.0.1")
	time.Sleep(400 * time.Millisecond)
	if got := ph.LocalAddr(); got != second || e.Call.State() != CallActive {
		t.Fatalf("with a call up the phone moved to %s (call %s); it must wait for the call to end", got, e.Call.State())
	}
	endedAt := time.Now()
	if err := e.Call.Hangup(ctx); err != nil {
		t.Fatalf("Hangup: %v", err)
	}
	sp.wait(10 * time.Second)
	third := waitMoved(t, ph, endedAt, "127.0.0.1")
	waitFor(t, 5*time.Second, "the 127.0.0.2 contact removed", func() bool {
		_, removed := registersFrom(reg, second)
		return removed == 1
	})

	// The PBX's next call reaches the phone there.
	sp2 := pp.call(t, "127.0.0.1", uacParams{Mode: "cancel", CancelMS: 300}, nil)
	e2 := ph.events.waitFor(t, 5*time.Second, "a call to "+third, func(ev Event) bool {
		return ev.Kind == EventIncomingCall && ev.Call != e.Call
	})
	waitCallState(t, ph, e2.Call, CallEnded)
	sp2.wait(10 * time.Second)
}
