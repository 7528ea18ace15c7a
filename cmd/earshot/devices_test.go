package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/earshot-app/earshot/audio"
)

// runCaptured runs the earshot command line args as main does and returns what
// it printed on standard output (the devices command prints there).
func runCaptured(t *testing.T, args ...string) (string, error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	var errOut bytes.Buffer
	runErr := run(context.Background(), args, io.Discard, &errOut)
	os.Stdout = saved
	w.Close()
	out := <-done
	r.Close()
	return out, runErr
}

// nullDevices is what the null backend has, asked of package audio directly.
func nullDevices(t *testing.T) (*audio.Context, []audio.Device) {
	t.Helper()
	ac, err := audio.NewContext(audio.BackendNull)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ac.Close() })
	devs, err := ac.Devices()
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) == 0 {
		t.Fatal("the null backend has no devices")
	}
	return ac, devs
}

func TestDevicesTable(t *testing.T) {
	isolate(t)
	out, err := runCaptured(t, "devices", "--backend", "null")
	if err != nil {
		t.Fatalf("earshot devices --backend null: %v", err)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if !regexp.MustCompile(`^KIND\s+DEFAULT\s+ID\s+NAME$`).MatchString(lines[0]) {
		t.Fatalf("header %q, want KIND DEFAULT ID NAME\n%s", lines[0], out)
	}
	ac, devs := nullDevices(t)
	if len(lines)-1 != len(devs) {
		t.Fatalf("%d rows for %d devices:\n%s", len(lines)-1, len(devs), out)
	}
	row := regexp.MustCompile(`^(playback|capture)\s+(yes)?\s+([0-9a-f]+)\s+(.+)$`)
	kinds := map[string]bool{}
	for i, l := range lines[1:] {
		m := row.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("row %q is not KIND DEFAULT ID NAME", l)
		}
		d := devs[i]
		if m[1] != d.Kind.String() || m[3] != d.ID || m[4] != d.Name || (m[2] == "yes") != d.Default {
			t.Errorf("row %q, want %s %v %s %q", l, d.Kind, d.Default, d.ID, d.Name)
		}
		kinds[m[1]] = true
		// The ID shown is one the settings accept: it selects this device.
		k := audio.Playback
		if m[1] == "capture" {
			k = audio.Capture
		}
		got, err := ac.FindDevice(k, m[3])
		if err != nil || got.Name != m[4] {
			t.Errorf("the listed ID %s does not select %q: %v %q", m[3], m[4], err, got.Name)
		}
	}
	if !kinds["playback"] || !kinds["capture"] {
		t.Errorf("kinds listed %v, want playback and capture", kinds)
	}
	if !strings.Contains(out, "NULL Playback Device") || !strings.Contains(out, "NULL Capture Device") {
		t.Errorf("the null backend's devices are not named:\n%s", out)
	}
}

func TestDevicesJSON(t *testing.T) {
	isolate(t)
	out, err := runCaptured(t, "devices", "--backend", "null", "--json")
	if err != nil {
		t.Fatalf("earshot devices --backend null --json: %v", err)
	}
	var got []struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		Kind     string `json:"kind"`
		Default  bool   `json:"default"`
		Selector string `json:"selector"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not a JSON array: %v\n%s", err, out)
	}
	ac, devs := nullDevices(t)
	if len(got) != len(devs) {
		t.Fatalf("%d devices in the JSON, audio lists %d", len(got), len(devs))
	}
	for i, g := range got {
		d := devs[i]
		if g.ID != d.ID || g.Name != d.Name || g.Kind != d.Kind.String() || g.Default != d.Default {
			t.Errorf("device %d: %+v, want %s %q %s default %v", i, g, d.ID, d.Name, d.Kind, d.Default)
		}
		if g.ID == "" || g.Name == "" || g.Selector != g.ID+"|"+g.Name {
			t.Errorf("device %d: id %q, name %q, selector %q (want id|name)", i, g.ID, g.Name, g.Selector)
		}
		k := audio.Playback
		if g.Kind == "capture" {
			k = audio.Capture
		}
		if sel, err := ac.FindDevice(k, g.Selector); err != nil || sel.Name != g.Name {
			t.Errorf("selector %q does not select %q: %v", g.Selector, g.Name, err)
		}
	}
}

func TestDevicesBadCommandLines(t *testing.T) {
	isolate(t)
	out, err := runCaptured(t, "devices", "--backend", "pulse")
	var ue usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), `unknown backend "pulse"`) {
		t.Errorf("--backend pulse: %v, want a usage error (exit status 2) naming the backend", err)
	}
	if out != "" {
		t.Errorf("--backend pulse printed %q", out)
	}
	for _, args := range [][]string{{"--colour"}, {"--backend"}, {"--backend", "null", "extra"}} {
		var stdout, stderr bytes.Buffer
		err := runDevices(context.Background(), args, &stdout, &stderr)
		if !errors.As(err, &ue) {
			t.Errorf("devices %q: %v, want a usage error", args, err)
		}
		if stdout.Len() != 0 {
			t.Errorf("devices %q printed on standard output: %q", args, stdout.String())
		}
	}
	var stdout, stderr bytes.Buffer
	if err := runDevices(context.Background(), []string{"--colour"}, &stdout, &stderr); err == nil ||
		!strings.Contains(stderr.String(), "Usage: earshot devices") || !strings.Contains(stderr.String(), "-backend") {
		t.Errorf("an unknown flag does not print the usage: %v\n%s", err, stderr.String())
	}
	if _, err := runCaptured(t, "devices", "--help"); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("devices --help: %v, want flag.ErrHelp (exit status 0)", err)
	}
}
