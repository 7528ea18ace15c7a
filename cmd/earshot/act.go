package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/earshot-app/earshot/config"
	"github.com/earshot-app/earshot/monitor"
)

func init() {
	registerCommand(Command{
		Name:    "act",
		Summary: "carry out a supervisor action: listen, whisper, barge, steal, transfer or hangup",
		Run: func(ctx context.Context, args []string) error {
			return runAct(ctx, args, os.Stdout, os.Stderr)
		},
	})
}

// Exit statuses of `earshot act`, one per reason the PBX (or Earshot) refused.
var actExitCodes = []struct {
	err  error
	code int
}{
	{monitor.ErrCallGone, 3},
	{monitor.ErrNotPermitted, 4},
	{monitor.ErrUnreachable, 5},
	{monitor.ErrAuth, 6},
	{monitor.ErrAgentUnavailable, 7},
	{monitor.ErrNotApplicable, 8},
	{monitor.ErrRejected, 9},
}

// exitCodeFor returns the exit status for an error from the PBX (1 for other errors).
func exitCodeFor(err error) int {
	for _, c := range actExitCodes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return 1
}

func runAct(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("earshot act", flag.ContinueOnError)
	fs.SetOutput(stderr)
	common := addCommonFlags(fs)
	timeout := fs.Duration("timeout", 15*time.Second, "give up when the PBX has not answered in this time")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: earshot act ACTION CALL_ID [AGENT] [flags]

Carries out a supervisor action on a call in progress, with the app's settings
(the flags and EARSHOT_* variables below override them; the AMI secret comes
from EARSHOT_AMI_SECRET or the OS keyring). CALL_ID is the call's ID as
"earshot watch" shows it (Asterisk: the Linkedid).

Actions:
  listen     the PBX rings your phone; you hear agent and customer
  whisper    as listen, and you talk to the agent only
  barge      a three-way call
  steal      the agent is cut off; your phone rings and takes the customer
  transfer   the call moves to AGENT (an extension, for example 1003)
  hangup     agent and customer are disconnected

Exit status: 0 the PBX accepted it; 2 wrong command line; 3 the call has ended;
4 not permitted; 5 PBX unreachable; 6 login refused; 7 agent unavailable;
8 not possible for this call now; 9 refused for another reason; 1 other errors.

Flags:
`)
		fs.PrintDefaults()
	}
	// flags may come before, between or after the words
	var words []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return usageError{err.Error()}
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		words = append(words, rest[0])
		rest = rest[1:]
	}
	if len(words) < 2 {
		fs.Usage()
		return usageError{"earshot act needs an action and a call ID"}
	}
	kind, err := monitor.ParseActionKind(words[0])
	if err != nil {
		return usageError{err.Error()}
	}
	a := monitor.Action{Kind: kind, CallID: words[1]}
	switch {
	case kind == monitor.ActTransfer && len(words) != 3:
		return usageError{"earshot act transfer needs the agent to move the call to: earshot act transfer CALL_ID AGENT"}
	case kind == monitor.ActTransfer:
		a.Agent = words[2]
	case len(words) > 2:
		return usageError{fmt.Sprintf("unexpected argument %q (only transfer takes an agent)", words[2])}
	}
	if *timeout <= 0 {
		return usageError{"--timeout must be positive"}
	}
	cfg, err := common.load()
	if err != nil {
		return err
	}
	if cfg.Driver == config.DriverDemo {
		return usageError{"earshot act needs a PBX: the demo contact centre lives inside the Earshot window (use --driver asterisk, --ami-host or the settings)"}
	}
	log := newLogger(stderr)
	drv, err := openDriver(cfg, log)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if err := drv.Act(ctx, a); err != nil {
		return exitCodeError{code: exitCodeFor(err), err: fmt.Errorf("%s [%w]", monitor.Sentence(err), err)}
	}
	fmt.Fprintln(stdout, actAccepted(cfg, a))
	return nil
}

// actAccepted says, in one sentence, what the PBX accepted to do.
func actAccepted(cfg config.Config, a monitor.Action) string {
	phone := "your phone"
	if cfg.Driver == config.DriverAsterisk && cfg.Asterisk.SupervisorEndpoint != "" {
		phone = "your phone (" + cfg.Asterisk.SupervisorEndpoint + ")"
	}
	switch a.Kind {
	case monitor.ActListen:
		return fmt.Sprintf("The PBX accepted: %s rings now to listen to call %s.", phone, a.CallID)
	case monitor.ActWhisper:
		return fmt.Sprintf("The PBX accepted: %s rings now to whisper to the agent of call %s.", phone, a.CallID)
	case monitor.ActBarge:
		return fmt.Sprintf("The PBX accepted: %s rings now to join call %s.", phone, a.CallID)
	case monitor.ActSteal:
		return fmt.Sprintf("The PBX accepted: the agent is cut off and %s rings now to take call %s.", phone, a.CallID)
	case monitor.ActTransfer:
		return fmt.Sprintf("The PBX accepted: call %s now rings agent %s.", a.CallID, a.Agent)
	case monitor.ActHangup:
		return fmt.Sprintf("The PBX accepted: call %s is hung up.", a.CallID)
	}
	return "The PBX accepted the action."
}
