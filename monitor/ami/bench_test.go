package ami

import (
	"bytes"
	"io"
	"testing"
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
