package ami

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// The README's table gives the number of events in each recorded file.
var fixtureEventCounts = map[string]int{
	"basics": 23, "login-failed": 0, "inbound-answered": 184, "inbound-abandoned": 110,
	"outbound-campaign": 107, "spy": 232, "whisper": 236, "barge": 244, "spy-dtmf-modes": 251,
	"spy-by-uniqueid": 232, "spy-call-ends": 218, "steal": 241, "transfer": 249,
	"transfer-redirect": 244, "hangup": 175, "resync": 326, "supervisor-register": 20,
	"agent-manual-outbound": 93, "burst": 12571,
}

func TestParseFixturesCountsEvents(t *testing.T) {
	for _, name := range scenarios {
		data := fixture(t, name+".ami")
		for _, oneByte := range []bool{false, true} {
			if oneByte && len(data) > 200000 {
				continue
			}
			var src io.Reader = bytes.NewReader(data)
			if oneByte {
				src = iotest.OneByteReader(src)
			}
			r := NewReader(src)
			banner, err := r.ReadBanner()
			if err != nil || banner != "Asterisk Call Manager/11.0.0" {
				t.Fatalf("%s: banner %q, %v", name, banner, err)
			}
			events, msgs := 0, 0
			for {
				m, err := r.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("%s: message %d: %v", name, msgs, err)
				}
				msgs++
				if m.IsEvent() {
					events++
				}
			}
			if want := fixtureEventCounts[name]; events != want {
				t.Errorf("%s (one byte at a time: %v): %d events, the README counts %d", name, oneByte, events, want)
			}
			if want := len(splitMessages(data)); msgs != want {
				t.Errorf("%s: %d messages, want %d", name, msgs, want)
			}
		}
	}
}

func TestParseHeaders(t *testing.T) {
	data := fixture(t, "outbound-campaign.ami")
	r := NewReader(bytes.NewReader(data))
	if _, err := r.ReadBanner(); err != nil {
		t.Fatal(err)
	}
	var sawOriginate, sawNewchannel bool
	for {
		m, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch string(m.Event()) {
		case "OriginateResponse":
			sawOriginate = true
			// legacy syntax: ChanVariable(PJSIP/1002-00000006): CAMPAIGN=Khuyen-mai-T12
			if v, ok := m.ChanVar("", "CAMPAIGN"); !ok || string(v) != "Khuyen-mai-T12" {
				t.Errorf("OriginateResponse CAMPAIGN = %q, %v", v, ok)
			}
			if m.Value("Response") != "Success" || m.Value("ActionID") != "outbound-campaign-02" {
				t.Errorf("OriginateResponse Response/ActionID = %q/%q", m.Value("Response"), m.Value("ActionID"))
			}
		case "Newchannel":
			if sawNewchannel {
				continue
			}
			sawNewchannel = true
			if got := m.Values("ChanVariable"); strings.Join(got, "|") != "HOTLINE=|CAMPAIGN=|DIRECTION=" {
				t.Errorf("Newchannel ChanVariable values = %q", got)
			}
			if !m.Has("AccountCode") || m.Value("AccountCode") != "" {
				t.Errorf("empty AccountCode not kept: has=%v value=%q", m.Has("AccountCode"), m.Value("AccountCode"))
			}
			if v, ok := m.ChanVar("", "CAMPAIGN"); !ok || len(v) != 0 {
				t.Errorf("unset CAMPAIGN = %q, %v", v, ok)
			}
		case "DialBegin":
			if m.Has("Channel") {
				continue
			}
			// originate: only Dest* headers; DestChanVariable already carries the campaign
			if v, _ := m.ChanVar("Dest", "CAMPAIGN"); string(v) != "Khuyen-mai-T12" {
				t.Errorf("DestChanVariable CAMPAIGN = %q", v)
			}
			if _, ok := m.ChanVar("", "CAMPAIGN"); ok {
				t.Errorf("ChanVar with empty prefix matched a DestChanVariable header")
			}
		}
	}
	if !sawOriginate || !sawNewchannel {
		t.Fatalf("fixture lacks OriginateResponse (%v) or Newchannel (%v)", sawOriginate, sawNewchannel)
	}
}

func TestParseCommandOutputRepeatsKey(t *testing.T) {
	r := NewReader(bytes.NewReader(fixture(t, "basics.ami")))
	if _, err := r.ReadBanner(); err != nil {
		t.Fatal(err)
	}
	for {
		m, err := r.Next()
		if err != nil {
			t.Fatal("no Command reply with Output lines found:", err)
		}
		if m.Value("ActionID") == "basics-05" {
			out := m.Values("Output")
			if len(out) < 1 || !strings.HasPrefix(out[0], "Asterisk 22.10.1") {
				t.Fatalf("core show version output = %q", out)
			}
			return
		}
	}
}

func TestParseToleratesBareLFAndStrayLines(t *testing.T) {
	in := "Asterisk Call Manager/11.0.0\n\r\nEvent: A\nKey:Value\nEmpty:\nNoColon line\n\nEvent: B\r\nX: 1\r\n\r\n"
	r := NewReader(strings.NewReader(in))
	if b, err := r.ReadBanner(); err != nil || b != "Asterisk Call Manager/11.0.0" {
		t.Fatalf("banner %q %v", b, err)
	}
	m, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if m.Value("Event") != "A" || m.Value("Key") != "Value" || !m.Has("Empty") || m.Value("Empty") != "" {
		t.Fatalf("message A parsed as %q", m.String())
	}
	if m.Headers[3].Key != nil || string(m.Headers[3].Value) != "NoColon line" {
		t.Fatalf("line without a colon = %q: %q", m.Headers[3].Key, m.Headers[3].Value)
	}
	m, err = r.Next()
	if err != nil || m.Value("Event") != "B" || m.Value("X") != "1" {
		t.Fatalf("message B = %q, %v", m.String(), err)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("end: %v, want EOF", err)
	}
}

func TestParseTruncatedStream(t *testing.T) {
	r := NewReader(strings.NewReader("Asterisk Call Manager/11.0.0\r\nEvent: A\r\nUniqueid: 1."))
	if _, err := r.ReadBanner(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("cut inside a message: %v, want ErrUnexpectedEOF", err)
	}
}

func TestParseSkipsOverlongMessage(t *testing.T) {
	big := "Event: Big\r\n" + strings.Repeat("Output: "+strings.Repeat("x", 100)+"\r\n", 200) + "\r\n"
	in := "Asterisk Call Manager/11.0.0\r\n" + big + "Event: Small\r\nA: b\r\n\r\n"
	r := NewReader(iotest.HalfReader(strings.NewReader(in)))
	r.SetMaxMessage(4096)
	if _, err := r.ReadBanner(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); !errors.Is(err, ErrMessageTooLong) {
		t.Fatalf("over-long message: %v, want ErrMessageTooLong", err)
	}
	m, err := r.Next()
	if err != nil || m.Value("Event") != "Small" || m.Value("A") != "b" {
		t.Fatalf("message after the skipped one = %q, %v", m.String(), err)
	}
}

func TestCloneSurvivesReader(t *testing.T) {
	r := NewReader(iotest.OneByteReader(strings.NewReader("Asterisk Call Manager/11.0.0\r\nEvent: A\r\nK: 1\r\n\r\nEvent: B\r\nK: 2\r\n\r\n")))
	if _, err := r.ReadBanner(); err != nil {
		t.Fatal(err)
	}
	m, _ := r.Next()
	c := m.Clone()
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if c.Value("Event") != "A" || c.Value("K") != "1" {
		t.Fatalf("clone changed: %q", c.String())
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range scenarios {
		if name == "burst" {
			continue
		}
		data := fixture(f, name+".ami")
		// the start of each recording (banner, login reply, first events) and some of
		// its messages: small inputs keep the fuzzer fast
		head := data
		if len(head) > 4096 {
			head = head[:4096]
		}
		f.Add(head)
		for i, m := range splitMessages(data) {
			if i%17 == 0 {
				f.Add(m)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data))
		r.SetMaxMessage(1 << 12)
		_, _ = r.ReadBanner()
		total := 0
		for i := 0; i < 100000; i++ {
			m, err := r.Next()
			if errors.Is(err, ErrMessageTooLong) {
				continue
			}
			if err != nil {
				break
			}
			for _, h := range m.Headers {
				total += len(h.Key) + len(h.Value)
				if bytes.IndexByte(h.Value, '\n') >= 0 || bytes.IndexByte(h.Key, '\n') >= 0 {
					t.Fatalf("header contains a line break: %q: %q", h.Key, h.Value)
				}
			}
			if len(m.Headers) == 0 {
				t.Fatal("empty message returned")
			}
			c := m.Clone()
			if c.String() != m.String() {
				t.Fatal("clone differs")
			}
			_, _ = m.ChanVar("", "HOTLINE")
			_, _ = m.ChanVar("Dest", "CAMPAIGN")
		}
		if total > len(data) {
			t.Fatalf("headers hold %d bytes, more than the %d input bytes", total, len(data))
		}
	})
}
