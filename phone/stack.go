package phone

import (
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// sipStack is the phone's SIP transport on one local address: the listening socket
// (none for TLS: the PBX reaches the phone over the connection the phone opened),
// the user agent, its server and client, and diago on top. The phone replaces the
// whole stack when the address that reaches the PBX changes.
type sipStack struct {
	bindIP   net.IP
	bindPort int
	udpConn  net.PacketConn
	tcpLn    net.Listener

	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	client *sipgo.Client
	dg     *diago.Diago
}

// addr is the address the stack listens on ("ip:port").
func (st *sipStack) addr() string {
	return net.JoinHostPort(st.bindIP.String(), strconv.Itoa(st.bindPort))
}

// newStack opens the listening socket on ip:port (port 0: any) and builds the user
// agent on it.
func (p *Phone) newStack(ip net.IP, port int) (*sipStack, error) {
	st := &sipStack{bindIP: ip}
	host := ip.String()
	switch p.acc.transport() {
	case TransportUDP:
		c, err := net.ListenPacket("udp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return nil, fmt.Errorf("listen for SIP on udp %s: %w", net.JoinHostPort(host, strconv.Itoa(port)), err)
		}
		st.udpConn = c
		st.bindPort = c.LocalAddr().(*net.UDPAddr).Port
	case TransportTCP:
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return nil, fmt.Errorf("listen for SIP on tcp %s: %w", net.JoinHostPort(host, strconv.Itoa(port)), err)
		}
		st.tcpLn = l
		st.bindPort = l.Addr().(*net.TCPAddr).Port
	case TransportTLS:
		st.bindPort = port
	}
	if err := p.buildUA(st); err != nil {
		st.closeSockets()
		return nil, err
	}
	return st, nil
}

// buildUA builds the user agent, server, client and diago of st on its address.
func (p *Phone) buildUA(st *sipStack) error {
	acc := p.acc
	serverHost, _, err := acc.serverHostPort()
	if err != nil {
		return err
	}
	opts := []sipgo.UserAgentOption{
		// The UA name is the From/Contact user: it must be the extension.
		sipgo.WithUserAgent(acc.User),
		sipgo.WithUserAgentHostname(serverHost),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(p.log)),
	}
	if p.tlsConfig != nil {
		opts = append(opts, sipgo.WithUserAgenTLSConfig(p.tlsConfig))
	}
	ua, err := sipgo.NewUA(opts...)
	if err != nil {
		return fmt.Errorf("create SIP user agent: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(p.log))
	if err != nil {
		ua.Close()
		return fmt.Errorf("create SIP server: %w", err)
	}
	// Methods nobody handles (MESSAGE, SUBSCRIBE, UPDATE, ...) pass the guard too:
	// a stranger gets 403 like for everything else, the PBX 405.
	srv.OnNoRoute(p.guard(func(req *sip.Request, tx sip.ServerTransaction) {
		if req.IsAck() || tx == nil {
			return
		}
		res := sip.NewResponseFromRequest(req, sip.StatusMethodNotAllowed, "Method Not Allowed", nil)
		res.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, NOTIFY, REFER"))
		if err := tx.Respond(res); err != nil {
			p.log.Debug("respond 405", "error", err)
		}
	}))
	clientOpts := []sipgo.ClientOption{
		sipgo.WithClientLogger(p.log),
		sipgo.WithClientNAT(),
		sipgo.WithClientHostname(st.bindIP.String()),
	}
	if acc.transport() == TransportUDP {
		clientOpts = append(clientOpts, sipgo.WithClientConnectionAddr(st.addr()))
	}
	client, err := sipgo.NewClient(ua, clientOpts...)
	if err != nil {
		ua.Close()
		return fmt.Errorf("create SIP client: %w", err)
	}

	tran := diago.Transport{
		Transport: string(acc.transport()),
		BindHost:  st.bindIP.String(),
		BindPort:  st.bindPort,
		// Behind an outbound proxy, requests within a call (ACK, BYE, re-INVITE)
		// go where the call's messages came from, the proxy, when it did not
		// Record-Route itself, rather than straight to the far end's Contact.
		RewriteContact: acc.OutboundProxy != "",
	}
	switch acc.srtp() {
	case SRTPSDES:
		tran.MediaSRTP = 1
	case SRTPDTLS:
		cert, err := selfSignedCert(acc.User)
		if err != nil {
			ua.Close()
			return fmt.Errorf("create the DTLS certificate: %w", err)
		}
		tran.MediaSRTP = 2
		tran.MediaDTLSConf = media.DTLSConfig{
			Certificates: []tls.Certificate{cert},
			// diago answers an actpass offer as the DTLS client but would announce
			// "passive": announce "active", what it really is, in offers and
			// answers alike.
			SDPSetupRole: func(bool) string { return "active" },
		}
	}
	dg := diago.NewDiago(ua,
		diago.WithLogger(p.log),
		diago.WithServer(srv),
		diago.WithTransport(tran),
		diago.WithMediaConfig(diago.MediaConfig{Codecs: []media.Codec{
			media.CodecAudioUlaw, media.CodecAudioAlaw, media.CodecTelephoneEvent8000,
		}}),
		diago.WithServerRequestMiddleware(p.guard),
	)
	dg.HandleFunc(p.serveInvite)
	st.ua, st.srv, st.client, st.dg = ua, srv, client, dg
	return nil
}

// serve starts serving SIP on the stack's socket; the channel gets the listener's
// end. For UDP it returns once the client can send from the listening socket.
func (st *sipStack) serve() <-chan error {
	serveErr := make(chan error, 1)
	switch {
	case st.udpConn != nil:
		go func() { serveErr <- st.srv.ServeUDP(st.udpConn) }()
		laddr := st.udpConn.LocalAddr().String()
		for i := 0; i < 200 && st.ua.TransportLayer().Pool("udp").Get(laddr) == nil; i++ {
			time.Sleep(time.Millisecond)
		}
	case st.tcpLn != nil:
		go func() { serveErr <- st.srv.ServeTCP(st.tcpLn) }()
	}
	return serveErr
}

// close stops the stack's server and user agent and closes its sockets.
func (st *sipStack) close() error {
	st.srv.Close()
	err := st.ua.Close()
	st.closeSockets()
	return err
}

func (st *sipStack) closeSockets() {
	if st.udpConn != nil {
		st.udpConn.Close()
	}
	if st.tcpLn != nil {
		st.tcpLn.Close()
	}
}
