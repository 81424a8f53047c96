package store

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/envshare/envshare/pkg/retry"
)

// Retries of a cloud store's calls: the policy of pkg/retry (the WeChat client's too), with
// bounds short enough for a function that answers within seconds.
const (
	DefaultAttempts    = retry.DefaultAttempts
	DefaultBackoffBase = 100 * time.Millisecond
	DefaultBackoffMax  = 2 * time.Second
)

// DefaultAttemptTimeout bounds one attempt of a cloud store's call, so an endpoint that never
// answers is attempted again while the caller's deadline allows.
const DefaultAttemptTimeout = 10 * time.Second

// Options are the settings of both cloud stores (awsstore, tencentstore): where their calls
// go, what carries them, and how they are retried. Each field belonging to one cloud says so.
type Options struct {
	Endpoint       string       // the service's URL instead of the public one
	HTTPClient     *http.Client // nil: a client of the store's own
	Retry          retry.Policy // attempts and backoff of transient failures
	AttemptTimeout time.Duration

	KMSKeyID  string // awsstore: the KMS key of Parameters.Put
	VersionID string // tencentstore: the secret's version to read and write
	Qualifier string // tencentstore: the version or alias an Invoker invokes
}

// Option configures a cloud store, queue or invoker.
type Option func(*Options)

// NewOptions applies opts over the defaults.
func NewOptions(opts []Option) Options {
	o := Options{
		Retry:          retry.Policy{Attempts: DefaultAttempts, Base: DefaultBackoffBase, Max: DefaultBackoffMax},
		AttemptTimeout: DefaultAttemptTimeout,
	}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithEndpoint sends every call to this URL (such as http://127.0.0.1:4566) instead of the one
// the environment or the region gives.
func WithEndpoint(url string) Option { return func(o *Options) { o.Endpoint = url } }

// WithHTTPClient carries every call (a Tencent store uses its transport: the SDK sets its own
// timeout). The default is a client of the store's own, so connections are reused across
// invocations.
func WithHTTPClient(c *http.Client) Option { return func(o *Options) { o.HTTPClient = c } }

// WithAttempts sets how many times a transiently failing call is made in all (default 3).
func WithAttempts(n int) Option { return func(o *Options) { o.Retry.Attempts = n } }

// WithBackoff sets the longest pause before the first retry and the cap of the doubling
// (default 100 ms and 2 s; each pause is drawn from [0, that], see pkg/retry).
func WithBackoff(base, maxWait time.Duration) Option {
	return func(o *Options) { o.Retry.Base, o.Retry.Max = base, max(maxWait, base) }
}

// WithWait replaces how a store pauses between attempts (tests make it instant).
func WithWait(wait func(ctx context.Context, d time.Duration) error) Option {
	return func(o *Options) { o.Retry.Wait = wait }
}

// WithAttemptTimeout bounds each attempt (default DefaultAttemptTimeout).
func WithAttemptTimeout(d time.Duration) Option {
	return func(o *Options) {
		if d > 0 {
			o.AttemptTimeout = d
		}
	}
}

// Call is the retry wrapper of both cloud stores: it makes attempt, each bounded by
// AttemptTimeout, as the retry policy says while transient calls its error passing. secret,
// when not empty, is what the call writes: a service's error message should never quote it,
// but the service's text is not ours, so a ServiceError's message is redacted of it. The error
// is the last attempt's (saying which attempt it was when there were several), or a
// *retry.Stopped naming the context's end and the last failure.
func (o Options) Call(ctx context.Context, transient func(error) bool, secret string, attempt func(ctx context.Context) error) error {
	n := 0
	err := o.Retry.Do(ctx, transient, func(ctx context.Context) error {
		n++
		ctx, cancel := context.WithTimeout(ctx, o.AttemptTimeout)
		defer cancel()
		err := attempt(ctx)
		if e, ok := errors.AsType[ServiceError](err); ok && secret != "" {
			msg := e.ServiceMessage()
			*msg = strings.ReplaceAll(*msg, secret, "[redacted]")
		}
		return err
	})
	if _, stopped := errors.AsType[*retry.Stopped](err); err != nil && !stopped && n > 1 {
		return fmt.Errorf("%w (attempt %d of %d)", err, n, max(o.Retry.Attempts, n))
	}
	return err
}

// ServiceError is a cloud store's error that carries the service's own message.
type ServiceError interface {
	error
	// ServiceMessage gives the error's field that holds the service's message.
	ServiceMessage() *string
}
