package demosip

import (
	"testing"

	"github.com/earshot-app/earshot/monitor"
	"github.com/earshot-app/earshot/monitor/demo"
)

func TestCallerNameSaysWhatIsMonitored(t *testing.T) {
	call := monitor.Call{ID: "1700000000.12", Customer: "0912345678", LastAgent: "Nguyễn Thị Mai"}
	for _, tc := range []struct {
		r          demo.MonitorRequest
		name, user string
	}{
		{demo.MonitorRequest{Kind: monitor.ActListen, Call: call, AgentID: "1001"}, "Listen: Nguyễn Thị Mai ↔ 0912 345 678", "1001"},
		{demo.MonitorRequest{Kind: monitor.ActWhisper, Call: call, AgentID: "1001"}, "Whisper: Nguyễn Thị Mai ↔ 0912 345 678", "1001"},
		{demo.MonitorRequest{Kind: monitor.ActBarge, Call: call, AgentID: "1001"}, "Barge: Nguyễn Thị Mai ↔ 0912 345 678", "1001"},
		{demo.MonitorRequest{Kind: monitor.ActSteal, Call: call, AgentID: "1001"}, "Steal: Nguyễn Thị Mai ↔ 0912 345 678", "0912345678"},
		{demo.MonitorRequest{Kind: monitor.ActListen, Call: monitor.Call{ID: "7", Customer: "0912345678"}, AgentID: "1002"}, "Listen: Agent 1002 ↔ 0912 345 678", "1002"},
		{demo.MonitorRequest{Kind: monitor.ActListen, Call: monitor.Call{ID: "7", Customer: "0912345678"}}, "Listen: 0912 345 678", "0912345678"},
		{demo.MonitorRequest{Kind: monitor.ActListen, Call: monitor.Call{ID: "7"}}, "Listen: call 7", "demo"},
		{demo.MonitorRequest{Kind: monitor.ActListen, Call: monitor.Call{ID: "7", LastAgent: `A "quoted" \ agent`, Customer: "+84 912"}}, `Listen: A 'quoted' ' agent ↔ +84 912`, "+84912"},
	} {
		if got := CallerName(tc.r); got != tc.name {
			t.Errorf("CallerName = %q, want %q", got, tc.name)
		}
		if got := callerUser(tc.r); got != tc.user {
			t.Errorf("callerUser = %q, want %q", got, tc.user)
		}
	}
}

func TestFormatNumber(t *testing.T) {
	for in, want := range map[string]string{
		"0912345678":   "0912 345 678",
		"02873002468":  "028 7300 2468",
		"19002468":     "1900 2468",
		"18001357":     "1800 1357",
		"1001":         "1001",
		"+84912345678": "+84912345678",
		"":             "",
	} {
		if got := FormatNumber(in); got != want {
			t.Errorf("FormatNumber(%q) = %q, want %q", in, got, want)
		}
	}
}
