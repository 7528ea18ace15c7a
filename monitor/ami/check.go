package ami

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/earshot-app/earshot/monitor"
)

// CheckStatus is how one item of a PBX check came out.
type CheckStatus uint8

const (
	// CheckOK: the item is set up as Earshot needs it.
	CheckOK CheckStatus = iota + 1
	// CheckFailed: the item is missing or wrong; Detail says what to change.
	CheckFailed
	// CheckUnknown: the item could not be checked (the AMI account may not look, or
	// there is nothing to look at yet); Detail says why.
	CheckUnknown
)

// String returns "ok", "failed" or "unknown".
func (s CheckStatus) String() string {
	switch s {
	case CheckOK:
		return "ok"
	case CheckFailed:
		return "failed"
	}
	return "unknown"
}

// CheckItem is one item of a PBX check.
type CheckItem struct {
	// Name names what was checked ("login", "channel variables", "supervisor endpoint",
	// "steal context", "transfer context", "permission: Originate", ...).
	Name string
	// Status is how it came out.
	Status CheckStatus
	// Detail is one clear sentence: what was found, or what to change.
	Detail string
}

// CheckReport is the outcome of Driver.Check, item by item in the order checked.
type CheckReport struct {
	// Items are the checks made.
	Items []CheckItem
}

// OK reports whether no item failed (items that could not be checked do not count).
func (r CheckReport) OK() bool { return len(r.Failed()) == 0 }

// Failed returns the items that failed.
func (r CheckReport) Failed() []CheckItem {
	var out []CheckItem
	for _, it := range r.Items {
		if it.Status == CheckFailed {
			out = append(out, it)
		}
	}
	return out
}

// String lists every item, one per line: "ok      login: Logged in ...".
func (r CheckReport) String() string {
	var b strings.Builder
	for _, it := range r.Items {
		fmt.Fprintf(&b, "%-8s%s: %s\n", it.Status, it.Name, it.Detail)
	}
	return b.String()
}

func (r *CheckReport) add(name string, st CheckStatus, format string, args ...any) {
	r.Items = append(r.Items, CheckItem{Name: name, Status: st, Detail: fmt.Sprintf(format, args...)})
}

// listReply sends a list action and returns its items, or the PBX's refusal.
func listReply(ctx context.Context, s *session, a *action, complete string) ([]*Message, error) {
	p, err := s.do(ctx, &pending{list: complete}, a)
	if err != nil {
		return nil, err
	}
	return p.items, nil
}

// refusedWith returns the PBX's words when err is its refusal of an action.
func refusedWith(err error) (string, bool) {
	var re *refusalError
	if errors.As(err, &re) {
		return re.msg, true
	}
	return "", false
}

func isPermissionDenied(msg string) bool {
	return strings.Contains(strings.ToLower(msg), "permission denied")
}

func isUnknownAction(msg string) bool {
	return strings.HasPrefix(strings.ToLower(msg), "invalid/unknown command")
}

// Check logs in and checks, item by item, what docs/asterisk.md asks the PBX
// administrator to set up: the login and the resync lists; that the channel variables
// Earshot reads reach it (manager.conf channelvars); that the supervisor's endpoint
// exists and has a registered contact; that the steal and transfer contexts (and the
// steal extension) exist; and that the account may send the actions Earshot uses (each
// probed with an action that cannot do anything: no channel, or one that does not
// exist). It returns an error, wrapping monitor.ErrAuth or monitor.ErrUnreachable, only
// when it could not log in (the report then says so too); everything else is in the
// report. A refused permission also shows in Permissions from then on.
func (d *Driver) Check(ctx context.Context) (CheckReport, error) {
	var r CheckReport
	s, release, err := d.session(ctx)
	if err != nil {
		r.add("login", CheckFailed, "%s (%v)", monitor.Sentence(err), err)
		return r, err
	}
	defer release()
	how := "with the MD5 challenge"
	if d.cfg.TLS {
		how = "over TLS"
	}
	r.add("login", CheckOK, "Logged in to %s:%d as %q (%s) %s.", d.cfg.Host, d.cfg.Port, d.cfg.User, s.banner, how)

	d.mu.Lock()
	members := len(d.mp.members)
	d.mu.Unlock()
	if members == 0 {
		r.add("queues", CheckFailed, "QueueStatus lists no queue member: agents will have no names and the transfer list will be empty.")
	} else {
		r.add("queues", CheckOK, "QueueStatus lists %d queue members.", members)
	}

	d.checkChannelVars(ctx, s, &r)
	d.checkSupervisor(ctx, s, &r)
	d.checkContext(ctx, s, &r, "steal context", d.cfg.StealContext, d.cfg.StealExten)
	d.checkContext(ctx, s, &r, "transfer context", d.cfg.TransferContext, "")
	d.checkPermissions(ctx, s, &r)
	return r, nil
}

// checkChannelVars checks that manager.conf's channelvars lists the configured
// variables: from "manager show settings" when the account may run it (write command),
// else from the ChanVariable headers of the channels up now.
func (d *Driver) checkChannelVars(ctx context.Context, s *session, r *CheckReport) {
	const name = "channel variables"
	var want []string
	for _, v := range []string{d.cfg.HotlineVar, d.cfg.CampaignVar, d.cfg.DirectionVar} {
		if v != "" {
			want = append(want, v)
		}
	}
	if len(want) == 0 {
		r.add(name, CheckOK, "No channel variables are configured: hotline from the dialled number, direction from the phones.")
		return
	}
	p, err := s.do(ctx, nil, newAction("Command").add("Command", "manager show settings"))
	if err == nil {
		for _, line := range p.resp.Values("Output") {
			v, ok := strings.CutPrefix(strings.TrimSpace(line), "Channel vars:")
			if !ok {
				continue
			}
			have := map[string]bool{}
			for _, n := range strings.Split(v, ",") {
				have[strings.TrimSpace(n)] = true
			}
			var missing []string
			for _, w := range want {
				if !have[w] {
					missing = append(missing, w)
				}
			}
			if len(missing) > 0 {
				r.add(name, CheckFailed, "manager.conf channelvars (%s) lacks %s: add it, then \"manager reload\".", strings.TrimSpace(v), strings.Join(missing, ", "))
			} else {
				r.add(name, CheckOK, "manager.conf channelvars has %s.", strings.Join(want, ", "))
			}
			return
		}
	}
	items, err := listReply(ctx, s, newAction("CoreShowChannels"), "CoreShowChannelsComplete")
	if err != nil {
		r.add(name, CheckUnknown, "Could not list the channels: %v.", err)
		return
	}
	if len(items) == 0 {
		r.add(name, CheckUnknown, "No call is in progress to look at (and the AMI account may not run \"manager show settings\"): place a test call and test again.")
		return
	}
	var missing []string
	for _, w := range want {
		if _, ok := items[0].ChanVar("", w); !ok {
			missing = append(missing, w)
		}
	}
	if len(missing) > 0 {
		r.add(name, CheckFailed, "The channels carry no %s: add it to manager.conf channelvars, then \"manager reload\".", strings.Join(missing, ", "))
		return
	}
	r.add(name, CheckOK, "The channels carry %s.", strings.Join(want, ", "))
}

// checkSupervisor checks that the supervisor's endpoint exists and has a contact to ring.
func (d *Driver) checkSupervisor(ctx context.Context, s *session, r *CheckReport) {
	const name = "supervisor endpoint"
	ep := d.cfg.SupervisorEndpoint
	tech, ext, ok := strings.Cut(ep, "/")
	if ep == "" || !ok || ext == "" {
		r.add(name, CheckFailed, "No supervisor endpoint is set (for example PJSIP/2001): listen, whisper, barge and steal cannot ring you.")
		return
	}
	if strings.EqualFold(tech, "PJSIP") {
		endpoints, err := listReply(ctx, s, newAction("PJSIPShowEndpoints"), "EndpointListComplete")
		if err == nil {
			var found *Message
			for _, m := range endpoints {
				if m.Value("ObjectName") == ext {
					found = m
				}
			}
			if found == nil {
				r.add(name, CheckFailed, "Asterisk has no PJSIP endpoint %q: create it (docs/asterisk.md, section 4) or correct the supervisor endpoint.", ext)
				return
			}
			contacts, err := listReply(ctx, s, newAction("PJSIPShowContacts"), "ContactListComplete")
			if err == nil {
				for _, m := range contacts {
					if m.Value("Endpoint") == ext || m.Value("AOR") == ext {
						r.add(name, CheckOK, "%s is registered from %s (%s).", ep, m.Value("Uri"), m.Value("UserAgent"))
						return
					}
				}
			}
			if c := strings.Trim(found.Value("Contacts"), ", "); c != "" {
				r.add(name, CheckOK, "%s exists; nothing is registered, it rings its permanent contact %s.", ep, c)
				return
			}
			r.add(name, CheckFailed, "%s exists but nothing is registered: register Earshot's softphone as %s (Settings, Softphone).", ep, ext)
			return
		}
		if msg, refused := refusedWith(err); !refused || !isPermissionDenied(msg) {
			r.add(name, CheckUnknown, "Could not list the PJSIP endpoints: %v.", err)
			return
		}
		// PJSIPShowEndpoints needs write "system"; the device state list does not
	}
	states, err := listReply(ctx, s, newAction("DeviceStateList"), "DeviceStateListComplete")
	if err != nil {
		r.add(name, CheckUnknown, "The AMI account may not list endpoints or device states (%v); Earshot does not need that otherwise.", err)
		return
	}
	for _, m := range states {
		if !strings.EqualFold(m.Value("Device"), ep) {
			continue
		}
		switch st := m.Value("State"); st {
		case "UNAVAILABLE":
			r.add(name, CheckFailed, "%s is unavailable: register Earshot's softphone as %s (Settings, Softphone).", ep, ext)
		case "INVALID":
			r.add(name, CheckFailed, "Asterisk has no endpoint %s: create it (docs/asterisk.md, section 4) or correct the supervisor endpoint.", ep)
		default:
			r.add(name, CheckOK, "%s is reachable (device state %s).", ep, st)
		}
		return
	}
	r.add(name, CheckUnknown, "Asterisk reports no state for %s yet.", ep)
}

// checkContext checks that a dialplan context (and extension) exists.
func (d *Driver) checkContext(ctx context.Context, s *session, r *CheckReport, name, context, exten string) {
	if context == "" {
		r.add(name, CheckFailed, "No %s is set.", name)
		return
	}
	a := newAction("ShowDialPlan").add("Context", context)
	if exten != "" {
		a.add("Extension", exten)
	}
	items, err := listReply(ctx, s, a, "ShowDialPlanComplete")
	if err == nil {
		if exten != "" {
			r.add(name, CheckOK, "The dialplan has %s@%s (%d priorities).", exten, context, len(items))
		} else {
			r.add(name, CheckOK, "The dialplan has context %s (%d priorities).", context, len(items))
		}
		return
	}
	msg, refused := refusedWith(err)
	switch {
	case refused && isPermissionDenied(msg):
		r.add(name, CheckUnknown, "The AMI account may not read the dialplan (ShowDialPlan needs write reporting or config).")
	case refused && strings.HasPrefix(msg, "Did not find context"):
		r.add(name, CheckFailed, "The dialplan has no context %s: add it (docs/asterisk.md, section 3) and \"dialplan reload\".", context)
	case refused && strings.HasPrefix(msg, "Did not find extension"):
		r.add(name, CheckFailed, "Context %s has no extension matching %s: add it (docs/asterisk.md, section 3) and \"dialplan reload\".", context, exten)
	default:
		r.add(name, CheckUnknown, "Could not read the dialplan: %v.", err)
	}
}

// A permission probe: an action Earshot uses, sent so that it cannot do anything (no
// channel, or one that does not exist). Asterisk checks the write class before it looks
// at the headers, so "Permission denied" means the class is missing, "Invalid/unknown
// command" that the action does not exist, and any other answer that it is allowed.
type probe struct {
	action  string
	headers [][2]string
	uses    string
	class   string
	kinds   []monitor.ActionKind
}

func (d *Driver) probes() []probe {
	ps := []probe{
		{action: "Originate", uses: "listen, whisper and barge", class: "originate",
			kinds: []monitor.ActionKind{monitor.ActListen, monitor.ActWhisper, monitor.ActBarge}},
		{action: "Redirect", uses: "steal", class: "call", kinds: []monitor.ActionKind{monitor.ActSteal}},
		{action: "Hangup", headers: [][2]string{{"Channel", "PJSIP/earshot-permission-check-00000000"}},
			uses: "hang up", class: "call", kinds: []monitor.ActionKind{monitor.ActHangup}},
	}
	if d.cfg.TransferMethod == TransferBlind {
		ps = append(ps, probe{action: "BlindTransfer", uses: "transfer", class: "call", kinds: []monitor.ActionKind{monitor.ActTransfer}})
	} else {
		ps[1].uses = "steal and transfer"
		ps[1].kinds = append(ps[1].kinds, monitor.ActTransfer)
	}
	return ps
}

func (d *Driver) checkPermissions(ctx context.Context, s *session, r *CheckReport) {
	for _, p := range d.probes() {
		name := "permission: " + p.action
		a := newAction(p.action)
		for _, h := range p.headers {
			a.add(h[0], h[1])
		}
		_, err := s.do(ctx, nil, a)
		msg, refused := refusedWith(err)
		switch {
		case err == nil || (refused && !isPermissionDenied(msg) && !isUnknownAction(msg)):
			r.add(name, CheckOK, "The AMI account may send %s (%s).", p.action, p.uses)
			d.mu.Lock()
			for _, k := range p.kinds {
				d.denied[k] = false
			}
			d.mu.Unlock()
		case refused && isPermissionDenied(msg):
			r.add(name, CheckFailed, "The AMI account may not send %s, so %s will not work: add %q to its write classes in manager.conf.", p.action, p.uses, p.class)
			d.mu.Lock()
			for _, k := range p.kinds {
				d.denied[k] = true
			}
			d.mu.Unlock()
		case refused:
			r.add(name, CheckFailed, "Asterisk does not know the action %s (%s), so %s will not work.", p.action, msg, p.uses)
		default:
			r.add(name, CheckUnknown, "No answer to %s: %v.", p.action, err)
		}
	}
}
