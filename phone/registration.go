package phone

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"
)

// RegState is the phase of the registration with the PBX.
type RegState int

// The registration phases.
const (
	// RegIdle: Run has not started or has returned.
	RegIdle RegState = iota
	// RegRegistering: a REGISTER is on its way.
	RegRegistering
	// RegRegistered: the PBX accepted the registration (see Registration.Expiry).
	RegRegistered
	// RegFailed: the last attempt failed (see Registration.Failure and Reason).
	RegFailed
	// RegRetrying: waiting until Registration.RetryAt before the next attempt.
	RegRetrying
)

// String names the state.
func (s RegState) String() string {
	switch s {
	case RegIdle:
		return "idle"
	case RegRegistering:
		return "registering"
	case RegRegistered:
		return "registered"
	case RegFailed:
		return "failed"
	case RegRetrying:
		return "retrying"
	}
	return "unknown"
}

// Failure classifies why a registration failed.
type Failure int

// The failure classes.
const (
	// FailNone: no failure.
	FailNone Failure = iota
	// FailCredentials: the PBX refused the user name or password (401/403 after
	// authenticating). Retried slowly: a wrong password must not hammer the PBX.
	FailCredentials
	// FailUnreachable: no answer from the PBX, connection refused, or its name does
	// not resolve.
	FailUnreachable
	// FailTLS: the TLS handshake failed, for example an untrusted certificate.
	FailTLS
	// FailRejected: the PBX answered with another error (404, 5xx, ...).
	FailRejected
)

// String names the failure class.
func (f Failure) String() string {
	switch f {
	case FailNone:
		return "none"
	case FailCredentials:
		return "wrong credentials"
	case FailUnreachable:
		return "PBX unreachable"
	case FailTLS:
		return "TLS error"
	case FailRejected:
		return "rejected by PBX"
	}
	return "unknown"
}

// Registration is a snapshot of the registration state.
type Registration struct {
	State RegState
	// Since is when this state began.
	Since time.Time
	// Expiry is the lifetime the PBX granted (RegRegistered).
	Expiry time.Duration
	// ExpiresAt is when the registration runs out unless refreshed (RegRegistered).
	ExpiresAt time.Time
	// Failure classifies the last failure (RegFailed, RegRetrying).
	Failure Failure
	// Reason is a sentence a supervisor can read (RegFailed, RegRetrying).
	Reason string
	// StatusCode is the PBX's SIP answer to the failed REGISTER, 0 if none.
	StatusCode int
	// Attempt counts consecutive failed attempts.
	Attempt int
	// RetryAt is when the next attempt starts (RegRetrying).
	RetryAt time.Time
}

// Registered reports whether the PBX can currently reach the phone.
func (r Registration) Registered() bool { return r.State == RegRegistered }

// String is a one-line description for a status bar.
func (r Registration) String() string {
	switch r.State {
	case RegRegistered:
		return fmt.Sprintf("registered (expires in %s)", time.Until(r.ExpiresAt).Round(time.Second))
	case RegFailed:
		return "registration failed: " + r.Reason
	case RegRetrying:
		return fmt.Sprintf("%s; retrying in %s", r.Reason, time.Until(r.RetryAt).Round(time.Second))
	}
	return r.State.String()
}

// regError is a classified registration failure.
type regError struct {
	failure Failure
	reason  string
	code    int
	err     error
	// minExpires is set on 423 Interval Too Brief.
	minExpires time.Duration
}

// Error is the readable reason.
func (e *regError) Error() string { return e.reason }

// Unwrap gives the underlying transport or SIP error.
func (e *regError) Unwrap() error { return e.err }

// classifyRegisterError turns an error from a REGISTER transaction into a readable,
// classified failure.
func classifyRegisterError(err error, server string) *regError {
	var re *regError
	if errors.As(err, &re) {
		return re
	}
	var rr *diago.RegisterResponseError
	if errors.As(err, &rr) && rr.RegisterRes != nil {
		res := rr.RegisterRes
		code := res.StatusCode
		status := fmt.Sprintf("%d %s", code, res.Reason)
		switch {
		case code == sip.StatusUnauthorized || code == sip.StatusProxyAuthRequired:
			return &regError{failure: FailCredentials, code: code, err: err,
				reason: fmt.Sprintf("wrong user name or password: the PBX %s refused them (%s)", server, status)}
		case code == sip.StatusForbidden:
			return &regError{failure: FailCredentials, code: code, err: err,
				reason: fmt.Sprintf("the PBX %s does not accept this account (%s): check the extension and password", server, status)}
		case code == sip.StatusNotFound:
			return &regError{failure: FailRejected, code: code, err: err,
				reason: fmt.Sprintf("the PBX %s does not know this extension (%s)", server, status)}
		case code == 423:
			re := &regError{failure: FailRejected, code: code, err: err,
				reason: fmt.Sprintf("the PBX %s wants a longer registration (%s)", server, status)}
			if h := res.GetHeader("Min-Expires"); h != nil {
				if v, e := strconv.Atoi(strings.TrimSpace(h.Value())); e == nil && v > 0 {
					re.minExpires = time.Duration(v) * time.Second
				}
			}
			return re
		default:
			return &regError{failure: FailRejected, code: code, err: err,
				reason: fmt.Sprintf("the PBX %s refused the registration (%s)", server, status)}
		}
	}
	if isTLSError(err) {
		return &regError{failure: FailTLS, err: err,
			reason: fmt.Sprintf("TLS connection to %s failed: %s", server, tlsReason(err))}
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return &regError{failure: FailUnreachable, err: err,
			reason: fmt.Sprintf("cannot find the PBX %s: %s", server, dnsErr.Err)}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, sip.ErrTransactionTimeout) {
		return &regError{failure: FailUnreachable, err: err,
			reason: fmt.Sprintf("the PBX %s did not answer", server)}
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return &regError{failure: FailUnreachable, err: err,
			reason: fmt.Sprintf("cannot reach the PBX %s: %s", server, opErr.Err)}
	}
	return &regError{failure: FailUnreachable, err: err,
		reason: fmt.Sprintf("cannot reach the PBX %s: %s", server, err)}
}

func isTLSError(err error) bool {
	var (
		ua  x509.UnknownAuthorityError
		he  x509.HostnameError
		ci  x509.CertificateInvalidError
		cv  *tls.CertificateVerificationError
		rh  tls.RecordHeaderError
		ae  tls.AlertError
		uaP *x509.UnknownAuthorityError
		heP *x509.HostnameError
	)
	return errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci) ||
		errors.As(err, &cv) || errors.As(err, &rh) || errors.As(err, &ae) ||
		errors.As(err, &uaP) || errors.As(err, &heP) ||
		strings.Contains(err.Error(), "tls:") || strings.Contains(err.Error(), "x509:")
}

func tlsReason(err error) string {
	var he x509.HostnameError
	if errors.As(err, &he) && he.Certificate != nil {
		names := append([]string(nil), he.Certificate.DNSNames...)
		for _, ip := range he.Certificate.IPAddresses {
			names = append(names, ip.String())
		}
		if len(names) == 0 && he.Certificate.Subject.CommonName != "" {
			names = append(names, he.Certificate.Subject.CommonName)
		}
		if len(names) > 0 {
			return fmt.Sprintf("the PBX's certificate is for %s, not %s: check the server address, or set the TLS server name",
				strings.Join(names, ", "), he.Host)
		}
	}
	var cv *tls.CertificateVerificationError
	if errors.As(err, &cv) {
		return "the PBX's certificate is not trusted (" + cv.Err.Error() + ")"
	}
	msg := err.Error()
	if i := strings.Index(msg, "x509:"); i >= 0 {
		return "the PBX's certificate is not trusted (" + msg[i:] + ")"
	}
	if i := strings.Index(msg, "tls:"); i >= 0 {
		return msg[i:]
	}
	return msg
}

// backoff returns how long to wait before attempt number n (1-based) after failure f.
func (c *Config) backoff(f Failure, n int) time.Duration {
	if f == FailCredentials {
		return c.authRetry()
	}
	d := c.retryMin()
	for i := 1; i < n && d < c.retryMax(); i++ {
		d *= 2
	}
	return min(d, c.retryMax())
}
