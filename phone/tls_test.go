package phone

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// testCA is a throw-away certificate authority.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// serverCert issues a certificate for 127.0.0.1.
func (ca *testCA) serverCert(t *testing.T) tls.Certificate {
	t.Helper()
	return ca.serverCertFor(t, nil, []net.IP{net.IPv4(127, 0, 0, 1)})
}

// serverCertFor issues a server certificate for the given names and addresses.
func (ca *testCA) serverCertFor(t *testing.T, dnsNames []string, ips []net.IP) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "pbx.earshot.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		DNSNames:     dnsNames,
		IPAddresses:  ips,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func (ca *testCA) file(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p, ca.pem, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// tlsFront terminates TLS in front of a TCP SIP peer (sipp has no TLS built in
// here), like the TLS side of a PBX: every TLS connection is piped to the peer.
func tlsFront(t *testing.T, cert tls.Certificate, backend string) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b, err := net.Dial("tcp", backend)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, b)
			mu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); io.Copy(b, c); b.Close() }()
			go func() { defer wg.Done(); io.Copy(c, b); c.Close() }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func startTCPRegistrar(t *testing.T, password string) (*sippProc, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	p := startSipp(t, "registrar.xml", "-i", "127.0.0.1", "-p", strconv.Itoa(port), "-t", "t1",
		"-key", "pass", password, "-key", "expires", "120")
	return p, net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

func TestRegisterOverTLSVerifiesThePBX(t *testing.T) {
	ca := newTestCA(t, "Earshot test PBX CA")
	reg, backend := startTCPRegistrar(t, "tls-pw")
	front := tlsFront(t, ca.serverCert(t), backend)
	waitFor(t, 5*time.Second, "sipp listening on TCP", func() bool {
		c, err := net.Dial("tcp", backend)
		if err == nil {
			c.Close()
		}
		return err == nil
	})

	t.Run("trusted CA", func(t *testing.T) {
		ph := startPhone(t, Config{Account: Account{Server: front, User: "2001", Password: "tls-pw",
			Transport: TransportTLS, CAFile: ca.file(t)}})
		r := ph.waitRegistered(t, 10*time.Second)
		if r.Expiry != 120*time.Second {
			t.Errorf("expiry %s, want 120s", r.Expiry)
		}
		regs := reg.received(`^REGISTER `)
		if len(regs) < 2 || !strings.Contains(regs[0], "SIP/2.0/TLS") {
			t.Fatalf("the registrar did not get the REGISTERs over TLS: %q", regs)
		}
		if !regexp.MustCompile(`(?m)^Contact: <sip:2001@127\.0\.0\.1:[1-9][0-9]*;transport=tls>`).MatchString(regs[1]) {
			t.Errorf("Contact is not the TLS connection's address with transport=tls:\n%s", regs[1])
		}
	})

	t.Run("unknown CA", func(t *testing.T) {
		other := newTestCA(t, "Some other CA")
		ph := startPhone(t, Config{Account: Account{Server: front, User: "2001", Password: "tls-pw",
			Transport: TransportTLS, CAFile: other.file(t)}, RetryMin: 5 * time.Second})
		e := ph.events.waitFor(t, 10*time.Second, "the TLS failure", func(e Event) bool {
			return e.Kind == EventRegistration && e.Registration.State == RegFailed
		})
		t.Logf("reason shown: %s", e.Registration.Reason)
		if e.Registration.Failure != FailTLS || !strings.Contains(e.Registration.Reason, "certificate") {
			t.Errorf("failure %s %q, want a TLS error about the certificate", e.Registration.Failure, e.Registration.Reason)
		}
	})

	t.Run("system roots do not know a private CA", func(t *testing.T) {
		ph := startPhone(t, Config{Account: Account{Server: front, User: "2001", Password: "tls-pw",
			Transport: TransportTLS}, RetryMin: 5 * time.Second})
		e := ph.events.waitFor(t, 10*time.Second, "the TLS failure", func(e Event) bool {
			return e.Kind == EventRegistration && e.Registration.State == RegFailed
		})
		if e.Registration.Failure != FailTLS {
			t.Errorf("failure %s %q, want a TLS error", e.Registration.Failure, e.Registration.Reason)
		}
	})

	// A certificate from the trusted CA, but for another server: a PBX (or
	// someone in between) presenting it is refused, which only a host name
	// check catches.
	t.Run("trusted CA, wrong host name", func(t *testing.T) {
		other := tlsFront(t, ca.serverCertFor(t, []string{"pbx.elsewhere.test"}, nil), backend)
		ph := startPhone(t, Config{Account: Account{Server: other, User: "2001", Password: "tls-pw",
			Transport: TransportTLS, CAFile: ca.file(t)}, RetryMin: 5 * time.Second})
		e := ph.events.waitFor(t, 10*time.Second, "the TLS failure", func(e Event) bool {
			return e.Kind == EventRegistration && e.Registration.State == RegFailed
		})
		t.Logf("reason shown: %s", e.Registration.Reason)
		if e.Registration.Failure != FailTLS || !strings.Contains(e.Registration.Reason, "certificate") ||
			!strings.Contains(e.Registration.Reason, "pbx.elsewhere.test") {
			t.Errorf("failure %s %q, want a TLS error naming the certificate's host", e.Registration.Failure, e.Registration.Reason)
		}
		if n := ph.events.count(func(e Event) bool {
			return e.Kind == EventRegistration && e.Registration.State == RegRegistered
		}); n != 0 {
			t.Error("registered with a certificate for another host")
		}
	})

	// TLSServerName names the host the certificate must be for (a PBX reached
	// by address whose certificate carries its name).
	t.Run("TLSServerName", func(t *testing.T) {
		other := tlsFront(t, ca.serverCertFor(t, []string{"pbx.elsewhere.test"}, nil), backend)
		ph := startPhone(t, Config{Account: Account{Server: other, User: "2001", Password: "tls-pw",
			Transport: TransportTLS, CAFile: ca.file(t), TLSServerName: "pbx.elsewhere.test"}})
		ph.waitRegistered(t, 10*time.Second)
	})

	t.Run("bad CA file", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "ca.pem")
		os.WriteFile(p, []byte("not a certificate"), 0o600)
		_, err := New(Config{Account: Account{Server: front, User: "2001", Transport: TransportTLS, CAFile: p}})
		if err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
			t.Errorf("New with a bad CA file: %v", err)
		}
	})
}

func TestTCPTransportRegistersAndTakesCalls(t *testing.T) {
	reg, addr := startTCPRegistrar(t, "tcp-pw")
	waitFor(t, 5*time.Second, "sipp listening on TCP", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	ph := startPhone(t, Config{Account: Account{Server: addr, User: "2001", Password: "tcp-pw", Transport: TransportTCP},
		AutoAnswerHints: true})
	ph.waitRegistered(t, 10*time.Second)
	regs := reg.received(`^REGISTER `)
	if len(regs) < 2 || !strings.Contains(regs[1], "SIP/2.0/TCP") ||
		!regexp.MustCompile(`(?m)^Contact: <sip:2001@127\.0\.0\.1:`+strconv.Itoa(ph.sip().bindPort)+`;transport=tcp>`).MatchString(regs[1]) {
		t.Fatalf("REGISTER over TCP does not name the TCP listener:\n%q", regs)
	}

	// The PBX calls over TCP (auto-answer hint honoured), then hangs up.
	dir := t.TempDir()
	scen := writeUAC(t, dir, uacParams{Mode: "answer", HoldMS: 300, Headers: []string{"Call-Info: <sip:127.0.0.1>;answer-after=0"}})
	sp := startSippIn(t, dir, scen, ph.LocalAddr(), "-s", "2001", "-m", "1", "-i", "127.0.0.1",
		"-p", strconv.Itoa(freeUDPPort(t, "127.0.0.1", false)), "-mp", strconv.Itoa(freeUDPPort(t, "127.0.0.1", true)), "-t", "t1")
	e := ph.events.waitFor(t, 10*time.Second, "the call over TCP", func(e Event) bool { return e.Kind == EventIncomingCall })
	waitCallState(t, ph, e.Call, CallActive)
	waitCallState(t, ph, e.Call, CallEnded)
	if code := sp.wait(10 * time.Second); code != 0 {
		t.Errorf("TCP caller exit %d", code)
	}
}

func TestCallOverTheTLSConnection(t *testing.T) {
	ca := newTestCA(t, "Earshot test PBX CA")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	backend := l.Addr().String()
	l.Close()
	front := tlsFront(t, ca.serverCert(t), backend)
	_, frontPort, _ := net.SplitHostPort(front)
	_, backPort, _ := net.SplitHostPort(backend)
	sp := startSipp(t, "registrar_calls.xml", "-i", "127.0.0.1", "-p", backPort, "-t", "t1", "-m", "1",
		"-mp", strconv.Itoa(freeUDPPort(t, "127.0.0.1", true)), "-key", "pass", "tls-pw", "-key", "front_port", frontPort)
	waitFor(t, 5*time.Second, "sipp listening on TCP", func() bool {
		c, err := net.Dial("tcp", backend)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	ph := startPhone(t, Config{Account: Account{Server: front, User: "2001", Password: "tls-pw",
		Transport: TransportTLS, CAFile: ca.file(t)}, AutoAnswerHints: true})
	ph.waitRegistered(t, 10*time.Second)
	// The phone does not listen: the PBX's INVITE comes over the phone's own TLS
	// connection, is answered on it, and the call is hung up by the PBX.
	e := ph.events.waitFor(t, 10*time.Second, "the call over TLS", func(e Event) bool { return e.Kind == EventIncomingCall })
	if e.CallInfo.RemoteNumber != "1001" || !e.CallInfo.AutoAnswer {
		t.Errorf("call info %+v", e.CallInfo)
	}
	waitCallState(t, ph, e.Call, CallActive)
	ended := waitCallState(t, ph, e.Call, CallEnded)
	if ended.CallInfo.EndReason != "the other party hung up" || ended.CallInfo.Codec != "PCMA" {
		t.Errorf("end %q codec %q", ended.CallInfo.EndReason, ended.CallInfo.Codec)
	}
	if code := sp.wait(10 * time.Second); code != 0 {
		t.Errorf("PBX scenario exit %d", code)
	}
}
