package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// isolate gives the test its own settings folder, so the user's settings never leak in.
func isolate(t *testing.T) {
	t.Helper()
	t.Setenv("EARSHOT_CONFIG_DIR", t.TempDir())
	t.Setenv("EARSHOT_DATA_DIR", t.TempDir())
	for _, k := range []string{"EARSHOT_DRIVER", "EARSHOT_AMI_HOST", "EARSHOT_AMI_PORT", "EARSHOT_AMI_USER", "EARSHOT_AMI_SECRET", "EARSHOT_DEMO_CALLS"} {
		t.Setenv(k, "")
	}
}

func TestVersionAndHelp(t *testing.T) {
	isolate(t)
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"--version"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "earshot "+version) {
		t.Fatalf("--version printed %q", out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"help"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"watch", "act", "devices", "--demo-calls"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help does not mention %s:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := run(context.Background(), []string{"--demo-calls", "10", "--help"}, &out, &errOut); err != nil {
		t.Fatalf("--help: %v", err)
	}
	if !strings.Contains(out.String(), "Usage:") {
		t.Fatalf("--help must print the usage on standard output, got %q", out.String())
	}
	err := run(context.Background(), []string{"watch", "--help"}, &out, &errOut)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("watch --help: %v", err)
	}
}

func TestBadCommandLinesAreUsageErrors(t *testing.T) {
	isolate(t)
	for _, args := range [][]string{
		{"frobnicate"},
		{"--driver", "nonsense"},
		{"watch", "--sort", "colour"},
		{"watch", "--status", "talking"},
		{"act"},
		{"act", "listen"},
		{"act", "juggle", "1795668852.0"},
		{"act", "transfer", "1795668852.0"},
		{"act", "hangup", "1795668852.0"}, // the demo lives inside the window
		{"watch", "--demo-calls", "-5"},
		{"watch", "--demo-calls", "0"},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), args, &out, &errOut)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%q: got %v, want a usage error (exit status 2)", args, err)
		}
	}
}

// watchFrames runs `earshot watch` with args and decodes its JSON lines.
func watchFrames(t *testing.T, args ...string) []watchFrame {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := runWatch(ctx, args, &out, &errOut); err != nil {
		t.Fatalf("watch %q: %v\n%s", args, err, errOut.String())
	}
	var frames []watchFrame
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var f watchFrame
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			t.Fatalf("not a JSON line: %q: %v", sc.Text(), err)
		}
		frames = append(frames, f)
	}
	return frames
}

var vnMobile = regexp.MustCompile(`^0[389]\d{8}$`)

func TestWatchJSONOnTheDemo(t *testing.T) {
	isolate(t)
	frames := watchFrames(t, "--json", "--once", "--demo-calls", "80")
	if len(frames) != 1 {
		t.Fatalf("--once printed %d frames", len(frames))
	}
	f := frames[0]
	if f.Driver != "demo" || !f.Simulated {
		t.Fatalf("the demo's frames must say they are simulated: driver %q, simulated %v", f.Driver, f.Simulated)
	}
	if f.Feed != "connected" || f.Total < 40 || f.Shown != f.Total || len(f.Calls) != f.Total {
		t.Fatalf("frame: feed %s, total %d, shown %d, calls %d", f.Feed, f.Total, f.Shown, len(f.Calls))
	}
	seen := map[string]int{}
	for _, c := range f.Calls {
		seen[c.Status]++
		if c.ID == "" || c.StartTime.IsZero() || c.TimeInStatusSeconds < 0 {
			t.Errorf("incomplete row %+v", c)
		}
		switch c.Direction {
		case "Inbound":
			if c.Campaign != "" || !vnMobile.MatchString(c.Customer) || c.Hotline == "" {
				t.Errorf("inbound row %+v: want a mobile customer, a hotline and no campaign", c)
			}
		case "Outbound":
			if c.LastAgent == "" {
				t.Errorf("outbound row without the placing agent: %+v", c)
			}
		default:
			t.Errorf("row without a direction: %+v", c)
		}
		if (c.Status == "Answered") != (c.AnswerTime != nil) {
			t.Errorf("answer time and status disagree: %+v", c)
		}
	}
	if seen["Calling"] == 0 || seen["Answered"] == 0 {
		t.Errorf("statuses seen: %v; want calls both waiting and answered", seen)
	}

	// Filters and sort reach the board.
	f = watchFrames(t, "--json", "--once", "--demo-calls", "80", "--status", "answered", "--sort", "time_in_status", "--desc")[0]
	if len(f.Calls) == 0 || f.Shown >= f.Total {
		t.Fatalf("--status answered kept %d of %d", f.Shown, f.Total)
	}
	for i, c := range f.Calls {
		if c.Status != "Answered" {
			t.Fatalf("--status answered let through %+v", c)
		}
		if i > 0 && c.TimeInStatusSeconds > f.Calls[i-1].TimeInStatusSeconds {
			t.Fatalf("--sort time_in_status --desc out of order at row %d", i)
		}
	}
}

func TestWatchTableOnTheDemo(t *testing.T) {
	isolate(t)
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := runWatch(ctx, []string{"--once", "--demo-calls", "30", "--direction", "inbound"}, &out, &errOut); err != nil {
		t.Fatal(err, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) < 5 || !strings.Contains(lines[0], "PBX feed connected") || !strings.Contains(lines[0], "DEMO (simulated calls)") || !strings.HasPrefix(lines[2], "CALL ID") {
		t.Fatalf("table:\n%s", out.String())
	}
	for _, l := range lines[3:] {
		if !strings.Contains(l, "Inbound") || strings.Contains(l, "Outbound") {
			t.Fatalf("--direction inbound printed %q", l)
		}
	}
}

// amiReplay serves one recorded AMI connection's bytes to the first client, after
// reading its Login.
func amiReplay(t *testing.T, recorded string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "monitor", "ami", "testdata", "asterisk-22", recorded))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		banner, rest, _ := bytes.Cut(b, []byte("\r\n"))
		c.Write(append(banner, '\r', '\n'))
		r := bufio.NewReader(c)
		var action []byte
		for { // read the Login action up to its blank line
			line, err := r.ReadBytes('\n')
			if err != nil {
				return
			}
			if len(bytes.TrimSpace(line)) == 0 {
				break
			}
			action = append(action, line...)
		}
		id := regexp.MustCompile(`ActionID: (\S+)`).FindSubmatch(action)
		if id != nil { // answer with the client's ActionID, as Asterisk would
			rest = regexp.MustCompile(`ActionID: \S+`).ReplaceAll(rest, append([]byte("ActionID: "), id[1]...))
		}
		c.Write(rest)
		time.Sleep(100 * time.Millisecond) // Asterisk closes the socket after a failed login
	}()
	return ln.Addr().String()
}

func TestWatchOnceFailsFastWhenThePBXIsDown(t *testing.T) {
	isolate(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close() // nothing listens there now
	t.Setenv("EARSHOT_AMI_SECRET", "x")
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	err := runWatch(ctx, []string{"--once", "--ami-host", host, "--ami-port", port, "--ami-user", "earshot"}, &out, &errOut)
	var ce exitCodeError
	if !errors.As(err, &ce) || ce.code != 5 || ctx.Err() != nil {
		t.Fatalf("got %v after %v; want exit status 5 (PBX unreachable) at once", err, time.Since(start))
	}
}

func TestActReportsTheRecordedLoginFailure(t *testing.T) {
	isolate(t)
	addr := amiReplay(t, "login-failed.ami")
	host, port, _ := net.SplitHostPort(addr)
	t.Setenv("EARSHOT_AMI_SECRET", "wrong-secret")
	var out, errOut bytes.Buffer
	err := runAct(context.Background(), []string{"hangup", "1795669097.44", "--ami-host", host, "--ami-port", port, "--ami-user", "earshot", "--timeout", "5s"}, &out, &errOut)
	var ce exitCodeError
	if !errors.As(err, &ce) || ce.code != 6 {
		t.Fatalf("got %v; want exit status 6 (login refused)", err)
	}
	if !strings.Contains(err.Error(), "refused the login") || strings.Contains(err.Error(), "wrong-secret") {
		t.Fatalf("message %q: want the sentence, never the secret", err)
	}
}

func TestActOnAnUnreachablePBX(t *testing.T) {
	isolate(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close() // nothing listens there now
	t.Setenv("EARSHOT_AMI_SECRET", "x")
	var out, errOut bytes.Buffer
	err := runAct(context.Background(), []string{"listen", "1795669097.44", "--ami-host", host, "--ami-port", port, "--ami-user", "earshot", "--timeout", "3s"}, &out, &errOut)
	var ce exitCodeError
	if !errors.As(err, &ce) || ce.code != 5 {
		t.Fatalf("got %v; want exit status 5 (PBX unreachable)", err)
	}
	if !strings.Contains(err.Error(), "cannot be reached") {
		t.Fatalf("message %q", err)
	}
}
