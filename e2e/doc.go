// Package e2e holds Earshot's end-to-end tests: one process wiring the demo contact
// centre (monitor/demo), its SIP side (monitor/demo/demosip), the real softphone
// (phone) and the real audio engine (audio) on miniaudio's paced null backend, talking
// real SIP and RTP over loopback. They check what a supervisor would: the phone rings,
// answers by itself, the call's voices reach the headset, the grid's marker follows,
// and the right people hear the supervisor. Run them with
//
//	go test -race ./e2e/...
package e2e
