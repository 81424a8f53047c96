package wechat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"
)

// retryable is the client's classifier for pkg/retry: whether a failure may go away by itself.
// WeChat busy (-1), HTTP 5xx, a timeout, or a connection that failed, was reset or closed early
// may; token errors are handled by a reload instead, and quota and permanent codes, HTTP 4xx,
// malformed answers and the end of the context never clear by retrying the same request.
func retryable(err error) bool {
	var (
		apiErr  *APIError
		respErr *ResponseError
		netErr  net.Error
		dnsErr  *net.DNSError
		opErr   *net.OpError
	)
	switch {
	case err == nil, errors.As(err, new(stopError)), errors.Is(err, context.Canceled):
		return false
	case errors.As(err, &apiErr):
		return apiErr.Class() == ClassRetryable
	case errors.As(err, &respErr):
		return respErr.Transient()
	case errors.As(err, &netErr) && netErr.Timeout():
		return true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return true // the connection closed early
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE):
		return true
	case errors.As(err, &dnsErr):
		return dnsErr.IsTemporary || dnsErr.IsTimeout
	case errors.As(err, &opErr):
		return true // another network error
	}
	return false
}

// throttle waits for the rate limiter. A wait that would overrun the deadline gives back its
// reservation and fails at once.
func (c *Client) throttle(ctx context.Context) error {
	if c.shared != nil {
		if err := c.shared.Wait(ctx); err != nil {
			return fmt.Errorf("rate limit: %w", err)
		}
		return nil
	}
	if c.limiter == nil {
		return nil
	}
	now := c.now()
	res := c.limiter.ReserveN(now, 1)
	if !res.OK() {
		return errors.New("rate limiter refused the request")
	}
	if err := c.retry.Pause(ctx, res.DelayFrom(now)); err != nil {
		res.CancelAt(c.now())
		return fmt.Errorf("rate limit: %w", err)
	}
	return nil
}

// now is the policy's clock (a test's fake one, or time.Now).
func (c *Client) now() time.Time {
	if c.retry.Now != nil {
		return c.retry.Now()
	}
	return time.Now()
}
