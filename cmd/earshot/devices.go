package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/earshot-app/earshot/audio"
)

func init() {
	registerCommand(Command{
		Name:    "devices",
		Summary: "list audio devices with their IDs",
		Run: func(ctx context.Context, args []string) error {
			return runDevices(ctx, args, os.Stdout, os.Stderr)
		},
	})
}

// runDevices lists the playback and capture devices of an audio backend,
// with the IDs the settings accept for the headset and the ring device.
func runDevices(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("earshot devices", flag.ContinueOnError)
	fs.SetOutput(stderr)
	backend := fs.String("backend", "auto", "audio backend: auto (the system's) or null (no sound card)")
	asJSON := fs.Bool("json", false, "print the devices as a JSON array")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: earshot devices [flags]\n\nLists audio devices with the IDs to use for the headset and the ring device.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	b, err := audio.ParseBackend(*backend)
	if err != nil {
		return usageError{err.Error()}
	}
	ctx, err := audio.NewContext(b)
	if err != nil {
		return fmt.Errorf("list audio devices: %w", err)
	}
	defer ctx.Close()
	devs, err := ctx.Devices()
	if err != nil {
		return fmt.Errorf("list audio devices: %w", err)
	}
	if *asJSON {
		type jsonDevice struct {
			ID       string `json:"id"`
			Name     string `json:"name"`
			Kind     string `json:"kind"`
			Default  bool   `json:"default"`
			Selector string `json:"selector"` // ID with the name as fallback, for settings
		}
		out := make([]jsonDevice, 0, len(devs))
		for _, d := range devs {
			out = append(out, jsonDevice{ID: d.ID, Name: d.Name, Kind: d.Kind.String(), Default: d.Default, Selector: d.Selector()})
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	if len(devs) == 0 {
		fmt.Fprintf(stdout, "No audio devices found (backend %s).\n", b)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tDEFAULT\tID\tNAME")
	for _, d := range devs {
		def := ""
		if d.Default {
			def = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.Kind, def, d.ID, d.Name)
	}
	return tw.Flush()
}
