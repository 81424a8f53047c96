// Package testkit holds what envshare's internal tests share that no other test package
// offers: a buffer safe for concurrent writers (logs, metrics lines, a browser's or a
// process's output). Settable clocks are wxemu.Clock, the clock the emulator itself takes;
// the adapters' helpers (samples, goldens, fakes, fuzzing) are in internal/eventtest. pkg/'s
// own tests cannot import it: pkg/ never imports internal/.
package testkit

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
)

// Buffer collects what several goroutines write: a logger's JSON lines, EMF lines, a child
// process's output. The zero value is ready to use.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Count counts the lines written so far that hold text.
func (b *Buffer) Count(text string) int {
	n := 0
	for line := range strings.Lines(b.String()) {
		if strings.Contains(line, text) {
			n++
		}
	}
	return n
}

// Lines decodes every line written so far as a JSON object (a JSON log); a line that is not
// one fails t.
func (b *Buffer) Lines(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(b.String()) {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}
