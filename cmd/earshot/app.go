package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/widget"

	"github.com/earshot-app/earshot/config"
	"github.com/earshot-app/earshot/monitor"
)

// runApp opens the supervisor window on the configured PBX until it is closed.
func runApp(ctx context.Context, cfg config.Config, _ *commonFlags) error {
	log := newLogger(os.Stderr)
	drv, err := openDriver(cfg, log)
	if err != nil {
		return err
	}
	board := monitor.NewBoard(monitor.Options{Logger: log})
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		if err := drv.Run(ctx, board); err != nil && ctx.Err() == nil {
			log.Error("PBX feed stopped", "err", err)
		}
	}()

	a := app.NewWithID("app.earshot.desktop")
	w := a.NewWindow("Earshot")
	var snap monitor.Snapshot
	list := widget.NewList(
		func() int { return len(snap.Calls) },
		func() fyne.CanvasObject { return widget.NewLabel("") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			c := snap.Calls[i]
			o.(*widget.Label).SetText(fmt.Sprintf("%s  %s  %s  %s  %s  %s", c.ID, c.Customer, c.Hotline, c.Queue, c.Status, c.LastAgent))
		})
	w.SetContent(list)
	w.Resize(fyne.NewSize(900, 600))
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				s := board.Snapshot(monitor.Query{Sort: monitor.ColStartTime})
				fyne.Do(func() { snap = s; list.Refresh() })
			}
		}
	}()
	go func() {
		<-ctx.Done()
		fyne.Do(a.Quit)
	}()
	w.ShowAndRun()
	return nil
}
