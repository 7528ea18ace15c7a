package ami

import (
	"bytes"
	"sync"
	"testing"

	"github.com/earshot-app/earshot/monitor/ami/amitest"
)

// The replay server (a TCP/TLS AMI server that plays the recordings byte for byte) lives
// in monitor/ami/amitest; these are the driver tests' shortcuts to it.

var (
	cannedOnce sync.Once
	canned     *amitest.Canned
	cannedErr  error
)

// loadCanned returns the recorded replies the replays use for the driver's own actions.
func loadCanned(t testing.TB) *amitest.Canned {
	t.Helper()
	cannedOnce.Do(func() { canned, cannedErr = amitest.LoadCanned(fixtureDir) })
	if cannedErr != nil {
		t.Fatal(cannedErr)
	}
	return canned
}

func loadRecording(t testing.TB, name string) *amitest.Recording {
	t.Helper()
	r, err := amitest.Load(fixtureDir, name)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// buildScript turns a recording into a replay script (see amitest.Build).
func buildScript(t testing.TB, rec *amitest.Recording, foreign map[string]bool) *amitest.Script {
	t.Helper()
	return amitest.Build(rec, loadCanned(t), foreign)
}

// idleScript is a plain replay of a recording, joined on an idle PBX: the resync gets
// basics' QueueStatus and no channels.
func idleScript(t testing.TB, name string, foreign map[string]bool) *amitest.Script {
	t.Helper()
	c := loadCanned(t)
	sc := buildScript(t, loadRecording(t, name), foreign)
	sc.InsertResync()
	sc.QueueStatus, sc.CoreShowChannels = c.QueueStatus, c.NoChannels
	return sc
}

// joinScript plays the resync recording as a PBX the driver connects to while calls
// A and B are up (see amitest.JoinResync).
func joinScript(t testing.TB) *amitest.Script {
	t.Helper()
	sc, err := amitest.JoinResync(fixtureDir, loadCanned(t))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// parseOne parses a single raw message with the driver's parser.
func parseOne(raw []byte) *Message {
	r := NewReader(bytes.NewReader(raw))
	m, err := r.Next()
	if err != nil {
		return &Message{}
	}
	return m.Clone()
}
