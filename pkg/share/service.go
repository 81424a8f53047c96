package share

import (
	"context"
	"errors"
	"log/slog"
	"sync"
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
	Manifest       *Request         // what a reconcile without envs reconciles (the function's ENVSHARE_MANIFEST), or nil
	Notifier       Notifier         // nil: links are only returned
	Logger         *slog.Logger     // nil: nothing is logged (results left out are then only counted)
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
	// ConfirmOrigins are origins ("http://127.0.0.1:8081") whose confirmation links are
	// delivered besides https links on ConfirmHosts: for an emulator in local use and tests.
	ConfirmOrigins []string
	// ManifestError, when set, is why the configured manifest could not be loaded: a
	// reconcile that needs it answers this error (every other action works).
	ManifestError *Error
	// Fleet is the memory of the fleet (the function's ENVSHARE_LEDGER); nil: none. With one,
	// a reconcile takes customers and backfill, does not share again a pair whose link was
	// issued less than RelinkAfter ago, and records what it finds; shares and unshares are
	// recorded too.
	Fleet Fleet
	// RelinkAfter is how long a link may wait for its administrator before a reconcile shares
	// the pair again (DefaultRelinkAfter).
	RelinkAfter time.Duration
	// QuotaReserve is how much of each write API's daily quota a reconcile leaves unused, for
	// onboarding (nil: DefaultReserve, 10%). Before its first write call of an API, a
	// reconcile reads the API's quota (an Upstream that is a QuotaReader) and makes at most
	// remain minus the reserve write calls; the rest is deferred with ReasonQuotaReserve.
	QuotaReserve *Reserve
	// OnQuota, when set, receives every quota read (the quota view's, a reconcile's budget's):
	// the function publishes it as a metric.
	OnQuota func(ctx context.Context, q APIQuota)
	// FanOut, when set, hands a reconcile of the configured Manifest with more than ShardPairs
	// desired pairs out as shards (see FanOut); nil: every reconcile runs whole.
	FanOut FanOut
	// ShardPairs is the most desired pairs one reconcile runs itself when there is a FanOut
	// (DefaultShardPairs), and the most pairs a planned shard holds.
	ShardPairs int
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
	// digest is ManifestDigest of Options.Manifest ("" without one): runs planned from it
	// carry it. It is computed on first need, by a shard or a planned reconcile only: encoding
	// a 200,000-pair manifest costs the instance megabytes it would otherwise keep.
	digest func() string
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
	if opts.RelinkAfter <= 0 {
		opts.RelinkAfter = DefaultRelinkAfter
	}
	if opts.QuotaReserve == nil {
		opts.QuotaReserve = &DefaultReserve
	}
	if opts.ShardPairs <= 0 {
		opts.ShardPairs = DefaultShardPairs
	}
	if opts.Redact == nil {
		opts.Redact = (*redact.Set)(nil).String // a nil Set masks access_token values only
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler) // a library is quiet unless asked
	}
	s := &Service{up: up, opts: opts, log: log}
	s.digest = sync.OnceValue(func() string {
		if opts.Manifest == nil {
			return ""
		}
		return ManifestDigest(opts.Manifest)
	})
	return s
}

// Share shares env with appids (source_type: Options.SourceType).
func (s *Service) Share(ctx context.Context, env string, appids []string) (*Result, error) {
	return s.Do(ctx, Request{Action: ActionShare, Env: env, AppIDs: appids})
}

// Unshare withdraws env's shares with appids.
func (s *Service) Unshare(ctx context.Context, env string, appids []string) (*Result, error) {
	return s.Do(ctx, Request{Action: ActionUnshare, Env: env, AppIDs: appids})
}

// Bindings reads the envs each appid is bound to.
func (s *Service) Bindings(ctx context.Context, appids []string) (*Result, error) {
	return s.Do(ctx, Request{Action: ActionBindings, AppIDs: appids})
}

// ReconcileOptions are the switches of a reconcile besides its pairs.
type ReconcileOptions struct {
	Prune  bool   // also unshare the managed envs the manifest does not pair with an appid
	DryRun bool   // plan only: nothing is shared or unshared
	Shard  *Shard // only this slice of the appids; nil: all
}

// Reconcile makes the bindings of the appids in envs match envs (the manifest's pairs). With
// envs nil it reconciles Options.Manifest, opts' Prune and DryRun replacing the manifest's, and
// its Shard too when set.
func (s *Service) Reconcile(ctx context.Context, envs []wechat.EnvAppIDs, opts ReconcileOptions) (*Result, error) {
	return s.Do(ctx, Request{Action: ActionReconcile, Envs: envs, Prune: &opts.Prune, DryRun: &opts.DryRun, Shard: opts.Shard})
}

// DoJSON decodes a request body (see Decode; action "" means the body names its action) and
// carries it out: the one call a transport makes for a request it received.
func (s *Service) DoJSON(ctx context.Context, body []byte, action string) (*Result, error) {
	req, err := Decode(body, action)
	if err != nil {
		return nil, err
	}
	return s.Do(ctx, req)
}

// Do carries out req. A Request built in Go is validated first by the rules of Decode (see
// Check); one from Decode is not checked again. It returns a *Result for every processed
// request (ok false when some entry failed), or an *Error: invalid_request naming every
// problem, the code shared by every failed upstream call when the whole request failed, or
// internal for anything unexpected (its cause is logged).
func (s *Service) Do(ctx context.Context, req Request) (*Result, error) {
	if !req.valid {
		var err error
		if req, err = Check(req); err != nil {
			return nil, err
		}
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
	if res.Shards > 0 { // planned as shards: nothing was done here yet
		s.log.InfoContext(ctx, "action done", "action", res.Action, "ok", res.OK, "run", res.Run, "shards", res.Shards,
			"duration_ms", time.Since(start).Milliseconds())
		return res, nil
	}
	if req.Action == ActionShare || req.Action == ActionReconcile {
		res.Notification = s.notify(ctx, req.Action, res.Results) // makes its pages batch by batch
	}
	s.bound(ctx, res)
	s.addPages(res.Results) // only for the listed results: 200,000 pages at once would be 50 MB
	s.boundBytes(ctx, res)  // what the pages and WeChat's texts make too large for the platform
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

// waits reports whether an outcome waits for its administrator to open its link.
func waits(status Status) bool {
	return status == StatusPendingConfirmation || status == StatusAwaitingConfirmation
}

func (s *Service) sourceType(req *Request) int {
	if req.SourceType != nil {
		return *req.SourceType
	}
	return s.opts.SourceType
}

// addPages sets the confirmation page of every outcome that waits for its administrator.
func (s *Service) addPages(out []Outcome) {
	if s.opts.ConfirmPage == nil {
		return
	}
	for i := range out {
		if waits(out[i].Status) && out[i].ConfirmURL != "" {
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
