// Package amitest is test support for Asterisk Manager Interface (AMI) clients: a TCP
// (or TLS) server that replays traffic recorded byte for byte from a real Asterisk
// (the fixtures in monitor/ami/testdata/asterisk-22), paced by the recorded timeline,
// waiting for the client's actions where the recording has them and checking them
// against the recorded ones. It serves recorded bytes; the only replies it makes up are
// the MD5 login challenge and the refusals Asterisk's manager.c words (see
// ChallengeReply and ErrorReply), where no recording has them.
//
// It does not import the driver (monitor/ami), so the driver's own tests can use it.
package amitest

import (
	"bytes"
	"strings"
)

// Header is one "Key: Value" line of an AMI message.
type Header struct {
	// Key is the header name ("Event", "ActionID", ...); empty for a line without a colon.
	Key string
	// Value is what follows ": ".
	Value string
}

// Msg is one parsed AMI message: its headers in order (duplicate keys kept).
type Msg struct {
	// Headers are the message's lines in order.
	Headers []Header
}

// ParseMsg parses one raw message ("Key: Value\r\n" lines, the blank line optional).
func ParseMsg(raw []byte) Msg {
	var m Msg
	for _, line := range bytes.Split(raw, []byte("\n")) {
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			continue
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			m.Headers = append(m.Headers, Header{Value: string(line)})
			continue
		}
		m.Headers = append(m.Headers, Header{Key: string(k), Value: string(bytes.TrimPrefix(v, []byte(" ")))})
	}
	return m
}

// Get returns the first value of key (matched case-insensitively), or "".
func (m Msg) Get(key string) string {
	for _, h := range m.Headers {
		if strings.EqualFold(h.Key, key) {
			return h.Value
		}
	}
	return ""
}

// Has reports whether the message has a header named key.
func (m Msg) Has(key string) bool {
	for _, h := range m.Headers {
		if strings.EqualFold(h.Key, key) {
			return true
		}
	}
	return false
}

// Values returns every value of key in order.
func (m Msg) Values(key string) []string {
	var out []string
	for _, h := range m.Headers {
		if strings.EqualFold(h.Key, key) {
			out = append(out, h.Value)
		}
	}
	return out
}

// IsEvent reports whether the message is an event (it has an Event header).
func (m Msg) IsEvent() bool { return m.Has("Event") }

// String renders the message in wire format.
func (m Msg) String() string {
	var b strings.Builder
	for _, h := range m.Headers {
		if h.Key != "" {
			b.WriteString(h.Key + ": ")
		}
		b.WriteString(h.Value + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// SplitMessages splits a recorded stream into raw messages, each with its terminating
// blank line; a leading "Asterisk Call Manager/" banner line is left out.
func SplitMessages(stream []byte) [][]byte {
	if i := bytes.Index(stream, []byte("\r\n")); i >= 0 && bytes.HasPrefix(stream, []byte("Asterisk Call Manager/")) {
		stream = stream[i+2:]
	}
	return SplitRaw(stream)
}

// SplitRaw splits bytes into messages at each blank line, keeping a trailing partial
// message as it is.
func SplitRaw(b []byte) [][]byte {
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

// RewriteID replaces the ActionID recID of a raw message by id.
func RewriteID(raw []byte, recID, id string) []byte {
	old := []byte("ActionID: " + recID + "\r\n")
	if recID == "" || !bytes.Contains(raw, old) {
		return raw
	}
	return bytes.Replace(raw, old, []byte("ActionID: "+id+"\r\n"), 1)
}

// ErrorReply is the error response Asterisk's manager.c (astman_send_error) writes:
// "Response: Error", the ActionID, "Message: msg". Use it only for refusals no recording
// has (for example "Permission denied" for an account without the write class).
func ErrorReply(actionID, msg string) []byte {
	return []byte("Response: Error\r\nActionID: " + actionID + "\r\nMessage: " + msg + "\r\n\r\n")
}

// ChallengeReply is the reply of manager.c's action_challenge to "Action: Challenge" with
// "AuthType: MD5": astman_start_ack ("Response: Success" and the ActionID, no Message)
// followed by "Challenge: <decimal ast_random()>" and the blank line.
func ChallengeReply(actionID, challenge string) []byte {
	return []byte("Response: Success\r\nActionID: " + actionID + "\r\nChallenge: " + challenge + "\r\n\r\n")
}
