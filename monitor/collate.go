package monitor

import (
	"bytes"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// textOf returns the text a text column sorts by, and whether col is a text column.
func textOf(c *Call, col Column) (string, bool) {
	switch col {
	case ColCustomer:
		return c.Customer, true
	case ColHotline:
		return c.Hotline, true
	case ColQueue:
		return c.Queue, true
	case ColLastAgent:
		return c.LastAgent, true
	case ColCampaign:
		return c.Campaign, true
	}
	return "", false
}

// Vietnamese collation: letters in the Vietnamese alphabet's order (a ă â b c d đ e ê
// g h i k l m n o ô ơ p q r s t u ư v x y, with f j w z where Latin has them), case
// ignored; tones (none, huyền, hỏi, ngã, sắc, nặng) only break ties. So "Đặng" sorts
// after "Dương" and before "Hoàng", as a Vietnamese reader expects.
const alphabet = "a ă â b c d đ e ê f g h i j k l m n o ô ơ p q r s t u ư v w x y z"

// weight is a rune's primary (letter) and secondary (tone) weight.
type weight struct {
	primary uint16
	tone    uint8
}

// tableSize covers Basic Latin to Latin Extended Additional (U+1E00–U+1EFF).
const tableSize = 0x2000

var (
	// letterWeight maps base letters (with their letter-forming marks) to primary weights.
	letterWeight = map[string]uint16{}
	// runeWeights holds every rune's weights below tableSize: a flat table, because keys
	// are built for every row of a snapshot.
	runeWeights [tableSize]weight
)

var toneOrder = map[rune]uint8{0x0300: 1, 0x0309: 2, 0x0303: 3, 0x0301: 4, 0x0323: 5}

func init() {
	for i, l := range strings.Fields(alphabet) {
		letterWeight[norm.NFD.String(l)] = 0x100 + uint16(i)
	}
	for r := rune(0); r < tableSize; r++ {
		w, ok := latinWeight(r)
		if !ok {
			w = otherWeight(r)
		}
		runeWeights[r] = w
	}
}

// latinWeight splits a Latin letter into its Vietnamese base letter and tone.
func latinWeight(r rune) (weight, bool) {
	d := []rune(norm.NFD.String(string(unicode.ToLower(r))))
	var base []rune
	var tone uint8
	for _, x := range d {
		if t, ok := toneOrder[x]; ok {
			tone = t
			continue
		}
		base = append(base, x)
	}
	p, ok := letterWeight[string(base)]
	if !ok {
		return weight{}, false
	}
	return weight{p, tone}, true
}

func otherWeight(r rune) weight {
	switch {
	case r >= '0' && r <= '9':
		return weight{primary: 0x40 + uint16(r-'0')}
	case r < 0x40:
		return weight{primary: uint16(r) + 1} // space and punctuation first
	case r < 0x8000:
		return weight{primary: 0x8000 + uint16(r)}
	}
	return weight{primary: 0xffff}
}

func runeWeight(r rune) weight {
	if r >= 0 && r < tableSize {
		return runeWeights[r]
	}
	return otherWeight(r)
}

// appendSortKey appends s's collation key: primary weights, a separator, then tones.
func appendSortKey(dst []byte, s string) []byte {
	for _, r := range s {
		w := runeWeight(r)
		dst = append(dst, byte(w.primary>>8), byte(w.primary))
	}
	dst = append(dst, 0, 0)
	for _, r := range s {
		dst = append(dst, runeWeight(r).tone)
	}
	return dst
}

// sortByText sorts calls by a text column in Vietnamese collation order; ASCII-only
// values (phone numbers, for instance) sort by byte, which is the same order, cheaper.
func sortByText(calls []*Call, col Column, desc bool) {
	tie := func(a, c *Call) int {
		if r := a.StartTime.Compare(c.StartTime); r != 0 {
			return r
		}
		return strings.Compare(a.ID, c.ID)
	}
	ascii := true
	for _, c := range calls {
		if t, _ := textOf(c, col); !isASCII(t) || !isASCIIOrderSafe(t) {
			ascii = false
			break
		}
	}
	if ascii {
		slices.SortFunc(calls, func(a, c *Call) int {
			ta, _ := textOf(a, col)
			tc, _ := textOf(c, col)
			r := strings.Compare(ta, tc)
			if desc {
				r = -r
			}
			if r != 0 {
				return r
			}
			return tie(a, c)
		})
		return
	}
	type keyed struct {
		key  []byte
		call *Call
	}
	ks := make([]keyed, len(calls))
	buf := make([]byte, 0, len(calls)*48)
	for i, c := range calls {
		t, _ := textOf(c, col)
		start := len(buf)
		buf = appendSortKey(buf, t)
		ks[i] = keyed{call: c, key: buf[start:]}
	}
	// buf may have grown and moved: take the keys again from the final buffer
	off := 0
	for i := range ks {
		n := len(ks[i].key)
		ks[i].key = buf[off : off+n : off+n]
		off += n
	}
	slices.SortFunc(ks, func(a, c keyed) int {
		r := bytes.Compare(a.key, c.key)
		if desc {
			r = -r
		}
		if r != 0 {
			return r
		}
		return tie(a.call, c.call)
	})
	for i := range ks {
		calls[i] = ks[i].call
	}
}

// isASCIIOrderSafe reports whether byte order of s matches the collation (ASCII without
// letters: digits, spaces, punctuation).
func isASCIIOrderSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}
