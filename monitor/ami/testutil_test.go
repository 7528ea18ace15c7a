package ami

import (
	"testing"

	"github.com/earshot-app/earshot/monitor/ami/amitest"
)

const fixtureDir = "testdata/asterisk-22"

// fixture returns the bytes of a recorded fixture file (gzip-compressed ones are
// stored with a .gz suffix and decompressed).
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := amitest.ReadFixture(fixtureDir, name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// scenarios are the recorded fixtures (without their extensions).
var scenarios = []string{
	"basics", "login-failed", "inbound-answered", "inbound-abandoned", "outbound-campaign",
	"spy", "whisper", "barge", "spy-dtmf-modes", "spy-by-uniqueid", "spy-call-ends",
	"steal", "transfer", "transfer-redirect", "hangup", "resync", "supervisor-register",
	"agent-manual-outbound", "burst",
}

// splitMessages splits a recorded stream (after its banner) into raw messages, each
// with its terminating blank line.
func splitMessages(b []byte) [][]byte { return amitest.SplitMessages(b) }
