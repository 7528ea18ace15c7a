package demosip

import (
	"fmt"
	"sync"
	"time"

	"github.com/earshot-app/earshot/monitor"
)

// Mode is how the supervisor is attached to a monitored call.
type Mode uint8

const (
	// ModeListen: the supervisor hears agent and customer; nobody hears the supervisor.
	ModeListen Mode = iota + 1
	// ModeWhisper: the supervisor hears both and is heard by the agent only.
	ModeWhisper
	// ModeBarge: a three-way call, everybody hears everybody.
	ModeBarge
	// ModeSteal: the agent is gone; the supervisor and the customer talk.
	ModeSteal
)

// String returns the mode's name.
func (m Mode) String() string {
	switch m {
	case ModeListen:
		return "listen"
	case ModeWhisper:
		return "whisper"
	case ModeBarge:
		return "barge"
	case ModeSteal:
		return "steal"
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// modeOfMonitor maps the demo's monitoring mode to a Mode (0 for none or pending).
func modeOfMonitor(m monitor.MonitorMode) Mode {
	switch m {
	case monitor.MonitorListen:
		return ModeListen
	case monitor.MonitorWhisper:
		return ModeWhisper
	case monitor.MonitorBarge:
		return ModeBarge
	}
	return 0
}

// modeOfAction maps a supervisor action to the Mode it asks for (0 if none).
func modeOfAction(k monitor.ActionKind) Mode {
	switch k {
	case monitor.ActListen:
		return ModeListen
	case monitor.ActWhisper:
		return ModeWhisper
	case monitor.ActBarge:
		return ModeBarge
	case monitor.ActSteal:
		return ModeSteal
	}
	return 0
}

// actionOfDigit is the DTMF mode switch of Asterisk's ChanSpy with option d: 4 listen,
// 5 whisper, 6 barge.
func actionOfDigit(d rune) (monitor.ActionKind, bool) {
	switch d {
	case '4':
		return monitor.ActListen, true
	case '5':
		return monitor.ActWhisper, true
	case '6':
		return monitor.ActBarge, true
	}
	return 0, false
}

// Side is one party of a monitored call in the "who hears what" model.
type Side uint8

const (
	// SideSupervisor is what the PBX sends to the supervisor's softphone.
	SideSupervisor Side = iota + 1
	// SideAgent is what the agent hears.
	SideAgent
	// SideCustomer is what the customer hears.
	SideCustomer
)

// String returns the side's name.
func (s Side) String() string {
	switch s {
	case SideSupervisor:
		return "supervisor"
	case SideAgent:
		return "agent"
	case SideCustomer:
		return "customer"
	}
	return fmt.Sprintf("Side(%d)", uint8(s))
}

// Routes says, for a mode, who hears whom. The agent and the customer always hear each
// other while the agent is on the call.
type Routes struct {
	// AgentPresent: the agent is on the call (every mode but steal).
	AgentPresent bool
	// SupervisorHearsAgent and SupervisorHearsCustomer: what the supervisor hears.
	SupervisorHearsAgent, SupervisorHearsCustomer bool
	// AgentHearsSupervisor and CustomerHearsSupervisor: who hears the supervisor.
	AgentHearsSupervisor, CustomerHearsSupervisor bool
}

// RoutesOf returns who hears whom in mode m, as on Asterisk's ChanSpy (listen: q, whisper:
// w, barge: B) and after a steal (the agent's leg is gone).
func RoutesOf(m Mode) Routes {
	switch m {
	case ModeWhisper:
		return Routes{AgentPresent: true, SupervisorHearsAgent: true, SupervisorHearsCustomer: true, AgentHearsSupervisor: true}
	case ModeBarge:
		return Routes{AgentPresent: true, SupervisorHearsAgent: true, SupervisorHearsCustomer: true, AgentHearsSupervisor: true, CustomerHearsSupervisor: true}
	case ModeSteal:
		return Routes{SupervisorHearsCustomer: true, CustomerHearsSupervisor: true}
	}
	return Routes{AgentPresent: true, SupervisorHearsAgent: true, SupervisorHearsCustomer: true}
}

// mixFrame computes one frame of what each side hears, from the agent's and customer's
// voices and the supervisor's audio, in mode m. toAgent is all zeros when the agent is
// not on the call.
func mixFrame(m Mode, agent, customer, supervisor, toSup, toAgent, toCust []int16) {
	r := RoutesOf(m)
	for i := range toSup {
		var a, c, s int32
		if r.AgentPresent {
			a = int32(agent[i])
		}
		c = int32(customer[i])
		s = int32(supervisor[i])
		var sup, ag, cu int32
		if r.SupervisorHearsAgent {
			sup += a
		}
		if r.SupervisorHearsCustomer {
			sup += c
		}
		if r.AgentPresent {
			ag = c
			if r.AgentHearsSupervisor {
				ag += s
			}
		}
		cu = a
		if r.CustomerHearsSupervisor {
			cu += s
		}
		toSup[i], toAgent[i], toCust[i] = clip16(sup), clip16(ag), clip16(cu)
	}
}

func clip16(v int32) int16 {
	if v > 32767 {
		return 32767
	}
	if v < -32768 {
		return -32768
	}
	return int16(v)
}

// ring keeps the most recent audio a side heard.
type ring struct {
	buf   []int16
	pos   int    // next write position
	total uint64 // samples ever written
}

func newRing(d time.Duration) *ring { return &ring{buf: make([]int16, durSamples(d))} }

func (r *ring) write(pcm []int16) {
	for len(pcm) > 0 {
		n := copy(r.buf[r.pos:], pcm)
		pcm = pcm[n:]
		r.pos = (r.pos + n) % len(r.buf)
		r.total += uint64(n)
	}
}

// last copies the most recent n samples (fewer if fewer were written), oldest first.
func (r *ring) last(n int) []int16 {
	n = min(n, len(r.buf))
	if uint64(n) > r.total {
		n = int(r.total)
	}
	out := make([]int16, n)
	start := (r.pos - n + len(r.buf)) % len(r.buf)
	k := copy(out, r.buf[start:])
	copy(out[k:], r.buf[:n-k])
	return out
}

// hearing is the "who hears what" record of one session: for each side, the last few
// seconds of audio it heard.
type hearing struct {
	mu    sync.Mutex
	sides [3]*ring
}

// hearingSpan is how much audio a session keeps per side.
const hearingSpan = 5 * time.Second

func newHearing() *hearing {
	h := &hearing{}
	for i := range h.sides {
		h.sides[i] = newRing(hearingSpan)
	}
	return h
}

func (h *hearing) record(toSup, toAgent, toCust []int16) {
	h.mu.Lock()
	h.sides[SideSupervisor-1].write(toSup)
	h.sides[SideAgent-1].write(toAgent)
	h.sides[SideCustomer-1].write(toCust)
	h.mu.Unlock()
}

func (h *hearing) last(s Side, d time.Duration) []int16 {
	if s < SideSupervisor || s > SideCustomer {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.sides[s-1].last(durSamples(d))
}
