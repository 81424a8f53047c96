package awsstore

import (
	"net/http"
	"time"

	"github.com/envshare/envshare/internal/store"
)

// Option configures a store or queue.
type Option func(*options)

type options struct {
	endpoint   string
	httpClient *http.Client
	attempts   int
	backoff    store.Backoff
	timeout    time.Duration
	kmsKeyID   string
}

// WithEndpoint sends every call to this URL (such as http://127.0.0.1:4566) instead of the one
// the environment or the region gives.
func WithEndpoint(url string) Option { return func(o *options) { o.endpoint = url } }

// WithHTTPClient carries every call; the default is a client of its own, so connections are
// reused across invocations.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.httpClient = c } }

// WithAttempts sets how many times a transiently failing call is made in all (default 3).
func WithAttempts(n int) Option { return func(o *options) { o.attempts = n } }

// WithBackoff sets the pause after the nth failed attempt (default store.JitterBackoff).
func WithBackoff(b store.Backoff) Option { return func(o *options) { o.backoff = b } }

// WithAttemptTimeout bounds each attempt (default store.DefaultAttemptTimeout).
func WithAttemptTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithKMSKeyID encrypts what Parameters.Put writes with this KMS key (id, ARN or alias)
// instead of the account's default key for SSM (alias/aws/ssm).
func WithKMSKeyID(id string) Option { return func(o *options) { o.kmsKeyID = id } }
