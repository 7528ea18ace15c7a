package ami

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"

	"github.com/earshot-app/earshot/monitor"
	"github.com/earshot-app/earshot/monitor/ami/amitest"
)

// TestMD5Key: the key is the lower-case hex MD5 of the challenge followed by the secret
// (manager.c's authenticate); the value was computed independently.
func TestMD5Key(t *testing.T) {
	if got := md5Key("1804289383", "earshot-lab-secret"); got != "05c92887050096487854bf02a67c12e4" {
		t.Errorf("md5Key = %s", got)
	}
}

// TestLoginWithoutTheSecretInClear: over plain TCP the driver asks for a challenge and
// logs in with AuthType MD5 and its Key; the replay server answers the Challenge the
// way manager.c does and checks the Key against the recorded account's secret (a wrong
// Key fails the replay). The secret never crosses the wire.
func TestLoginWithoutTheSecretInClear(t *testing.T) {
	srv := newServer(t, 0)
	sc := joinScript(t)
	sc.Steps = sc.Steps[:4]
	srv.Play(sc)
	drv, err := New(testConfig(srv.Port()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := drv.Agents(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-sc.Done; err != nil {
		t.Fatal(err)
	}
	got := sc.Received()
	if len(got) < 2 || got[0].Get("Action") != "Challenge" || got[0].Get("AuthType") != "MD5" {
		t.Fatalf("first actions %v, want Challenge (AuthType MD5) then Login", sc.ActionNames())
	}
	login := got[1]
	if login.Get("Action") != "Login" || login.Get("AuthType") != "MD5" || len(login.Get("Key")) != 32 || login.Get("Username") != "earshot" {
		t.Errorf("login:\n%s", login)
	}
	for _, m := range got {
		if m.Has("Secret") || strings.Contains(m.String(), "earshot-lab-secret") {
			t.Errorf("the secret went over plain TCP:\n%s", m)
		}
	}

	// a wrong secret gives a wrong Key, which the replay (like Asterisk) refuses
	srv2 := newServer(t, 0)
	bad := joinScript(t)
	bad.Steps = bad.Steps[:4]
	srv2.Play(bad)
	cfg := testConfig(srv2.Port())
	cfg.Secret = "not-the-secret"
	drv2, _ := New(cfg)
	_ = drv2.Act(context.Background(), monitor.Action{Kind: monitor.ActHangup, CallID: "1795669110.47"})
	if err := <-bad.Done; err == nil || !strings.Contains(err.Error(), "MD5 Login Key") {
		t.Errorf("a wrong secret: replay ended with %v, want a Key mismatch", err)
	}
}

// TestLoginOverTLSSendsTheSecret: over TLS the connection is private and the plain
// Login (as recorded) is used.
func TestLoginOverTLSSendsTheSecret(t *testing.T) {
	cert, caFile := testCA(t)
	srv := amitest.NewServerTLS(t, &tls.Config{Certificates: []tls.Certificate{cert}})
	sc := joinScript(t)
	sc.Steps = sc.Steps[:4]
	srv.Play(sc)
	cfg := testConfig(srv.Port())
	cfg.TLS, cfg.CAFile = true, caFile
	drv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := drv.Agents(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-sc.Done
	if got := sc.Received(); len(got) == 0 || got[0].Get("Action") != "Login" || got[0].Get("Secret") != "earshot-lab-secret" {
		t.Errorf("over TLS the first action was %v", sc.ActionNames())
	}
}
