package ami

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/earshot-app/earshot/monitor"
	"github.com/earshot-app/earshot/monitor/ami/amitest"
)

// testCA makes a CA and a server certificate for 127.0.0.1, and writes the CA's PEM.
func testCA(t *testing.T) (serverCert tls.Certificate, caFile string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Earshot test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "asterisk"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, caFile
}

// TestTLS replays inbound-answered over TLS (manager.conf tlsenable): trusted through
// the CA file it works like plain TCP; without the CA the feed is lost with a reason.
func TestTLS(t *testing.T) {
	cert, caFile := testCA(t)
	loadCanned(t)
	srv := amitest.NewServerTLS(t, &tls.Config{Certificates: []tls.Certificate{cert}})
	sc := scenarioCases[0]
	sc.cfg = func(c *Config) {
		c.Port = srv.Port()
		c.TLS, c.CAFile = true, caFile
	}
	// playScenario makes its own server; run the same replay on the TLS one
	script := idleScript(t, sc.name, nil)
	for _, c := range sc.checks {
		script.StopAt = append(script.StopAt, c.after)
	}
	srv.Play(script)
	cfg := testConfig(srv.Port())
	cfg.Now = srv.Clock.Now
	sc.cfg(&cfg)
	drv, board, cancel, runErr := startDriver(t, cfg)
	runReplay(t, sc, script, drv, board, runErr)
	if err := drv.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if board.Len() != 0 {
		t.Errorf("%d calls left", board.Len())
	}
	stopDriver(t, cancel, runErr)

	// not trusted: no CA file
	srv.Play(amitest.NewScript("unused", loadCanned(t)))
	cfg.CAFile = ""
	drv2, _ := New(cfg)
	err := drv2.Act(context.Background(), monitor.Action{Kind: monitor.ActHangup, CallID: "1.1"})
	if !errors.Is(err, monitor.ErrUnreachable) || !strings.Contains(err.Error(), "not trusted") {
		t.Errorf("TLS without the CA: %v", err)
	}
	cfg.CAFile = filepath.Join(t.TempDir(), "missing.pem")
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "CA file") {
		t.Errorf("New with a missing CA file: %v", err)
	}
}

// TestKeepAlive: a PBX that stops answering (Pings unanswered) is dropped and the
// driver reconnects and resyncs.
func TestKeepAlive(t *testing.T) {
	srv := amitest.NewServer(t)
	hung := joinScript(t)
	hung.Steps = hung.Steps[:4]
	hung.NoPong = true
	fresh := joinScript(t)
	fresh.Steps = fresh.Steps[:4]
	srv.Play(hung)
	srv.Play(fresh)
	cfg := testConfig(srv.Port())
	cfg.PingInterval, cfg.ActionTimeout = 100*time.Millisecond, 300*time.Millisecond
	drv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	feeds := make(chan monitor.Feed, 32)
	board := monitor.NewBoard(monitor.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() {
		runErr <- drv.Run(ctx, monitor.SinkFunc(func(e monitor.Event) {
			board.Apply(e)
			if e.Kind == monitor.EventFeed {
				feeds <- e.Feed
			}
		}))
	}()
	var states []string
	deadline := time.After(10 * time.Second)
	connected := 0
	for connected < 2 {
		select {
		case f := <-feeds:
			states = append(states, f.State.String())
			if f.State == monitor.FeedConnected {
				connected++
			}
			if f.State == monitor.FeedLost && (!errors.Is(f.Err, monitor.ErrUnreachable) || !strings.Contains(f.Err.Error(), "keep-alive")) {
				t.Errorf("lost with %v, want a keep-alive failure wrapping ErrUnreachable", f.Err)
			}
		case <-deadline:
			t.Fatalf("feed states %v: no reconnect after the PBX stopped answering", states)
		}
	}
	if got := strings.Join(states, ","); got != "connecting,connected,lost,connecting,connected" {
		t.Errorf("feed states %s", got)
	}
	if board.Len() != 2 {
		t.Errorf("%d calls after the resync, want A and B", board.Len())
	}
	cancel()
	<-runErr
}

// TestBackoff: reconnection attempts to a dead PBX are spaced by a doubling delay that
// stops growing at BackoffMax.
func TestBackoff(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cfg := testConfig(port)
	cfg.BackoffMin, cfg.BackoffMax = 20*time.Millisecond, 40*time.Millisecond
	drv, _ := New(cfg)
	var at []time.Time
	done := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		defer close(done)
		_ = drv.Run(ctx, monitor.SinkFunc(func(e monitor.Event) {
			if e.Kind == monitor.EventFeed && e.Feed.State == monitor.FeedConnecting {
				at = append(at, time.Now())
				if len(at) == 7 {
					cancel()
				}
			}
		}))
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("fewer than 7 attempts in 10 s")
	}
	// gaps: 20 ms, then 40 ms each (capped; uncapped they would reach 640 ms)
	var total time.Duration
	for i := 1; i < len(at); i++ {
		gap := at[i].Sub(at[i-1])
		min := 40 * time.Millisecond
		if i == 1 {
			min = 20 * time.Millisecond
		}
		if gap < min-2*time.Millisecond {
			t.Errorf("attempt %d came %v after the previous, want at least %v", i+1, gap, min)
		}
		total += gap
	}
	if total > 1200*time.Millisecond {
		t.Errorf("6 retries took %v: the delay is not capped at 40 ms", total)
	}
}
