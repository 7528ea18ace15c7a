// Package ami is Earshot's Asterisk driver: it reads the Asterisk Manager Interface (AMI)
// event stream, turns it into PBX-neutral monitor.Event values for the Board, and carries
// out the supervisor's actions (listen, whisper, barge, steal, transfer, hang up) as AMI
// actions. See docs/ami.md for the design and docs/asterisk.md for the PBX setup.
package ami

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Header is one "Key: Value" line of an AMI message. Key and Value point into the
// Reader's buffer and stay valid only until the next call to Reader.Next.
type Header struct {
	// Key is the header's name ("Event", "ChanVariable(PJSIP/1002-00000006)"); nil for a
	// line without a colon.
	Key []byte
	// Value is what follows ": " (the line itself for a line without a colon); empty
	// values are kept ("AccountCode: ").
	Value []byte
}

// Message is one AMI message (a response, an event or, on the server side, an action):
// an ordered multimap of headers. Duplicate keys are kept in order (ChanVariable, Output).
// A Message returned by Reader.Next is reused by the next call; use Clone to keep it.
type Message struct {
	// Headers are the message's lines in the order received.
	Headers []Header
	// raw holds the bytes the headers point into when the message was cloned.
	raw []byte
}

// Get returns the value of the first header named key, or nil. Keys are matched
// exactly first, then case-insensitively (Asterisk itself treats them so).
func (m *Message) Get(key string) []byte {
	for i := range m.Headers {
		if string(m.Headers[i].Key) == key {
			return m.Headers[i].Value
		}
	}
	for i := range m.Headers {
		if equalFoldBytes(m.Headers[i].Key, key) {
			return m.Headers[i].Value
		}
	}
	return nil
}

// Has reports whether the message has a header named key.
func (m *Message) Has(key string) bool {
	for i := range m.Headers {
		if string(m.Headers[i].Key) == key || equalFoldBytes(m.Headers[i].Key, key) {
			return true
		}
	}
	return false
}

// Value returns the first value of key as a string ("" when absent).
func (m *Message) Value(key string) string { return string(m.Get(key)) }

// Values returns every value of key in order (for repeated keys such as Output).
func (m *Message) Values(key string) []string {
	var out []string
	for i := range m.Headers {
		if string(m.Headers[i].Key) == key {
			out = append(out, string(m.Headers[i].Value))
		}
	}
	return out
}

// Event returns the value of the Event header (nil for responses).
func (m *Message) Event() []byte { return m.Get("Event") }

// IsEvent reports whether the message is an event. OriginateResponse is an event that
// also carries a Response header: the Event header decides.
func (m *Message) IsEvent() bool { return m.Has("Event") }

// ChanVar returns the value of channel variable name as the ChanVariable headers with the
// given prefix carry it ("" for the main channel, "Dest", "Spyee", ...). It understands
// both syntaxes: "ChanVariable: NAME=value" and the legacy "ChanVariable(chan): NAME=value".
func (m *Message) ChanVar(prefix, name string) ([]byte, bool) {
	for i := range m.Headers {
		k := m.Headers[i].Key
		if !isChanVarKey(k, prefix) {
			continue
		}
		v := m.Headers[i].Value
		eq := bytes.IndexByte(v, '=')
		if eq < 0 {
			continue
		}
		if string(v[:eq]) == name {
			return v[eq+1:], true
		}
	}
	return nil, false
}

func isChanVarKey(k []byte, prefix string) bool {
	const cv = "ChanVariable"
	if len(k) < len(prefix)+len(cv) || string(k[:len(prefix)]) != prefix {
		return false
	}
	k = k[len(prefix):]
	if string(k[:len(cv)]) != cv {
		return false
	}
	k = k[len(cv):]
	return len(k) == 0 || (k[0] == '(' && k[len(k)-1] == ')')
}

// Clone returns a deep copy of the message that stays valid after the Reader moves on.
func (m *Message) Clone() *Message {
	n := 0
	for _, h := range m.Headers {
		n += len(h.Key) + len(h.Value)
	}
	raw := make([]byte, 0, n)
	c := &Message{Headers: make([]Header, len(m.Headers))}
	for i, h := range m.Headers {
		ks := len(raw)
		raw = append(raw, h.Key...)
		vs := len(raw)
		raw = append(raw, h.Value...)
		c.Headers[i] = Header{Key: raw[ks:vs:vs], Value: raw[vs:len(raw):len(raw)]}
		if h.Key == nil {
			c.Headers[i].Key = nil
		}
	}
	c.raw = raw
	return c
}

// String renders the message in wire format (for logs and tests).
func (m *Message) String() string {
	var b bytes.Buffer
	for _, h := range m.Headers {
		if len(h.Key) > 0 {
			b.Write(h.Key)
			b.WriteString(": ")
		}
		b.Write(h.Value)
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

func equalFoldBytes(a []byte, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// ErrMessageTooLong is returned (wrapped) when a message exceeds the Reader's limit; the
// Reader skips the rest of that message and can go on with the next one.
var ErrMessageTooLong = errors.New("AMI message too long")

// DefaultMaxMessage is the largest message a Reader accepts by default. Asterisk's biggest
// messages (Command output, long ChanSpy snapshots) are far below it.
const DefaultMaxMessage = 1 << 20

// hdrPos records a header as offsets from the start of the message being scanned, so
// the buffer may move while a message is read in several pieces.
type hdrPos struct {
	ks, ke, vs, ve int32
}

// Reader frames and parses an AMI byte stream: the banner line, then messages of
// "Key: Value" lines (CRLF, bare LF tolerated) each ended by an empty line. It does not
// allocate per header: headers are byte slices into its buffer.
type Reader struct {
	rd  io.Reader
	buf []byte
	r   int // start of unread data (start of the message being scanned)
	w   int // end of data
	// scan is how far (relative to r) the current message has been scanned.
	scan int
	pos  []hdrPos
	msg  Message
	max  int
	err  error
	// skipping is set while the rest of an over-long message is discarded.
	skipping bool
}

// NewReader returns a Reader over rd with a 64 KiB initial buffer.
func NewReader(rd io.Reader) *Reader {
	return &Reader{rd: rd, buf: make([]byte, 64<<10), max: DefaultMaxMessage, pos: make([]hdrPos, 0, 64)}
}

// SetMaxMessage sets the largest accepted message size in bytes.
func (r *Reader) SetMaxMessage(n int) { r.max = n }

// fill reads more data, compacting and growing the buffer as needed.
func (r *Reader) fill() error {
	if r.err != nil {
		return r.err
	}
	if r.r > 0 && (r.w == len(r.buf) || r.r == r.w) {
		copy(r.buf, r.buf[r.r:r.w])
		r.w -= r.r
		r.r = 0
	}
	if r.w == len(r.buf) {
		nb := make([]byte, 2*len(r.buf))
		copy(nb, r.buf[:r.w])
		r.buf = nb
	}
	for i := 0; i < 100; i++ {
		n, err := r.rd.Read(r.buf[r.w:])
		r.w += n
		if err != nil {
			r.err = err
			if n > 0 {
				return nil
			}
			return err
		}
		if n > 0 {
			return nil
		}
	}
	r.err = io.ErrNoProgress
	return r.err
}

// ReadBanner reads the first line, "Asterisk Call Manager/<version>", and returns it
// without the line ending.
func (r *Reader) ReadBanner() (string, error) {
	for {
		if i := bytes.IndexByte(r.buf[r.r:r.w], '\n'); i >= 0 {
			line := r.buf[r.r : r.r+i]
			r.r += i + 1
			return string(bytes.TrimRight(line, "\r")), nil
		}
		if r.w-r.r > 4096 {
			return "", fmt.Errorf("read AMI banner: no line ending in the first %d bytes", r.w-r.r)
		}
		if err := r.fill(); err != nil {
			if errors.Is(err, io.EOF) {
				return "", fmt.Errorf("read AMI banner: %w", io.ErrUnexpectedEOF)
			}
			return "", fmt.Errorf("read AMI banner: %w", err)
		}
	}
}

// Next returns the next message. The message and its byte slices are valid until the
// next call. At the end of the stream it returns io.EOF (io.ErrUnexpectedEOF when the
// stream stops inside a message). A message larger than the limit is skipped and
// reported as an error wrapping ErrMessageTooLong; reading may continue after it.
func (r *Reader) Next() (*Message, error) {
	for {
		m, err := r.next()
		if err != nil || len(m.Headers) > 0 {
			return m, err
		}
	}
}

func (r *Reader) next() (*Message, error) {
	for {
		data := r.buf[r.r:r.w]
		for r.scan < len(data) {
			nl := bytes.IndexByte(data[r.scan:], '\n')
			if nl < 0 {
				break
			}
			ls, le := r.scan, r.scan+nl
			r.scan = le + 1
			if le > ls && data[le-1] == '\r' {
				le--
			}
			if le == ls { // empty line: end of message (or a stray blank line)
				if r.skipping || r.scan > r.max {
					r.skipping = false
					r.consume()
					return &Message{}, fmt.Errorf("AMI message longer than %d bytes skipped: %w", r.max, ErrMessageTooLong)
				}
				return r.finish(), nil
			}
			if r.skipping {
				continue
			}
			line := data[ls:le]
			c := bytes.IndexByte(line, ':')
			var p hdrPos
			if c < 0 {
				// a line without a key (old "Response: Follows" output): keep it as a value
				p = hdrPos{int32(ls), int32(ls), int32(ls), int32(le)}
			} else {
				vs := ls + c + 1
				if vs < le && data[vs] == ' ' {
					vs++
				}
				p = hdrPos{int32(ls), int32(ls + c), int32(vs), int32(le)}
			}
			r.pos = append(r.pos, p)
		}
		if r.scan > r.max && !r.skipping {
			// over-long message: drop what was scanned, skip to its end
			r.skipping = true
			r.pos = r.pos[:0]
		}
		if r.skipping && r.scan > 0 {
			// discard the scanned part to keep the buffer small
			keep := r.scan
			r.r += keep
			r.scan = 0
		}
		if err := r.fill(); err != nil {
			if errors.Is(err, io.EOF) {
				if r.r == r.w && len(r.pos) == 0 && !r.skipping {
					return &Message{}, io.EOF
				}
				r.r, r.w, r.scan = 0, 0, 0
				r.pos = r.pos[:0]
				return &Message{}, io.ErrUnexpectedEOF
			}
			return &Message{}, err
		}
	}
}

// finish turns the scanned positions into the message's headers and advances past it.
func (r *Reader) finish() *Message {
	base := r.buf[r.r:]
	h := r.msg.Headers[:0]
	for _, p := range r.pos {
		var k []byte
		if p.ke > p.ks {
			k = base[p.ks:p.ke:p.ke]
		}
		h = append(h, Header{Key: k, Value: base[p.vs:p.ve:p.ve]})
	}
	r.msg.Headers = h
	r.msg.raw = nil
	r.consume()
	return &r.msg
}

func (r *Reader) consume() {
	r.r += r.scan
	r.scan = 0
	r.pos = r.pos[:0]
}
