package ami

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
)

const fixtureDir = "testdata/asterisk-22"

// fixture returns the bytes of a recorded fixture file (gzip-compressed ones are
// stored with a .gz suffix and decompressed here).
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	p := filepath.Join(fixtureDir, name)
	b, err := os.ReadFile(p)
	if err == nil {
		return b
	}
	f, gzErr := os.Open(p + ".gz")
	if gzErr != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	defer f.Close()
	zr, gzErr := gzip.NewReader(f)
	if gzErr != nil {
		t.Fatalf("fixture %s: %v", name, gzErr)
	}
	b, gzErr = io.ReadAll(zr)
	if gzErr != nil {
		t.Fatalf("fixture %s: %v", name, gzErr)
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
func splitMessages(b []byte) [][]byte {
	if i := bytes.Index(b, []byte("\r\n")); i >= 0 && bytes.HasPrefix(b, []byte("Asterisk Call Manager/")) {
		b = b[i+2:]
	}
	var out [][]byte
	for len(b) > 0 {
		i := bytes.Index(b, []byte("\r\n\r\n"))
		if i < 0 {
			out = append(out, b)
			break
		}
		out = append(out, b[:i+4])
		b = b[i+4:]
	}
	return out
}
