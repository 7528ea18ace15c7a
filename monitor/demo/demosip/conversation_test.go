package demosip

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	demoassets "github.com/earshot-app/earshot/assets/demo"
	"github.com/earshot-app/earshot/audio"
)

// The embedded conversation is a believable two-voice call: turns alternate between an
// agent and a customer, in Vietnamese then English; while one speaks the other's track
// is silent; it is small.
func TestDefaultConversation(t *testing.T) {
	c, err := DefaultConversation()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if d := c.Duration(); d < 30*time.Second || d > 90*time.Second {
		t.Errorf("the conversation lasts %s, want 30 s to 90 s", d)
	}
	langs := map[string]int{}
	for i, tn := range c.Turns {
		langs[strings.SplitN(tn.Voice, "-", 2)[0][:2]]++
		if i > 0 && c.Turns[i-1].Speaker == tn.Speaker {
			t.Errorf("turns %d and %d are both the %s's", i, i+1, tn.Speaker)
		}
		speaking, other := c.Agent, c.Customer
		if tn.Speaker == SpeakerCustomer {
			speaking, other = c.Customer, c.Agent
		}
		seg := speaking[tn.Start : tn.Start+tn.Len]
		if lvl := audio.Level(seg); lvl < -35 || lvl > -10 {
			t.Errorf("turn %d (%s) has a level of %.1f dBFS, want speech between -35 and -10", i+1, tn.Clip, lvl)
		}
		if p := audio.MeanSquare(other[tn.Start : tn.Start+tn.Len]); p != 0 {
			t.Errorf("turn %d (%s): the %s's track is not silent while the %s speaks", i+1, tn.Clip, otherSpeaker(tn.Speaker), tn.Speaker)
		}
		if tn.Text == "" || tn.Len < SampleRate/2 {
			t.Errorf("turn %d (%s) is empty or shorter than half a second", i+1, tn.Clip)
		}
	}
	if langs["vi"] < 4 || langs["en"] < 4 {
		t.Errorf("turns by language %v, want at least four Vietnamese and four English", langs)
	}
	if c.Turns[0].Speaker != SpeakerAgent {
		t.Error("the call should open with the agent's greeting")
	}
	total := 0
	err = fs.WalkDir(demoassets.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		total += int(info.Size())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if total > 500_000 {
		t.Errorf("the embedded conversation takes %d bytes, want a few hundred KB", total)
	}
	t.Logf("%d turns, %s, %d bytes embedded", len(c.Turns), c.Duration().Round(time.Millisecond), total)
}

func otherSpeaker(s Speaker) Speaker {
	if s == SpeakerAgent {
		return SpeakerCustomer
	}
	return SpeakerAgent
}

func TestLoadConversationReportsBadInput(t *testing.T) {
	clip := &fstest.MapFile{Data: []byte{0x80, 0x90, 0xa0, 0xb0}}
	for _, tc := range []struct {
		name, script string
		files        map[string]*fstest.MapFile
		want         string
	}{
		{"fields", "a\tagent\tvi\t0\n", nil, "4 tab-separated fields"},
		{"speaker", "a\tboss\tvi\t0\thello\n", nil, `speaker "boss"`},
		{"pause", "a\tagent\tvi\tsoon\thello\n", nil, `pause "soon"`},
		{"long pause", "a\tagent\tvi\t60000\thello\n", nil, `pause "60000"`},
		{"clip name", "../a\tagent\tvi\t0\thello\n", nil, "not a plain file name"},
		{"no turns", "# only a comment\n\n", nil, "no turns"},
		{"missing clip", "a\tagent\tvi\t0\thello\n", nil, "clip of line 1"},
		{"empty clip", "a\tagent\tvi\t0\thello\n", map[string]*fstest.MapFile{"d/a.ul": {}}, "a.ul is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{"d/script.tsv": {Data: []byte(tc.script)}}
			for k, v := range tc.files {
				fsys[k] = v
			}
			_, err := LoadConversation(fsys, "d/script.tsv")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	// A good script: two turns, pauses placed, tracks as long as the whole.
	fsys := fstest.MapFS{
		"script.tsv": {Data: []byte("# c\r\na\tagent\tvi\t100\thello\r\nb\tcustomer\ten\t0\thi\n")},
		"a.ul":       clip,
		"b.ul":       clip,
	}
	c, err := LoadConversation(fsys, "script.tsv")
	if err != nil {
		t.Fatal(err)
	}
	if c.Turns[0].Start != 800 || c.Turns[1].Start != 804 || c.Len() != 808+durSamples(loopPause) {
		t.Errorf("turns at %d and %d, length %d", c.Turns[0].Start, c.Turns[1].Start, c.Len())
	}
	if c.Agent[800] == 0 || c.Customer[800] != 0 || c.Customer[804] == 0 {
		t.Error("the clips are not on their speakers' tracks")
	}
}

func TestConversationValidate(t *testing.T) {
	for _, c := range []*Conversation{
		nil,
		{Agent: make([]int16, 400), Customer: make([]int16, 300)},
		{Agent: make([]int16, 100), Customer: make([]int16, 100)},
		{Agent: make([]int16, 400), Customer: make([]int16, 400), Turns: []Turn{{Start: 300, Len: 200}}},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%v passed validation", c)
		}
	}
}

// FuzzParseScript: any input gives turns that are all valid, or an error; never a panic.
func FuzzParseScript(f *testing.F) {
	if b, err := fs.ReadFile(demoassets.FS, demoassets.Script); err == nil {
		f.Add(b)
	}
	f.Add([]byte("a\tagent\tvi\t0\thello\n"))
	f.Add([]byte("a\tcustomer\ten\t10000\t\n#x\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		turns, err := parseScript(b)
		if err != nil {
			if len(turns) != 0 {
				t.Fatal("turns returned with an error")
			}
			return
		}
		if len(turns) == 0 {
			t.Fatal("no error and no turns")
		}
		for _, tn := range turns {
			if tn.Clip == "" || strings.ContainsAny(tn.Clip, "/\\ .") || (tn.Speaker != SpeakerAgent && tn.Speaker != SpeakerCustomer) ||
				tn.Pause < 0 || tn.Pause > maxPause {
				t.Fatalf("invalid turn accepted: %+v", tn)
			}
		}
	})
}
