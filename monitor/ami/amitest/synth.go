package amitest

import (
	"fmt"
	"strings"
)

// Replies no recording has, written the way Asterisk 22's source writes them. Each
// carries the ActionID "synth", which the Server rewrites to the client's like a
// recorded one. Use them only where the fixtures have no recorded reply.

// DialplanReply is manager_show_dialplan's (main/pbx.c) reply listing one extension of a
// context with the three priorities the lab's steal and transfer contexts have
// (config/extensions.conf: NoOp, Dial, Hangup): a listack "DialPlan list will follow",
// one ListDialplan event per priority, and ShowDialPlanComplete with its counters.
func DialplanReply(context, exten string) [][]byte {
	out := [][]byte{[]byte("Response: Success\r\nActionID: synth\r\nEventList: start\r\nMessage: DialPlan list will follow\r\n\r\n")}
	for i, app := range [][2]string{{"NoOp", context + ": ${CHANNEL} -> ${EXTEN}"}, {"Dial", "PJSIP/${EXTEN},30"}, {"Hangup", ""}} {
		out = append(out, []byte(fmt.Sprintf("Event: ListDialplan\r\nActionID: synth\r\nContext: %s\r\nExtension: %s\r\nPriority: %d\r\nApplication: %s\r\nAppData: %s\r\nRegistrar: pbx_config\r\n\r\n",
			context, exten, i+1, app[0], app[1])))
	}
	out = append(out, []byte("Event: ShowDialPlanComplete\r\nActionID: synth\r\nEventList: Complete\r\nListItems: 3\r\nListExtensions: 1\r\nListPriorities: 3\r\nListContexts: 1\r\n\r\n"))
	return out
}

// DeviceStateReply is action_devicestatelist's (res/res_manager_devicestate.c) reply with
// one device: the listack, a DeviceStateChange item with devicestate.c's "Device:" and
// "State:" fields (states as recorded in the fixtures' DeviceStateChange events:
// NOT_INUSE, INUSE, RINGING, ...), and DeviceStateListComplete.
func DeviceStateReply(device, state string) [][]byte {
	return [][]byte{
		[]byte("Response: Success\r\nActionID: synth\r\nEventList: start\r\nMessage: Device State Changes will follow\r\n\r\n"),
		[]byte("Event: DeviceStateChange\r\nActionID: synth\r\nDevice: " + device + "\r\nState: " + state + "\r\n\r\n"),
		[]byte("Event: DeviceStateListComplete\r\nActionID: synth\r\nEventList: Complete\r\nListItems: 1\r\n\r\n"),
	}
}

// ManagerSettingsReply is the reply to "Action: Command" with "Command: manager show
// settings": the CLI lines of main/manager.c's handle_manager_show_settings (FORMAT
// "  %-25.25s  %s"), one Output header per line and a last empty one, as the recorded
// Command replies of basics have them. Only some of the settings lines are given.
func ManagerSettingsReply(channelvars string) [][]byte {
	var b strings.Builder
	b.WriteString("Response: Success\r\nActionID: synth\r\nMessage: Command output follows\r\nOutput: \r\nOutput: Global Settings:\r\nOutput: ----------------\r\n")
	for _, kv := range [][2]string{{"Manager (AMI):", "Yes"}, {"Timestamp events:", "Yes"}, {"Channel vars:", channelvars}, {"Disabled events:", ""}, {"Debug:", "No"}} {
		fmt.Fprintf(&b, "Output:   %-25.25s  %s\r\n", kv[0], kv[1])
	}
	b.WriteString("Output: \r\n\r\n")
	return [][]byte{[]byte(b.String())}
}
