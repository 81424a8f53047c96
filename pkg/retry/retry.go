// Package retry is envshare's one retry policy: how many attempts a call gets, the pause before
// each retry (exponential backoff under a cap, with full jitter) and a pause that honours the
// context and its deadline. pkg/wechat retries WeChat calls with it, and envshare's secret
// stores their cloud calls; each caller brings its own classifier of what is worth another
// attempt. It is a public package: other Go code may import it.
//
//	p := retry.Policy{Attempts: 3, Base: 100 * time.Millisecond, Max: 2 * time.Second}
//	err := p.Do(ctx, isTransient, func(ctx context.Context) error { return call(ctx) })
//
// Unlike time.Sleep, a pause never outlives the context: when the context's deadline would pass
// during a pause, Do gives up at once rather than wait for an attempt that cannot start.
package retry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// DefaultAttempts is how many attempts a call makes in all when the Policy does not say.
const DefaultAttempts = 3

// Policy says how many attempts a call makes and how long to pause between them. The zero
// Policy makes DefaultAttempts attempts with no pause. A Policy is a value: copy it freely.
type Policy struct {
	// Attempts is how many attempts a call makes in all, the first included; < 1 means
	// DefaultAttempts.
	Attempts int
	// Base is the longest pause before the first retry; each further retry doubles it, up to
	// Max. The pause itself is drawn uniformly from [0, that ceiling] ("full jitter"), so that
	// callers that failed together do not retry together.
	Base, Max time.Duration
	// Wait pauses for d and returns early with ctx's error when ctx ends; nil means Sleep.
	// Tests make it instant or record what it was asked.
	Wait func(ctx context.Context, d time.Duration) error
	// Jitter draws a pause from [0, ceiling]; nil draws uniformly at random. Tests pin it.
	Jitter func(ceiling time.Duration) time.Duration
	// Now tells the time when Pause compares a pause with the context's deadline; nil means
	// time.Now.
	Now func() time.Time
}

// Stopped is the error of Do when the context ended after a failed attempt, or its deadline
// would have passed during the pause before the next one. It wraps both errors.
type Stopped struct {
	Cause error // the context's error, or one wrapping context.DeadlineExceeded
	Last  error // the last attempt's error
}

func (e *Stopped) Error() string { return fmt.Sprintf("%v; last failure: %v", e.Cause, e.Last) }

func (e *Stopped) Unwrap() []error { return []error{e.Cause, e.Last} }

// Do calls call until it succeeds, its error is one retryable refuses, or the attempts are used
// up, pausing Backoff(n) after the nth failed attempt. It returns nil, the last attempt's error
// as it is, or a *Stopped when ctx ended first: the caller tells "used up" from "refused" by
// asking its classifier again.
func (p Policy) Do(ctx context.Context, retryable func(error) bool, call func(ctx context.Context) error) error {
	for n := 1; ; n++ {
		err := call(ctx)
		if err == nil {
			return nil
		}
		if cause := ctx.Err(); cause != nil {
			if errors.Is(err, cause) {
				return err // the attempt already says why it ended
			}
			return &Stopped{Cause: cause, Last: err}
		}
		if n >= p.attempts() || !retryable(err) {
			return err
		}
		if werr := p.Pause(ctx, p.Backoff(n)); werr != nil {
			return &Stopped{Cause: werr, Last: err}
		}
	}
}

func (p Policy) attempts() int {
	if p.Attempts < 1 {
		return DefaultAttempts
	}
	return p.Attempts
}

// Backoff returns the pause after the nth failed attempt (n >= 1): uniform in
// [0, min(Max, Base·2^(n-1))].
func (p Policy) Backoff(n int) time.Duration {
	ceiling := min(p.Base, p.Max)
	for i := 1; i < n && ceiling < p.Max; i++ {
		if ceiling > p.Max/2 { // doubling would pass the cap (or overflow)
			ceiling = p.Max
			break
		}
		ceiling *= 2
	}
	if ceiling <= 0 {
		return 0
	}
	if p.Jitter != nil {
		return p.Jitter(ceiling)
	}
	return rand.N(ceiling + 1)
}

// Pause waits d. When ctx's deadline would pass first it returns at once an error wrapping
// context.DeadlineExceeded (no point waiting for an attempt that cannot start); when ctx ends
// during the wait, ctx's error.
func (p Policy) Pause(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	if deadline, ok := ctx.Deadline(); ok && !now().Add(d).Before(deadline) {
		return fmt.Errorf("deadline would pass during a %v wait: %w", d, context.DeadlineExceeded)
	}
	if p.Wait != nil {
		return p.Wait(ctx, d)
	}
	return Sleep(ctx, d)
}

// Sleep waits d, returning early with ctx's error when ctx ends. It never sleeps past ctx.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
