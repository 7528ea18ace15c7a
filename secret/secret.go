// Package secret keeps Earshot's passwords (the SIP password, the AMI secret) in the
// operating system's keyring: Windows Credential Manager, the macOS Keychain, or the
// Secret Service (GNOME Keyring, KWallet) on Linux. Secrets are never written to disk by
// Earshot itself and never logged.
package secret

import (
	"errors"
	"fmt"

	"github.com/zalando/go-keyring"
)

// Service is the keyring service name under which Earshot stores its secrets.
const Service = "Earshot"

// ErrNotFound is returned by Get when no secret is stored for the key.
var ErrNotFound = errors.New("no secret stored in the OS keyring")

// Key names one secret: what it is for (for example "ami" or "sip") and the account it
// belongs to (for example "earshot@pbx.example.com:5038").
type Key struct {
	Kind    string
	Account string
}

func (k Key) user() string { return k.Kind + ":" + k.Account }

// Get returns the secret stored for key.
func Get(key Key) (string, error) {
	v, err := keyring.Get(Service, key.user())
	if errors.Is(err, keyring.ErrNotFound) {
		return "", fmt.Errorf("%s secret for %q: %w", key.Kind, key.Account, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("read %s secret for %q from the OS keyring: %w", key.Kind, key.Account, err)
	}
	return v, nil
}

// Set stores value as the secret for key, replacing any previous one.
func Set(key Key, value string) error {
	if err := keyring.Set(Service, key.user(), value); err != nil {
		return fmt.Errorf("store %s secret for %q in the OS keyring: %w", key.Kind, key.Account, err)
	}
	return nil
}

// Delete removes the secret stored for key. Deleting a missing secret is not an error.
func Delete(key Key) error {
	err := keyring.Delete(Service, key.user())
	if err != nil && !errors.Is(err, keyring.ErrNotFound) {
		return fmt.Errorf("delete %s secret for %q from the OS keyring: %w", key.Kind, key.Account, err)
	}
	return nil
}

// Redact returns a placeholder that says whether a secret is set without revealing it,
// for logs and status lines.
func Redact(s string) string {
	if s == "" {
		return "(none)"
	}
	return "(set)"
}
