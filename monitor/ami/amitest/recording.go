package amitest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
)

// Dir returns the folder of the recorded Asterisk 22 fixtures
// (monitor/ami/testdata/asterisk-22), found from this package's source location.
func Dir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return filepath.Join("testdata", "asterisk-22")
	}
	return filepath.Join(filepath.Dir(file), "..", "testdata", "asterisk-22")
}

// ReadFixture returns the bytes of a fixture file in dir; a file stored gzip-compressed
// (name + ".gz", like the 6.7 MB burst recording) is decompressed.
func ReadFixture(dir, name string) ([]byte, error) {
	p := filepath.Join(dir, name)
	b, err := os.ReadFile(p)
	if err == nil {
		return b, nil
	}
	f, gzErr := os.Open(p + ".gz")
	if gzErr != nil {
		return nil, fmt.Errorf("fixture %s: %w", name, err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("fixture %s: %w", name, err)
	}
	b, err = io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("fixture %s: %w", name, err)
	}
	return b, nil
}

// TimelineEntry is one line of a recording's .timeline.jsonl: one socket read ("in") or
// write ("out") of the recording client.
type TimelineEntry struct {
	// T is the epoch time of the read or write.
	T float64 `json:"t"`
	// Dir is "in" (received from Asterisk) or "out" (sent to it).
	Dir string `json:"dir"`
	// Off is where the bytes start in the .ami (in) or .actions.ami (out) file.
	Off int `json:"off"`
	// Len is how many bytes were read or written.
	Len int `json:"len"`
}

// Recording is one recorded AMI connection: the bytes received, the actions sent and the
// timeline of both.
type Recording struct {
	// Name is the scenario name ("inbound-answered").
	Name string
	// In is every byte the connection received (banner, responses, events).
	In []byte
	// Out is every byte it sent (Login, the scenario's actions, Logoff).
	Out []byte
	// Timeline is the order and time of the reads and writes.
	Timeline []TimelineEntry
}

// Load reads the recording name (name.ami, name.actions.ami, name.timeline.jsonl) from dir.
func Load(dir, name string) (*Recording, error) {
	r := &Recording{Name: name}
	var err error
	if r.In, err = ReadFixture(dir, name+".ami"); err != nil {
		return nil, err
	}
	if r.Out, err = ReadFixture(dir, name+".actions.ami"); err != nil {
		return nil, err
	}
	tl, err := ReadFixture(dir, name+".timeline.jsonl")
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(bytes.NewReader(tl))
	for sc.Scan() {
		var e TimelineEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("%s timeline: %w", name, err)
		}
		r.Timeline = append(r.Timeline, e)
	}
	return r, nil
}

// Banner returns the recorded banner line with its CRLF.
func (r *Recording) Banner() []byte {
	i := bytes.Index(r.In, []byte("\r\n"))
	if i < 0 {
		return nil
	}
	return r.In[:i+2]
}

// Actions returns the actions the recording client sent, in order.
func (r *Recording) Actions() []Msg {
	var out []Msg
	for _, raw := range SplitRaw(r.Out) {
		out = append(out, ParseMsg(raw))
	}
	return out
}

// ReplyTo returns the raw messages of the recorded reply to the action with ActionID id:
// its response and, for a list action, every item up to its ...Complete event. An
// OriginateResponse event with the same ActionID is not part of it.
func (r *Recording) ReplyTo(id string) [][]byte {
	var out [][]byte
	for _, raw := range SplitMessages(r.In) {
		m := ParseMsg(raw)
		if m.Get("ActionID") != id || m.Get("Event") == "OriginateResponse" {
			continue
		}
		out = append(out, raw)
	}
	return out
}

// ReplySpan returns where (byte offsets into In) the recorded reply to ActionID id begins
// and ends; both are -1 when the recording has none.
func (r *Recording) ReplySpan(id string) (start, end int) {
	off := len(r.Banner())
	start, end = -1, -1
	for _, raw := range SplitRaw(r.In[off:]) {
		if ParseMsg(raw).Get("ActionID") == id {
			if start < 0 {
				start = off
			}
			end = off + len(raw)
		}
		off += len(raw)
	}
	return start, end
}

// TimeAt returns the recorded time of the read that received byte offset off of In (0
// when the timeline does not cover it).
func (r *Recording) TimeAt(off int) float64 {
	for _, e := range r.Timeline {
		if e.Dir == "in" && off >= e.Off && off < e.Off+e.Len {
			return e.T
		}
	}
	return 0
}

// Canned holds recorded replies a replay uses for the client's own actions, all from the
// same Asterisk run as the scenarios.
type Canned struct {
	// Secret is the manager.conf secret of the recorded AMI user (from the recorded
	// Login of basics), against which MD5 logins are checked.
	Secret string
	// Ping is basics' reply to Ping; Goodbye its reply to Logoff.
	Ping, Goodbye [][]byte
	// QueueStatus is basics' QueueStatus reply (members 1001, 1002, 1003, no caller).
	QueueStatus [][]byte
	// NoSuchChannel is basics' reply to a Hangup of an unknown channel.
	NoSuchChannel [][]byte
	// OriginateFailed is basics' reply to an Originate to an unknown endpoint.
	OriginateFailed [][]byte
	// UnknownAction is basics' reply to an action Asterisk does not know.
	UnknownAction [][]byte
	// Endpoints is basics' PJSIPShowEndpoints reply (1001..1003, 2001, 7001..7005).
	Endpoints [][]byte
	// ResyncChannels and ResyncQueues are the resync recording's CoreShowChannels and
	// QueueStatus replies while calls A (answered) and B (waiting in sales) were up.
	ResyncChannels, ResyncQueues [][]byte
	// NoChannels is ResyncChannels without its items ("ListItems: 0"): an idle PBX.
	NoChannels [][]byte
	// LoginFailed is login-failed's reply to a Login with a wrong secret.
	LoginFailed [][]byte
	// HangupOK is the hangup recording's reply to its Hangup ("Channel Hungup").
	HangupOK [][]byte
}

// LoadCanned reads the canned replies from the fixtures in dir.
func LoadCanned(dir string) (*Canned, error) {
	load := func(name string) (*Recording, error) { return Load(dir, name) }
	basics, err := load("basics")
	if err != nil {
		return nil, err
	}
	resync, err := load("resync")
	if err != nil {
		return nil, err
	}
	failed, err := load("login-failed")
	if err != nil {
		return nil, err
	}
	hangup, err := load("hangup")
	if err != nil {
		return nil, err
	}
	c := &Canned{
		Ping:            basics.ReplyTo("basics-02"),
		QueueStatus:     basics.ReplyTo("basics-08"),
		Endpoints:       basics.ReplyTo("basics-09"),
		OriginateFailed: basics.ReplyTo("basics-10"),
		NoSuchChannel:   basics.ReplyTo("basics-11"),
		UnknownAction:   basics.ReplyTo("basics-12"),
		Goodbye:         basics.ReplyTo("basics-13"),
		ResyncChannels:  resync.ReplyTo("resync-02"),
		ResyncQueues:    resync.ReplyTo("resync-03"),
		LoginFailed:     failed.ReplyTo("login-failed-01"),
		HangupOK:        hangup.ReplyTo("hangup-02"),
	}
	for _, a := range basics.Actions() {
		if a.Get("Action") == "Login" {
			c.Secret = a.Get("Secret")
		}
	}
	for _, raw := range c.ResyncChannels {
		m := ParseMsg(raw)
		switch m.Get("Event") {
		case "CoreShowChannel":
			continue
		case "CoreShowChannelsComplete":
			raw = bytes.Replace(raw, []byte("ListItems: 5\r\n"), []byte("ListItems: 0\r\n"), 1)
		}
		c.NoChannels = append(c.NoChannels, raw)
	}
	for name, v := range map[string][][]byte{"Ping": c.Ping, "QueueStatus": c.QueueStatus, "Goodbye": c.Goodbye,
		"ResyncChannels": c.ResyncChannels, "LoginFailed": c.LoginFailed, "HangupOK": c.HangupOK, "Endpoints": c.Endpoints} {
		if len(v) == 0 {
			return nil, fmt.Errorf("canned reply %s not found in the fixtures", name)
		}
	}
	if c.Secret == "" {
		return nil, fmt.Errorf("no recorded Login secret in basics.actions.ami")
	}
	return c, nil
}
