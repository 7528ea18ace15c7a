// Package audio is Earshot's call audio engine: G.711 codecs, a jitter
// buffer over RTP packets with packet-loss concealment, sample-rate
// conversion, tone synthesis and detection, and audio devices through
// miniaudio (github.com/gen2brain/malgo).
//
// PCM everywhere in this package is mono, signed 16-bit, native endian
// ([]int16). The package knows nothing of SIP or of the user interface: the
// phone package pushes RTP packets into a [JitterBuffer] and encodes the
// microphone frames it receives from a [CallStream]; the ui package lists
// devices, plays the ringtone and shows level meters.
//
// Device callbacks run on real-time audio threads. Code here never blocks
// or allocates on those threads; callbacks handed to this package that run
// there (the playback function of [Context.StartCall]) must not block either.
package audio
