package phone

import (
	"net"
	"regexp"
	"strings"
	"testing"

	"github.com/emiago/diago/media"
	"github.com/emiago/diago/media/sdp"
	"github.com/emiago/sipgo/sip"
)

const goodOffer = "v=0\r\no=pbx 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
	"m=audio 4000 RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n"

func TestCheckOffer(t *testing.T) {
	if err := checkOffer("application/sdp", []byte(goodOffer), SRTPOff); err != nil {
		t.Fatalf("good offer refused: %v", err)
	}
	sdes := strings.Replace(goodOffer, "RTP/AVP", "RTP/SAVP", 1) + "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n"
	for _, tc := range []struct {
		name, body string
		mode       SRTPMode
		want       string
	}{
		{"empty", "", SRTPOff, "no SDP offer"},
		{"no m line", "v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\n", SRTPOff, "m= line missing"},
		{"video only", strings.Replace(goodOffer, "m=audio", "m=video", 1), SRTPOff, "no audio stream"},
		{"several streams, none audio", strings.Replace(goodOffer, "m=audio", "m=video", 1) + "m=text 5000 RTP/AVP 98\r\n", SRTPOff, "no audio stream"},
		{"malformed second stream", goodOffer + "m=video 5000\r\n", SRTPOff, "malformed SDP media line"},
		{"audio of several disabled", strings.Replace(goodOffer, "audio 4000", "audio 0", 1) + "m=video 5000 RTP/AVP 96\r\n", SRTPOff, "disabled"},
		{"port zero", strings.Replace(goodOffer, "audio 4000", "audio 0", 1), SRTPOff, "disabled"},
		{"no c line", strings.Replace(goodOffer, "c=IN IP4 127.0.0.1\r\n", "", 1), SRTPOff, "no connection address"},
		{"short c line", strings.Replace(goodOffer, "c=IN IP4 127.0.0.1", "c=IN IP4", 1), SRTPOff, "malformed SDP connection line"},
		{"bad ip", strings.Replace(goodOffer, "c=IN IP4 127.0.0.1", "c=IN IP4 999.1.1.1", 1), SRTPOff, "malformed SDP connection address"},
		{"ip6 label on v4", strings.Replace(goodOffer, "c=IN IP4 127.0.0.1", "c=IN IP6 127.0.0.1", 1), SRTPOff, "malformed SDP connection address"},
		{"hold address", strings.Replace(goodOffer, "c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0", 1), SRTPOff, "cannot carry a call"},
		{"bad origin", strings.Replace(goodOffer, "o=pbx 1 1", "o=pbx x y", 1), SRTPOff, "origin"},
		{"g729 only", strings.Replace(strings.Replace(goodOffer, "8 0 101", "18", 1), "a=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n", "a=rtpmap:18 G729/8000\r\n", 1), SRTPOff, "no common audio codec"},
		{"pcmu at 16k", strings.Replace(strings.Replace(goodOffer, "8 0 101", "96", 1), "a=rtpmap:8 PCMA/8000", "a=rtpmap:96 PCMU/16000", 1), SRTPOff, "no common audio codec"},
		{"savp when off", sdes, SRTPOff, "requires SRTP"},
		{"savp without key", strings.Replace(goodOffer, "RTP/AVP", "RTP/SAVP", 1), SRTPSDES, "no crypto key"},
		{"savp with an unknown suite", strings.Replace(sdes, "AES_CM_128_HMAC_SHA1_80", "F8_128_HMAC_SHA1_80", 1), SRTPSDES, "no usable key"},
		{"savp with a short key", strings.Replace(sdes, "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz", "inline:AAAA", 1), SRTPSDES, "key is malformed"},
		{"broken crypto line", goodOffer + "a=crypto:\r\n", SRTPOff, "malformed SDP crypto line"},
		{"dtls when off", strings.Replace(goodOffer, "RTP/AVP", "UDP/TLS/RTP/SAVP", 1), SRTPOff, "requires DTLS"},
		{"plain when dtls", goodOffer, SRTPDTLS, "DTLS-SRTP is required"},
		{"odd profile", strings.Replace(goodOffer, "RTP/AVP", "TCP/MSRP", 1), SRTPOff, "unsupported media profile"},
	} {
		err := checkOffer("application/sdp", []byte(tc.body), tc.mode)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: checkOffer = %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
	if err := checkOffer("application/sdp", []byte(sdes), SRTPSDES); err != nil {
		t.Errorf("SDES offer refused in sdes mode: %v", err)
	}
	if err := checkOffer("text/plain", []byte(goodOffer), SRTPOff); err == nil {
		t.Error("a text/plain body was taken as SDP")
	}
}

// An offer with video (or any other stream) besides audio is answered, not
// refused: diago gets the audio stream alone, and its answer is completed with the
// other streams refused (port 0) in the offer's order, as RFC 3264 §6 requires.
func TestSeveralStreamOffersAreAnswered(t *testing.T) {
	video := "m=video 5002 RTP/AVP 96 97\r\na=rtpmap:96 H264/90000\r\na=rtpmap:97 VP8/90000\r\nc=IN IP4 127.0.0.1\r\n"
	session, audio, _ := strings.Cut(goodOffer, "m=audio")
	audio = "m=audio" + audio
	for _, tc := range []struct {
		name, offer string
		want        []string
	}{
		{"audio then video", goodOffer + video, []string{`^m=audio \d+ RTP/AVP 8 0 101$`, `^m=video 0 RTP/AVP 96 97$`}},
		{"video then audio", session + video + audio, []string{`^m=video 0 RTP/AVP 96 97$`, `^m=audio \d+ RTP/AVP 8 0 101$`}},
		{"disabled audio, then audio, then text", session + strings.Replace(audio, "4000", "0", 1) + audio + "m=text 7000 RTP/AVP 98\r\n",
			[]string{`^m=audio 0 RTP/AVP 8 0 101$`, `^m=audio \d+ RTP/AVP 8 0 101$`, `^m=text 0 RTP/AVP 98$`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reduced, layout, err := vetSDP("application/sdp", []byte(tc.offer), SRTPOff, false)
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if n := strings.Count(string(reduced), "m="); n != 1 || layout == nil {
				t.Fatalf("reduced offer has %d streams (layout %v):\n%s", n, layout, reduced)
			}
			if strings.Contains(string(reduced), "H264") {
				t.Errorf("the video stream's attributes stayed in what diago gets:\n%s", reduced)
			}
			// diago's own negotiation of the reduced offer, then the completed answer.
			ms := &media.MediaSession{
				Codecs: []media.Codec{media.CodecAudioUlaw, media.CodecAudioAlaw, media.CodecTelephoneEvent8000},
				Mode:   sdp.ModeSendrecv,
				Laddr:  net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000},
			}
			if err := ms.RemoteSDP(reduced, false); err != nil {
				t.Fatalf("diago cannot negotiate the reduced offer: %v", err)
			}
			ans := layout.answer(ms.LocalSDP(true))
			var ms2 []string
			for _, l := range strings.Split(string(ans), "\r\n") {
				if strings.HasPrefix(l, "m=") {
					ms2 = append(ms2, l)
				}
			}
			if len(ms2) != len(tc.want) {
				t.Fatalf("answer has m= lines %q, want %d", ms2, len(tc.want))
			}
			for i, re := range tc.want {
				if !regexp.MustCompile(re).MatchString(ms2[i]) {
					t.Errorf("answer m= line %d is %q, want %s", i, ms2[i], re)
				}
			}
			if again := layout.answer(ans); string(again) != string(ans) {
				t.Errorf("completing a complete answer (a retransmission) changed it:\n%s", again)
			}
			if err := checkSDP("application/sdp", ans, SRTPOff, true); err != nil {
				t.Errorf("the completed answer does not pass the check itself: %v", err)
			}
		})
	}
}

func TestParseAutoAnswerHint(t *testing.T) {
	for _, tc := range []struct {
		header, value string
		present       bool
		delaySeconds  int
	}{
		{"Call-Info", "<sip:pbx>;answer-after=0", true, 0},
		{"Call-Info", "<sip:pbx>;Answer-After=3", true, 3},
		{"Call-Info", "<http://pbx/photo.jpg>;purpose=icon", false, 0},
		{"Alert-Info", "<http://www.notused.com>;info=alert-autoanswer;delay=2", true, 2},
		{"Alert-Info", "Auto Answer", true, 0},
		{"Alert-Info", "<http://pbx/ring.wav>", false, 0},
		{"Answer-Mode", "Auto", true, 0},
		{"Answer-Mode", "Manual", false, 0},
		{"Priv-Answer-Mode", "Auto;require", true, 0},
		{"Call-Info", "<sip:pbx>;answer-after=9999", true, 60},
	} {
		req := sip.NewRequest(sip.INVITE, sip.Uri{User: "2001", Host: "127.0.0.1"})
		req.AppendHeader(sip.NewHeader(tc.header, tc.value))
		h := parseAutoAnswerHint(req)
		if h.present != tc.present || int(h.delay.Seconds()) != tc.delaySeconds {
			t.Errorf("%s: %s → present %v delay %s, want %v %ds", tc.header, tc.value, h.present, h.delay, tc.present, tc.delaySeconds)
		}
	}
}

// FuzzCheckOffer feeds arbitrary bodies to the offer check, and every body it
// accepts to diago's SDP negotiation (what answering does next): neither may
// panic, and an accepted offer must negotiate.
func FuzzCheckOffer(f *testing.F) {
	f.Add([]byte(goodOffer), uint8(0))
	f.Add([]byte(strings.Replace(goodOffer, "RTP/AVP", "RTP/SAVP", 1)+"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n"), uint8(1))
	f.Add([]byte("v=0\nc=IN\nm=audio"), uint8(0))
	f.Add([]byte("v=0\r\no=x 1 1 IN IP4 a\r\nc=IN IP4 1.1.1.1\r\nm=audio 1 RTP/AVP 0\r\na=rtpmap:0 PCMU"), uint8(0))
	f.Add([]byte(goodOffer+"m=video 5002 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"), uint8(0))
	f.Fuzz(func(t *testing.T, body []byte, modeSel uint8) {
		mode := []SRTPMode{SRTPOff, SRTPSDES}[int(modeSel)%2]
		reduced, layout, err := vetSDP("application/sdp", body, mode, false)
		if err != nil {
			return
		}
		body = reduced
		ms := &media.MediaSession{
			Codecs: []media.Codec{media.CodecAudioUlaw, media.CodecAudioAlaw, media.CodecTelephoneEvent8000},
			Mode:   sdp.ModeSendrecv,
			Laddr:  net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000},
		}
		if mode == SRTPSDES {
			ms.SecureRTP = 1
			ms.SRTPAlg = 1
		}
		if err := ms.RemoteSDP(body, false); err != nil {
			t.Fatalf("checkOffer accepted an offer diago cannot negotiate: %v\n%q", err, body)
		}
		if len(ms.CommonCodecs()) == 0 {
			t.Fatalf("accepted offer negotiated no codec: %q", body)
		}
		if layout != nil {
			ans := layout.answer(ms.LocalSDP(true))
			if n := strings.Count(string(ans), "\r\nm="); n != len(layout.mlines) {
				t.Fatalf("answer has %d m= lines for an offer with %d:\n%s", n, len(layout.mlines), ans)
			}
		}
	})
}
