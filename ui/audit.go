package ui

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// AuditEntry is one supervisor action in the audit log.
type AuditEntry struct {
	// Time is when the action was taken (set by Append when zero).
	Time time.Time `json:"time"`
	// Supervisor is the name of the supervisor who acted.
	Supervisor string `json:"supervisor"`
	// Action is the action's name ("listen", "steal", "transfer", "hangup", ...).
	Action string `json:"action"`
	// CallID is the PBX's ID of the call acted on.
	CallID string `json:"call_id"`
	// Agent is the call's agent when the action was taken.
	Agent string `json:"agent,omitempty"`
	// Customer is the customer's number.
	Customer string `json:"customer,omitempty"`
	// Target is the agent a transfer went to.
	Target string `json:"target,omitempty"`
	// Result is "ok", "failed" or "cancelled".
	Result string `json:"result"`
	// Error is the sentence's translation key and the English sentence when Result is
	// "failed" ("error.call_gone: That call has already ended."); the Activity view
	// shows the key's sentence in the interface language.
	Error string `json:"error,omitempty"`
}

// AuditLog appends supervisor actions as JSON lines to a file (audit.jsonl in the data
// folder). It is safe for concurrent use.
type AuditLog struct {
	path string

	mu     sync.Mutex
	recent []AuditEntry
	subs   []func(AuditEntry)
}

// auditKeep is how many entries the Activity view shows.
const auditKeep = 1000

// OpenAuditLog opens (creating it when needed) the audit log file at path and loads
// its most recent entries. Damaged lines are skipped, never lost: the file is only
// ever appended to.
func OpenAuditLog(path string) (*AuditLog, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create the audit log folder: %w", err)
	}
	l := &AuditLog{path: path}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open the audit log: %w", err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			var e AuditEntry
			if json.Unmarshal(line, &e) == nil && e.Action != "" {
				l.recent = append(l.recent, e)
				if len(l.recent) > 2*auditKeep {
					l.recent = append(l.recent[:0], l.recent[len(l.recent)-auditKeep:]...)
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read the audit log: %w", err)
		}
	}
	if len(l.recent) > auditKeep {
		l.recent = l.recent[len(l.recent)-auditKeep:]
	}
	return l, nil
}

// Path returns the file's path.
func (l *AuditLog) Path() string { return l.path }

// Append writes one entry (its Time set to now when zero) and tells the subscribers.
func (l *AuditLog) Append(e AuditEntry) error {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode audit entry: %w", err)
	}
	b = append(b, '\n')
	l.mu.Lock()
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err == nil {
		// a line cut short (a crash mid-write, an edit) must not swallow this entry
		if fi, serr := f.Stat(); serr == nil && fi.Size() > 0 {
			last := make([]byte, 1)
			if _, rerr := f.ReadAt(last, fi.Size()-1); rerr == nil && last[0] != '\n' {
				b = append([]byte{'\n'}, b...)
			}
		}
		_, err = f.Write(b)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	l.recent = append(l.recent, e)
	if len(l.recent) > 2*auditKeep {
		l.recent = append(l.recent[:0], l.recent[len(l.recent)-auditKeep:]...)
	}
	subs := append([]func(AuditEntry){}, l.subs...)
	l.mu.Unlock()
	for _, s := range subs {
		s(e)
	}
	if err != nil {
		return fmt.Errorf("write the audit log %s: %w", l.path, err)
	}
	return nil
}

// Recent returns up to the last n entries, newest first.
func (l *AuditLog) Recent(n int) []AuditEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n > len(l.recent) {
		n = len(l.recent)
	}
	out := make([]AuditEntry, n)
	for i := 0; i < n; i++ {
		out[i] = l.recent[len(l.recent)-1-i]
	}
	return out
}

// OnAppend registers f to be called (on the appending goroutine) after each entry.
func (l *AuditLog) OnAppend(f func(AuditEntry)) {
	l.mu.Lock()
	l.subs = append(l.subs, f)
	l.mu.Unlock()
}
