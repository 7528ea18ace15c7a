package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/earshot-app/earshot/config"
	"github.com/earshot-app/earshot/monitor"
)

func init() {
	registerCommand(Command{
		Name:    "watch",
		Summary: "print the live call table in the terminal (or JSON lines with --json)",
		Run: func(ctx context.Context, args []string) error {
			return runWatch(ctx, args, os.Stdout, os.Stderr)
		},
	})
}

// watchOptions are the watch command's own flags.
type watchOptions struct {
	json     bool
	once     bool
	interval time.Duration
	query    monitor.Query
}

func runWatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("earshot watch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	common := addCommonFlags(fs)
	var o watchOptions
	fs.BoolVar(&o.json, "json", false, "print one JSON line per refresh instead of a table")
	fs.BoolVar(&o.once, "once", false, "print the table once, after the first sync with the PBX, and exit")
	fs.DurationVar(&o.interval, "interval", time.Second, "refresh interval")
	queues := fs.String("queue", "", "only calls of these queues (comma-separated)")
	statuses := fs.String("status", "", "only calls in these statuses: calling, ringing, answered (comma-separated)")
	direction := fs.String("direction", "", "only inbound or outbound calls")
	agents := fs.String("agent", "", "only calls whose last agent is one of these (comma-separated)")
	fs.StringVar(&o.query.Text, "search", "", "only calls whose number, agent, campaign, queue or call id contains this text")
	sortBy := fs.String("sort", "start_time", "sort column: "+strings.Join(columnKeys(), ", "))
	fs.BoolVar(&o.query.Desc, "desc", false, "sort descending")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: earshot watch [flags]\n\nPrints the live call table from the configured PBX (the demo by default).\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if o.interval <= 0 {
		return usageError{"--interval must be positive"}
	}
	o.query.Queues = splitList(*queues)
	o.query.Agents = splitList(*agents)
	for _, s := range splitList(*statuses) {
		st, err := monitor.ParseStatus(s)
		if err != nil {
			return usageError{err.Error()}
		}
		o.query.Statuses = append(o.query.Statuses, st)
	}
	if *direction != "" {
		d, err := monitor.ParseDirection(*direction)
		if err != nil {
			return usageError{err.Error()}
		}
		o.query.Directions = []monitor.Direction{d}
	}
	col, ok := monitor.ParseColumn(*sortBy)
	if !ok {
		return usageError{fmt.Sprintf("unknown sort column %q (want one of %s)", *sortBy, strings.Join(columnKeys(), ", "))}
	}
	o.query.Sort = col

	cfg, err := common.load()
	if err != nil {
		return err
	}
	log := newLogger(stderr)
	drv, err := openDriver(cfg, log)
	if err != nil {
		return err
	}
	board := monitor.NewBoard(monitor.Options{Logger: log})
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	feedErr := make(chan error, 1)
	go func() { feedErr <- drv.Run(ctx, board) }()
	return watchLoop(ctx, board, o, stdout, feedErr)
}

// watchLoop prints the board every interval until ctx ends (or once, with --once, after
// the feed connected).
func watchLoop(ctx context.Context, board *monitor.Board, o watchOptions, w io.Writer, feedErr <-chan error) error {
	t := time.NewTicker(o.interval)
	defer t.Stop()
	check := time.NewTicker(20 * time.Millisecond)
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-feedErr:
			if err != nil && ctx.Err() == nil {
				return exitCodeError{code: exitCodeFor(err), err: fmt.Errorf("PBX feed: %s (%w)", monitor.Sentence(err), err)}
			}
			return nil
		case <-check.C:
			if !o.once {
				continue
			}
			switch feed := board.Feed(); feed.State {
			case monitor.FeedConnected:
				return printSnapshot(w, board.Snapshot(o.query), o)
			case monitor.FeedLost:
				// --once is for scripts: report the failure instead of retrying forever
				err := feed.Err
				if err == nil {
					err = monitor.ErrUnreachable
				}
				return exitCodeError{code: exitCodeFor(err), err: fmt.Errorf("PBX feed: %s (%w)", monitor.Sentence(err), err)}
			}
		case <-t.C:
			if o.once {
				continue
			}
			if err := printSnapshot(w, board.Snapshot(o.query), o); err != nil {
				return err
			}
		}
	}
}

// watchCall is a call as `earshot watch --json` prints it.
type watchCall struct {
	ID                  string     `json:"id"`
	Customer            string     `json:"customer"`
	Hotline             string     `json:"hotline"`
	Queue               string     `json:"queue"`
	Status              string     `json:"status"`
	TimeInStatusSeconds int64      `json:"time_in_status_s"`
	LastAgent           string     `json:"last_agent"`
	AnswerTime          *time.Time `json:"answer_time,omitempty"`
	StartTime           time.Time  `json:"start_time"`
	Direction           string     `json:"direction"`
	Campaign            string     `json:"campaign,omitempty"`
	Monitor             string     `json:"monitor,omitempty"`
	Supervisor          string     `json:"supervisor,omitempty"`
	StolenBySupervisor  bool       `json:"stolen,omitempty"`
}

type watchFrame struct {
	At time.Time `json:"at"`
	// Driver names the PBX feed; Simulated marks the demo contact centre's invented calls.
	Driver    string      `json:"driver"`
	Simulated bool        `json:"simulated,omitempty"`
	Feed      string      `json:"feed"`
	Error     string      `json:"error,omitempty"`
	Total     int         `json:"total"`
	Shown     int         `json:"shown"`
	Calls     []watchCall `json:"calls"`
}

func printSnapshot(w io.Writer, s monitor.Snapshot, o watchOptions) error {
	if o.json {
		f := watchFrame{At: s.At, Driver: s.Feed.Driver, Simulated: s.Feed.Driver == config.DriverDemo,
			Feed: s.Feed.State.String(), Total: s.Total, Shown: len(s.Calls), Calls: make([]watchCall, len(s.Calls))}
		if s.Feed.Err != nil {
			f.Error = monitor.Sentence(s.Feed.Err)
		}
		for i := range s.Calls {
			c := &s.Calls[i]
			wc := watchCall{ID: c.ID, Customer: c.Customer, Hotline: c.Hotline, Queue: c.Queue,
				Status: c.Status.String(), TimeInStatusSeconds: int64(c.TimeInStatus(s.At) / time.Second),
				LastAgent: c.LastAgent, StartTime: c.StartTime, Direction: c.Direction.String(),
				Campaign: c.Campaign, Monitor: c.Monitor.String(), Supervisor: c.Supervisor, StolenBySupervisor: c.Stolen}
			if !c.AnswerTime.IsZero() {
				at := c.AnswerTime
				wc.AnswerTime = &at
			}
			f.Calls[i] = wc
		}
		b, err := json.Marshal(f)
		if err != nil {
			return fmt.Errorf("encode snapshot: %w", err)
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	if !o.once {
		fmt.Fprint(w, "\x1b[H\x1b[2J") // home + clear: a refreshing table
	}
	feed := s.Feed.State.String()
	if s.Feed.Err != nil {
		feed += ": " + monitor.Sentence(s.Feed.Err)
	}
	source := s.Feed.Driver
	if source == config.DriverDemo {
		source = "DEMO (simulated calls)"
	}
	fmt.Fprintf(w, "Earshot — %s — %s — PBX feed %s — %d of %d calls\n\n", s.At.Format("15:04:05"), source, feed, len(s.Calls), s.Total)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CALL ID\tCUSTOMER\tHOTLINE\tQUEUE\tSTATUS\tTIME\tLAST AGENT\tANSWERED\tSTARTED\tTYPE\tCAMPAIGN\tMONITOR")
	for i := range s.Calls {
		c := &s.Calls[i]
		answered := ""
		if !c.AnswerTime.IsZero() {
			answered = c.AnswerTime.Local().Format("15:04:05")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Customer, c.Hotline, c.Queue,
			c.Status, formatDuration(c.TimeInStatus(s.At)), c.LastAgent, answered,
			c.StartTime.Local().Format("15:04:05"), c.Direction, c.Campaign, c.Monitor)
	}
	return tw.Flush()
}

// formatDuration prints m:ss, or h:mm:ss from an hour on.
func formatDuration(d time.Duration) string {
	s := int64(d / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func columnKeys() []string {
	k := make([]string, len(monitor.Columns))
	for i, c := range monitor.Columns {
		k[i] = c.String()
	}
	return k
}
