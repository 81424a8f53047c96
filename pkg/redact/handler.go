package redact

import (
	"context"
	"log/slog"
)

// Handler returns a slog.Handler that masks the message and every string value of a record
// (in groups too, and errors by their text) before passing it to h: whatever a log line
// quotes, no secret of s reaches the log.
func Handler(h slog.Handler, s *Set) slog.Handler { return &handler{h: h, s: s} }

type handler struct {
	h slog.Handler
	s *Set
}

func (r *handler) Enabled(ctx context.Context, level slog.Level) bool { return r.h.Enabled(ctx, level) }

func (r *handler) Handle(ctx context.Context, rec slog.Record) error {
	clean := slog.NewRecord(rec.Time, rec.Level, r.s.String(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		clean.AddAttrs(r.attr(a))
		return true
	})
	return r.h.Handle(ctx, clean)
}

func (r *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clean[i] = r.attr(a)
	}
	return &handler{h: r.h.WithAttrs(clean), s: r.s}
}

func (r *handler) WithGroup(name string) slog.Handler {
	return &handler{h: r.h.WithGroup(name), s: r.s}
}

// attr masks a's string values.
func (r *handler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, r.s.String(v.String()))
	case slog.KindGroup:
		group := v.Group()
		clean := make([]any, len(group))
		for i, g := range group {
			clean[i] = r.attr(g)
		}
		return slog.Group(a.Key, clean...)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, r.s.String(err.Error()))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
