package monitor

import (
	"strings"
	"testing"
)

// FuzzContainsFold checks the allocation-free search against the obvious definition.
func FuzzContainsFold(f *testing.F) {
	for _, s := range [][2]string{{"Nguyễn Văn An", "VĂN"}, {"0912345678", "345"}, {"Khuyến mãi Tết", "tẾt"}, {"abc", ""}, {"ǅ", "ǆ"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, s, sub string) {
		if sub == "" {
			return
		}
		got := containsFold(s, sub)
		if isASCII(s) && isASCII(sub) {
			if want := strings.Contains(strings.ToLower(s), strings.ToLower(sub)); got != want {
				t.Fatalf("containsFold(%q, %q) = %v, want %v", s, sub, got, want)
			}
		}
		if strings.Contains(s, sub) && !got {
			t.Fatalf("containsFold(%q, %q) missed an exact match", s, sub)
		}
	})
}
