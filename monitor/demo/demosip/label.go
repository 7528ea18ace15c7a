package demosip

import (
	"strings"
	"unicode"

	"github.com/earshot-app/earshot/monitor"
	"github.com/earshot-app/earshot/monitor/demo"
)

// CallerName is the caller name the supervisor's phone shows for a monitoring call:
// what is monitored and how, for example "Listen: Agent 1001 ↔ 0912 345 678".
func CallerName(r demo.MonitorRequest) string {
	verb := "Listen"
	switch r.Kind {
	case monitor.ActWhisper:
		verb = "Whisper"
	case monitor.ActBarge:
		verb = "Barge"
	case monitor.ActSteal:
		verb = "Steal"
	}
	agent := r.Call.LastAgent
	if agent == "" && r.AgentID != "" {
		agent = "Agent " + r.AgentID
	}
	cust := FormatNumber(r.Call.Customer)
	var b strings.Builder
	b.WriteString(verb)
	b.WriteString(": ")
	switch {
	case agent != "" && cust != "":
		b.WriteString(agent + " ↔ " + cust)
	case agent != "":
		b.WriteString(agent)
	case cust != "":
		b.WriteString(cust)
	default:
		b.WriteString("call " + r.Call.ID)
	}
	return sanitizeDisplayName(b.String())
}

// callerUser is the user part of the From URI: the agent's extension for listen,
// whisper and barge, the customer's number after a steal (the supervisor then talks
// with the customer).
func callerUser(r demo.MonitorRequest) string {
	u := r.AgentID
	if r.Kind == monitor.ActSteal || u == "" {
		u = r.Call.Customer
	}
	u = strings.Map(func(c rune) rune {
		if c < 128 && (unicode.IsLetter(c) || unicode.IsDigit(c) || strings.ContainsRune("-_.!~*'()+", c)) {
			return c
		}
		return -1
	}, u)
	if u == "" {
		u = "demo"
	}
	return u
}

// FormatNumber groups a Vietnamese phone number's digits as people write them: mobile
// numbers 4-3-3 ("0912 345 678"), landlines with a two-digit area code 3-4-4
// ("028 7300 2468"), 1800/1900 hotlines 4-4 ("1900 2468"). Other strings are returned
// unchanged.
func FormatNumber(n string) string {
	for _, c := range n {
		if c < '0' || c > '9' {
			return n
		}
	}
	switch {
	case len(n) == 10 && n[0] == '0':
		return n[:4] + " " + n[4:7] + " " + n[7:]
	case len(n) == 11 && strings.HasPrefix(n, "02"):
		return n[:3] + " " + n[3:7] + " " + n[7:]
	case len(n) == 8 && (strings.HasPrefix(n, "1800") || strings.HasPrefix(n, "1900")):
		return n[:4] + " " + n[4:]
	}
	return n
}

// sanitizeDisplayName makes s safe inside a SIP quoted string: no quotes, backslashes
// or control characters.
func sanitizeDisplayName(s string) string {
	return strings.Map(func(c rune) rune {
		switch {
		case c == '"' || c == '\\':
			return '\''
		case unicode.IsControl(c):
			return -1
		}
		return c
	}, s)
}
