package phone

import (
	"context"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// udpWitness listens where a test says the PBX is, and records the start line
// of everything that arrives: with an outbound proxy nothing should.
type udpWitness struct {
	c  *net.UDPConn
	mu sync.Mutex
	in []string
}

func newUDPWitness(t *testing.T) *udpWitness {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	w := &udpWitness{c: c}
	go func() {
		b := make([]byte, 8192)
		for {
			n, _, err := c.ReadFromUDP(b)
			if err != nil {
				return
			}
			w.mu.Lock()
			w.in = append(w.in, firstLine(string(b[:n])))
			w.mu.Unlock()
		}
	}()
	t.Cleanup(func() { c.Close() })
	return w
}

func (w *udpWitness) lines() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.in...)
}

// With an outbound proxy, calls go through it: the INVITE carries
// Route: <sip:proxy;lr> and reaches the proxy with the PBX target in its
// Request-URI; the ACK and the BYE follow the proxy too, whether it records the
// route (Route from its Record-Route) or not (sent where the answer came from).
// Nothing reaches the PBX address directly. sipp plays proxy and registrar.
func TestDialGoesThroughTheOutboundProxy(t *testing.T) {
	for _, recordRoute := range []bool{true, false} {
		name := "record-route"
		if !recordRoute {
			name = "no record-route"
		}
		t.Run(name, func(t *testing.T) {
			pbx := newUDPWitness(t)
			port := freeUDPPort(t, "127.0.0.1", false)
			proxyAddr := "127.0.0.1:" + strconv.Itoa(port)
			rr := "X-Proxy: does-not-record-route"
			if recordRoute {
				rr = "Record-Route: <sip:" + proxyAddr + ";lr>"
			}
			proxy := startSipp(t, "proxy_registrar.xml", "-i", "127.0.0.1", "-p", strconv.Itoa(port), "-t", "u1",
				"-mp", strconv.Itoa(freeUDPPort(t, "127.0.0.1", true)),
				"-key", "pass", "proxy-pw", "-key", "expires", "300", "-key", "rr", rr)
			ph := startPhone(t, Config{Account: Account{Server: pbx.c.LocalAddr().String(), OutboundProxy: proxyAddr,
				User: "2001", Password: "proxy-pw"}})
			ph.waitRegistered(t, 10*time.Second)

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := ph.Dial(ctx, "7001")
			if err != nil {
				t.Fatalf("Dial through the proxy: %v", err)
			}
			inv := proxy.received(`^INVITE `)
			if len(inv) != 1 {
				t.Fatalf("the proxy got %d INVITEs, want 1", len(inv))
			}
			wantURI := "INVITE sip:7001@" + pbx.c.LocalAddr().String() + " SIP/2.0"
			if first := firstLine(strings.ReplaceAll(inv[0], "\n", "\r\n")); first != wantURI {
				t.Errorf("INVITE request line %q, want %q (the PBX target, loose routing)", first, wantURI)
			}
			if !regexp.MustCompile(`(?m)^Route: <sip:` + regexp.QuoteMeta(proxyAddr) + `;lr>`).MatchString(inv[0]) {
				t.Errorf("the INVITE has no Route: <sip:%s;lr>:\n%s", proxyAddr, inv[0])
			}
			waitFor(t, 3*time.Second, "the ACK at the proxy", func() bool { return len(proxy.received(`^ACK `)) == 1 })
			if err := c.Hangup(ctx); err != nil {
				t.Fatalf("Hangup: %v", err)
			}
			ended := waitCallState(t, ph, c, CallEnded)
			if ended.CallInfo.EndReason != "hung up" {
				t.Errorf("end reason %q", ended.CallInfo.EndReason)
			}
			bye := proxy.received(`^BYE `)
			if len(bye) != 1 {
				t.Fatalf("the proxy got %d BYEs, want 1", len(bye))
			}
			if !strings.HasPrefix(bye[0], "BYE sip:7001@127.0.0.9:5999") {
				t.Errorf("BYE is not addressed to the far end's Contact:\n%s", bye[0])
			}
			hasRoute := regexp.MustCompile(`(?m)^Route: <sip:` + regexp.QuoteMeta(proxyAddr) + `;lr>`).MatchString(bye[0])
			if hasRoute != recordRoute {
				t.Errorf("BYE Route header present %v, want %v (the proxy's Record-Route):\n%s", hasRoute, recordRoute, bye[0])
			}
			if got := pbx.lines(); len(got) != 0 {
				t.Errorf("requests bypassed the outbound proxy and reached the PBX address: %q", got)
			}
		})
	}
}
