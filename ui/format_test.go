package ui

import (
	"testing"
	"time"
)

func TestFormatting(t *testing.T) {
	for in, want := range map[string]string{
		"0912345678":   "0912 345 678",
		"+84912345678": "+84 912 345 678",
		"02838123456":  "028 3812 3456",
		"19001234":     "1900 1234",
		"1800123456":   "1800 123 456",
		"1001":         "1001",
		"":             "",
		"anonymous":    "anonymous",
	} {
		if got := fmtPhone(in); got != want {
			t.Errorf("fmtPhone(%q) = %q, want %q", in, got, want)
		}
	}
	for d, want := range map[time.Duration]string{
		0: "0:00", 42 * time.Second: "0:42", 12*time.Minute + 5*time.Second: "12:05",
		time.Hour + 2*time.Minute + 3*time.Second: "1:02:03", -time.Second: "0:00",
	} {
		if got := fmtDuration(d); got != want {
			t.Errorf("fmtDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
