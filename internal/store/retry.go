package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// DefaultAttempts is how many times a call that fails transiently is made in all.
const DefaultAttempts = 3

// DefaultAttemptTimeout bounds one attempt of a cloud store's call, so an endpoint that never
// answers is attempted again while the caller's deadline allows.
const DefaultAttemptTimeout = 10 * time.Second

// Backoff gives the pause after the nth failed attempt (n starts at 1).
type Backoff func(n int) time.Duration

// Bounds of JitterBackoff: short enough for a function that answers within seconds.
const (
	backoffBase = 100 * time.Millisecond
	backoffCap  = 2 * time.Second
)

// JitterBackoff doubles from 100 ms up to 2 s and picks a random pause between half of that and
// all of it, so instances that failed together do not retry together, yet always pause.
func JitterBackoff(n int) time.Duration {
	d := backoffCap
	if n >= 1 && n < 6 { // 100ms << 5 is past the cap already
		d = min(backoffBase<<(n-1), backoffCap)
	}
	return d/2 + rand.N(d/2+1)
}

// Retry makes call up to attempts times (DefaultAttempts when < 1) while transient says its
// error may go away, pausing backoff(n) (JitterBackoff when nil) in between. A pause ends early
// when ctx is done: the error then wraps both ctx's error and the last failure. An error that
// comes with ctx done wraps ctx's error too, so callers can always tell a deadline by errors.Is.
func Retry(ctx context.Context, attempts int, backoff Backoff, transient func(error) bool, call func() error) error {
	if attempts < 1 {
		attempts = DefaultAttempts
	}
	if backoff == nil {
		backoff = JitterBackoff
	}
	for n := 1; ; n++ {
		err := call()
		if err == nil {
			return nil
		}
		if cerr := ctx.Err(); cerr != nil {
			if errors.Is(err, cerr) {
				return err
			}
			return fmt.Errorf("%w: %w", cerr, err)
		}
		if n >= attempts || !transient(err) {
			if n > 1 {
				return fmt.Errorf("%w (attempt %d of %d)", err, n, attempts)
			}
			return err
		}
		if werr := Wait(ctx, backoff(n)); werr != nil {
			return fmt.Errorf("%w while waiting to retry; last failure: %w", werr, err)
		}
	}
}

// Wait pauses for d, or until ctx is done, and returns ctx's error if it is.
func Wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
