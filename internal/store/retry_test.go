package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/store"
)

var (
	errTransient = errors.New("transient")
	errPermanent = errors.New("permanent")
)

func isTransient(err error) bool { return errors.Is(err, errTransient) }

func noBackoff(int) time.Duration { return 0 }

func TestRetry(t *testing.T) {
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
		{"permanent: not retried", 3, []error{errPermanent}, 1, errPermanent},
		{"transient then permanent", 3, []error{errTransient, errPermanent}, 2, errPermanent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			var pauses []int
			err := store.Retry(t.Context(), tc.attempts, func(n int) time.Duration { pauses = append(pauses, n); return 0 }, isTransient,
				func() error {
					calls++
					if calls <= len(tc.failures) {
						return tc.failures[calls-1]
					}
					return nil
				})
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Errorf("Retry = %v, want %v", err, tc.wantErr)
			}
			if calls != tc.wantCalls {
				t.Errorf("%d calls, want %d", calls, tc.wantCalls)
			}
			for i, n := range pauses {
				if n != i+1 {
					t.Errorf("pause %d was asked for attempt %d", i+1, n)
				}
			}
		})
	}
}

func TestRetryHonoursTheContext(t *testing.T) {
	t.Run("cancelled during the backoff", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		calls := 0
		done := make(chan error, 1)
		go func() {
			done <- store.Retry(ctx, 3, func(int) time.Duration { cancel(); return time.Hour }, isTransient,
				func() error { calls++; return errTransient })
		}()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) || !errors.Is(err, errTransient) {
				t.Errorf("Retry = %v, want the context's error and the last failure", err)
			}
			if calls != 1 {
				t.Errorf("%d calls, want 1", calls)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Retry did not stop when the context was cancelled")
		}
	})

	t.Run("a failure with the context done is not retried and names the context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		calls := 0
		err := store.Retry(ctx, 3, noBackoff, isTransient, func() error { calls++; cancel(); return errTransient })
		if !errors.Is(err, context.Canceled) || !errors.Is(err, errTransient) || calls != 1 {
			t.Errorf("Retry = %v after %d calls", err, calls)
		}
	})
}

func TestJitterBackoff(t *testing.T) {
	for n := 1; n <= 10; n++ {
		want := min(100*time.Millisecond<<(n-1), 2*time.Second)
		if n > 6 {
			want = 2 * time.Second
		}
		for range 100 {
			if d := store.JitterBackoff(n); d < want/2 || d > want {
				t.Fatalf("JitterBackoff(%d) = %v, want within [%v, %v]", n, d, want/2, want)
			}
		}
	}
	if d := store.JitterBackoff(1000); d > 2*time.Second {
		t.Errorf("JitterBackoff(1000) = %v, over the cap", d)
	}
}
