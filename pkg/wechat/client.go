package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/envshare/envshare/pkg/redact"
	"github.com/envshare/envshare/pkg/retry"
)

// Defaults of a Client.
const (
	DefaultAttempts    = retry.DefaultAttempts
	DefaultBackoffBase = 200 * time.Millisecond
	DefaultBackoffMax  = 5 * time.Second
	DefaultHTTPTimeout = 10 * time.Second

	// MaxAnswerBytes bounds how much of an answer is read; a larger one is a *ResponseError.
	MaxAnswerBytes = 4 << 20
)

// Client calls the WeChat API. It is safe for concurrent use; create one per instance so that
// its connections and its rate limit are shared by every invocation the instance serves.
type Client struct {
	baseURL string
	tokens  TokenSource
	http    *http.Client
	retry   retry.Policy  // attempts, backoff, how to wait (also for the rate limiter and 45011), the clock
	limiter *rate.Limiter // nil: unlimited
	shared  Limiter       // WithLimiter: replaces limiter
	logger  *slog.Logger

	minuteWaits int // waits for the next minute a call may make after errcode 45011
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (default: NewHTTPClient(DefaultHTTPTimeout)).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.http = hc
		}
	}
}

// WithAttempts sets how many attempts in all a call makes on transient failures (default 3,
// at least 1). The one retry after a token reload does not count.
func WithAttempts(n int) Option {
	return func(c *Client) { c.retry.Attempts = max(n, 1) }
}

// WithBackoff sets the backoff before retry n: a uniformly random duration in
// [0, min(maxWait, base*2^(n-1))] ("full jitter", pkg/retry). Defaults: 200ms and 5s.
func WithBackoff(base, maxWait time.Duration) Option {
	return func(c *Client) {
		c.retry.Base = max(base, 0)
		c.retry.Max = max(maxWait, c.retry.Base)
	}
}

// WithRateLimit limits the requests this client sends (retries included) to perSecond on
// average with bursts of burst. perSecond <= 0 means unlimited (the default).
func WithRateLimit(perSecond float64, burst int) Option {
	return func(c *Client) {
		if perSecond <= 0 {
			c.limiter = nil
			return
		}
		c.limiter = rate.NewLimiter(rate.Limit(perSecond), max(burst, 1))
	}
}

// Limiter is a rate limit that other processes may share, such as a token bucket in a
// database: Wait returns once one request may be sent, or an error. It should fail at once
// rather than wait past the context's deadline.
type Limiter interface {
	Wait(ctx context.Context) error
}

// WithLimiter makes every request wait for l (retries included) instead of WithRateLimit's
// limiter of this client alone; nil keeps WithRateLimit's. An error of l that is not the
// context's ends the call as Unavailable: the limit's store failing is transient.
func WithLimiter(l Limiter) Option {
	return func(c *Client) { c.shared = l }
}

// WithLogger sets the logger of the client's debug lines (one per attempt) and of its info
// line when it reloads a rejected token. Without it the client logs nothing: errors are
// returned, and ClientTrace reports every attempt.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithWait replaces how the client waits for a backoff, the rate limiter or the next minute
// (45011). wait must return early with ctx.Err() when ctx ends. Tests use it to make waiting
// instant, or to move a fake clock (WithClock).
func WithWait(wait func(ctx context.Context, d time.Duration) error) Option {
	return func(c *Client) {
		if wait != nil {
			c.retry.Wait = wait
		}
	}
}

// WithClock sets the client's clock (default time.Now): it decides when the next minute starts
// (45011), when a daily quota is reset (45009's RetryAfter), and whether a wait would overrun
// the context's deadline. Tests pair it with WithWait, so that waiting moves the fake clock.
func WithClock(now func() time.Time) Option {
	return func(c *Client) {
		if now != nil {
			c.retry.Now = now
		}
	}
}

// WithMinuteWaits sets how many times one call waits for the next minute after errcode 45011
// (the per-minute limit) before it fails as Unavailable (default DefaultMinuteWaits, 2; 0:
// never wait). A wait never overruns the context's deadline: when the next minute starts
// after it, the call fails at once as Unavailable.
func WithMinuteWaits(n int) Option {
	return func(c *Client) { c.minuteWaits = max(n, 0) }
}

// New returns a client for the API at baseURL (such as "https://api.weixin.qq.com"). tokens
// gives the component access token (StaticToken for a fixed one); it may be nil for a client
// used only for ComponentToken.
func New(baseURL string, tokens TokenSource, opts ...Option) *Client {
	c := &Client{
		baseURL: strings.TrimRight(baseURL, "/"),
		tokens:  tokens,
		retry:   retry.Policy{Attempts: DefaultAttempts, Base: DefaultBackoffBase, Max: DefaultBackoffMax},
		logger:  slog.New(slog.DiscardHandler),

		minuteWaits: DefaultMinuteWaits,
	}
	for _, opt := range opts {
		opt(c)
	}
	if c.http == nil {
		c.http = NewHTTPClient(DefaultHTTPTimeout)
	}
	return c
}

// ShareEnv shares environments with Mini Programs (componenttcb/batchshareenv).
// Send one env per call: msg_info_list links name an appid but no env.
func (c *Client) ShareEnv(ctx context.Context, req *ShareEnvRequest) (*ShareEnvResponse, error) {
	return call[ShareEnvResponse](ctx, c, epShareEnv, req)
}

// UnshareEnv withdraws shares (componenttcb/batchunshareenv).
func (c *Client) UnshareEnv(ctx context.Context, req *ShareEnvRequest) (*UnshareEnvResponse, error) {
	return call[UnshareEnvResponse](ctx, c, epUnshareEnv, req)
}

// GetEnvID lists the environments shared with Mini Programs (componenttcb/batchgetenvid).
func (c *Client) GetEnvID(ctx context.Context, req *GetEnvIDRequest) (*GetEnvIDResponse, error) {
	return call[GetEnvIDResponse](ctx, c, epGetEnvID, req)
}

// ComponentToken mints a component access token from the platform's credentials
// (cgi-bin/component/api_component_token). It needs no access token and no TokenSource.
// An answer without errcode and without a token is a *ResponseError.
func (c *Client) ComponentToken(ctx context.Context, req *ComponentTokenRequest) (*ComponentTokenResponse, error) {
	return call[ComponentTokenResponse](ctx, c, epComponentToken, req)
}

// endpoint describes one API call.
type endpoint struct {
	name       string // used in errors, logs and traces: the last path element, or "quota/get"
	path       string
	tokenParam string // the query parameter of the token; "": the call sends none
}

var (
	epShareEnv       = endpoint{"batchshareenv", PathShareEnv, "access_token"}
	epUnshareEnv     = endpoint{"batchunshareenv", PathUnshareEnv, "access_token"}
	epGetEnvID       = endpoint{"batchgetenvid", PathGetEnvID, "access_token"}
	epComponentToken = endpoint{"api_component_token", PathComponentToken, ""}
	epAuthorizerInfo = endpoint{"api_get_authorizer_info", PathAuthorizerInfo, "component_access_token"}
	epAuthorizerList = endpoint{"api_get_authorizer_list", PathAuthorizerList, "component_access_token"}
	epQuota          = endpoint{"quota/get", PathQuota, "access_token"}
)

// answer is a decoded response: every one carries errcode and errmsg.
type answer interface {
	status() (code int, msg string)
}

// validator is an answer that checks, once WeChat answered errcode 0, that it holds what the
// caller relies on; raw is the answer's JSON. Its error makes the answer a *ResponseError.
type validator interface {
	validate(raw []byte) error
}

// checker is a request that can be refused before it is sent.
type checker interface {
	check() error
}

func (r *ShareEnvResponse) status() (int, string)       { return r.ErrCode, r.ErrMsg }
func (r *UnshareEnvResponse) status() (int, string)     { return r.ErrCode, r.ErrMsg }
func (r *GetEnvIDResponse) status() (int, string)       { return r.ErrCode, r.ErrMsg }
func (r *ComponentTokenResponse) status() (int, string) { return r.ErrCode, r.ErrMsg }
func (r *AuthorizerInfoResponse) status() (int, string) { return r.ErrCode, r.ErrMsg }
func (r *AuthorizerListResponse) status() (int, string) { return r.ErrCode, r.ErrMsg }
func (r *QuotaResponse) status() (int, string)          { return r.ErrCode, r.ErrMsg }

func (r *ComponentTokenResponse) validate([]byte) error {
	if r.ComponentAccessToken == "" {
		return errors.New("answer has no component_access_token")
	}
	return nil
}

// call runs one API call: token, rate limit, attempts with backoff (pkg/retry), one reload
// after a token error. Every error it returns has been scrubbed of the tokens it used.
func call[T any, P interface {
	*T
	answer
}, R any](ctx context.Context, c *Client, ep endpoint, in *R) (*T, error) {
	if in == nil {
		return nil, fmt.Errorf("wechat %s: nil request", ep.name)
	}
	if ch, ok := any(in).(checker); ok {
		if err := ch.check(); err != nil {
			return nil, fmt.Errorf("wechat %s: request not sent: %w", ep.name, err)
		}
	}
	body, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("wechat %s: encoding request: %w", ep.name, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("wechat %s: %w", ep.name, err)
	}

	r := run{c: c, ep: ep, trace: ContextClientTrace(ctx)}
	if r.trace == nil {
		r.trace = &ClientTrace{} // every hook nil: nothing to report to
	}
	if ep.tokenParam != "" {
		if c.tokens == nil {
			return nil, &TokenSourceError{Err: errors.New("client has no token source")}
		}
		tok, err := c.tokens.Token(ctx)
		if err != nil {
			return nil, r.scrub(&TokenSourceError{Err: err})
		}
		r.use(tok)
	}

	var out P
	err = c.retry.Do(ctx, retryable, func(ctx context.Context) error {
		out = P(new(T))
		return r.attempt(ctx, body, out)
	})
	if err != nil {
		return nil, r.scrub(r.failure(ctx, err))
	}
	return (*T)(out), nil
}

// run is the state of one call across its attempts.
type run struct {
	c       *Client
	ep      endpoint
	trace   *ClientTrace
	token   string   // the token the next request sends
	tokens  []string // every token used, for scrubbing
	sent    int      // HTTP requests sent
	reloads int      // 0 or 1
	last    error    // the last request's error

	minuteWaits int // waits for the next minute after 45011 so far
}

func (r *run) use(tok string) {
	r.token = tok
	if tok != "" {
		r.tokens = append(r.tokens, tok)
	}
}

// stopError ends a call without another attempt: the rate limiter's wait would overrun the
// context, or the context ended.
type stopError struct{ err error }

func (e stopError) Error() string { return e.err.Error() }
func (e stopError) Unwrap() error { return e.err }

// attempt is one attempt of the retry policy: a request (its answer decoded into out) and,
// when WeChat rejected the token, one reload and a second request, or, after errcode 45011,
// a wait for the next minute and another request; neither uses up an attempt meant for
// transient failures.
func (r *run) attempt(ctx context.Context, body []byte, out answer) error {
	for {
		if err := ctx.Err(); err != nil {
			return stopError{err}
		}
		if err := r.c.throttle(ctx); err != nil {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				return stopError{err}
			}
			return &UnavailableError{Endpoint: r.ep.name, Attempts: r.sent, Err: err}
		}
		r.sent++
		fire(r.trace.AttemptStart, AttemptStartInfo{Endpoint: r.ep.name, Attempt: r.sent})
		start := time.Now()
		resp, err := r.c.send(ctx, r.ep, r.token, body, out)
		if err != nil {
			err = r.scrub(err)
			r.last = err
		}
		took := time.Since(start)
		fire(r.trace.AttemptDone, AttemptDoneInfo{Endpoint: r.ep.name, Attempt: r.sent, Duration: took, Err: err})
		r.log(ctx, resp, err, took)

		var apiErr *APIError
		if !errors.As(err, &apiErr) {
			return err
		}
		switch {
		case apiErr.Code == ErrcodeMinuteQuota:
			err = r.waitNextMinute(ctx, err)
		case r.ep.tokenParam != "" && apiErr.Class() == ClassToken:
			err = r.reload(ctx, apiErr, err)
		}
		if err != nil {
			return err
		}
	}
}

// reload handles a rejected token (err): it reloads the token once and returns nil so that the
// request is sent again, or returns the error to end the call with.
func (r *run) reload(ctx context.Context, apiErr *APIError, err error) error {
	if r.reloads > 0 {
		fire(r.trace.TokenRejected, r.ep.name)
		return fmt.Errorf("%w: %w", ErrTokenRejected, err)
	}
	if err := ctx.Err(); err != nil {
		return stopError{err}
	}
	r.reloads++
	fire(r.trace.TokenReload, r.ep.name)
	r.c.logger.LogAttrs(ctx, slog.LevelInfo, "wechat rejected the access token; reloading it",
		slog.String("endpoint", r.ep.name), slog.Int("errcode", apiErr.Code))
	tok, err := r.c.tokens.Reload(ctx, r.token)
	if err != nil {
		fire(r.trace.TokenRejected, r.ep.name)
		return &TokenSourceError{Err: err}
	}
	r.use(tok)
	return nil
}

// failure is the error of a call whose attempts ended in err: the context's end, transient
// failures on every attempt (*UnavailableError), or err itself.
func (r *run) failure(ctx context.Context, err error) error {
	var stop stopError
	var stopped *retry.Stopped
	switch {
	case errors.As(err, &stopped):
		return r.stop(stopped.Cause)
	case errors.As(err, &stop):
		return r.stop(stop.err)
	case ctx.Err() != nil:
		return r.stop(ctx.Err())
	case retryable(err):
		return &UnavailableError{Endpoint: r.ep.name, Attempts: r.sent, Err: err}
	}
	return err
}

// stop makes the error of a call that ended because of its context (cause wraps the context's
// error), naming the last request's error if there was one.
func (r *run) stop(cause error) error {
	if r.last == nil {
		return fmt.Errorf("wechat %s: %w", r.ep.name, cause)
	}
	return fmt.Errorf("wechat %s: stopped after %d attempt(s) (last error: %v): %w",
		r.ep.name, r.sent, r.last, cause)
}

// scrub is the last guard before an error leaves the client: a *url.Error gets a masked URL,
// and any other trace of a token this call used (an errmsg or a token source's error that
// echoes it) is masked, while errors.Is and errors.As still see the chain.
func (r *run) scrub(err error) error { return redact.Values(redact.URLError(err), r.tokens...) }

// log writes one debug line per request. It never logs the URL, a body or the token.
func (r *run) log(ctx context.Context, resp *http.Response, err error, took time.Duration) {
	if !r.c.logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	status, code := 0, 0
	if resp != nil {
		status = resp.StatusCode
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		code = apiErr.Code
	}
	attrs := []slog.Attr{
		slog.String("endpoint", r.ep.name),
		slog.Int("attempt", r.sent),
		slog.Int("status", status),
		slog.Int("errcode", code),
		slog.Duration("duration", took),
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	r.c.logger.LogAttrs(ctx, slog.LevelDebug, "wechat attempt", attrs...)
}

// send makes one HTTP request and decodes the answer into out. A fresh body reader is made
// for every attempt.
func (c *Client) send(ctx context.Context, ep endpoint, token string, body []byte, out answer) (*http.Response, error) {
	u := c.baseURL + ep.path
	if ep.tokenParam != "" {
		u += "?" + ep.tokenParam + "=" + url.QueryEscape(token)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("wechat %s: %w", ep.name, redact.URLError(err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("wechat %s: %w", ep.name, redact.URLError(err))
	}
	defer drainClose(resp.Body)

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp, &ResponseError{Endpoint: ep.name, StatusCode: resp.StatusCode}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswerBytes+1))
	if err != nil {
		return resp, fmt.Errorf("wechat %s: reading answer: %w", ep.name, err)
	}
	if err := decode(data, out); err != nil {
		return resp, &ResponseError{Endpoint: ep.name, StatusCode: resp.StatusCode, Err: err}
	}
	if code, msg := out.status(); code != 0 {
		apiErr := &APIError{Endpoint: ep.name, Code: code, Msg: msg}
		if code == ErrcodeDailyQuota {
			return resp, &QuotaExhaustedError{Endpoint: ep.name, RetryAfter: NextDailyReset(c.now()), Err: apiErr}
		}
		return resp, apiErr
	}
	if v, ok := out.(validator); ok {
		if err := v.validate(data); err != nil {
			return resp, &ResponseError{Endpoint: ep.name, StatusCode: resp.StatusCode, Err: err}
		}
	}
	return resp, nil
}

// decode reads a JSON object tolerantly: absent fields keep their zero value and unknown
// fields are ignored, so older and newer answers both decode.
func decode(data []byte, out answer) error {
	if len(data) > MaxAnswerBytes {
		return fmt.Errorf("answer larger than %d bytes", MaxAnswerBytes)
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return fmt.Errorf("not a JSON object (%d bytes)", len(data))
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("invalid JSON (%d bytes): %w", len(data), err)
	}
	return nil
}

// drainClose reads a little of what is left so the connection can be reused, then closes.
func drainClose(body io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, body, 64<<10)
	_ = body.Close()
}
