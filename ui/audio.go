package ui

import "context"

// AudioSettings is what the settings dialog needs from the audio package (through a
// thin adapter): the devices to choose from, a speaker test and a live microphone meter.
type AudioSettings interface {
	// Devices lists the capture and playback devices.
	Devices() ([]AudioDevice, error)
	// PlayTestTone plays a short tone on the output device (ID or name, "" for the
	// default) and returns when it has played.
	PlayTestTone(ctx context.Context, output string) error
	// MicMeter captures from the input device and calls level with the level (0 to 1)
	// several times a second until ctx is done.
	MicMeter(ctx context.Context, input string, level func(float64)) error
}

// AudioDevice is one sound device.
type AudioDevice struct {
	// ID is the stable identifier stored in the settings.
	ID string
	// Name is the device's name as the system shows it.
	Name string
	// Input and Output say whether it can capture and play.
	Input, Output bool
	// Default marks the system's default device of its kind.
	Default bool
}
