package demosip

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"time"

	demoassets "github.com/earshot-app/earshot/assets/demo"
	"github.com/earshot-app/earshot/audio"
)

// SampleRate is the rate of every PCM track and mix in this package: 8 kHz, the G.711
// rate.
const SampleRate = 8000

// FrameSamples is the number of samples in one 20 ms RTP packet at SampleRate.
const FrameSamples = SampleRate / 50

// loopPause is the silence after the last turn before the conversation starts again.
const loopPause = 1500 * time.Millisecond

// maxPause bounds a pause in the script.
const maxPause = 10 * time.Second

// Speaker says who speaks a turn of the conversation.
type Speaker uint8

const (
	// SpeakerAgent is the contact-centre agent.
	SpeakerAgent Speaker = iota + 1
	// SpeakerCustomer is the customer.
	SpeakerCustomer
)

// String returns "agent" or "customer".
func (s Speaker) String() string {
	switch s {
	case SpeakerAgent:
		return "agent"
	case SpeakerCustomer:
		return "customer"
	}
	return fmt.Sprintf("Speaker(%d)", uint8(s))
}

// Turn is one turn of the conversation.
type Turn struct {
	// Clip names the recording (its file is Clip+".ul" next to the script).
	Clip string
	// Speaker says who speaks.
	Speaker Speaker
	// Voice is the espeak-ng voice that synthesised the clip.
	Voice string
	// Pause is the silence before the turn.
	Pause time.Duration
	// Text is what is said.
	Text string
	// Start is the turn's first sample in the tracks; Len its length in samples.
	Start, Len int
}

// Conversation is the two-voice recording the demo PBX streams: the agent's voice and
// the customer's voice as two separate tracks of the same length (8 kHz mono PCM), so
// that each party can be routed on its own. While one speaks the other track is silent.
// The tracks loop. A Conversation is read-only once built.
type Conversation struct {
	// Agent and Customer are the two voices, len(Agent) == len(Customer).
	Agent, Customer []int16
	// Turns lists the turns in order.
	Turns []Turn
}

// Len is the length of the conversation in samples.
func (c *Conversation) Len() int { return len(c.Agent) }

// Duration is the length of the conversation, the loop period.
func (c *Conversation) Duration() time.Duration {
	return time.Duration(c.Len()) * time.Second / SampleRate
}

// Validate reports why c cannot be streamed, or nil.
func (c *Conversation) Validate() error {
	switch {
	case c == nil:
		return errors.New("demo conversation: none")
	case len(c.Agent) != len(c.Customer):
		return fmt.Errorf("demo conversation: the agent track has %d samples, the customer track %d", len(c.Agent), len(c.Customer))
	case len(c.Agent) < FrameSamples:
		return fmt.Errorf("demo conversation: %d samples is shorter than one 20 ms frame", len(c.Agent))
	}
	for i, t := range c.Turns {
		if t.Start < 0 || t.Len < 0 || t.Start+t.Len > len(c.Agent) {
			return fmt.Errorf("demo conversation: turn %d (%s) lies outside the tracks", i+1, t.Clip)
		}
	}
	return nil
}

// StartOf returns where turn i starts, for a session that should begin with speech
// (0 when there are no turns).
func (c *Conversation) StartOf(i int) int {
	if len(c.Turns) == 0 {
		return 0
	}
	i %= len(c.Turns)
	if i < 0 {
		i += len(c.Turns)
	}
	return c.Turns[i].Start
}

// LoadConversation builds a Conversation from the tab-separated script at name in fsys
// (clip, speaker, voice, pause in ms, text; lines starting with # are comments) and the
// clips it names (<clip>.ul in the same folder, 8 kHz mono G.711 µ-law).
func LoadConversation(fsys fs.FS, name string) (*Conversation, error) {
	script, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("demo conversation: read the script: %w", err)
	}
	turns, err := parseScript(script)
	if err != nil {
		return nil, fmt.Errorf("demo conversation: %s: %w", name, err)
	}
	dir := ""
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		dir = name[:i+1]
	}
	clips := make([][]byte, len(turns))
	total := 0
	for i := range turns {
		b, err := fs.ReadFile(fsys, dir+turns[i].Clip+".ul")
		if err != nil {
			return nil, fmt.Errorf("demo conversation: clip of line %d: %w", i+1, err)
		}
		if len(b) == 0 {
			return nil, fmt.Errorf("demo conversation: clip %s.ul is empty", turns[i].Clip)
		}
		clips[i] = b
		total += durSamples(turns[i].Pause) + len(b)
	}
	total += durSamples(loopPause)
	c := &Conversation{Agent: make([]int16, total), Customer: make([]int16, total), Turns: turns}
	pos := 0
	for i := range c.Turns {
		t := &c.Turns[i]
		pos += durSamples(t.Pause)
		track := c.Agent
		if t.Speaker == SpeakerCustomer {
			track = c.Customer
		}
		audio.DecodeULaw(track[pos:pos+len(clips[i])], clips[i])
		t.Start, t.Len = pos, len(clips[i])
		pos += len(clips[i])
	}
	return c, nil
}

var (
	defaultOnce sync.Once
	defaultConv *Conversation
	defaultErr  error
)

// DefaultConversation returns the conversation embedded in Earshot (package
// assets/demo): an agent and a customer, in Vietnamese then in English. It is built
// once and shared; callers must not modify it.
func DefaultConversation() (*Conversation, error) {
	defaultOnce.Do(func() {
		defaultConv, defaultErr = LoadConversation(demoassets.FS, demoassets.Script)
	})
	return defaultConv, defaultErr
}

// parseScript reads the turns of a conversation script.
func parseScript(b []byte) ([]Turn, error) {
	var turns []Turn
	for n, line := range bytes.Split(b, []byte("\n")) {
		s := strings.TrimRight(string(line), "\r")
		if strings.TrimSpace(s) == "" || strings.HasPrefix(s, "#") {
			continue
		}
		f := strings.Split(s, "\t")
		if len(f) != 5 {
			return nil, fmt.Errorf("line %d: %d tab-separated fields, want 5 (clip, speaker, voice, pause, text)", n+1, len(f))
		}
		t := Turn{Clip: f[0], Voice: f[2], Text: f[4]}
		if t.Clip == "" || strings.ContainsAny(t.Clip, "/\\ .") {
			return nil, fmt.Errorf("line %d: clip name %q is empty or not a plain file name", n+1, t.Clip)
		}
		switch f[1] {
		case "agent":
			t.Speaker = SpeakerAgent
		case "customer":
			t.Speaker = SpeakerCustomer
		default:
			return nil, fmt.Errorf("line %d: speaker %q is neither agent nor customer", n+1, f[1])
		}
		ms, err := strconv.Atoi(f[3])
		if err != nil || ms < 0 || time.Duration(ms)*time.Millisecond > maxPause {
			return nil, fmt.Errorf("line %d: pause %q is not a number of milliseconds between 0 and %d", n+1, f[3], maxPause.Milliseconds())
		}
		t.Pause = time.Duration(ms) * time.Millisecond
		turns = append(turns, t)
	}
	if len(turns) == 0 {
		return nil, errors.New("no turns")
	}
	return turns, nil
}

func durSamples(d time.Duration) int { return int(d * SampleRate / time.Second) }
