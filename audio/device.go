package audio

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gen2brain/malgo"
)

// Backend selects the audio system a [Context] talks to.
type Backend int

const (
	// BackendAuto is the platform's default audio system (WASAPI, Core
	// Audio, PulseAudio/ALSA, ...).
	BackendAuto Backend = iota
	// BackendNull is miniaudio's paced null backend: one playback and one
	// capture device that run in real time, discard what is played and
	// capture silence. It is what tests use on machines without a sound
	// card.
	BackendNull
)

// malgoNullBackend is miniaudio's ma_backend_null. (malgo.BackendNull is
// ma_backend_custom, which is something else.)
const malgoNullBackend = malgo.Backend(14)

// String returns "auto" or "null".
func (b Backend) String() string {
	switch b {
	case BackendAuto:
		return "auto"
	case BackendNull:
		return "null"
	}
	return fmt.Sprintf("Backend(%d)", int(b))
}

// ParseBackend parses "auto" (or "") and "null".
func ParseBackend(s string) (Backend, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return BackendAuto, nil
	case "null":
		return BackendNull, nil
	}
	return 0, fmt.Errorf("audio: unknown backend %q (want auto or null)", s)
}

// DeviceKind says whether a device plays or captures audio.
type DeviceKind int

const (
	// Playback devices play audio (speakers, headphones).
	Playback DeviceKind = iota + 1
	// Capture devices record audio (microphones).
	Capture
)

// String returns "playback" or "capture".
func (k DeviceKind) String() string {
	switch k {
	case Playback:
		return "playback"
	case Capture:
		return "capture"
	}
	return fmt.Sprintf("DeviceKind(%d)", int(k))
}

func (k DeviceKind) malgo() malgo.DeviceType {
	if k == Capture {
		return malgo.Capture
	}
	return malgo.Playback
}

// Device describes one audio device.
type Device struct {
	// ID identifies the device across runs: the hexadecimal form of the
	// backend's device identifier. It is unique among devices of one Kind.
	ID string
	// Name is the human-readable name the system gives the device.
	Name string
	// Kind is Playback or Capture.
	Kind DeviceKind
	// Default is true for the system's default device of its kind.
	Default bool

	raw malgo.DeviceID
}

// Selector is the string to store in settings to choose this device again:
// "ID|Name". Selecting with it finds the device by ID, or, if the ID is
// gone (the system renumbered the device), by name.
func (d Device) Selector() string { return d.ID + "|" + d.Name }

// ErrNoDevice is returned (wrapped with the device asked for and the ones
// available) when no device matches a selection.
var ErrNoDevice = errors.New("audio device not found")

// ErrDeviceLost is reported (wrapped with the device's name) when a device
// stops by itself, for example a headset that was unplugged.
var ErrDeviceLost = errors.New("audio device stopped")

// ErrClosed is returned by operations on a closed [Context].
var ErrClosed = errors.New("audio context closed")

// Context is a connection to the audio system. Open one per process with
// [NewContext] and close it at exit. Its methods are safe for concurrent
// use.
type Context struct {
	backend Backend

	mu      sync.Mutex
	mctx    *malgo.AllocatedContext
	closed  bool
	streams map[*deviceStream]struct{}

	tap atomic.Pointer[func(stream string, pcm []int16, rate int)]
}

// NewContext opens the audio system b.
func NewContext(b Backend) (*Context, error) {
	var backends []malgo.Backend
	switch b {
	case BackendAuto:
	case BackendNull:
		backends = []malgo.Backend{malgoNullBackend}
	default:
		return nil, fmt.Errorf("audio: open context: unknown backend %d", int(b))
	}
	mctx, err := malgo.InitContext(backends, malgo.ContextConfig{}, func(msg string) {
		slog.Debug("miniaudio", "backend", b.String(), "msg", strings.TrimSpace(msg))
	})
	if err != nil {
		return nil, fmt.Errorf("audio: open %s backend: %w", b, err)
	}
	return &Context{backend: b, mctx: mctx, streams: make(map[*deviceStream]struct{})}, nil
}

// Backend is the audio system the context uses.
func (c *Context) Backend() Backend { return c.backend }

// SetPlaybackTap installs fn to see every buffer that any stream of this
// context sends to a playback device ("call", "ring" or "test-tone"), at
// the device's rate. fn runs on the audio thread: it must be quick and must
// not keep pcm. A nil fn removes the tap. Tests use it to hear the ringtone
// on the null backend.
func (c *Context) SetPlaybackTap(fn func(stream string, pcm []int16, rate int)) {
	if fn == nil {
		c.tap.Store(nil)
		return
	}
	c.tap.Store(&fn)
}

// Close stops every stream of the context and releases the audio system.
func (c *Context) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	streams := make([]*deviceStream, 0, len(c.streams))
	for s := range c.streams {
		streams = append(streams, s)
	}
	c.mu.Unlock()
	for _, s := range streams {
		s.close()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.mctx.Uninit()
	c.mctx.Free()
	if err != nil {
		return fmt.Errorf("audio: close context: %w", err)
	}
	return nil
}

// Devices lists the playback devices, then the capture devices.
func (c *Context) Devices() ([]Device, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	var all []Device
	for _, k := range []DeviceKind{Playback, Capture} {
		infos, err := c.mctx.Devices(k.malgo())
		if err != nil {
			return nil, fmt.Errorf("audio: list %s devices: %w", k, err)
		}
		for _, in := range infos {
			all = append(all, Device{
				ID:      in.ID.String(),
				Name:    in.Name(),
				Kind:    k,
				Default: in.IsDefault != 0,
				raw:     in.ID,
			})
		}
	}
	return all, nil
}

// FindDevice returns the device of kind k that sel designates: "" is the
// default device; otherwise a device whose ID is sel, else one whose name
// is sel (ignoring case), else the only device whose name contains sel. A
// [Device.Selector] ("ID|Name") is matched by its ID, then by its name. If
// none matches, the error wraps [ErrNoDevice] and names the devices there
// are.
func (c *Context) FindDevice(k DeviceKind, sel string) (Device, error) {
	all, err := c.Devices()
	if err != nil {
		return Device{}, err
	}
	var list []Device
	for _, d := range all {
		if d.Kind == k {
			list = append(list, d)
		}
	}
	if d, ok := matchDevice(list, sel); ok {
		return d, nil
	}
	var names []string
	for _, d := range list {
		names = append(names, fmt.Sprintf("%q [%s]", d.Name, d.ID))
	}
	have := "none"
	if len(names) > 0 {
		have = strings.Join(names, ", ")
	}
	what := fmt.Sprintf("%q", sel)
	if sel == "" {
		what = "default"
	}
	return Device{}, fmt.Errorf("audio: %s device %s: %w (available: %s)", k, what, ErrNoDevice, have)
}

func matchDevice(list []Device, sel string) (Device, bool) {
	if sel == "" {
		for _, d := range list {
			if d.Default {
				return d, true
			}
		}
		if len(list) > 0 {
			return list[0], true
		}
		return Device{}, false
	}
	if id, name, ok := strings.Cut(sel, "|"); ok && isHex(id) {
		for _, d := range list {
			if d.ID == id {
				return d, true
			}
		}
		sel = name
	}
	for _, d := range list {
		if d.ID == sel {
			return d, true
		}
	}
	for _, d := range list {
		if strings.EqualFold(d.Name, sel) {
			return d, true
		}
	}
	var found []Device
	low := strings.ToLower(sel)
	for _, d := range list {
		if strings.Contains(strings.ToLower(d.Name), low) {
			found = append(found, d)
		}
	}
	if len(found) == 1 {
		return found[0], true
	}
	return Device{}, false
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F') {
			return false
		}
	}
	return true
}

// streamSpec describes a device stream to open.
type streamSpec struct {
	name     string // "call", "ring", "test-tone", "meter"
	output   *Device
	input    *Device
	rate     int           // 0: the device's native rate
	period   time.Duration // device period
	periods  int           // periods in the device buffer; 0: the backend's default
	data     func(out, in []int16)
	onLost   func(error)
	describe string // device names, for errors
}

// deviceStream is one running malgo device.
type deviceStream struct {
	ctx      *Context
	dev      *malgo.Device
	pin      runtime.Pinner
	rate     int
	name     string
	describe string
	data     func(out, in []int16)
	onLost   func(error)

	closing  atomic.Bool
	lost     atomic.Pointer[error]
	closeOne sync.Once
}

// open starts a device stream as spec says.
func (c *Context) open(spec streamSpec) (*deviceStream, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	var kind malgo.DeviceType
	switch {
	case spec.output != nil && spec.input != nil:
		kind = malgo.Duplex
	case spec.output != nil:
		kind = malgo.Playback
	default:
		kind = malgo.Capture
	}
	s := &deviceStream{ctx: c, name: spec.name, describe: spec.describe, data: spec.data, onLost: spec.onLost}
	cfg := malgo.DefaultDeviceConfig(kind)
	cfg.SampleRate = uint32(max(spec.rate, 0))
	if spec.period > 0 {
		cfg.PeriodSizeInMilliseconds = uint32(max(1, spec.period/time.Millisecond))
	}
	if spec.periods > 0 {
		cfg.Periods = uint32(spec.periods)
	}
	cfg.PerformanceProfile = malgo.LowLatency
	if spec.output != nil {
		cfg.Playback.Format = malgo.FormatS16
		cfg.Playback.Channels = 1
		id := new(malgo.DeviceID)
		*id = spec.output.raw
		s.pin.Pin(id)
		cfg.Playback.DeviceID = unsafe.Pointer(id)
	}
	if spec.input != nil {
		cfg.Capture.Format = malgo.FormatS16
		cfg.Capture.Channels = 1
		id := new(malgo.DeviceID)
		*id = spec.input.raw
		s.pin.Pin(id)
		cfg.Capture.DeviceID = unsafe.Pointer(id)
	}
	dev, err := malgo.InitDevice(c.mctx.Context, cfg, malgo.DeviceCallbacks{
		Data: s.onData,
		Stop: s.onStop,
	})
	if err != nil {
		s.pin.Unpin()
		return nil, fmt.Errorf("audio: open %s: %w", spec.describe, err)
	}
	s.dev = dev
	s.rate = int(dev.SampleRate())
	if err := dev.Start(); err != nil {
		dev.Uninit()
		s.pin.Unpin()
		return nil, fmt.Errorf("audio: start %s: %w", spec.describe, err)
	}
	c.streams[s] = struct{}{}
	return s, nil
}

// onData runs on the audio thread.
func (s *deviceStream) onData(outBytes, inBytes []byte, frames uint32) {
	if s.closing.Load() {
		clear(outBytes)
		return
	}
	out := bytesToPCM(outBytes)
	in := bytesToPCM(inBytes)
	s.data(out, in)
	if out != nil {
		if tp := s.ctx.tap.Load(); tp != nil {
			(*tp)(s.name, out, s.rate)
		}
	}
}

// onStop runs when the device stops; unless we asked for it, the device was
// lost.
func (s *deviceStream) onStop() {
	if s.closing.Load() {
		return
	}
	err := fmt.Errorf("audio: %s: %w", s.describe, ErrDeviceLost)
	if !s.lost.CompareAndSwap(nil, &err) {
		return
	}
	slog.Warn("audio device stopped", "stream", s.name, "device", s.describe)
	if s.onLost != nil {
		go s.onLost(err)
	}
}

// err is the loss error, if the device was lost.
func (s *deviceStream) err() error {
	if p := s.lost.Load(); p != nil {
		return *p
	}
	return nil
}

// close stops and releases the device; safe to call more than once.
func (s *deviceStream) close() {
	s.closeOne.Do(func() {
		s.closing.Store(true)
		s.dev.Uninit()
		s.pin.Unpin()
		s.ctx.mu.Lock()
		delete(s.ctx.streams, s)
		s.ctx.mu.Unlock()
	})
}

func bytesToPCM(b []byte) []int16 {
	if len(b) < 2 {
		return nil
	}
	return unsafe.Slice((*int16)(unsafe.Pointer(&b[0])), len(b)/2)
}

// describeDevices names the devices of a stream for errors and logs.
func describeDevices(out, in *Device) string {
	switch {
	case out != nil && in != nil:
		if out.Name == in.Name {
			return fmt.Sprintf("device %q", out.Name)
		}
		return fmt.Sprintf("devices %q and %q", out.Name, in.Name)
	case out != nil:
		return fmt.Sprintf("playback device %q", out.Name)
	case in != nil:
		return fmt.Sprintf("capture device %q", in.Name)
	}
	return "device"
}

// atomicFloat is a float64 that is read and written atomically.
type atomicFloat struct{ bits atomic.Uint64 }

// Load returns the value.
func (f *atomicFloat) Load() float64 { return math.Float64frombits(f.bits.Load()) }

// Store sets the value.
func (f *atomicFloat) Store(v float64) { f.bits.Store(math.Float64bits(v)) }

// levelOf is Level for the audio thread (no allocation).
func levelOf(pcm []int16) float64 { return Level(pcm) }
