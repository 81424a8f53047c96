package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// make serve's window gets one short line a record; the JSON lines are the deployment's.
func TestTheLogGoesToPeopleAsLinesAndToTheFileAsJSON(t *testing.T) {
	var human, js bytes.Buffer
	log := logger(&js, &human, "info").With("request_id", "r-1", "platform", "local")
	log.Info("invocation", "trigger", "http", "action", "share", "status", 200,
		"summary", map[string]int{"requested": 1}, slog.Group("error", "code", "upstream_error"))
	log.WithGroup("push").Warn("wechat push refused", "reason", "bad_signature")
	log.Debug("not at info")

	want := []string{
		` invocation trigger=http action=share status=200 summary={"requested":1} error.code=upstream_error`,
		` WARN wechat push refused push.reason=bad_signature`,
	}
	lines := strings.Split(strings.TrimSuffix(human.String(), "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("human lines:\n%s", human.String())
	}
	for i, w := range want {
		if len(lines[i]) < 8 || lines[i][8:] != w { // after the time, 15:04:05
			t.Errorf("line %d = %q, want the time then %q", i, lines[i], w)
		}
	}
	if n := strings.Count(js.String(), "\n"); n != 2 || !strings.Contains(js.String(), `"request_id":"r-1"`) {
		t.Errorf("JSON lines:\n%s", js.String())
	}
	if logger(nil, nil, "info").Enabled(t.Context(), slog.LevelError) {
		t.Error("a logger with no output is enabled")
	}
}
