// Package demo is Earshot's embedded simulated contact centre: a monitor.Driver that
// needs no PBX. Customers call the hotlines (1900…/1800…), listen to the IVR, wait in
// Vietnamese-named queues, ring agents (who sometimes do not answer, so the queue retries
// the next one), talk and hang up, or give up and abandon; agents on outbound campaigns
// dial customers' mobiles, which ring and are answered or not. Supervisor actions change
// the simulated calls as a PBX would.
//
// The simulation is a discrete-event simulation over an event heap keyed by simulated
// time, driven by one seeded random source: for a given Config (Seed, Calls, Start, ...)
// the event stream is always the same. Step and Advance run it synchronously up to a
// simulated instant, so tests cover simulated hours in milliseconds; Run drives it in
// real time for the app. Truth reports the simulator's own view of every call, which is
// what a correct monitor.Board fed by the driver must show.
package demo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/earshot-app/earshot/monitor"
)

// DefaultCalls is the number of concurrent calls when Config.Calls is zero or negative.
const DefaultCalls = 60

// DefaultOutboundShare is the share of the concurrent calls that are outbound when
// Config.OutboundShare is zero.
const DefaultOutboundShare = 0.2

// DefaultSupervisor is the supervisor's name when Config.Supervisor is empty.
const DefaultSupervisor = "Supervisor"

// DefaultTick is how often Run advances the simulation when Config.Tick is zero.
const DefaultTick = 100 * time.Millisecond

// Config describes the simulated contact centre. The zero value is a lively centre of
// DefaultCalls concurrent calls in the default Vietnamese queues.
type Config struct {
	// Seed selects the simulation: the same Seed (with the same other settings and
	// Start) gives the same calls and events.
	Seed int64
	// Calls is the number of concurrent calls the centre hovers around; zero or
	// negative means DefaultCalls. Arrival rates and the agent pool scale with it.
	Calls int
	// OutboundShare is the share of Calls that are outbound (campaign calls and
	// callbacks): zero means DefaultOutboundShare, a negative value no outbound calls.
	OutboundShare float64
	// Queues are the inbound queues; nil means DefaultQueues().
	Queues []Queue
	// Agents lists the agents explicitly; nil generates a pool sized for Calls (see
	// docs/demo.md). Agents without queues work the outbound campaigns.
	Agents []AgentSpec
	// Campaigns names the outbound campaigns; nil means DefaultCampaigns().
	Campaigns []string
	// OutboundNumbers are the caller numbers outbound calls present (the "hotline"
	// column of outbound calls); nil means DefaultOutboundNumbers().
	OutboundNumbers []string
	// Supervisor is the supervisor's name: the party of a stolen call and the name on
	// monitoring sessions; empty means DefaultSupervisor.
	Supervisor string
	// Start is the simulated instant New starts at (the centre is already busy then: it
	// has been simulated for a while before). Zero means Clock.Now().
	Start time.Time
	// Clock drives Run; nil means the wall clock.
	Clock Clock
	// Tick is how often Run advances the simulation; zero means DefaultTick.
	Tick time.Duration
	// Logger receives the driver's log lines; nil means slog.Default().
	Logger *slog.Logger
	// OnMonitor, when set, is called for listen, whisper, barge and steal: it rings the
	// supervisor's softphone. The call shows monitor.MonitorPending from the request on,
	// and the hook reports what became of the supervisor's call through r.Ticket:
	// Answered when the supervisor picks up (the call then shows the mode, or the steal
	// happens), Failed when they are not connected (EventMonitorStopped: the call is as
	// it was), Ended when the supervisor's call is over (the marker goes; a stolen call
	// ends). Act returns when the hook does: nil once the supervisor answered, or
	// while the phone still rings (the outcome follows through the ticket, as with a
	// PBX's asynchronous originate); an error when the phone could not be rung or was
	// not answered: the action fails with that error's typed cause (or
	// monitor.ErrRejected) and the call is left as it was. Switching the mode of a
	// connected session does not call it. Without OnMonitor the supervisor is
	// connected at once.
	OnMonitor func(ctx context.Context, r MonitorRequest) error
}

// Queue is one inbound queue of the simulated centre.
type Queue struct {
	// Name is the queue's name as the grid shows it ("Chăm sóc khách hàng"); an empty
	// name becomes "Hàng đợi N" (N counts from 1), and a repeated name is skipped.
	Name string
	// Hotlines are the numbers customers dial to reach this queue (through the IVR);
	// each call picks one. Empty means the first default hotline.
	Hotlines []string
	// Share is the queue's relative share of inbound calls; zero means 1.
	Share float64
	// Staffing is the generated agent pool relative to the queue's offered load: 1 is
	// just enough on average, below 1 makes callers wait and abandon. Zero means 1.
	Staffing float64
	// TalkTime is the mean talk time; zero means 3 minutes.
	TalkTime time.Duration
	// Patience is how long callers wait in the queue on average before they hang up;
	// zero means 2 minutes.
	Patience time.Duration
}

// AgentSpec is an agent given explicitly in Config.Agents.
type AgentSpec struct {
	// ID is the extension ("1001"): what a transfer names.
	ID string
	// Name is the display name; empty means "Agent <ID>".
	Name string
	// Queues are the queue names the agent answers; none makes an outbound agent.
	Queues []string
}

// MonitorRequest tells Config.OnMonitor which supervisor action to connect.
type MonitorRequest struct {
	// Kind is listen, whisper, barge or steal.
	Kind monitor.ActionKind
	// Mode is the monitoring mode asked for (MonitorNone for steal).
	Mode monitor.MonitorMode
	// Call is the call as it was when the action was asked for.
	Call monitor.Call
	// AgentID is the extension of the agent on the call ("" if no agent answered yet).
	AgentID string
	// Supervisor is the supervisor's name.
	Supervisor string
	// Ticket is how the hook reports what became of the supervisor's call (see
	// MonitorTicket); every request from the driver has one.
	Ticket *MonitorTicket
}

// DefaultQueues returns the default queues: customer care, sales, technical support and
// complaints, reached through one 1900 hotline (paid) and one 1800 toll-free line.
func DefaultQueues() []Queue {
	return []Queue{
		{Name: "Chăm sóc khách hàng", Hotlines: []string{"19002468", "18001357"}, Share: 0.40, Staffing: 0.98, TalkTime: 150 * time.Second, Patience: 2 * time.Minute},
		{Name: "Kinh doanh", Hotlines: []string{"19002468", "19006688"}, Share: 0.25, Staffing: 1.02, TalkTime: 210 * time.Second, Patience: 150 * time.Second},
		{Name: "Kỹ thuật", Hotlines: []string{"19002468", "18001357"}, Share: 0.20, Staffing: 0.98, TalkTime: 4 * time.Minute, Patience: 3 * time.Minute},
		{Name: "Khiếu nại", Hotlines: []string{"18001357"}, Share: 0.15, Staffing: 0.93, TalkTime: 4 * time.Minute, Patience: 2 * time.Minute},
	}
}

// DefaultCampaigns returns the default outbound campaign names.
func DefaultCampaigns() []string {
	return []string{"Khuyến mãi Tết 2027", "Gia hạn hợp đồng", "Khảo sát hài lòng", "Nhắc thanh toán cước"}
}

// DefaultOutboundNumbers returns the default caller numbers of outbound calls: the
// centre's fixed lines in Hồ Chí Minh City (028) and Hà Nội (024).
func DefaultOutboundNumbers() []string {
	return []string{"02873002468", "02473002468"}
}

// Driver is the simulated contact centre; it implements monitor.Driver. Its methods are
// safe for concurrent use. Events go to the sink given to Run or Attach; the sink must
// not call back into the Driver.
type Driver struct {
	log        *slog.Logger
	clock      Clock
	tick       time.Duration
	supervisor string
	seed       int64

	mu   sync.Mutex
	hook func(context.Context, MonitorRequest) error // guarded by mu
	sim  sim

	runMu   sync.Mutex
	running bool
}

// New builds the simulated centre at cfg.Start, already busy: the simulation has run
// for a while (unobserved) before Start so that calls are in every state.
func New(cfg Config) *Driver {
	d := &Driver{
		log:        cfg.Logger,
		clock:      cfg.Clock,
		tick:       cfg.Tick,
		hook:       cfg.OnMonitor,
		supervisor: cfg.Supervisor,
		seed:       cfg.Seed,
	}
	if d.log == nil {
		d.log = slog.Default()
	}
	if d.clock == nil {
		d.clock = WallClock()
	}
	if d.tick <= 0 {
		d.tick = DefaultTick
	}
	if d.supervisor == "" {
		d.supervisor = DefaultSupervisor
	}
	start := cfg.Start
	if start.IsZero() {
		start = d.clock.Now()
	}
	d.sim.init(cfg, d.supervisor, start.UnixNano(), d.log)
	d.log.Debug("demo: contact centre ready", "calls", len(d.sim.calls), "agents", len(d.sim.agents),
		"target", d.sim.target, "seed", cfg.Seed)
	return d
}

// Name returns "demo".
func (d *Driver) Name() string { return "demo" }

// Permissions allows every action: the demo supervisor may do anything.
func (d *Driver) Permissions() monitor.Permissions { return monitor.AllPermissions }

// Supervisor returns the supervisor's name the driver uses.
func (d *Driver) Supervisor() string { return d.supervisor }

// Now returns the simulated time the simulation has reached. It never blocks, so it
// can serve as the clock of the monitor.Board the driver feeds (monitor.Options.Now).
func (d *Driver) Now() time.Time {
	return time.Unix(0, d.sim.published.Load())
}

// Attach connects sink as Run does, without the real-time loop: it sends an EventSync
// with every call in progress, then reports the feed connected; from then on Step,
// Advance and Act send their events to sink. Attach(nil) detaches.
func (d *Driver) Attach(sink monitor.Sink) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.attachLocked(sink)
}

func (d *Driver) attachLocked(sink monitor.Sink) {
	d.sim.sink = sink
	if sink == nil {
		return
	}
	at := time.Unix(0, d.sim.now)
	// the full state first, then "connected": a reader that waits for the feed to be
	// connected sees every call (the order monitor.Driver.Run documents)
	sink.Apply(monitor.Event{Kind: monitor.EventSync, At: at, Calls: d.sim.truth()})
	sink.Apply(monitor.Event{Kind: monitor.EventFeed, At: at,
		Feed: monitor.Feed{State: monitor.FeedConnected, Driver: d.Name(), Since: at}})
}

// Step runs the simulation up to the simulated instant to, event by event, sending the
// events to the attached sink; it returns the number of simulation steps taken. A time
// before Now does nothing.
func (d *Driver) Step(to time.Time) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sim.step(to.UnixNano())
}

// Advance runs the simulation for the simulated duration dt (see Step).
func (d *Driver) Advance(dt time.Duration) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sim.step(d.sim.now + int64(dt))
}

// Run drives the simulation in real time (on Config.Clock) until ctx is cancelled: it
// catches the simulation up with the clock, reports the feed connected, sends an
// EventSync with every call in progress, then the events as they happen. It returns
// ctx.Err(). Only one Run may be active at a time.
func (d *Driver) Run(ctx context.Context, sink monitor.Sink) error {
	if sink == nil {
		return errors.New("demo: Run needs a sink")
	}
	d.runMu.Lock()
	if d.running {
		d.runMu.Unlock()
		return errors.New("demo: the simulated contact centre is already running")
	}
	d.running = true
	d.runMu.Unlock()
	defer func() {
		d.runMu.Lock()
		d.running = false
		d.runMu.Unlock()
	}()

	d.mu.Lock()
	d.sim.sink = nil
	d.sim.step(d.clock.Now().UnixNano())
	d.attachLocked(sink)
	d.mu.Unlock()
	d.log.Info("demo: simulated contact centre running", "calls", d.sim.target, "seed", d.seed)
	defer func() {
		d.mu.Lock()
		d.sim.sink = nil
		d.mu.Unlock()
	}()
	last := d.clock.Now()
	for {
		// pace from the last step, so a clock that jumped meanwhile is caught up at once
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-d.clock.After(d.tick - d.clock.Now().Sub(last)):
		}
		last = d.clock.Now()
		d.Step(last)
	}
}

// Truth returns the simulator's own view of every call in progress, sorted by ID: what
// a monitor.Board fed by this driver must show. It is computed from the simulation's
// state, independently of any Board.
func (d *Driver) Truth() []monitor.Call {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sim.truth()
}

// TruthCall returns the simulator's view of one call in progress.
func (d *Driver) TruthCall(id string) (monitor.Call, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.sim.calls[id]
	if c == nil {
		return monitor.Call{}, false
	}
	return d.sim.view(c), true
}

// Len returns the number of calls in progress.
func (d *Driver) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.sim.calls)
}

// Events returns how many events the simulation has produced since New (whether or not
// a sink was attached).
func (d *Driver) Events() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sim.events
}

// Agents lists every agent with its availability, sorted by ID.
func (d *Driver) Agents(ctx context.Context) ([]monitor.Agent, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("demo: list agents: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]monitor.Agent, len(d.sim.agents))
	for i, a := range d.sim.agents {
		out[i] = monitor.Agent{ID: a.id, Name: a.name, Queues: slices.Clone(a.queueNames), State: a.state}
	}
	slices.SortFunc(out, func(x, y monitor.Agent) int {
		if r := cmp.Compare(len(x.ID), len(y.ID)); r != 0 {
			return r
		}
		return cmp.Compare(x.ID, y.ID)
	})
	return out, nil
}

// SetOnMonitor replaces Config.OnMonitor (nil removes it): the app builds the driver
// before its softphone exists and connects the two afterwards. Requests already given
// to the old hook finish with it (their tickets stay valid).
func (d *Driver) SetOnMonitor(f func(ctx context.Context, r MonitorRequest) error) {
	d.mu.Lock()
	d.hook = f
	d.mu.Unlock()
}

// StopMonitor ends the supervisor's monitoring session on the call (for the SIP side:
// the supervisor hung up the monitoring call). It does nothing if there is none.
func (d *Driver) StopMonitor(callID string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.sim.calls[callID]
	if c == nil {
		return &monitor.ActionError{Action: monitor.Action{Kind: monitor.ActListen, CallID: callID}, Err: monitor.ErrCallGone}
	}
	d.sim.stopMonitor(c)
	return nil
}

var _ monitor.Driver = (*Driver)(nil)
