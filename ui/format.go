package ui

import (
	"strconv"
	"strings"
	"time"
)

// fmtDuration renders a time in status: "0:42", "12:05", "1:02:03".
func fmtDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	h, m, sec := s/3600, (s/60)%60, s%60
	var b []byte
	if h > 0 {
		b = strconv.AppendInt(b, h, 10)
		b = append(b, ':')
		if m < 10 {
			b = append(b, '0')
		}
	}
	b = strconv.AppendInt(b, m, 10)
	b = append(b, ':')
	if sec < 10 {
		b = append(b, '0')
	}
	b = strconv.AppendInt(b, sec, 10)
	return string(b)
}

// fmtClock renders a time of day in local time, or "" for the zero time.
func fmtClock(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format("15:04:05")
}

// fmtPhone groups the digits of a Vietnamese phone number the way people read them:
// "0912345678" → "0912 345 678", "+84912345678" → "+84 912 345 678",
// "02838123456" → "028 3812 3456", "19001234" → "1900 1234". Anything else is returned
// unchanged.
func fmtPhone(n string) string {
	allDigits := func(s string) bool {
		if s == "" {
			return false
		}
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return false
			}
		}
		return true
	}
	switch {
	case strings.HasPrefix(n, "+84") && len(n) == 12 && allDigits(n[1:]):
		return n[:3] + " " + n[3:6] + " " + n[6:9] + " " + n[9:]
	case !allDigits(n):
		return n
	case len(n) == 10 && n[0] == '0':
		return n[:4] + " " + n[4:7] + " " + n[7:]
	case len(n) == 11 && strings.HasPrefix(n, "02"):
		return n[:3] + " " + n[3:7] + " " + n[7:]
	case len(n) == 8 && (strings.HasPrefix(n, "1900") || strings.HasPrefix(n, "1800")):
		return n[:4] + " " + n[4:]
	case len(n) == 10 && (strings.HasPrefix(n, "1900") || strings.HasPrefix(n, "1800")):
		return n[:4] + " " + n[4:7] + " " + n[7:]
	}
	return n
}
