package retry

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

var (
	errTransient = errors.New("transient")
	errPermanent = errors.New("permanent")
)

func isTransient(err error) bool { return errors.Is(err, errTransient) }

// instant is a Wait that records what it was asked and returns at once.
type instant struct{ waits []time.Duration }

func (w *instant) wait(ctx context.Context, d time.Duration) error {
	w.waits = append(w.waits, d)
	return ctx.Err()
}

func ceiling(c time.Duration) time.Duration { return c }

func TestDo(t *testing.T) {
	for _, tc := range []struct {
		name      string
		attempts  int
		failures  []error // what each call answers; nil afterwards
		wantCalls int
		wantErr   error
	}{
		{"success at once", 3, nil, 1, nil},
		{"transient then success", 3, []error{errTransient, errTransient}, 3, nil},
		{"transient every time: three attempts by default", 0, []error{errTransient, errTransient, errTransient, errTransient}, 3, errTransient},
		{"attempts are configurable", 5, []error{errTransient, errTransient, errTransient, errTransient, errTransient}, 5, errTransient},
		{"one attempt", 1, []error{errTransient}, 1, errTransient},
		{"refused by the classifier: not retried", 3, []error{errPermanent}, 1, errPermanent},
		{"transient then refused", 3, []error{errTransient, errPermanent}, 2, errPermanent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &instant{}
			p := Policy{Attempts: tc.attempts, Base: 100 * time.Millisecond, Max: time.Second, Wait: w.wait, Jitter: ceiling}
			calls := 0
			err := p.Do(t.Context(), isTransient, func(context.Context) error {
				calls++
				if calls <= len(tc.failures) {
					return tc.failures[calls-1]
				}
				return nil
			})
			if err != tc.wantErr {
				t.Errorf("Do = %v, want %v as it is", err, tc.wantErr)
			}
			if calls != tc.wantCalls {
				t.Errorf("%d calls, want %d", calls, tc.wantCalls)
			}
			for i, d := range w.waits { // 100ms, 200ms, 400ms, ...
				if want := 100 * time.Millisecond << i; d != want {
					t.Errorf("pause %d = %v, want %v", i+1, d, want)
				}
			}
			if len(w.waits) != calls-1 && tc.wantErr != errPermanent {
				t.Errorf("%d pauses for %d calls", len(w.waits), calls)
			}
		})
	}
}

func TestDoHonoursTheContext(t *testing.T) {
	t.Run("cancelled during the pause", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		p := Policy{Base: time.Hour, Max: time.Hour, Wait: func(ctx context.Context, d time.Duration) error {
			cancel()
			return Sleep(ctx, d) // an hour, unless it honours ctx
		}}
		calls := 0
		err := p.Do(ctx, isTransient, func(context.Context) error { calls++; return errTransient })
		var stopped *Stopped
		if !errors.As(err, &stopped) || !errors.Is(err, context.Canceled) || !errors.Is(err, errTransient) {
			t.Errorf("Do = %v, want a *Stopped with the context's error and the last failure", err)
		}
		if calls != 1 {
			t.Errorf("%d calls, want 1", calls)
		}
	})
	t.Run("a failure with the context done is not retried and names the context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		calls := 0
		err := Policy{}.Do(ctx, isTransient, func(context.Context) error { calls++; cancel(); return errTransient })
		if !errors.Is(err, context.Canceled) || !errors.Is(err, errTransient) || calls != 1 {
			t.Errorf("Do = %v after %d calls", err, calls)
		}
	})
	t.Run("a failure that names the context is returned as it is", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		failure := errors.Join(errTransient, context.Canceled)
		err := Policy{}.Do(ctx, isTransient, func(context.Context) error { cancel(); return failure })
		if err != failure {
			t.Errorf("Do = %v, want the failure as it is", err)
		}
	})
	t.Run("a pause that would overrun the deadline ends the call at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			p := Policy{Base: time.Hour, Max: time.Hour, Jitter: ceiling}
			start := time.Now()
			err := p.Do(ctx, isTransient, func(context.Context) error { return errTransient })
			if !errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
				t.Errorf("Do = %v (context %v), want DeadlineExceeded before the deadline", err, ctx.Err())
			}
			if waited := time.Since(start); waited != 0 {
				t.Errorf("waited %v", waited)
			}
		})
	})
}

func TestBackoffIsFullJitterUnderACap(t *testing.T) {
	p := Policy{Base: 100 * time.Millisecond, Max: time.Second}
	ceilings := []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond,
		800 * time.Millisecond, time.Second, time.Second}
	t.Run("the largest draw is the ceiling", func(t *testing.T) {
		p := p
		p.Jitter = ceiling
		for n := 1; n < len(ceilings); n++ {
			if got := p.Backoff(n); got != ceilings[n] {
				t.Errorf("Backoff(%d) = %v, want %v", n, got, ceilings[n])
			}
		}
		if got := p.Backoff(500); got != time.Second {
			t.Errorf("Backoff(500) = %v, want the cap", got)
		}
	})
	t.Run("random draws stay within [0, ceiling]", func(t *testing.T) {
		for n := 1; n < len(ceilings); n++ {
			for range 200 {
				if got := p.Backoff(n); got < 0 || got > ceilings[n] {
					t.Fatalf("Backoff(%d) = %v, outside [0, %v]", n, got, ceilings[n])
				}
			}
		}
	})
	t.Run("a huge cap does not overflow", func(t *testing.T) {
		p := Policy{Base: time.Nanosecond, Max: time.Duration(1 << 62), Jitter: ceiling}
		for n := 1; n < 200; n++ {
			if got := p.Backoff(n); got < 0 {
				t.Fatalf("Backoff(%d) = %v", n, got)
			}
		}
	})
	t.Run("the zero policy does not pause", func(t *testing.T) {
		if got := (Policy{}).Backoff(3); got != 0 {
			t.Errorf("Backoff(3) = %v", got)
		}
	})
}

func TestSleep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		if err := Sleep(t.Context(), time.Minute); err != nil || time.Since(start) != time.Minute {
			t.Errorf("Sleep = %v after %v, want nil after a minute", err, time.Since(start))
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if err := Sleep(ctx, time.Hour); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Sleep past the context = %v", err)
		}
	})
}
