package ami

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/earshot-app/earshot/monitor"
	"github.com/earshot-app/earshot/monitor/ami/amitest"
)

// BenchmarkParseBurst parses the burst fixture (12 571 events, 6.77 MB recorded from a
// real Asterisk 22 during 150 calls at 10 calls/s) and reports events per second.
func BenchmarkParseBurst(b *testing.B) {
	data := fixture(b, "burst.ami")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	events := 0
	rd := bytes.NewReader(data)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rd.Reset(data)
		r := NewReader(rd)
		if _, err := r.ReadBanner(); err != nil {
			b.Fatal(err)
		}
		for {
			m, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if len(m.Event()) > 0 {
				events++
			}
		}
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkPipelineBurst parses the burst fixture, maps every event and applies the
// resulting monitor events to a Board: the work the driver's reader does per event.
func BenchmarkPipelineBurst(b *testing.B) {
	data := fixture(b, "burst.ami")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	events, applied := 0, 0
	rd := bytes.NewReader(data)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		board := monitor.NewBoard(monitor.Options{Logger: quietLogger})
		mp := newMapper(mapperConfig{vars: [nVars]string{"HOTLINE", "CAMPAIGN", "DIRECTION"},
			supervisorDevice: "PJSIP/2001", supervisorName: "Supervisor", log: quietLogger},
			func(e monitor.Event) { applied++; board.Apply(e) })
		rd.Reset(data)
		r := NewReader(rd)
		if _, err := r.ReadBanner(); err != nil {
			b.Fatal(err)
		}
		for {
			m, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if m.IsEvent() {
				events++
				mp.handle(m)
			}
		}
		if board.Len() != 0 {
			b.Fatalf("%d calls left after the burst", board.Len())
		}
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(applied)/float64(b.N), "board-events/op")
}

var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// BenchmarkDriverBurst streams the burst recording over TCP, as fast as the socket
// goes, into a running Driver (socket reader, parser, mapper, event queue, Board).
func BenchmarkDriverBurst(b *testing.B) {
	loadCanned(b)
	rec := loadRecording(b, "burst")
	events := bytes.Count(rec.In, []byte("\r\nEvent: ")) + bytes.Count(rec.In[:64], []byte("Event: "))
	srv := amitest.NewServer(b)
	srv.Speed = 1e12 // no pacing
	b.SetBytes(int64(len(rec.In)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sc := buildScript(b, rec, nil)
		sc.InsertResync()
		sc.QueueStatus, sc.CoreShowChannels = loadCanned(b).QueueStatus, loadCanned(b).NoChannels
		srv.Play(sc)
		cfg := testConfig(srv.Port())
		cfg.Logger = quietLogger
		drv, err := New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		board := monitor.NewBoard(monitor.Options{Logger: quietLogger})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- drv.Run(ctx, board) }()
		if err := <-sc.Done; err != nil {
			b.Fatal(err)
		}
		if err := drv.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		if board.Len() != 0 {
			b.Fatalf("%d calls left", board.Len())
		}
		cancel()
		<-done
	}
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
