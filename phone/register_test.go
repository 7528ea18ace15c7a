package phone

import (
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// registrar starts sipp as a digest-authenticating registrar on 127.0.0.1 and
// returns its address.
func startRegistrar(t testing.TB, password string, expires int) (*sippProc, string) {
	t.Helper()
	port := freeUDPPort(t, "127.0.0.1", false)
	p := startSipp(t, "registrar.xml", "-i", "127.0.0.1", "-p", strconv.Itoa(port), "-t", "u1",
		"-key", "pass", password, "-key", "expires", strconv.Itoa(expires))
	return p, net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

func TestRegisterWithDigestChallenge(t *testing.T) {
	reg, addr := startRegistrar(t, "sup-2001-lab", 3)
	ph := startPhone(t, Config{Account: Account{
		Server: addr, User: "2001", AuthUser: "2001", DisplayName: "Supervisor", Password: "sup-2001-lab",
	}})
	r := ph.waitRegistered(t, 10*time.Second)
	if r.Expiry != 3*time.Second {
		t.Errorf("granted expiry = %s, want the registrar's 3s", r.Expiry)
	}
	if until := time.Until(r.ExpiresAt); until <= 0 || until > 3*time.Second {
		t.Errorf("ExpiresAt is %s away, want within the 3 s granted", until)
	}
	if s := ph.State(); s.State != RegRegistered {
		t.Errorf("State() = %s, want registered", s.State)
	}

	// What the PBX saw: the first REGISTER unauthenticated, the second with a digest
	// for auth user 2001; From, To and Contact users are the extension (Asterisk
	// identifies the endpoint by them).
	regs := reg.received(`^REGISTER `)
	if len(regs) < 2 {
		t.Fatalf("registrar got %d REGISTERs, want the challenge round trip (2)", len(regs))
	}
	if strings.Contains(regs[0], "Authorization:") {
		t.Errorf("first REGISTER already carries credentials:\n%s", regs[0])
	}
	if !regexp.MustCompile(`(?i)Authorization: Digest .*username="2001"`).MatchString(regs[1]) {
		t.Errorf("second REGISTER has no digest for 2001:\n%s", regs[1])
	}
	for _, h := range []string{"From", "To", "Contact"} {
		re := regexp.MustCompile(`(?mi)^` + h + `:.*<sips?:2001@`)
		if !re.MatchString(regs[1]) {
			t.Errorf("%s user of the REGISTER is not the extension 2001:\n%s", h, regs[1])
		}
	}
	if !regexp.MustCompile(`(?mi)^Contact:.*@127\.0\.0\.1:` + strconv.Itoa(ph.sip().bindPort)).MatchString(regs[1]) {
		t.Errorf("Contact is not the loopback listening address %s:\n%s", ph.LocalAddr(), regs[1])
	}
	if strings.Contains(reg.messages(), "sup-2001-lab") {
		t.Error("the password travelled in clear text")
	}

	// The registration is refreshed before its 3 s run out: the phone reports a
	// second registration.
	n := len(regs)
	ph.events.waitFor(t, 6*time.Second, "the refresh", func(e Event) bool {
		return e.Kind == EventRegistration && e.Registration.State == RegRegistered &&
			ph.events.count(func(e Event) bool {
				return e.Kind == EventRegistration && e.Registration.State == RegRegistered
			}) >= 2
	})
	if m := len(reg.received(`^REGISTER `)); m < n+2 {
		t.Errorf("registrar got %d REGISTERs after the refresh, want %d (challenge round trip)", m, n+2)
	}
	if c := ph.events.count(func(e Event) bool {
		return e.Kind == EventRegistration && e.Registration.State == RegFailed
	}); c != 0 {
		t.Errorf("%d registration failures during refresh", c)
	}
	if s := ph.State(); s.State != RegRegistered {
		t.Errorf("after refresh State() = %s (%s), want registered", s.State, s.Reason)
	}

	// Stopping the phone removes the registration (Expires: 0).
	ph.stop(t)
	waitFor(t, 5*time.Second, "the unregister", func() bool {
		for _, m := range reg.received(`^REGISTER `) {
			if regexp.MustCompile(`(?mi)^Expires:\s*0\s*$`).MatchString(m) {
				return true
			}
		}
		return false
	})
	if s := ph.State(); s.State != RegIdle {
		t.Errorf("after Run returned State() = %s, want idle", s.State)
	}
}

// Stopping the phone while its REGISTER waits for an answer still removes the
// registration: the PBX may have taken the REGISTER whose answer never came.
func TestStopDuringRegisterUnregisters(t *testing.T) {
	port := freeUDPPort(t, "127.0.0.1", false)
	reg := startSipp(t, "registrar_unanswered.xml", "-i", "127.0.0.1", "-p", strconv.Itoa(port), "-t", "u1",
		"-m", "1", "-key", "pass", "sup-2001-lab")
	ph := startPhone(t, Config{Account: Account{Server: "127.0.0.1:" + strconv.Itoa(port), User: "2001",
		Password: "sup-2001-lab"}})
	ph.events.waitFor(t, 5*time.Second, "registering", func(e Event) bool {
		return e.Kind == EventRegistration && e.Registration.State == RegRegistering
	})
	waitFor(t, 5*time.Second, "the authenticated REGISTER", func() bool { return len(reg.received(`^REGISTER `)) >= 2 })
	ph.stop(t)
	if code := reg.wait(10 * time.Second); code != 0 {
		t.Fatalf("registrar exit %d, want 0 (an authenticated REGISTER with Expires: 0 after the stop)", code)
	}
	regs := reg.received(`^REGISTER `)
	if len(regs) != 4 || !regexp.MustCompile(`(?mi)^Expires:\s*0\s*$`).MatchString(regs[3]) ||
		!strings.Contains(regs[3], "Authorization:") {
		t.Errorf("after the stop the registrar got %d REGISTERs, want the unregister (Expires: 0) with credentials:\n%q", len(regs), regs)
	}
	if n := ph.events.count(func(e Event) bool {
		return e.Kind == EventRegistration && e.Registration.State == RegRegistered
	}); n != 0 {
		t.Errorf("%d registered events, want none (the 200 never came)", n)
	}
}

func TestRegisterWrongPasswordFailsSlowly(t *testing.T) {
	reg, addr := startRegistrar(t, "right-password", 60)
	ph := startPhone(t, Config{Account: Account{Server: addr, User: "2001", Password: "wrong-password"}})

	e := ph.events.waitFor(t, 10*time.Second, "the failure", func(e Event) bool {
		return e.Kind == EventRegistration && e.Registration.State == RegFailed
	})
	r := e.Registration
	if r.Failure != FailCredentials {
		t.Errorf("failure = %s, want wrong credentials", r.Failure)
	}
	if !strings.Contains(r.Reason, "wrong user name or password") || r.StatusCode != 401 {
		t.Errorf("reason %q (status %d) does not tell the user the password is wrong", r.Reason, r.StatusCode)
	}
	e = ph.events.waitFor(t, 2*time.Second, "retrying", func(e Event) bool {
		return e.Kind == EventRegistration && e.Registration.State == RegRetrying
	})
	if wait := time.Until(e.Registration.RetryAt); wait < MinAuthRetry-time.Second {
		t.Errorf("next attempt in %s, want at least %s after wrong credentials", wait, MinAuthRetry)
	}
	if s := ph.State(); s.State != RegRetrying || s.Failure != FailCredentials {
		t.Errorf("State() = %s/%s, want retrying after wrong credentials", s.State, s.Failure)
	}
	// No hammering: nothing more reaches the registrar while the phone waits.
	n := len(reg.received(`^REGISTER `))
	time.Sleep(3 * time.Second)
	if m := len(reg.received(`^REGISTER `)); m != n {
		t.Errorf("%d more REGISTERs within 3 s of a wrong password", m-n)
	}
	if n != 2 {
		t.Errorf("registrar got %d REGISTERs for one attempt, want 2 (challenge, answer)", n)
	}

	// RetryNow (the user fixed the settings or pressed retry) tries again at once.
	ph.RetryNow()
	waitFor(t, 5*time.Second, "the manual retry", func() bool { return len(reg.received(`^REGISTER `)) >= n+2 })
	ph.events.waitFor(t, 5*time.Second, "a second failure", func(e Event) bool {
		return e.Kind == EventRegistration && e.Registration.State == RegFailed && e.Registration.Attempt == 2
	})
}

func TestRegisterUnreachableBacksOff(t *testing.T) {
	// Nothing listens on this port: the REGISTERs go unanswered.
	port := freeUDPPort(t, "127.0.0.1", false)
	ph := startPhone(t, Config{
		Account:         Account{Server: "127.0.0.1:" + strconv.Itoa(port), User: "2001", Password: "x"},
		RegisterTimeout: 300 * time.Millisecond,
		RetryMin:        200 * time.Millisecond,
		RetryMax:        500 * time.Millisecond,
	})
	var delays []time.Duration
	for i := 1; i <= 4; i++ {
		e := ph.events.waitFor(t, 5*time.Second, "retry "+strconv.Itoa(i), func(e Event) bool {
			return e.Kind == EventRegistration && e.Registration.State == RegRetrying && e.Registration.Attempt == i
		})
		r := e.Registration
		if r.Failure != FailUnreachable || !strings.Contains(r.Reason, "did not answer") {
			t.Fatalf("attempt %d: failure %s %q, want the PBX unreachable", i, r.Failure, r.Reason)
		}
		delays = append(delays, r.RetryAt.Sub(e.Time))
	}
	want := []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond}
	for i, d := range delays {
		if d < want[i]-50*time.Millisecond || d > want[i]+50*time.Millisecond {
			t.Errorf("backoff %d = %s, want %s (doubling, capped)", i+1, d, want[i])
		}
	}
}

func TestAccountValidate(t *testing.T) {
	ok := Account{Server: "pbx.example.com", User: "2001"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid account: %v", err)
	}
	for _, tc := range []struct {
		name string
		acc  Account
		want string
	}{
		{"no server", Account{User: "2001"}, "server is empty"},
		{"no user", Account{Server: "pbx"}, "extension (user) is empty"},
		{"bad user", Account{Server: "pbx", User: "20 01"}, "cannot have"},
		{"bad transport", Account{Server: "pbx", User: "1", Transport: "sctp"}, "not udp, tcp or tls"},
		{"bad srtp", Account{Server: "pbx", User: "1", SRTP: "zrtp"}, "not off, sdes or dtls"},
		{"ca without tls", Account{Server: "pbx", User: "1", CAFile: "/x.pem"}, "not tls"},
		{"bad port", Account{Server: "pbx:99999", User: "1"}, "bad port"},
		{"bad local", Account{Server: "pbx", User: "1", LocalAddr: "eth0"}, "not an IP"},
	} {
		err := tc.acc.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate() = %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
	acc := Account{Server: "pbx", User: "2001", Password: "s3cret-pw"}
	for _, s := range []string{acc.String(), acc.GoString()} {
		if strings.Contains(s, "s3cret-pw") {
			t.Errorf("the account's text shows the password: %s", s)
		}
	}
}
