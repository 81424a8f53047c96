package tencentstore

import (
	"net/http"
	"time"

	"github.com/envshare/envshare/internal/store"
)

// Option configures a store or an invoker.
type Option func(*options)

type options struct {
	endpoint  string
	transport http.RoundTripper
	attempts  int
	backoff   store.Backoff
	timeout   time.Duration
	versionID string
	qualifier string
}

// WithEndpoint sends every call to this URL (such as http://127.0.0.1:9000) instead of the
// service's public endpoint (https://ssm.tencentcloudapi.com, https://scf.tencentcloudapi.com).
func WithEndpoint(url string) Option { return func(o *options) { o.endpoint = url } }

// WithHTTPClient carries every call through c's transport (the SDK sets its own timeout;
// WithAttemptTimeout bounds each attempt).
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) {
		switch {
		case c == nil:
		case c.Transport == nil:
			o.transport = http.DefaultTransport // as c itself would
		default:
			o.transport = c.Transport
		}
	}
}

// WithAttempts sets how many times a transiently failing call is made in all (default 3).
func WithAttempts(n int) Option { return func(o *options) { o.attempts = n } }

// WithBackoff sets the pause after the nth failed attempt (default store.JitterBackoff).
func WithBackoff(b store.Backoff) Option { return func(o *options) { o.backoff = b } }

// WithAttemptTimeout bounds each attempt (default store.DefaultAttemptTimeout).
func WithAttemptTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithVersionID reads (and writes) this version of the secret. Without it Get reads the newest
// version and Put is refused. The state record's store needs it (DefaultStateVersionID).
func WithVersionID(id string) Option { return func(o *options) { o.versionID = id } }

// WithQualifier invokes this version or alias of the function instead of $LATEST (Invoker only).
func WithQualifier(q string) Option { return func(o *options) { o.qualifier = q } }
