package wechat

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/envshare/envshare/pkg/retry"
)

// fakeClock is a clock that only moves when the client waits.
type fakeClock struct {
	mu      sync.Mutex
	t       time.Time
	advance bool // waiting moves the clock
	waits   []time.Duration
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) wait(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	if c.advance {
		c.t = c.t.Add(d)
	}
	return ctx.Err()
}

func (c *fakeClock) recorded() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

// withClock makes f's client use clock. The real deadline of a test context lies an hour
// ahead, so only the fake clock decides whether it would pass.
func withClock(f *fixture, clock *fakeClock) {
	f.client.retry.Now = clock.now
	f.client.retry.Wait = clock.wait
}

func TestADeadlineThatWouldPassDuringBackoffStopsTheRetries(t *testing.T) {
	f := setup(t, WithAttempts(10), WithBackoff(400*time.Millisecond, 5*time.Second))
	f.client.retry.Jitter = maxJitter
	deadline := time.Now().Add(time.Hour)
	clock := &fakeClock{t: deadline.Add(-time.Second), advance: true} // one second left
	withClock(f, clock)
	f.mux.HandleFunc(PathShareEnv, errcode(-1))

	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	_, err := f.client.ShareEnv(ctx, shareReq())

	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want one wrapping context.DeadlineExceeded", err)
	}
	var unavailable *UnavailableError
	if errors.As(err, &unavailable) {
		t.Errorf("a deadline is reported as unavailable: %v", err)
	}
	// 400ms backoff fits in the second left; the next 800ms would not, so no third attempt.
	if n := f.hitsOf(PathShareEnv); n != 2 {
		t.Errorf("hits = %d, want 2", n)
	}
	if got := clock.recorded(); !reflect.DeepEqual(got, []time.Duration{400 * time.Millisecond}) {
		t.Errorf("waits = %v", got)
	}
}

func TestARealWaitReturnsAtOnceWhenTheDeadlineIsNear(t *testing.T) {
	f := setup(t, WithWait(retry.Sleep), WithBackoff(time.Hour, time.Hour))
	f.client.retry.Jitter = maxJitter
	f.mux.HandleFunc(PathShareEnv, status(503, ""))

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	shareEnds(ctx, t, f, context.DeadlineExceeded, 1) // an hour's backoff would overrun the minute left
}

func TestACancelDuringTheBackoffEndsTheWait(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cancelThenWait := func(ctx context.Context, d time.Duration) error {
		cancel()
		return retry.Sleep(ctx, d) // an hour, unless it honours ctx
	}
	f := setup(t, WithWait(cancelThenWait), WithBackoff(time.Hour, time.Hour))
	f.mux.HandleFunc(PathShareEnv, errcode(-1))

	shareEnds(ctx, t, f, context.Canceled, 1)
}

func TestNoAttemptStartsAfterTheContextEnded(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc(PathShareEnv, ok)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	shareEnds(ctx, t, f, context.Canceled, 0)
}

// shareEnds calls ShareEnv with ctx and fails the test unless the call ends in an error
// wrapping want after hits requests.
func shareEnds(ctx context.Context, t *testing.T, f *fixture, want error, hits int) {
	t.Helper()
	_, err := f.client.ShareEnv(ctx, shareReq())
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want one wrapping %v", err, want)
	}
	if n := f.hitsOf(PathShareEnv); n != hits {
		t.Errorf("hits = %d, want %d", n, hits)
	}
}

// deadlineOnCue is a context whose deadline passes when the test says so, not by a clock: what
// happens at a deadline is then tested the same way however busy the machine is.
type deadlineOnCue struct {
	context.Context
	passed chan struct{}
}

func newDeadlineOnCue() *deadlineOnCue {
	return &deadlineOnCue{Context: context.Background(), passed: make(chan struct{})}
}

func (c *deadlineOnCue) pass()                 { close(c.passed) }
func (c *deadlineOnCue) Done() <-chan struct{} { return c.passed }

func (c *deadlineOnCue) Err() error {
	select {
	case <-c.passed:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

func TestADeadlineDuringTheRequestIsNotRetried(t *testing.T) {
	f := setup(t)
	ctx := newDeadlineOnCue()
	release := make(chan struct{})
	defer close(release)
	f.mux.HandleFunc(PathShareEnv, func(w http.ResponseWriter, r *http.Request) {
		ctx.pass() // the deadline passes while WeChat holds the request
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	shareEnds(ctx, t, f, context.DeadlineExceeded, 1)
}

func TestTheRateLimitSpacesRequests(t *testing.T) {
	f := setup(t, WithRateLimit(10, 1))
	clock := &fakeClock{t: time.Now(), advance: true}
	withClock(f, clock)
	f.mux.HandleFunc(PathGetEnvID, ok)

	for range 3 {
		if _, err := f.client.GetEnvID(context.Background(), &GetEnvIDRequest{AppIDs: []string{"wx1"}}); err != nil {
			t.Fatal(err)
		}
	}
	want := []time.Duration{100 * time.Millisecond, 100 * time.Millisecond} // the burst of 1 goes first
	if got := clock.recorded(); !reflect.DeepEqual(got, want) {
		t.Errorf("waits = %v, want %v", got, want)
	}
}

func TestTheRateLimitWaitHonoursTheContext(t *testing.T) {
	t.Run("a wait past the deadline fails at once and sends nothing", func(t *testing.T) {
		f := setup(t, WithRateLimit(10, 1))
		deadline := time.Now().Add(time.Hour)
		clock := &fakeClock{t: deadline.Add(-50 * time.Millisecond), advance: true}
		withClock(f, clock)
		f.mux.HandleFunc(PathGetEnvID, ok)
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		defer cancel()
		req := &GetEnvIDRequest{AppIDs: []string{"wx1"}}

		if _, err := f.client.GetEnvID(ctx, req); err != nil { // uses the burst
			t.Fatal(err)
		}
		_, err := f.client.GetEnvID(ctx, req) // needs 100ms, has 50ms
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error = %v, want DeadlineExceeded", err)
		}
		if n := f.hitsOf(PathGetEnvID); n != 1 {
			t.Errorf("hits = %d, want 1", n)
		}
		// The refused reservation was given back: the next caller waits 100ms, not 200ms.
		if _, err := f.client.GetEnvID(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		if got := clock.recorded(); !reflect.DeepEqual(got, []time.Duration{100 * time.Millisecond}) {
			t.Errorf("waits = %v", got)
		}
	})
	t.Run("a cancel during the wait sends nothing", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		f := setup(t, WithRateLimit(1, 1), WithWait(func(ctx context.Context, d time.Duration) error {
			cancel()
			return retry.Sleep(ctx, d)
		}))
		f.mux.HandleFunc(PathGetEnvID, ok)
		req := &GetEnvIDRequest{AppIDs: []string{"wx1"}}
		if _, err := f.client.GetEnvID(ctx, req); err != nil {
			t.Fatal(err)
		}
		if _, err := f.client.GetEnvID(ctx, req); !errors.Is(err, context.Canceled) {
			t.Fatalf("error = %v, want Canceled", err)
		}
		if n := f.hitsOf(PathGetEnvID); n != 1 {
			t.Errorf("hits = %d, want 1", n)
		}
	})
}

func TestTheRateLimitIsSharedByConcurrentCalls(t *testing.T) {
	f := setup(t, WithRateLimit(1000, 1))
	clock := &fakeClock{t: time.Now()} // frozen: every reservation queues behind the others
	withClock(f, clock)
	f.mux.HandleFunc(PathShareEnv, ok)

	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := f.client.ShareEnv(context.Background(), shareReq()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got := clock.recorded()
	sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
	if len(got) != 19 {
		t.Fatalf("waits = %v, want 19", got)
	}
	for i, d := range got {
		if want := time.Duration(i+1) * time.Millisecond; d != want {
			t.Errorf("wait %d = %v, want %v", i, d, want)
		}
	}
}

// countingLimiter is a shared limiter: it counts its waits and fails with err.
type countingLimiter struct {
	mu    sync.Mutex
	waits int
	err   error
}

func (l *countingLimiter) Wait(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.waits++
	return l.err
}

func TestASharedLimiterReplacesTheClientsOwn(t *testing.T) {
	t.Run("every request waits for it, retries included", func(t *testing.T) {
		lim := &countingLimiter{}
		f := setup(t, WithRateLimit(0.001, 1), WithLimiter(lim)) // the own limiter would wait 1000s
		busy := 0
		f.mux.HandleFunc(PathGetEnvID, func(w http.ResponseWriter, r *http.Request) {
			if busy++; busy == 1 {
				w.Write([]byte(`{"errcode":-1,"errmsg":"system busy"}`))
				return
			}
			ok(w, r)
		})
		for range 2 {
			if _, err := f.client.GetEnvID(context.Background(), &GetEnvIDRequest{AppIDs: []string{"wx1"}}); err != nil {
				t.Fatal(err)
			}
		}
		if lim.waits != 3 || len(f.waits.all()) != 1 { // the one backoff after busy
			t.Fatalf("limiter waits %d, client waits %v", lim.waits, f.waits.all())
		}
	})
	t.Run("its failure is transient, its deadline a deadline", func(t *testing.T) {
		for _, tt := range []struct {
			err  error
			want Failure
		}{
			{errors.New("the ledger is unreachable"), Unavailable},
			{fmt.Errorf("bucket: %w", context.DeadlineExceeded), Stopped},
		} {
			f := setup(t, WithLimiter(&countingLimiter{err: tt.err}))
			f.mux.HandleFunc(PathGetEnvID, ok)
			_, err := f.client.GetEnvID(context.Background(), &GetEnvIDRequest{AppIDs: []string{"wx1"}})
			if Classify(err) != tt.want || f.hitsOf(PathGetEnvID) != 0 {
				t.Fatalf("limiter error %v: call error %v (%v), %d requests", tt.err, err, Classify(err), f.hitsOf(PathGetEnvID))
			}
		}
	})
}
