package phone

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"
)

// Transport is the SIP transport used to reach the PBX.
type Transport string

// The SIP transports Earshot speaks.
const (
	TransportUDP Transport = "udp"
	TransportTCP Transport = "tcp"
	TransportTLS Transport = "tls"
)

// SRTPMode selects how call media is encrypted.
type SRTPMode string

// The media encryption modes.
const (
	// SRTPOff sends plain RTP (RTP/AVP) and refuses offers that require SRTP.
	SRTPOff SRTPMode = "off"
	// SRTPSDES offers SRTP with SDES keys (a=crypto) on outgoing calls and accepts
	// both plain and SDES offers on incoming calls. Use it only over TLS: the keys
	// travel in the SDP.
	SRTPSDES SRTPMode = "sdes"
	// SRTPDTLS uses DTLS-SRTP. diago fixes the media profile per transport, so in this
	// mode every call must use DTLS-SRTP: an incoming offer without a DTLS fingerprint
	// is answered 488.
	SRTPDTLS SRTPMode = "dtls"
)

// DefaultExpiry is the registration lifetime requested when Account.Expiry is zero.
const DefaultExpiry = 300 * time.Second

// Account is one SIP account on the PBX: the supervisor's own extension.
//
// Password is filled by the caller from the OS keyring (package secret); it is never
// read from or written to a file by this package, and String, GoString and LogValue
// hide it.
type Account struct {
	// Server is the registrar / PBX as host or host:port. The port defaults to 5060
	// (5061 for TLS).
	Server string
	// User is the extension, for example "2001". It is the user part of the From,
	// To and Contact headers and the SIP user-agent name (Asterisk identifies the
	// endpoint by it).
	User string
	// AuthUser is the digest user name; empty means User.
	AuthUser string
	// DisplayName is shown to the people Earshot calls.
	DisplayName string
	// Password is the digest password (from the OS keyring).
	Password string
	// Transport is udp (default), tcp or tls.
	Transport Transport
	// SRTP selects media encryption; empty means SRTPOff.
	SRTP SRTPMode
	// Expiry is the registration lifetime to ask for; zero means DefaultExpiry.
	Expiry time.Duration
	// OutboundProxy, when set, is the host[:port] every request is sent to.
	OutboundProxy string
	// CAFile is a PEM file with the CA certificates that sign the PBX's TLS
	// certificate; empty means the system roots.
	CAFile string
	// TLSServerName overrides the name checked in the PBX's certificate; empty means
	// the host part of Server.
	TLSServerName string
	// LocalAddr is the local IP or IP:port to listen on. Empty means the address of
	// the interface that routes to the PBX (loopback for a PBX on loopback) with a
	// free port; Earshot never listens on every address unless told to here.
	LocalAddr string
}

// String describes the account without its password.
func (a Account) String() string {
	return fmt.Sprintf("%s@%s (%s, password %s)", a.User, a.Server, a.transport(), redact(a.Password))
}

// GoString is like String, so %#v never prints the password either.
func (a Account) GoString() string { return "phone.Account{" + a.String() + "}" }

// LogValue keeps the password out of structured logs.
func (a Account) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("user", a.User),
		slog.String("server", a.Server),
		slog.String("transport", string(a.transport())),
		slog.String("password", redact(a.Password)),
	)
}

func redact(s string) string {
	if s == "" {
		return "(none)"
	}
	return "(set)"
}

func (a Account) transport() Transport {
	if a.Transport == "" {
		return TransportUDP
	}
	return Transport(strings.ToLower(string(a.Transport)))
}

func (a Account) srtp() SRTPMode {
	if a.SRTP == "" {
		return SRTPOff
	}
	return SRTPMode(strings.ToLower(string(a.SRTP)))
}

func (a Account) authUser() string {
	if a.AuthUser != "" {
		return a.AuthUser
	}
	return a.User
}

func (a Account) expiry() time.Duration {
	if a.Expiry <= 0 {
		return DefaultExpiry
	}
	return a.Expiry
}

func (a Account) defaultPort() int {
	if a.transport() == TransportTLS {
		return 5061
	}
	return 5060
}

// serverHostPort returns the registrar's host and port.
func (a Account) serverHostPort() (string, int, error) {
	return splitHostPortDefault(a.Server, a.defaultPort())
}

// proxyHostPort returns where requests are sent: the outbound proxy or the server.
func (a Account) proxyHostPort() (string, int, error) {
	if a.OutboundProxy == "" {
		return a.serverHostPort()
	}
	return splitHostPortDefault(a.OutboundProxy, a.defaultPort())
}

// Validate reports the first problem that would stop the account from working.
func (a Account) Validate() error {
	var errs []error
	if strings.TrimSpace(a.Server) == "" {
		errs = append(errs, errors.New("the PBX server is empty"))
	} else if _, _, err := a.serverHostPort(); err != nil {
		errs = append(errs, fmt.Errorf("PBX server %q: %w", a.Server, err))
	}
	if a.OutboundProxy != "" {
		if _, _, err := a.proxyHostPort(); err != nil {
			errs = append(errs, fmt.Errorf("outbound proxy %q: %w", a.OutboundProxy, err))
		}
	}
	if strings.TrimSpace(a.User) == "" {
		errs = append(errs, errors.New("the extension (user) is empty"))
	} else if strings.ContainsAny(a.User, " @:;<>\"") {
		errs = append(errs, fmt.Errorf("extension %q contains characters a SIP user name cannot have", a.User))
	}
	switch a.transport() {
	case TransportUDP, TransportTCP, TransportTLS:
	default:
		errs = append(errs, fmt.Errorf("transport %q is not udp, tcp or tls", a.Transport))
	}
	switch a.srtp() {
	case SRTPOff, SRTPSDES, SRTPDTLS:
	default:
		errs = append(errs, fmt.Errorf("SRTP mode %q is not off, sdes or dtls", a.SRTP))
	}
	if a.CAFile != "" && a.transport() != TransportTLS {
		errs = append(errs, errors.New("a CA file is set but the transport is not tls"))
	}
	if a.Expiry < 0 {
		errs = append(errs, errors.New("the registration expiry is negative"))
	}
	if a.LocalAddr != "" {
		if _, _, err := splitHostPortDefault(a.LocalAddr, 0); err != nil {
			errs = append(errs, fmt.Errorf("local address %q: %w", a.LocalAddr, err))
		} else if h, _, _ := splitHostPortDefault(a.LocalAddr, 0); net.ParseIP(h) == nil {
			errs = append(errs, fmt.Errorf("local address %q is not an IP address", a.LocalAddr))
		}
	}
	return errors.Join(errs...)
}

// splitHostPortDefault splits "host", "host:port", "[v6]" or "[v6]:port".
func splitHostPortDefault(s string, defPort int) (string, int, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(strings.TrimPrefix(s, "sips:"), "sip:")
	if s == "" {
		return "", 0, errors.New("empty address")
	}
	if h, p, err := net.SplitHostPort(s); err == nil {
		port, err := strconv.Atoi(p)
		if err != nil || port < 0 || port > 65535 {
			return "", 0, fmt.Errorf("bad port %q", p)
		}
		if h == "" {
			return "", 0, errors.New("empty host")
		}
		return h, port, nil
	}
	h := strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	if strings.ContainsAny(h, "/ ") {
		return "", 0, fmt.Errorf("%q is not a host name", s)
	}
	if strings.Contains(h, ":") && net.ParseIP(h) == nil {
		return "", 0, fmt.Errorf("%q is not a host name", s)
	}
	return h, defPort, nil
}
