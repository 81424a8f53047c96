package share

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/envshare/envshare/pkg/redact"
	"github.com/envshare/envshare/pkg/wechat"
)

// Upstream is the WeChat API as this package uses it; *wechat.Client implements it.
type Upstream interface {
	ShareEnv(ctx context.Context, req *wechat.ShareEnvRequest) (*wechat.ShareEnvResponse, error)
	UnshareEnv(ctx context.Context, req *wechat.ShareEnvRequest) (*wechat.UnshareEnvResponse, error)
	GetEnvID(ctx context.Context, req *wechat.GetEnvIDRequest) (*wechat.GetEnvIDResponse, error)
}

var _ Upstream = (*wechat.Client)(nil)

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
	Manifest       *Request         // the configured ENVSHARE_MANIFEST (from LoadManifest), or nil
	Notifier       Notifier         // nil: links are only returned
	Logger         *slog.Logger     // nil: slog.Default()
	Now            func() time.Time // clock for the deadline margin; nil: time.Now
	// Redact masks secrets in text that comes from WeChat (errmsg, links) before it reaches a
	// result, a log line or a notification; nil masks access_token values only.
	Redact func(string) string
	// ConfirmPage, when set, gives the page of a pending_confirmation outcome, set as its
	// ConfirmPage in results and notifications; "" adds none.
	ConfirmPage func(o Outcome) string
	// MaxResults is how many entries an answer lists at most (DefaultMaxResults); the others
	// are written to the log.
	MaxResults int
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
	if opts.MaxResults <= 0 {
		opts.MaxResults = DefaultMaxResults
	}
	if opts.Redact == nil {
		opts.Redact = (*redact.Set)(nil).String // a nil Set masks access_token values only
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Service{up: up, opts: opts, log: log}
}

// Do carries out req, which must come from Decode, Check or LoadManifest. It returns a *Result
// for every processed request (ok false when some entry failed), or an *Error: invalid_request,
// the code shared by every failed upstream call when the whole request failed, or internal for
// anything unexpected (its cause is logged).
func (s *Service) Do(ctx context.Context, req Request) (*Result, error) {
	if !req.valid {
		return nil, &Error{Code: CodeInvalidRequest, Message: "invalid request",
			Details: []string{"request: not validated: make it with share.Decode or share.Check"}}
	}
	start := time.Now()
	var res *Result
	var err error
	switch req.Action {
	case ActionShare, ActionUnshare:
		res, err = s.write(ctx, &req)
	case ActionBindings:
		res, err = s.bindings(ctx, &req)
	default: // Decode admits only the four actions
		res, err = s.reconcile(ctx, &req)
	}
	if err != nil {
		var e *Error
		if !errors.As(err, &e) || e == nil {
			s.log.ErrorContext(ctx, "unexpected failure", "action", req.Action, "error", s.opts.Redact(err.Error()))
			e = errInternal()
		}
		s.log.InfoContext(ctx, "action failed", "action", req.Action, "code", e.Code, "message", e.Message,
			"duration_ms", time.Since(start).Milliseconds())
		return nil, e
	}
	if req.Action == ActionShare || req.Action == ActionReconcile {
		res.Notification = s.notify(ctx, req.Action, res.Results) // makes its pages batch by batch
	}
	s.bound(ctx, res)
	s.addPages(res.Results) // only for the listed results: 200,000 pages at once would be 50 MB
	attrs := []any{"action", res.Action, "ok", res.OK, "source_type", res.SourceType,
		"duration_ms", time.Since(start).Milliseconds()}
	if res.Summary != nil {
		attrs = append(attrs, "summary", res.Summary)
	} else {
		attrs = append(attrs, "bindings", len(res.Bindings), "errors", len(res.Errors))
	}
	if res.Notification != nil {
		attrs = append(attrs, "notification_sent", res.Notification.Sent)
	}
	s.log.InfoContext(ctx, "action done", attrs...)
	return res, nil
}

func (s *Service) sourceType(req *Request) int {
	if req.SourceType != nil {
		return *req.SourceType
	}
	return s.opts.SourceType
}

// addPages sets the confirmation page of every pending outcome.
func (s *Service) addPages(out []Outcome) {
	if s.opts.ConfirmPage == nil {
		return
	}
	for i := range out {
		if out[i].Status == StatusPendingConfirmation && out[i].ConfirmURL != "" {
			out[i].ConfirmPage = s.opts.ConfirmPage(out[i])
		}
	}
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
