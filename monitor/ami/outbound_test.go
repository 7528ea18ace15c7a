package ami

import (
	"bytes"
	"testing"

	"github.com/earshot-app/earshot/monitor"
	"github.com/earshot-app/earshot/monitor/ami/amitest"
)

// queueStatusWithout is basics' recorded QueueStatus reply without the QueueMember items
// of interface iface: a PBX where that phone is no queue member.
func queueStatusWithout(t testing.TB, iface string) [][]byte {
	var out [][]byte
	for _, raw := range loadCanned(t).QueueStatus {
		m := amitest.ParseMsg(raw)
		if m.Get("Event") == "QueueMember" && m.Get("Location") == iface {
			continue
		}
		out = append(out, raw)
	}
	return out
}

// queueStatusLocal is basics' recorded QueueStatus reply with its members as FreePBX
// lists them: Local/1001@from-queue/n instead of PJSIP/1001.
func queueStatusLocal(t testing.TB) [][]byte {
	var out [][]byte
	for _, raw := range loadCanned(t).QueueStatus {
		for _, ext := range []string{"1001", "1002", "1003"} {
			raw = bytes.ReplaceAll(raw, []byte("Location: PJSIP/"+ext+"\r\n"), []byte("Location: Local/"+ext+"@from-queue/n\r\n"))
		}
		out = append(out, raw)
	}
	return out
}

// withQueueStatus is a plain replay of name whose resync gets the given QueueStatus reply.
func withQueueStatus(name string, qs func(testing.TB) [][]byte) func(t *testing.T) *amitest.Script {
	return func(t *testing.T) *amitest.Script {
		sc := idleScript(t, name, nil)
		sc.QueueStatus = qs(t)
		return sc
	}
}

// TestOutboundFromAPhoneNotInAnyQueue: agent 1001 dials customer 7003 (context agents)
// while the PBX's QueueStatus does not list 1001. At its Newchannel the call can only
// look inbound (customer "1001", hotline "7003"); the dialplan's DIRECTION=outbound
// corrects it: no customer yet, no hotline (1001 presents its own number), the placing
// agent "Agent 1001" as the last agent; then the customer's leg gives the customer.
func TestOutboundFromAPhoneNotInAnyQueue(t *testing.T) {
	call := "1795669146.53"
	playScenario(t, scenarioCase{
		name:   "agent-manual-outbound",
		script: withQueueStatus("agent-manual-outbound", func(t testing.TB) [][]byte { return queueStatusWithout(t, "PJSIP/1001") }),
		checks: []check{
			{desc: "agent dials: an early guess", after: on("Newchannel", "Channel", "PJSIP/1001-00000035"), total: 1, rows: map[string]row{
				call: {customer: "1001", hotline: "7003", status: monitor.StatusCalling, dir: monitor.Inbound}}},
			{desc: "DIRECTION=outbound corrects it", after: on("VarSet", "Variable", "__DIRECTION"), total: 1, rows: map[string]row{
				call: {status: monitor.StatusCalling, agent: "Agent 1001", dir: monitor.Outbound}}},
			{desc: "customer rings", after: on("DialBegin"), total: 1, rows: map[string]row{
				call: {customer: "7003", status: monitor.StatusRinging, agent: "Agent 1001", dir: monitor.Outbound}}},
			{desc: "customer answers", after: on("DialEnd", "DialStatus", "ANSWER"), total: 1, rows: map[string]row{
				call: {customer: "7003", status: monitor.StatusAnswered, agent: "Agent 1001", answer: "1795669148.563850", dir: monitor.Outbound}}},
			{desc: "customer Hangup", after: on("Hangup", "Channel", "PJSIP/7003-00000036"), total: 0, rows: map[string]row{call: {gone: true}}},
		},
	})
}

// TestOutboundFreePBXMembers: the same call where the queues list their members as
// Local/1001@from-queue/n (FreePBX): 1001 is known as an agent by its extension, so the
// call is outbound from its first event, with the member's name.
func TestOutboundFreePBXMembers(t *testing.T) {
	call := "1795669146.53"
	playScenario(t, scenarioCase{
		name:   "agent-manual-outbound",
		script: withQueueStatus("agent-manual-outbound", queueStatusLocal),
		checks: []check{
			{desc: "agent dials", after: on("Newchannel", "Channel", "PJSIP/1001-00000035"), total: 1, rows: map[string]row{
				call: {status: monitor.StatusCalling, agent: "Agent 1001", dir: monitor.Outbound}}},
			{desc: "customer rings", after: on("DialBegin"), total: 1, rows: map[string]row{
				call: {customer: "7003", status: monitor.StatusRinging, agent: "Agent 1001", dir: monitor.Outbound}}},
			{desc: "customer Hangup", after: on("Hangup", "Channel", "PJSIP/7003-00000036"), total: 0, rows: map[string]row{call: {gone: true}}},
		},
	})
}

// TestCampaignFromAPhoneNotInAnyQueue: the dialer's Originate rings 1002, which no queue
// lists. The call looks inbound from 1002 until the Dest ChanVariables of its DialBegin
// say CAMPAIGN and DIRECTION=outbound; then the customer column is cleared, the hotline
// is the presented CallerID 19006000, and the last agent is the phone's own name
// ("Agent 1002", not the campaign name the Originate put on the channel).
func TestCampaignFromAPhoneNotInAnyQueue(t *testing.T) {
	call := "1795668882.6"
	out := row{hotline: "19006000", status: monitor.StatusCalling, agent: "Agent 1002", dir: monitor.Outbound, campaign: "Khuyen-mai-T12"}
	ringing := out
	ringing.customer, ringing.status = "7002", monitor.StatusRinging
	playScenario(t, scenarioCase{
		name:    "outbound-campaign",
		foreign: map[string]bool{"outbound-campaign-02": true},
		script: func(t *testing.T) *amitest.Script {
			sc := idleScript(t, "outbound-campaign", map[string]bool{"outbound-campaign-02": true})
			sc.QueueStatus = queueStatusWithout(t, "PJSIP/1002")
			return sc
		},
		checks: []check{
			{desc: "t0.51 agent leg: an early guess", after: on("Newchannel", "Channel", "PJSIP/1002-00000006"), total: 1, rows: map[string]row{
				call: {customer: "1002", status: monitor.StatusCalling, dir: monitor.Inbound}}},
			{desc: "t0.51 campaign known", after: on("DialBegin", "DestChannel", "PJSIP/1002-00000006"), total: 1, rows: map[string]row{call: out}},
			{desc: "t2.02 customer rings", after: on("DialBegin", "DestChannel", "PJSIP/7002-00000007"), total: 1, rows: map[string]row{call: ringing}},
			{desc: "t9.04 customer Hangup", after: on("Hangup", "Channel", "PJSIP/7002-00000007"), total: 0, rows: map[string]row{call: {gone: true}}},
		},
	})
}
