package amitest

import (
	"strings"
	"testing"
	"time"
)

// TestRecordingsParse: every recording loads, its messages parse with their duplicate
// headers kept, and the canned replies are the recorded ones.
func TestRecordingsParse(t *testing.T) {
	rec, err := Load(Dir(), "outbound-campaign")
	if err != nil {
		t.Fatal(err)
	}
	if string(rec.Banner()) != "Asterisk Call Manager/11.0.0\r\n" || len(rec.Timeline) == 0 {
		t.Fatalf("banner %q, %d timeline entries", rec.Banner(), len(rec.Timeline))
	}
	events := 0
	for _, raw := range SplitMessages(rec.In) {
		m := ParseMsg(raw)
		if m.IsEvent() {
			events++
		}
		if m.Get("Event") == "Newchannel" && len(m.Values("ChanVariable")) != 3 {
			t.Errorf("Newchannel with ChanVariable %q, want the 3 configured ones", m.Values("ChanVariable"))
		}
	}
	if events != 107 { // the fixtures README's count
		t.Errorf("%d events, want 107", events)
	}
	c, err := LoadCanned(Dir())
	if err != nil {
		t.Fatal(err)
	}
	if c.Secret != "earshot-lab-secret" || ParseMsg(c.NoSuchChannel[0]).Get("Message") != "No such channel" ||
		ParseMsg(c.LoginFailed[0]).Get("Message") != "Authentication failed" {
		t.Errorf("canned replies: %+v", c)
	}
	if n := len(c.ResyncChannels); n != 7 || len(c.NoChannels) != 2 || !strings.Contains(string(c.NoChannels[1]), "ListItems: 0") {
		t.Errorf("resync lists: %d messages, idle %d", n, len(c.NoChannels))
	}
}

func TestClockAndReplies(t *testing.T) {
	var c Clock
	c.SetSkew(-90 * time.Second)
	c.Set(1795668856.293194)
	if got := c.Now(); !got.Equal(time.Unix(1795668766, 293194000)) {
		t.Errorf("clock %v", got)
	}
	m := ParseMsg(RewriteID(ChallengeReply("synth", "1804289383"), "synth", "earshot-7"))
	if m.Get("Response") != "Success" || m.Get("ActionID") != "earshot-7" || m.Get("Challenge") != "1804289383" || m.Has("Message") {
		t.Errorf("challenge reply:\n%s", m)
	}
}
