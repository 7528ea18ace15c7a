package phone

import (
	"encoding/base64"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/diago/media"
	"github.com/emiago/diago/media/sdp"
	"github.com/emiago/sipgo/sip"
)

// offerError is a reason to answer an INVITE 488 Not Acceptable Here.
type offerError struct{ reason string }

// Error is the reason sent in the 488's Warning header.
func (e *offerError) Error() string { return e.reason }

// checkOffer decides, before anything rings, whether the INVITE's SDP offer can be
// answered: it must parse, carry an audio stream with a connection address, offer
// PCMU or PCMA, and use a media profile the configured SRTP mode accepts. Other
// streams (video, a second audio stream, ...) are allowed: they are refused in the
// answer (see vetSDP).
func checkOffer(contentType string, body []byte, mode SRTPMode) error {
	return checkSDP(contentType, body, mode, false)
}

// checkSDP is checkOffer for any SDP body diago would read: the offer of a new call
// (inDialog false), or, inDialog, the offer of a re-INVITE or UPDATE or the answer
// in an ACK, where the old-style hold address c=0.0.0.0 is allowed.
func checkSDP(contentType string, body []byte, mode SRTPMode, inDialog bool) error {
	_, _, err := vetSDP(contentType, body, mode, inDialog)
	return err
}

// vetSDP checks an SDP body as checkSDP says. diago handles one audio stream and
// would answer a several-stream offer with one m= line, which RFC 3264 forbids; so
// an offer with several streams is cut down to its session part and the audio
// stream Earshot takes (reduced, what diago must be given), and layout tells how to
// put the refused streams back into diago's answer (nil for a one-stream body).
func vetSDP(contentType string, body []byte, mode SRTPMode, inDialog bool) (reduced []byte, layout *offerLayout, err error) {
	if len(body) == 0 {
		return nil, nil, &offerError{"the INVITE has no SDP offer"}
	}
	if ct := strings.ToLower(strings.TrimSpace(contentType)); ct != "" && !strings.HasPrefix(ct, "application/sdp") {
		return nil, nil, &offerError{fmt.Sprintf("the INVITE body is %s, not SDP", contentType)}
	}
	reduced, layout, err = reduceOffer(body)
	if err != nil {
		return nil, nil, err
	}
	if err := checkSDPBody(reduced, mode, inDialog); err != nil {
		return nil, nil, err
	}
	return reduced, layout, nil
}

// checkSDPBody checks one SDP body that has at most one audio stream left.
func checkSDPBody(body []byte, mode SRTPMode, inDialog bool) error {
	sd := sdp.SessionDescription{}
	if err := sdp.Unmarshal(body, &sd); err != nil {
		return &offerError{"malformed SDP: " + err.Error()}
	}
	if len(sd.Values("v")) == 0 || len(sd.Values("o")) == 0 || len(sd.Values("m")) == 0 {
		return &offerError{"malformed SDP: v=, o= or m= line missing"}
	}
	if _, err := sd.SessionInformation(); err != nil {
		return &offerError{"malformed SDP origin line: " + err.Error()}
	}
	if len(sd.Values("m")) > 1 {
		// Left only when no stream is audio.
		return &offerError{"the SDP offer has no audio stream"}
	}
	md, err := sd.MediaDescription("audio")
	if err != nil {
		return &offerError{"the SDP offer has no audio stream"}
	}
	if md.Port <= 0 || md.Port > 65535 {
		return &offerError{"the SDP offer's audio stream is disabled (port " + strconv.Itoa(md.Port) + ")"}
	}
	// diago reads the first c= line and indexes its fields without checking them:
	// validate every c= line here so a short one can never reach it.
	cs := sd.Values("c")
	if len(cs) == 0 {
		return &offerError{"the SDP offer has no connection address"}
	}
	var connIP net.IP
	for i, c := range cs {
		f := strings.Fields(c)
		if len(f) < 3 || f[0] != "IN" || (f[1] != "IP4" && f[1] != "IP6") {
			return &offerError{fmt.Sprintf("malformed SDP connection line c=%s", c)}
		}
		ip := net.ParseIP(strings.Split(f[2], "/")[0])
		if ip == nil || (f[1] == "IP4") != (ip.To4() != nil) {
			return &offerError{fmt.Sprintf("malformed SDP connection address c=%s", c)}
		}
		if i == 0 {
			connIP = ip
		}
	}
	if (connIP.IsUnspecified() && !inDialog) || connIP.IsMulticast() {
		return &offerError{"the SDP offer's connection address " + connIP.String() + " cannot carry a call"}
	}
	attrs := sd.Values("a")
	usable, err := checkCrypto(attrs, mode)
	if err != nil {
		return err
	}
	switch md.Proto {
	case "RTP/AVP":
		if mode == SRTPDTLS {
			return &offerError{"DTLS-SRTP is required but the offer is plain RTP"}
		}
	case "RTP/SAVP":
		if mode != SRTPSDES {
			return &offerError{"the offer requires SRTP (SDES) and SRTP is " + string(mode) + " here"}
		}
		if !hasAttrPrefix(attrs, "crypto:") {
			return &offerError{"the SRTP offer carries no crypto key"}
		}
		if !usable {
			return &offerError{"the SRTP offer has no usable key (Earshot takes AES_CM_128_HMAC_SHA1_80 with a 30-byte inline key)"}
		}
	case "UDP/TLS/RTP/SAVP", "UDP/TLS/RTP/SAVPF":
		if mode != SRTPDTLS {
			return &offerError{"the offer requires DTLS-SRTP and SRTP is " + string(mode) + " here"}
		}
		if !hasAttrPrefix(attrs, "fingerprint:") || !hasAttrPrefix(attrs, "setup:") {
			return &offerError{"the DTLS-SRTP offer has no fingerprint or setup attribute"}
		}
	default:
		return &offerError{"unsupported media profile " + md.Proto}
	}
	codecs := make([]media.Codec, len(md.Formats))
	n, _ := media.CodecsFromSDPRead(md.Formats, attrs, codecs)
	var offered []string
	for _, c := range codecs[:n] {
		if c.SampleRate == 8000 && c.NumChannels <= 1 && (strings.EqualFold(c.Name, "pcmu") || strings.EqualFold(c.Name, "pcma")) {
			return nil
		}
		offered = append(offered, c.Name)
	}
	if len(offered) == 0 {
		offered = md.Formats
	}
	return &offerError{"no common audio codec (offered: " + strings.Join(offered, ", ") + "; Earshot speaks PCMU and PCMA)"}
}

// checkCrypto validates the a=crypto lines the way diago reads them: every line
// needs a numeric tag, a suite and a key parameter, and with SDES on, the first
// line offering AES_CM_128_HMAC_SHA1_80 (the suite diago negotiates) must carry a
// 30-byte inline key. It reports whether such a usable key was found.
func checkCrypto(attrs []string, mode SRTPMode) (usable bool, err error) {
	for _, a := range attrs {
		if !strings.HasPrefix(a, "crypto:") {
			continue
		}
		f := strings.Split(a, " ")
		if len(f) < 3 {
			return false, &offerError{"malformed SDP crypto line"}
		}
		if _, err := strconv.Atoi(strings.TrimPrefix(f[0], "crypto:")); err != nil {
			// The line is not quoted back: it may hold a key.
			return false, &offerError{"malformed SDP crypto tag"}
		}
		if mode != SRTPSDES || f[1] != "AES_CM_128_HMAC_SHA1_80" || usable {
			continue
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(f[2], "inline:"))
		if err != nil || len(key) != 30 {
			return false, &offerError{"the SRTP offer's AES_CM_128_HMAC_SHA1_80 key is malformed"}
		}
		usable = true
	}
	return usable, nil
}

func hasAttrPrefix(attrs []string, prefix string) bool {
	for _, a := range attrs {
		if strings.HasPrefix(a, prefix) {
			return true
		}
	}
	return false
}

// autoAnswerHint is the PBX's request to answer without ringing.
type autoAnswerHint struct {
	present bool
	delay   time.Duration
	source  string
}

// parseAutoAnswerHint looks for the auto-answer hints PBXs send: Call-Info with
// answer-after (Asterisk, FreeSWITCH), Alert-Info auto-answer / info=alert-autoanswer
// (Polycom, Yealink style), and Answer-Mode / Priv-Answer-Mode: Auto (RFC 5373).
func parseAutoAnswerHint(req *sip.Request) autoAnswerHint {
	for _, h := range req.GetHeaders("Call-Info") {
		v := strings.ToLower(h.Value())
		if i := strings.Index(v, "answer-after="); i >= 0 {
			return autoAnswerHint{present: true, delay: parseSeconds(v[i+len("answer-after="):]), source: "Call-Info: " + h.Value()}
		}
	}
	for _, h := range req.GetHeaders("Alert-Info") {
		v := strings.ToLower(h.Value())
		if strings.Contains(v, "autoanswer") || strings.Contains(v, "auto-answer") || strings.Contains(v, "auto answer") || strings.Contains(v, "intercom") {
			var d time.Duration
			if i := strings.Index(v, "delay="); i >= 0 {
				d = parseSeconds(v[i+len("delay="):])
			}
			return autoAnswerHint{present: true, delay: d, source: "Alert-Info: " + h.Value()}
		}
	}
	for _, name := range []string{"Answer-Mode", "Priv-Answer-Mode"} {
		if h := req.GetHeader(name); h != nil {
			v := strings.ToLower(strings.TrimSpace(h.Value()))
			if strings.HasPrefix(v, "auto") {
				return autoAnswerHint{present: true, source: name + ": " + h.Value()}
			}
		}
	}
	return autoAnswerHint{}
}

// parseSeconds reads the leading integer of s as seconds, capped at one minute.
func parseSeconds(s string) time.Duration {
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(s[:end])
	if err != nil || n < 0 {
		return 0
	}
	return time.Duration(min(n, 60)) * time.Second
}

// sourceIP returns the IP a request came from.
func sourceIP(req *sip.Request) net.IP {
	src := req.Source()
	host, _, err := net.SplitHostPort(src)
	if err != nil {
		host = src
	}
	return net.ParseIP(host)
}

// offerHolds reports whether an SDP offer puts the call on hold: a=sendonly or
// a=inactive, or the old-style c=0.0.0.0.
func offerHolds(body []byte) bool {
	sd := sdp.SessionDescription{}
	if sdp.Unmarshal(body, &sd) != nil {
		return false
	}
	for _, c := range sd.Values("c") {
		if f := strings.Fields(c); len(f) >= 3 && f[2] == "0.0.0.0" {
			return true
		}
	}
	switch sd.MediaDirection() {
	case sdp.ModeSendonly, sdp.ModeInactive:
		return true
	}
	return false
}

// offerLayout is the list of media streams of an offer with several of them.
type offerLayout struct {
	mlines []string // each stream's m= line, in order
	keep   int      // the audio stream Earshot answers
}

// splitSDP cuts an SDP body into its session lines and its media sections (each
// starting with its m= line). Line ends are dropped.
func splitSDP(body []byte) (session []string, sections [][]string) {
	lines := strings.Split(strings.ReplaceAll(string(body), "\r\n", "\n"), "\n")
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for _, l := range lines {
		l = strings.TrimSuffix(l, "\r")
		if strings.HasPrefix(l, "m=") {
			sections = append(sections, []string{l})
			continue
		}
		if n := len(sections); n > 0 {
			sections[n-1] = append(sections[n-1], l)
		} else {
			session = append(session, l)
		}
	}
	return session, sections
}

func joinSDP(session []string, sections [][]string) []byte {
	var b strings.Builder
	for _, l := range session {
		b.WriteString(l)
		b.WriteString("\r\n")
	}
	for _, sec := range sections {
		for _, l := range sec {
			b.WriteString(l)
			b.WriteString("\r\n")
		}
	}
	return []byte(b.String())
}

// reduceOffer keeps, of an offer with several media streams, the session lines and
// one audio stream: the first with a port, else the first. An offer with one
// stream, or without any audio stream, is returned as it is, with a nil layout.
func reduceOffer(body []byte) ([]byte, *offerLayout, error) {
	session, sections := splitSDP(body)
	if len(sections) < 2 {
		return body, nil, nil
	}
	keep := -1
	mlines := make([]string, len(sections))
	for i, sec := range sections {
		f := strings.Fields(strings.TrimPrefix(sec[0], "m="))
		if len(f) < 4 {
			return nil, nil, &offerError{fmt.Sprintf("malformed SDP media line %s", sec[0])}
		}
		mlines[i] = sec[0]
		if f[0] != "audio" {
			continue
		}
		port, _ := strconv.Atoi(strings.Split(f[1], "/")[0])
		if keep < 0 || (port > 0 && !sectionHasPort(sections[keep])) {
			keep = i
		}
	}
	if keep < 0 {
		return body, nil, nil
	}
	return joinSDP(session, [][]string{sections[keep]}), &offerLayout{mlines: mlines, keep: keep}, nil
}

func sectionHasPort(sec []string) bool {
	f := strings.Fields(strings.TrimPrefix(sec[0], "m="))
	port, _ := strconv.Atoi(strings.Split(f[1], "/")[0])
	return port > 0
}

// answer turns diago's answer to the reduced offer (one audio stream) into the
// answer to the whole offer: one m= line per offered stream, in the offer's order,
// the audio answer in its place and every other stream refused with port 0 and
// its offered formats (RFC 3264 §6). A body that is already complete (a
// retransmitted response) or has no single stream to place is returned as it is.
func (l *offerLayout) answer(body []byte) []byte {
	if l == nil {
		return body
	}
	session, sections := splitSDP(body)
	if len(sections) != 1 {
		return body
	}
	out := make([][]string, len(l.mlines))
	for i, ml := range l.mlines {
		if i == l.keep {
			out[i] = sections[0]
			continue
		}
		f := strings.Fields(strings.TrimPrefix(ml, "m="))
		out[i] = []string{"m=" + f[0] + " 0 " + strings.Join(f[2:], " ")}
	}
	return joinSDP(session, out)
}

// audioProfile is the transport profile of the first audio stream with a port in
// an SDP body ("RTP/AVP", "RTP/SAVP", ...), "" if there is none.
func audioProfile(body []byte) string {
	for line := range strings.Lines(string(body)) {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == "m=audio" && f[1] != "0" {
			return f[2]
		}
	}
	return ""
}
