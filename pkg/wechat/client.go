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
	retry   retry.Policy  // attempts, backoff, and how to wait (also for the rate limiter)
	limiter *rate.Limiter // nil: unlimited
	logger  *slog.Logger
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

// WithWait replaces how the client waits for a backoff or the rate limiter. wait must return
// early with ctx.Err() when ctx ends. Tests use it to make waiting instant.
func WithWait(wait func(ctx context.Context, d time.Duration) error) Option {
	return func(c *Client) {
		if wait != nil {
			c.retry.Wait = wait
		}
	}
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
	resp, err := call[ComponentTokenResponse](ctx, c, epComponentToken, req)
	if err != nil {
		return nil, err
	}
	if resp.ComponentAccessToken == "" {
		return nil, &ResponseError{Endpoint: epComponentToken.name, StatusCode: http.StatusOK,
			Err: errors.New("answer has no component_access_token")}
	}
	return resp, nil
}

// endpoint describes one API call.
type endpoint struct {
	name  string // the last path element, used in errors and logs
	path  string
	token bool // sends ?access_token=
}

var (
	epShareEnv       = endpoint{"batchshareenv", PathShareEnv, true}
	epUnshareEnv     = endpoint{"batchunshareenv", PathUnshareEnv, true}
	epGetEnvID       = endpoint{"batchgetenvid", PathGetEnvID, true}
	epComponentToken = endpoint{"api_component_token", PathComponentToken, false}
)

// answer is a decoded response: every one carries errcode and errmsg.
type answer interface {
	status() (code int, msg string)
}

func (r *ShareEnvResponse) status() (int, string)       { return r.ErrCode, r.ErrMsg }
func (r *UnshareEnvResponse) status() (int, string)     { return r.ErrCode, r.ErrMsg }
func (r *GetEnvIDResponse) status() (int, string)       { return r.ErrCode, r.ErrMsg }
func (r *ComponentTokenResponse) status() (int, string) { return r.ErrCode, r.ErrMsg }

// call runs one API call: token, rate limit, attempts with backoff (pkg/retry), one reload
// after a token error. Every error it returns has been scrubbed of the tokens it used.
func call[T any, P interface {
	*T
	answer
}](ctx context.Context, c *Client, ep endpoint, in any) (*T, error) {
	// A typed nil pointer inside `in` is not == nil, so each method's request is checked here.
	if isNilRequest(in) {
		return nil, fmt.Errorf("wechat %s: nil request", ep.name)
	}
	body, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("wechat %s: encoding request: %w", ep.name, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("wechat %s: %w", ep.name, err)
	}

	r := run{c: c, ep: ep, trace: ContextClientTrace(ctx)}
	if ep.token {
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
// when WeChat rejected the token, one reload and a second request, which does not use up an
// attempt meant for transient failures.
func (r *run) attempt(ctx context.Context, body []byte, out answer) error {
	for {
		if err := ctx.Err(); err != nil {
			return stopError{err}
		}
		if err := r.c.throttle(ctx); err != nil {
			return stopError{err}
		}
		r.sent++
		r.trace.attemptStart(AttemptStartInfo{Endpoint: r.ep.name, Attempt: r.sent})
		start := time.Now()
		resp, err := r.c.send(ctx, r.ep, r.token, body, out)
		if err != nil {
			err = r.scrub(err)
			r.last = err
		}
		took := time.Since(start)
		r.trace.attemptDone(AttemptDoneInfo{Endpoint: r.ep.name, Attempt: r.sent, Duration: took, Err: err})
		r.log(ctx, resp, err, took)

		var apiErr *APIError
		if !r.ep.token || !errors.As(err, &apiErr) || apiErr.Class() != ClassToken {
			return err
		}
		if r.reloads > 0 {
			return fmt.Errorf("%w: %w", ErrTokenRejected, err)
		}
		if err := ctx.Err(); err != nil {
			return stopError{err}
		}
		r.reloads++
		r.trace.tokenReload(r.ep.name)
		r.c.logger.LogAttrs(ctx, slog.LevelInfo, "wechat rejected the access token; reloading it",
			slog.String("endpoint", r.ep.name), slog.Int("errcode", apiErr.Code))
		tok, err := r.c.tokens.Reload(ctx, r.token)
		if err != nil {
			return &TokenSourceError{Err: err}
		}
		r.use(tok)
	}
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
	if ep.token {
		u += "?access_token=" + url.QueryEscape(token)
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
		return resp, &APIError{Endpoint: ep.name, Code: code, Msg: msg}
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

// isNilRequest reports a nil request pointer.
func isNilRequest(in any) bool {
	switch v := in.(type) {
	case *ShareEnvRequest:
		return v == nil
	case *GetEnvIDRequest:
		return v == nil
	case *ComponentTokenRequest:
		return v == nil
	}
	return in == nil
}
