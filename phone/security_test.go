package phone

import (
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestSDESCallNeverLogsKeys(t *testing.T) {
	logs := &syncBuffer{}
	// diago's media layer logs through slog.Default: capture it too.
	prev := slog.Default()
	slog.SetDefault(testLogger(t, logs))
	t.Cleanup(func() { slog.SetDefault(prev) })

	const theirKey = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"
	pp := startPBXPhone(t, func(c *Config) {
		c.Account.SRTP = SRTPSDES
		c.Logger = testLogger(t, logs)
	})
	offer := strings.Replace(defaultOffer(), "RTP/AVP", "RTP/SAVP", 1) +
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + theirKey + "\n"
	pp.SetAutoAnswerHints(true)
	sp := pp.call(t, "127.0.0.1", uacParams{Mode: "answer", HoldMS: 500, SDP: offer,
		Headers: []string{"Call-Info: <sip:127.0.0.1>;answer-after=0"}}, nil)
	e := incomingEvent(t, pp.runningPhone)
	waitCallState(t, pp.runningPhone, e.Call, CallEnded)
	if code := sp.wait(10 * time.Second); code != 0 {
		t.Fatalf("caller exit %d", code)
	}
	ok := sp.received(`^SIP/2.0 200`)
	if len(ok) == 0 {
		t.Fatal("no 200 OK")
	}
	m := regexp.MustCompile(`(?m)^a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:([A-Za-z0-9+/=]+)`).FindStringSubmatch(ok[0])
	if m == nil || !strings.Contains(ok[0], "RTP/SAVP") {
		t.Fatalf("the answer is not SDES-SRTP:\n%s", ok[0])
	}
	ourKey := m[1]

	// A malformed crypto line holding a key is refused without quoting it back.
	const badLineKey = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNk"
	bad := strings.Replace(defaultOffer(), "RTP/AVP", "RTP/SAVP", 1) +
		"a=crypto:x AES_CM_128_HMAC_SHA1_80 inline:" + badLineKey + "\n"
	sp = pp.call(t, "127.0.0.1", uacParams{Mode: "refuse", Code: 488, SDP: bad}, nil)
	if code := sp.wait(10 * time.Second); code != 0 {
		t.Fatalf("malformed crypto: caller exit %d, want 488", code)
	}
	if res := sp.received(`^SIP/2.0 488`); len(res) == 0 || strings.Contains(res[0], badLineKey) {
		t.Errorf("the 488 quotes the offered key back or is missing: %q", res)
	}
	pp.stop(t)
	all := logs.String()
	if len(all) < 1000 {
		t.Fatalf("only %d bytes of logs captured; the check would prove nothing", len(all))
	}
	for name, secret := range map[string]string{"the PBX's SDES key": theirKey, "our SDES key": ourKey,
		"the key of a malformed line": badLineKey, "the SIP password": "sup-2001-lab"} {
		if strings.Contains(all, secret) {
			t.Errorf("%s appears in the logs", name)
		}
	}
	if regexp.MustCompile(`inline:[A-Za-z0-9+/]{8,}`).MatchString(all) {
		t.Error("an inline: key appears in the logs")
	}
}

func TestRedactString(t *testing.T) {
	for in, want := range map[string]string{
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:32": "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:[redacted]",
		`Authorization: Digest username="2001", response="0123abcd"`:                                   "Authorization: [redacted]",
		`digest response="0123abcd", nonce="x"`:                                                        `digest response="[redacted]", nonce="x"`,
		"nothing secret here":                                                                          "nothing secret here",
	} {
		if got := redactString(in); got != want {
			t.Errorf("redactString(%q) = %q, want %q", in, got, want)
		}
	}
}
