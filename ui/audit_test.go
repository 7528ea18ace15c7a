package ui

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/earshot-app/earshot/monitor"
)

func TestAuditLogAppendsJSONLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "audit.jsonl")
	l, err := OpenAuditLog(path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)
	if err := l.Append(AuditEntry{Time: at, Supervisor: "Mai", Action: "steal", CallID: "1741942800.102",
		Agent: "1003", Customer: "0912361516", Result: "ok"}); err != nil {
		t.Fatal(err)
	}
	if err := l.Append(AuditEntry{Supervisor: "Mai", Action: "hangup", CallID: "1741942800.103", Result: "failed",
		Error: "error.call_gone: That call has already ended."}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2", len(lines))
	}
	if lines[0]["time"] != "2025-03-14T09:30:00Z" || lines[0]["supervisor"] != "Mai" || lines[0]["action"] != "steal" ||
		lines[0]["call_id"] != "1741942800.102" || lines[0]["agent"] != "1003" || lines[0]["customer"] != "0912361516" || lines[0]["result"] != "ok" {
		t.Fatalf("first line %v", lines[0])
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("audit log mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestAuditLogSurvivesDamageAndReopens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	good := `{"time":"2025-03-14T09:30:00Z","supervisor":"Mai","action":"listen","call_id":"a","result":"ok"}`
	if err := os.WriteFile(path, []byte(good+"\n{broken line\n\n"+strings.Replace(good, `"a"`, `"b"`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := OpenAuditLog(path)
	if err != nil {
		t.Fatal(err)
	}
	r := l.Recent(10)
	if len(r) != 2 || r[0].CallID != "b" || r[1].CallID != "a" {
		t.Fatalf("recent entries %+v", r)
	}
	if err := l.Append(AuditEntry{Supervisor: "Mai", Action: "barge", CallID: "c", Result: "ok"}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), "{broken line") {
		t.Fatal("the damaged line was lost")
	}
	l2, err := OpenAuditLog(path)
	if err != nil {
		t.Fatal(err)
	}
	if r := l2.Recent(1); len(r) != 1 || r[0].CallID != "c" {
		t.Fatalf("after reopening: %+v", r)
	}
}

func TestActivityViewShowsActions(t *testing.T) {
	tu := newTestUI(t, 10)
	tu.selectCall(t, 2)
	tu.requestAction(monitor.ActBarge)
	tu.action(t)
	if len(tu.activity.entries) != 1 {
		t.Fatalf("activity view shows %d entries", len(tu.activity.entries))
	}
	e := &tu.activity.entries[0]
	if got := tu.activity.cell(e, 2); got != "Barge in" {
		t.Errorf("action column %q", got)
	}
	if got := tu.activity.cell(e, 7); got != "Done" {
		t.Errorf("result column %q", got)
	}
	if got := tu.activity.cell(e, 6); got != fmtPhone(e.Customer) {
		t.Errorf("customer column %q", got)
	}
}
