package share

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"github.com/envshare/envshare/pkg/wechat"
)

// Upstream is the WeChat API as this package uses it; *wechat.Client implements it.
type Upstream interface {
	ShareEnv(ctx context.Context, req *wechat.ShareEnvRequest) (*wechat.ShareEnvResponse, error)
	UnshareEnv(ctx context.Context, req *wechat.ShareEnvRequest) (*wechat.UnshareEnvResponse, error)
	GetEnvID(ctx context.Context, req *wechat.GetEnvIDRequest) (*wechat.GetEnvIDResponse, error)
}

// Notifier delivers confirmation links (pending_confirmation outcomes) to the operator.
type Notifier interface {
	Notify(ctx context.Context, action string, pending []Outcome) error
}

// Options tune a Service. Zero values take the documented defaults.
type Options struct {
	SourceType     int              // default source_type (1)
	ChunkSize      int              // appids per upstream call (100)
	Concurrency    int              // upstream calls in flight per invocation (8)
	DeadlineMargin time.Duration    // reconcile stops starting calls this long before the deadline (3s)
	Manifest       *Request         // the configured ENVSHARE_MANIFEST, or nil
	Notifier       Notifier         // nil: links are only returned
	Logger         *slog.Logger     // nil: slog.Default()
	Now            func() time.Time // clock for the deadline margin; nil: time.Now
}

// Defaults of Options.
const (
	DefaultSourceType     = 1
	DefaultChunkSize      = 100
	DefaultConcurrency    = 8
	DefaultDeadlineMargin = 3 * time.Second
)

// Service carries out share, unshare, bindings and reconcile requests. It is safe for
// concurrent use and holds no per-request state. Create it once per instance.
type Service struct {
	up   Upstream
	opts Options
	log  *slog.Logger

	manifestOnce sync.Once // Options.Manifest is validated on first use
	manifestErr  error
}

// New returns a Service calling up, with opts' zero values replaced by the defaults.
func New(up Upstream, opts Options) *Service {
	if opts.SourceType == 0 {
		opts.SourceType = DefaultSourceType
	}
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = DefaultChunkSize
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.DeadlineMargin <= 0 {
		opts.DeadlineMargin = DefaultDeadlineMargin
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Service{up: up, opts: opts, log: log}
}

// Do carries out req according to req.Action. It returns a *Result for every processed
// request (ok false when some entry failed), or an *Error: invalid_request, or the code shared
// by every failed upstream call when the whole request failed (CONTRACT.md section 4), or
// internal for anything unexpected.
func (s *Service) Do(ctx context.Context, req Request) (res *Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.ErrorContext(ctx, "unexpected failure", "action", req.Action, "panic", fmt.Sprint(p))
			res, err = nil, &Error{Code: CodeInternal, Message: "internal error"}
		}
	}()
	if err := validate(&req, stateOf(&req)).err("invalid request"); err != nil {
		return nil, err
	}
	start := time.Now()
	switch req.Action {
	case ActionShare, ActionUnshare:
		res, err = s.write(ctx, &req)
	case ActionBindings:
		res, err = s.bindings(ctx, &req)
	default: // validate admits only the four actions
		res, err = s.reconcile(ctx, &req)
	}
	if err != nil {
		var e *Error
		if !errors.As(err, &e) || e == nil {
			e = &Error{Code: CodeInternal, Message: "internal error"}
		}
		s.log.InfoContext(ctx, "action failed", "action", req.Action, "code", e.Code, "message", e.Message,
			"duration_ms", time.Since(start).Milliseconds())
		return nil, e
	}
	attrs := []any{"action", res.Action, "ok", res.OK, "source_type", res.SourceType,
		"duration_ms", time.Since(start).Milliseconds()}
	if res.Summary != nil {
		attrs = append(attrs, slog.Group("summary", summaryAttrs(res.Summary)...))
	} else {
		attrs = append(attrs, "bindings", len(res.Bindings), "errors", len(res.Errors))
	}
	if res.Notification != nil {
		attrs = append(attrs, "notification_sent", res.Notification.Sent)
	}
	s.log.InfoContext(ctx, "action done", attrs...)
	return res, nil
}

func summaryAttrs(sum Summary) []any {
	out := make([]any, 0, 2*len(sum))
	for _, c := range sum {
		out = append(out, c.Name, c.N)
	}
	return out
}

func (s *Service) sourceType(req *Request) int {
	if req.SourceType != nil {
		return *req.SourceType
	}
	return s.opts.SourceType
}

// parallel runs fn(0..n-1), in order, with at most Concurrency calls in flight. A panic in
// fn becomes an internal error instead of killing the process.
func (s *Service) parallel(n int, fn func(i int)) error {
	if n == 1 { // the common one-chunk request: no goroutine to start and wait for
		return s.internal(guard(func() { fn(0) }))
	}
	q := newWorkQueue(s.opts.Concurrency)
	for i := range n {
		q.add(func() { fn(i) })
	}
	return s.internal(q.wait())
}

// internal logs an unexpected failure and returns the internal error for it (nil for nil).
func (s *Service) internal(err error) error {
	if err == nil {
		return nil
	}
	s.log.Error("unexpected failure", "error", err)
	return &Error{Code: CodeInternal, Message: "internal error"}
}

// tooLate reports whether a call should not be started any more: the context is done, or its
// deadline is closer than DeadlineMargin.
func (s *Service) tooLate(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	deadline, ok := ctx.Deadline()
	return ok && deadline.Sub(s.opts.Now()) < s.opts.DeadlineMargin
}

// callError is why one upstream call failed, as the entries of its chunk report it.
type callError struct {
	entry EntryError
	api   *wechat.APIError // WeChat's errcode answer, when there was one
}

// notStarted is the failure of a call that was not sent because the context was done.
var notStarted = &callError{entry: EntryError{Code: CodeDeadlineExceeded,
	Message: "not sent: the invocation's deadline had passed or it was canceled"}}

// classify maps an upstream error to an entry error code (CONTRACT.md section 4).
func classify(ctx context.Context, err error) *callError {
	var (
		api   *wechat.APIError
		unav  *wechat.UnavailableError
		token *wechat.TokenSourceError
	)
	errors.As(err, &api)
	ce := &callError{api: api}
	switch {
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		ce.entry = deadlineError(ctx.Err())
	case errors.As(err, &unav), errors.As(err, &token):
		ce.entry = EntryError{Code: CodeUpstreamUnavailable, Message: redact(err.Error())}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		ce.entry = deadlineError(err)
	case api != nil:
		ce.entry = EntryError{Code: CodeUpstreamError,
			Message: fmt.Sprintf("WeChat %s answered errcode %d: %s", api.Endpoint, api.Code, redact(api.Msg))}
	default:
		ce.entry = EntryError{Code: CodeUpstreamError, Message: redact(err.Error())}
	}
	return ce
}

func deadlineError(err error) EntryError {
	if errors.Is(err, context.Canceled) {
		return EntryError{Code: CodeDeadlineExceeded, Message: "the invocation was canceled before WeChat answered"}
	}
	return EntryError{Code: CodeDeadlineExceeded, Message: "the invocation's deadline passed before WeChat answered"}
}

// tokenInText matches an access token that a foreign error might still carry in a URL.
var tokenInText = regexp.MustCompile(`(access_token=)[^&\s"']+`)

// redact is a last line of defence: the wechat client already redacts its errors.
func redact(s string) string {
	return tokenInText.ReplaceAllString(s, "${1}REDACTED")
}

// wholeFailure applies CONTRACT.md section 4 to the calls that were attempted (nil = the call
// succeeded): when every one failed with the same code, the whole request failed with it,
// carrying the errcode of the first failed call.
func wholeFailure(calls []*callError) *Error {
	if len(calls) == 0 {
		return nil
	}
	first := calls[0]
	for _, c := range calls {
		if c == nil || c.entry.Code != first.entry.Code {
			return nil
		}
	}
	e := &Error{Code: first.entry.Code, Message: "every upstream call failed: " + first.entry.Message}
	if first.api != nil {
		code := first.api.Code
		e.WechatErrcode, e.WechatErrmsg = &code, first.api.Msg
	}
	return e
}

// logCall writes the debug line of one upstream call.
func (s *Service) logCall(ctx context.Context, endpoint, env string, appids int, start time.Time, ce *callError) {
	if !s.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []any{"endpoint", endpoint, "appids", appids, "duration_ms", time.Since(start).Milliseconds()}
	if env != "" {
		attrs = append(attrs, "env", env)
	}
	if ce != nil {
		attrs = append(attrs, "error_code", ce.entry.Code, "error", ce.entry.Message)
	}
	s.log.DebugContext(ctx, "upstream call", attrs...)
}

// pair is one (env, appid).
type pair struct{ env, appid string }

// distinctPairs lists the distinct pairs of lists in order of first appearance.
func distinctPairs(lists []wechat.EnvAppIDs) []pair {
	n := 0
	for _, l := range lists {
		n += len(l.AppIDs)
	}
	seen := make(map[pair]struct{}, n)
	out := make([]pair, 0, n)
	for _, l := range lists {
		for _, a := range l.AppIDs {
			p := pair{l.Env, a}
			if _, dup := seen[p]; !dup {
				seen[p] = struct{}{}
				out = append(out, p)
			}
		}
	}
	return out
}

// distinctStrings lists the distinct strings of list in order of first appearance.
func distinctStrings(list []string) []string {
	seen := make(map[string]struct{}, len(list))
	out := make([]string, 0, len(list))
	for _, s := range list {
		if _, dup := seen[s]; !dup {
			seen[s] = struct{}{}
			out = append(out, s)
		}
	}
	return out
}

// chunks splits n items into consecutive ranges of at most size.
func chunks(n, size int) [][2]int {
	out := make([][2]int, 0, (n+size-1)/size)
	for lo := 0; lo < n; lo += size {
		out = append(out, [2]int{lo, min(lo+size, n)})
	}
	return out
}
