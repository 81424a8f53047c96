package wechat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"
)

// shouldRetry decides whether a failed attempt (the attempt-th of this call, counted from 1)
// is tried again, and says why. err is the attempt's error; resp its answer, or nil.
// Only transient failures are retried, and only while attempts remain.
func (c *Client) shouldRetry(err error, resp *http.Response, attempt int) (bool, string) {
	ok, reason := transient(err, resp)
	if !ok {
		return false, reason
	}
	if attempt >= c.attempts {
		return false, fmt.Sprintf("%s; all %d attempts used", reason, c.attempts)
	}
	return true, reason
}

// transient reports whether a failure may go away by itself: WeChat busy (-1), HTTP 5xx, a
// timeout, or a connection that failed, was reset or closed early. Token errors are handled by
// a reload instead; quota and permanent codes, HTTP 4xx and malformed answers never clear by
// retrying the same request.
func transient(err error, resp *http.Response) (bool, string) {
	if err == nil {
		return false, "success"
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		if apiErr.Class() == ClassRetryable {
			return true, "wechat busy"
		}
		return false, fmt.Sprintf("errcode %d is %s", apiErr.Code, apiErr.Class())
	}
	if resp != nil && resp.StatusCode >= 500 {
		return true, fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	var respErr *ResponseError
	if errors.As(err, &respErr) {
		if respErr.Transient() {
			return true, fmt.Sprintf("HTTP %d", respErr.StatusCode)
		}
		return false, "upstream protocol error"
	}
	if errors.Is(err, context.Canceled) {
		return false, "canceled"
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return true, "timeout"
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true, "connection closed early"
	}
	for _, errno := range []syscall.Errno{syscall.ECONNRESET, syscall.ECONNREFUSED, syscall.ECONNABORTED, syscall.EPIPE} {
		if errors.Is(err, errno) {
			return true, "connection error: " + errno.Error()
		}
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		if dnsErr.IsTemporary || dnsErr.IsTimeout {
			return true, "temporary DNS failure"
		}
		return false, "DNS failure"
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return true, "network error"
	}
	return false, "not transient"
}

// backoff returns the wait before retry n (n >= 1): full jitter, uniform in
// [0, min(max, base*2^(n-1))].
func (c *Client) backoff(n int) time.Duration {
	ceiling := min(c.base, c.max)
	for i := 1; i < n && ceiling < c.max; i++ {
		if ceiling > c.max/2 {
			ceiling = c.max
			break
		}
		ceiling *= 2
	}
	if ceiling <= 0 {
		return 0
	}
	return time.Duration(c.randN(int64(ceiling) + 1))
}

// pause waits d, or returns an error wrapping context.DeadlineExceeded at once when the
// context's deadline would pass first (no point waiting for an attempt that cannot start),
// or the context's error when it ends during the wait.
func (c *Client) pause(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	if deadline, ok := ctx.Deadline(); ok && !c.now().Add(d).Before(deadline) {
		return fmt.Errorf("deadline would pass during a %v wait: %w", d, context.DeadlineExceeded)
	}
	return c.wait(ctx, d)
}

// throttle waits for the rate limiter. A wait that would overrun the deadline gives back its
// reservation and fails at once.
func (c *Client) throttle(ctx context.Context) error {
	if c.limiter == nil {
		return nil
	}
	now := c.now()
	res := c.limiter.ReserveN(now, 1)
	if !res.OK() {
		return errors.New("rate limiter refused the request")
	}
	if err := c.pause(ctx, res.DelayFrom(now)); err != nil {
		res.CancelAt(c.now())
		return fmt.Errorf("rate limit: %w", err)
	}
	return nil
}

// waitCtx waits d, returning early with ctx.Err() when ctx ends. It never sleeps past ctx.
func waitCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
