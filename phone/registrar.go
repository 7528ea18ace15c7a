package phone

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// registrar sends the REGISTER requests of one phone: one Call-ID and From tag for
// the life of a registration, a rising CSeq, digest authentication on challenge.
type registrar struct {
	p       *Phone
	st      *sipStack // the SIP transport it registers through
	callID  string
	fromTag string
	cseq    uint32
	// contactHost/contactPort is what the Contact says; for TLS the port is learnt
	// from the PBX's view of the connection (Via rport).
	contactHost string
	contactPort int
	// heard is set once the PBX answered any REGISTER of ours: from then on a
	// REGISTER cut short by the phone stopping may have registered it.
	heard bool
}

func newRegistrar(p *Phone, st *sipStack) *registrar {
	r := &registrar{p: p, st: st}
	r.reset()
	return r
}

// reset starts a new registration identity (after a failure).
func (r *registrar) reset() {
	r.callID = sip.GenerateTagN(24)
	r.fromTag = sip.GenerateTagN(16)
	r.cseq = 0
	r.contactHost = r.st.bindIP.String()
	r.contactPort = r.st.bindPort
}

func (r *registrar) scheme() string { return "sip" }

func (r *registrar) request(expiry time.Duration) (*sip.Request, error) {
	p := r.p
	acc := p.acc
	host, port, err := acc.serverHostPort()
	if err != nil {
		return nil, err
	}
	tr := acc.transport()
	recipient := sip.Uri{Scheme: r.scheme(), Host: host, Port: port, UriParams: sip.NewParams(), Headers: sip.NewParams()}
	if tr != TransportUDP {
		recipient.UriParams.Add("transport", string(tr))
	}
	req := sip.NewRequest(sip.REGISTER, recipient)
	req.SetTransport(strings.ToUpper(string(tr)))

	aor := sip.Uri{Scheme: r.scheme(), User: acc.User, Host: host}
	fromParams := sip.NewParams()
	fromParams.Add("tag", r.fromTag)
	req.AppendHeader(&sip.FromHeader{DisplayName: acc.DisplayName, Address: aor, Params: fromParams})
	req.AppendHeader(&sip.ToHeader{Address: aor, Params: sip.NewParams()})
	callID := sip.CallIDHeader(r.callID)
	req.AppendHeader(&callID)
	r.cseq++
	req.AppendHeader(&sip.CSeqHeader{SeqNo: r.cseq, MethodName: sip.REGISTER})
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(&maxFwd)

	req.AppendHeader(r.contactHeader())
	expires := sip.ExpiresHeader(uint32(expiry / time.Second))
	req.AppendHeader(&expires)
	req.AppendHeader(sip.NewHeader("User-Agent", p.cfg.userAgent()))
	req.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, NOTIFY, REFER, INFO"))
	if acc.OutboundProxy != "" {
		ph, pp, err := acc.proxyHostPort()
		if err != nil {
			return nil, err
		}
		req.SetDestination(ph + ":" + strconv.Itoa(pp))
	}
	return req, nil
}

func (r *registrar) contactHeader() *sip.ContactHeader {
	acc := r.p.acc
	contact := &sip.ContactHeader{
		Address: sip.Uri{Scheme: r.scheme(), User: acc.User, Host: r.contactHost, Port: r.contactPort,
			UriParams: sip.NewParams(), Headers: sip.NewParams()},
		Params: sip.NewParams(),
	}
	if tr := acc.transport(); tr != TransportUDP {
		contact.Address.UriParams.Add("transport", string(tr))
	}
	return contact
}

// register sends one REGISTER for expiry (0 removes the registration), answers a
// digest challenge, and returns the lifetime the PBX granted.
func (r *registrar) register(ctx context.Context, expiry time.Duration) (time.Duration, error) {
	p := r.p
	ctx, cancel := context.WithTimeout(ctx, p.cfg.registerTimeout())
	defer cancel()

	req, err := r.request(expiry)
	if err != nil {
		return 0, err
	}
	res, err := r.st.client.Do(ctx, req)
	if err != nil {
		return 0, fmt.Errorf("send REGISTER to %s: %w", p.acc.Server, err)
	}
	r.heard = true
	if r.learnContact(res) && expiry > 0 {
		// Over TLS the PBX reaches the phone through the connection the phone
		// opened: register its real address (the next request carries it).
		req.ReplaceHeader(r.contactHeader())
		if res.StatusCode == sip.StatusOK {
			req.RemoveHeader("Via")
			if cs := req.CSeq(); cs != nil {
				r.cseq++
				cs.SeqNo = r.cseq
			}
			res, err = r.st.client.Do(ctx, req)
			if err != nil {
				return 0, fmt.Errorf("send REGISTER to %s: %w", p.acc.Server, err)
			}
		}
	}
	if res.StatusCode == sip.StatusUnauthorized || res.StatusCode == sip.StatusProxyAuthRequired {
		res, err = r.st.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: p.acc.authUser(), Password: p.acc.Password})
		if cs := req.CSeq(); cs != nil {
			r.cseq = cs.SeqNo
		}
		if err != nil {
			return 0, fmt.Errorf("answer the PBX's digest challenge: %w", err)
		}
	}
	if res.StatusCode != sip.StatusOK {
		return 0, &diago.RegisterResponseError{RegisterReq: req, RegisterRes: res, Msg: res.StartLine()}
	}
	return r.grantedExpiry(res, expiry), nil
}

// learnContact adopts, for TLS, the local address of the connection to the PBX
// (or, failing that, what the PBX saw: Via received/rport). It reports whether the
// Contact changed.
func (r *registrar) learnContact(res *sip.Response) bool {
	if r.p.acc.transport() != TransportTLS {
		return false
	}
	host, port := r.contactHost, r.contactPort
	if ph, pp, err := r.p.acc.proxyHostPort(); err == nil {
		if ips, err := net.LookupIP(ph); err == nil && len(ips) > 0 {
			if c, err := r.st.ua.TransportLayer().GetConnection("tls", net.JoinHostPort(ips[0].String(), strconv.Itoa(pp))); err == nil {
				if a, ok := c.LocalAddr().(*net.TCPAddr); ok {
					host, port = a.IP.String(), a.Port
				}
			}
		}
	}
	if via := res.Via(); via != nil && port == 0 {
		if rp, ok := via.Params.Get("rport"); ok && rp != "" {
			if n, err := strconv.Atoi(rp); err == nil {
				port = n
			}
		}
		if rc, ok := via.Params.Get("received"); ok && rc != "" {
			host = rc
		}
	}
	if host == r.contactHost && port == r.contactPort {
		return false
	}
	r.contactHost, r.contactPort = host, port
	return true
}

// grantedExpiry reads the lifetime from the 200 OK: the expires parameter of our
// Contact, else the Expires header, else what we asked for.
func (r *registrar) grantedExpiry(res *sip.Response, asked time.Duration) time.Duration {
	other := time.Duration(0)
	for _, h := range res.GetHeaders("Contact") {
		c, ok := h.(*sip.ContactHeader)
		if !ok || c.Params == nil {
			continue
		}
		v, ok := c.Params.Get("expires")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			continue
		}
		if c.Address.User == r.p.acc.User && c.Address.Host == r.contactHost && c.Address.Port == r.contactPort {
			return time.Duration(n) * time.Second
		}
		if other == 0 {
			other = time.Duration(n) * time.Second
		}
	}
	if other > 0 {
		return other
	}
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n > 0 {
			return time.Duration(n) * time.Second
		}
	}
	return asked
}

// selfSignedCert makes the certificate DTLS-SRTP needs (its fingerprint goes in the
// SDP; peers do not check it against a CA).
func selfSignedCert(cn string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "earshot-" + cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
