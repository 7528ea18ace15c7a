package secret

import (
	"errors"
	"testing"
)

// The test suite runs inside a private D-Bus session with an unlocked GNOME Keyring
// (scripts/test.sh), so these tests use the real Secret Service.
func TestRoundTripThroughOSKeyring(t *testing.T) {
	key := Key{Kind: "test", Account: t.Name() + "@127.0.0.1"}
	t.Cleanup(func() { _ = Delete(key) })

	if _, err := Get(key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get before Set: got %v, want ErrNotFound", err)
	}
	if err := Set(key, "s3cret-ü"); err != nil {
		t.Fatalf("Set: %v", err)
	}
	got, err := Get(key)
	if err != nil || got != "s3cret-ü" {
		t.Fatalf("Get = %q, %v; want the stored secret", got, err)
	}
	if err := Set(key, "second"); err != nil {
		t.Fatalf("Set again: %v", err)
	}
	if got, _ := Get(key); got != "second" {
		t.Fatalf("Get after replace = %q", got)
	}
	if err := Delete(key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := Delete(key); err != nil {
		t.Fatalf("Delete of a missing secret should succeed, got %v", err)
	}
	if _, err := Get(key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Delete: got %v, want ErrNotFound", err)
	}
}

func TestRedactNeverRevealsTheSecret(t *testing.T) {
	if r := Redact("hunter2"); r == "hunter2" || r != "(set)" {
		t.Fatalf("Redact = %q", r)
	}
	if Redact("") != "(none)" {
		t.Fatal("Redact of empty")
	}
}
