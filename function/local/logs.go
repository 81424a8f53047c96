package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// logger gives the function's log at level (ENVSHARE_LOG_LEVEL): JSON lines to jsonOut and one
// short line a record to humanOut, each when not nil (neither: nowhere). The function masks
// every secret before a record reaches either.
func logger(jsonOut, humanOut io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	var handlers []slog.Handler
	if jsonOut != nil {
		handlers = append(handlers, slog.NewJSONHandler(jsonOut, &slog.HandlerOptions{Level: l}))
	}
	if humanOut != nil {
		handlers = append(handlers, &humanHandler{out: humanOut, level: l, mu: new(sync.Mutex)})
	}
	if len(handlers) == 0 {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewMultiHandler(handlers...))
}

// quietAttrs are left out of the human lines: the same on every line, or only for machines.
var quietAttrs = map[string]bool{"request_id": true, "platform": true, "cold_start": true}

// humanHandler writes a record as one line a person reads in make serve's window:
// "15:04:05 WARN msg key=value ...", the level only when it is not INFO.
type humanHandler struct {
	out   io.Writer
	level slog.Level
	mu    *sync.Mutex // one line at a time, shared by the handlers WithAttrs makes
	attrs []slog.Attr // from WithAttrs, keys already prefixed by their groups
	group string      // the prefix of WithGroup: "g."
}

func (h *humanHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *humanHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Time.Format("15:04:05"))
	if r.Level != slog.LevelInfo {
		b.WriteString(" " + r.Level.String())
	}
	b.WriteString(" " + r.Message)
	for _, a := range h.attrs {
		writeAttr(&b, "", a)
	}
	r.Attrs(func(a slog.Attr) bool {
		writeAttr(&b, h.group, a)
		return true
	})
	b.WriteString("\n")
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.out, b.String())
	return err
}

// writeAttr writes " key=value"; an object's value as compact JSON.
func writeAttr(b *strings.Builder, prefix string, a slog.Attr) {
	v := a.Value.Resolve()
	if a.Key == "" || quietAttrs[a.Key] {
		return
	}
	if v.Kind() == slog.KindGroup {
		for _, ga := range v.Group() {
			writeAttr(b, prefix+a.Key+".", ga)
		}
		return
	}
	text := v.String()
	if v.Kind() == slog.KindAny {
		if j, err := json.Marshal(v.Any()); err == nil {
			text = string(j)
		}
	}
	fmt.Fprintf(b, " %s%s=%s", prefix, a.Key, text)
}

func (h *humanHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	h2 := *h
	h2.attrs = append([]slog.Attr(nil), h.attrs...)
	for _, a := range attrs {
		a.Key = h.group + a.Key
		h2.attrs = append(h2.attrs, a)
	}
	return &h2
}

func (h *humanHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.group = h.group + name + "."
	return &h2
}
