// Package testkit holds what envshare's internal tests share that no other test package
// offers: a buffer safe for concurrent writers (logs, metrics lines, a browser's or a
// process's output), and a Clock whose waits move it instead of passing time. Settable clocks
// are wxemu.Clock, the clock the emulator itself takes;
// the adapters' helpers (samples, goldens, fakes, fuzzing) are in internal/eventtest. pkg/'s
// own tests cannot import it: pkg/ never imports internal/.
package testkit

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envshare/envshare/pkg/wxemu"
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

// Reset forgets everything written so far.
func (b *Buffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b.Reset()
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

// DeadlineOnCue is a context whose deadline passes when the test says so (Pass), not by a
// clock: what happens at a deadline, such as a call cut short while WeChat holds it, is then
// tested the same way however busy the machine is. It reports no deadline time.
type DeadlineOnCue struct {
	context.Context
	passed chan struct{}
	once   sync.Once
}

// NewDeadlineOnCue returns a DeadlineOnCue that has not passed.
func NewDeadlineOnCue() *DeadlineOnCue {
	return &DeadlineOnCue{Context: context.Background(), passed: make(chan struct{})}
}

// Pass makes the deadline pass; later calls do nothing.
func (c *DeadlineOnCue) Pass() { c.once.Do(func() { close(c.passed) }) }

// Done is closed when the deadline has passed.
func (c *DeadlineOnCue) Done() <-chan struct{} { return c.passed }

// Err is context.DeadlineExceeded once the deadline has passed, nil before.
func (c *DeadlineOnCue) Err() error {
	select {
	case <-c.passed:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

// Clock is a fake clock whose waits are instant and move it: a WeChat client or a ledger
// given its Now and Wait "waits" a minute without a minute passing. It is the emulator's
// settable clock with a Wait.
type Clock struct{ *wxemu.Clock }

// NewClock returns a clock reading start.
func NewClock(start time.Time) *Clock { return &Clock{wxemu.NewClock(start)} }

// Wait moves the clock by d at once, unless ctx has ended.
func (c *Clock) Wait(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Advance(max(d, 0))
	return nil
}
