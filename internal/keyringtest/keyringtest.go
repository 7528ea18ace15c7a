// Package keyringtest gives tests a real OS keyring. On Linux without an unlocked
// Secret Service (CI, a plain `go test` over SSH), Main re-runs the test binary inside a
// private D-Bus session with an unlocked GNOME Keyring, so tests that store secrets
// exercise the real Secret Service rather than a stand-in.
package keyringtest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/zalando/go-keyring"
)

const sessionEnv = "EARSHOT_TEST_KEYRING_SESSION"

// Available reports whether the OS keyring can store and delete a secret now.
func Available() error {
	const service, user = "Earshot test probe", "probe"
	if err := keyring.Set(service, user, "probe"); err != nil {
		return err
	}
	if err := keyring.Delete(service, user); err != nil && !errors.Is(err, keyring.ErrNotFound) {
		return err
	}
	return nil
}

// Main runs the tests, first moving into a private keyring session when the OS keyring
// is not usable and the tools for one (dbus-run-session, gnome-keyring-daemon) exist.
// Use it from TestMain: func TestMain(m *testing.M) { keyringtest.Main(m) }.
func Main(m *testing.M) {
	if os.Getenv(sessionEnv) == "" && Available() != nil {
		if code, ok := rerunInSession(); ok {
			os.Exit(code)
		}
	}
	os.Exit(m.Run())
}

func rerunInSession() (int, bool) {
	dbus, err := exec.LookPath("dbus-run-session")
	if err != nil {
		return 0, false
	}
	if _, err := exec.LookPath("gnome-keyring-daemon"); err != nil {
		return 0, false
	}
	script := `echo -n earshot-ci | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1; exec "$0" "$@"`
	cmd := exec.Command(dbus, append([]string{"--", "sh", "-c", script, os.Args[0]}, os.Args[1:]...)...)
	cmd.Env = append(os.Environ(), sessionEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, true
	case errors.As(err, &ee):
		return ee.ExitCode(), true
	}
	fmt.Fprintln(os.Stderr, "keyringtest: could not start a private keyring session:", err)
	return 0, false
}

// Require fails the test with a clear message when the OS keyring is not usable.
func Require(t testing.TB) {
	t.Helper()
	if err := Available(); err != nil {
		t.Fatalf("this test needs the OS keyring (a Secret Service on Linux: install dbus and gnome-keyring): %v", err)
	}
}
