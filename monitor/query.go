package monitor

import (
	"cmp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Column names a grid column, for sorting.
type Column uint8

// The grid's columns, in the reference product's order.
const (
	ColID           Column = iota // call id (Mã cuộc gọi)
	ColCustomer                   // customer number (Số khách hàng)
	ColHotline                    // hotline (Số gọi)
	ColQueue                      // queue (Hàng đợi)
	ColStatus                     // status (Trạng thái cuộc gọi)
	ColTimeInStatus               // time in status (Thời gian trạng thái)
	ColLastAgent                  // last agent (Agent tiếp nhận cuối cùng)
	ColAnswerTime                 // answer time (Thời gian trả lời)
	ColStartTime                  // start time (Thời gian bắt đầu)
	ColDirection                  // inbound / outbound (Loại cuộc gọi)
	ColCampaign                   // campaign (Chiến dịch)
)

// Columns lists the grid's columns in the reference product's order.
var Columns = []Column{ColID, ColCustomer, ColHotline, ColQueue, ColStatus, ColTimeInStatus,
	ColLastAgent, ColAnswerTime, ColStartTime, ColDirection, ColCampaign}

var columnNames = [...]string{"id", "customer", "hotline", "queue", "status", "time_in_status",
	"last_agent", "answer_time", "start_time", "direction", "campaign"}

// String returns the column's key ("customer", "time_in_status", ...), also used as
// its translation key suffix and on the command line.
func (c Column) String() string {
	if int(c) < len(columnNames) {
		return columnNames[c]
	}
	return "column"
}

// ParseColumn parses a column key as String returns it.
func ParseColumn(s string) (Column, bool) {
	for i, n := range columnNames {
		if strings.EqualFold(s, n) {
			return Column(i), true
		}
	}
	return 0, false
}

// Query selects and orders calls for a snapshot. Empty sets mean "any".
type Query struct {
	// Queues keeps calls of these queues.
	Queues []string
	// Statuses keeps calls in these statuses.
	Statuses []Status
	// Directions keeps inbound or outbound calls.
	Directions []Direction
	// Agents keeps calls whose last agent is one of these.
	Agents []string
	// Text is matched, case-insensitively, against the call id, customer number,
	// hotline, last agent, queue and campaign.
	Text string
	// Sort is the column to sort by. Ties keep start-time order, then ID.
	Sort Column
	// Desc sorts descending.
	Desc bool
}

// compiled is a Query prepared for matching many calls quickly.
type compiled struct {
	queues     map[string]struct{}
	agents     map[string]struct{}
	statusMask uint8
	dirMask    uint8
	text       string
}

func (q *Query) compile() compiled {
	c := compiled{text: strings.TrimSpace(q.Text)}
	if len(q.Queues) > 0 {
		c.queues = make(map[string]struct{}, len(q.Queues))
		for _, s := range q.Queues {
			c.queues[s] = struct{}{}
		}
	}
	if len(q.Agents) > 0 {
		c.agents = make(map[string]struct{}, len(q.Agents))
		for _, s := range q.Agents {
			c.agents[s] = struct{}{}
		}
	}
	for _, s := range q.Statuses {
		c.statusMask |= 1 << s
	}
	for _, d := range q.Directions {
		c.dirMask |= 1 << d
	}
	return c
}

func (c *compiled) match(call *Call) bool {
	if c.statusMask != 0 && c.statusMask&(1<<call.Status) == 0 {
		return false
	}
	if c.dirMask != 0 && c.dirMask&(1<<call.Direction) == 0 {
		return false
	}
	if c.queues != nil {
		if _, ok := c.queues[call.Queue]; !ok {
			return false
		}
	}
	if c.agents != nil {
		if _, ok := c.agents[call.LastAgent]; !ok {
			return false
		}
	}
	if c.text != "" {
		return containsFold(call.Customer, c.text) || containsFold(call.ID, c.text) ||
			containsFold(call.Hotline, c.text) || containsFold(call.LastAgent, c.text) ||
			containsFold(call.Campaign, c.text) || containsFold(call.Queue, c.text)
	}
	return true
}

// containsFold reports whether sub occurs in s under Unicode simple case folding,
// without allocating. sub must be non-empty.
func containsFold(s, sub string) bool {
	if len(s) < len(sub) && isASCII(s) {
		return false
	}
	if isASCII(sub) && isASCII(s) {
		return indexFoldASCII(s, sub)
	}
	if strings.Contains(s, sub) {
		return true
	}
	n := utf8.RuneCountInString(sub)
	r0, _ := utf8.DecodeRuneInString(sub)
	first := unicode.ToLower(r0)
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		if unicode.ToLower(r) != first {
			i += w
			continue
		}
		// take n runes from s[i:]
		j, k := i, 0
		for k < n && j < len(s) {
			_, w := utf8.DecodeRuneInString(s[j:])
			j += w
			k++
		}
		if k < n {
			return false
		}
		if strings.EqualFold(s[i:j], sub) {
			return true
		}
		i += w
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func indexFoldASCII(s, sub string) bool {
	first := lowerASCII(sub[0])
	for i := 0; i+len(sub) <= len(s); i++ {
		if lowerASCII(s[i]) != first {
			continue
		}
		j := 1
		for j < len(sub) && lowerASCII(s[i+j]) == lowerASCII(sub[j]) {
			j++
		}
		if j == len(sub) {
			return true
		}
	}
	return false
}

// compareCalls orders a and b by col ascending; ties fall back to start time, then ID,
// so that the order is total and stable across snapshots.
func compareCalls(a, b *Call, col Column) int {
	var r int
	switch col {
	case ColID:
		r = cmp.Compare(a.ID, b.ID)
	case ColCustomer:
		r = cmp.Compare(a.Customer, b.Customer)
	case ColHotline:
		r = cmp.Compare(a.Hotline, b.Hotline)
	case ColQueue:
		r = cmp.Compare(a.Queue, b.Queue)
	case ColStatus:
		r = cmp.Compare(a.Status, b.Status)
	case ColTimeInStatus:
		// a longer time in status is an earlier StatusSince
		r = -a.StatusSince.Compare(b.StatusSince)
	case ColLastAgent:
		r = cmp.Compare(a.LastAgent, b.LastAgent)
	case ColAnswerTime:
		r = a.AnswerTime.Compare(b.AnswerTime)
	case ColStartTime:
		r = a.StartTime.Compare(b.StartTime)
	case ColDirection:
		r = cmp.Compare(a.Direction, b.Direction)
	case ColCampaign:
		r = cmp.Compare(a.Campaign, b.Campaign)
	}
	return r
}
