package phone

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
)

// secretPattern matches what must never reach a log: SDES keys (a=crypto inline:),
// digest responses and Authorization header values.
var secretPattern = regexp.MustCompile(`(?i)(inline:)[A-Za-z0-9+/=|:^]+|(response=")[0-9a-f]+|((?:proxy-)?authorization:\s*)[^\r\n]+`)

func redactString(s string) string {
	return secretPattern.ReplaceAllString(s, "${1}${2}${3}[redacted]")
}

// redactHandler scrubs secrets from every string in a log record before passing it
// on. diago and sipgo log through it too.
type redactHandler struct{ next slog.Handler }

func newRedactHandler(next slog.Handler) slog.Handler {
	if _, ok := next.(*redactHandler); ok {
		return next
	}
	return &redactHandler{next: next}
}

// Enabled defers to the wrapped handler.
func (h *redactHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

// Handle scrubs the record's message and attributes and passes it on.
func (h *redactHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, redactString(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

// WithAttrs scrubs the attributes before attaching them.
func (h *redactHandler) WithAttrs(as []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(as))
	for i, a := range as {
		clean[i] = redactAttr(a)
	}
	return &redactHandler{next: h.next.WithAttrs(clean)}
}

// WithGroup keeps the scrubbing for the group.
func (h *redactHandler) WithGroup(name string) slog.Handler {
	return &redactHandler{next: h.next.WithGroup(name)}
}

func redactAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, redactString(v.String()))
	case slog.KindGroup:
		g := v.Group()
		clean := make([]any, len(g))
		for i, ga := range g {
			clean[i] = redactAttr(ga)
		}
		return slog.Group(a.Key, clean...)
	case slog.KindAny:
		// Anything else (errors, SIP messages, structs) is flattened to text and
		// scrubbed: a logged request must not leak the keys in its SDP.
		return slog.String(a.Key, redactString(fmt.Sprint(v.Any())))
	}
	return slog.Attr{Key: a.Key, Value: v}
}
