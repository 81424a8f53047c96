package ledger

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// Rate is a rate limit: PerSecond calls a second on average, Burst at once.
type Rate struct {
	PerSecond float64
	Burst     int
}

// Interval is the time one call uses up of the rate.
func (r Rate) Interval() time.Duration {
	return time.Duration(math.Ceil(float64(time.Second) / r.PerSecond))
}

// ErrBeyondDeadline: the calls asked for would only be allowed after the deadline given, so
// nothing was taken.
var ErrBeyondDeadline = errors.New("ledger: the rate limit allows the call only after the deadline")

// bucket is the token bucket's record, kept as the generic cell rate algorithm keeps it: the
// theoretical arrival time of the next call. Each draw is one conditional write.
type bucket struct {
	TAT     int64 `json:"tat_ns"` // Unix nanoseconds
	Version int64 `json:"-"`
}

func (b *bucket) setVersion(v int64) { b.Version = v }
func (b *bucket) version() int64     { return b.Version }

// Take draws n calls from the token bucket name, shared by every instance that uses the same
// ledger, and gives the time from which they may be made (now, or later when the bucket is
// empty: the caller waits until then). Over any window of time the calls drawn by everyone
// together start no more often than r allows: at most r.Burst + r.PerSecond × window. With a
// notAfter that is not zero, calls that would have to wait past it are not taken and the
// error wraps ErrBeyondDeadline.
func (l *Ledger) Take(ctx context.Context, name string, n int, r Rate, notAfter time.Time) (time.Time, error) {
	if !(r.PerSecond > 0) || r.Burst < 1 || n < 1 {
		return time.Time{}, fmt.Errorf("ledger: token bucket %q: the rate (%g a second, burst %d) and the number of calls (%d) must be positive", name, r.PerSecond, r.Burst, n)
	}
	interval := r.Interval()
	tolerance := time.Duration(r.Burst) * interval
	var start time.Time
	_, err := update(ctx, l, Key{KindBucket, name}, nil, bucket{}, func(b *bucket) (bool, error) {
		now := l.opts.Now()
		tat := time.Unix(0, b.TAT)
		if tat.Before(now) {
			tat = now
		}
		tat = tat.Add(time.Duration(n) * interval)
		start = tat.Add(-tolerance)
		if start.Before(now) {
			start = now
		}
		if !notAfter.IsZero() && start.After(notAfter) {
			return false, fmt.Errorf("%w: %d calls of %q at %s, deadline %s", ErrBeyondDeadline, n, name,
				start.Format(time.RFC3339Nano), notAfter.Format(time.RFC3339Nano))
		}
		b.TAT = tat.UnixNano()
		return true, nil
	})
	if err != nil {
		return time.Time{}, err
	}
	return start, nil
}

// Limiter waits for one call at a time from a token bucket in the ledger.
type Limiter struct {
	l    *Ledger
	name string
	rate Rate
}

// Limiter returns a limiter drawing from the bucket name at rate r.
func (l *Ledger) Limiter(name string, r Rate) *Limiter { return &Limiter{l: l, name: name, rate: r} }

// Wait draws one call and waits until it may be made. When the context has a deadline that
// the wait would pass, it draws nothing and fails at once, wrapping ErrBeyondDeadline and
// context.DeadlineExceeded (a caller such as pkg/wechat tells a deadline from a failure).
func (lim *Limiter) Wait(ctx context.Context) error {
	deadline, _ := ctx.Deadline()
	at, err := lim.l.Take(ctx, lim.name, 1, lim.rate, deadline)
	if errors.Is(err, ErrBeyondDeadline) {
		return fmt.Errorf("%w (%w)", err, context.DeadlineExceeded)
	}
	if err != nil {
		return err
	}
	return lim.l.opts.Wait(ctx, at.Sub(lim.l.opts.Now()))
}
