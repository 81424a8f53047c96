package trigger

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/envshare/envshare/internal/config"
	"github.com/envshare/envshare/pkg/redact"
	"github.com/envshare/envshare/pkg/share"
)

// Doer carries out one request body (share.Decode's rules; action "" means the body names it)
// in one call; *share.Service implements it.
type Doer interface {
	DoJSON(ctx context.Context, body []byte, action string) (*share.Result, error)
}

// Platforms.
const (
	PlatformAWS = "aws"
	PlatformSCF = "scf"
)

// Options configure an App. Zero values take the defaults.
type Options struct {
	Platform string // PlatformAWS or PlatformSCF: named in logs; AWS also emits EMF lines
	// Logger receives the function's log; nil: JSON lines on stdout at ENVSHARE_LOG_LEVEL.
	// Whatever it is, the App masks every secret it knows before a record reaches it.
	Logger *slog.Logger
	// Now tells the time for the HMAC timestamp window (default time.Now).
	Now func() time.Time
	// Cloud is what this binary links of its cloud (stores, retry).
	Cloud Cloud
	// Build replaces the wiring of the instance from the configuration (tests).
	Build func(ctx context.Context, cfg config.Config) (*Core, error)
	// MetricsOut receives the EMF lines on AWS (default os.Stdout).
	MetricsOut io.Writer
	// WeChatClock and WeChatWait replace how the instance's WeChat client tells time and
	// waits (backoffs, the rate limit, the next minute after errcode 45011): tests pass a fake
	// clock that a wait moves, so that no real minute passes. Nil: the real ones.
	WeChatClock func() time.Time
	WeChatWait  func(ctx context.Context, d time.Duration) error
}

// App is one function instance: it holds the configuration and the service once the first
// invocation that needs them has built them, and is safe for concurrent invocations.
type App struct {
	platform string
	secrets  *redact.Set // every secret value the instance knows, masked in every output
	log      *slog.Logger
	level    *slog.LevelVar // nil when the caller chose the logger
	now      func() time.Time
	cloud    Cloud
	build    func(ctx context.Context, cfg config.Config) (*Core, error)
	// the WeChat client's clock and wait (Options.WeChatClock, WeChatWait); nil: real
	wechatNow  func() time.Time
	wechatWait func(ctx context.Context, d time.Duration) error

	metricsMu  sync.Mutex
	metricsOut io.Writer

	// initialising is held by the one initialisation at a time; a channel, not a mutex, so that
	// an invocation waiting for Prepare's stops at its own deadline.
	initialising chan struct{}
	inst         *instance // nil until an initialisation succeeded

	pushes pushMemory // the authorization events this instance took up (events.go)

	invoked atomic.Bool // set by the first invocation: cold start
}

// instance is what the first successful initialisation built.
type instance struct {
	cfg config.Config
	*Core
}

// New returns an App. It reads no configuration: that happens on first need.
func New(opts Options) *App {
	a := &App{
		platform:     opts.Platform,
		secrets:      redact.New(),
		now:          opts.Now,
		cloud:        opts.Cloud,
		build:        opts.Build,
		metricsOut:   opts.MetricsOut,
		wechatNow:    opts.WeChatClock,
		wechatWait:   opts.WeChatWait,
		initialising: make(chan struct{}, 1),
	}
	handler := slog.Handler(nil)
	if opts.Logger != nil {
		handler = opts.Logger.Handler()
	} else {
		a.level = new(slog.LevelVar)
		handler = slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: a.level})
	}
	a.log = slog.New(countingHandler{redact.Handler(runHandler{handler}, a.secrets)})
	if a.now == nil {
		a.now = time.Now
	}
	if a.build == nil {
		a.build = a.wire
	}
	if a.metricsOut == nil {
		a.metricsOut = os.Stdout
	}
	return a
}

// instance returns the initialised instance, initialising it if no invocation has yet done so.
// A failure is not cached: the next invocation tries again. The error is an internal
// *share.Error whose message names the problem (a variable, never a secret value).
func (a *App) instance(ctx context.Context) (*instance, *share.Error) {
	return a.initialise(ctx, true)
}

// prepareLimit bounds Prepare's wiring (a ledger that does not answer); an invocation that
// needs the instance meanwhile waits for it, until its own deadline at most.
const prepareLimit = 10 * time.Second

// Prepare initialises the instance ahead of its first invocation, while the platform's runtime
// client is still asking for that invocation: the first answer then waits neither for the
// configuration nor for the wiring. Only where the configuration is in the environment from
// the start (AWS Lambda; SCF hands it over with each invocation). It logs no failure: a failure
// is not kept, and the first invocation that needs the instance tries again and answers it.
func (a *App) Prepare(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, prepareLimit)
	defer cancel()
	inst, _ := a.initialise(ctx, false)
	if inst != nil && strings.HasPrefix(inst.cfg.WechatBaseURL, "https://") {
		// The first call to WeChat verifies its certificate against the system's roots, which
		// Go reads and parses on first need: about 28 ms for Debian's 140 certificates on the
		// machine this was measured on. Read now, the call does not wait for them.
		_, _ = x509.SystemCertPool()
	}
}

// initialise is instance and Prepare: loud, it logs a failure and warns of misspelt variables
// before wiring (a typo is often why the wiring fails); quiet, it warns only once the instance
// is kept, so that each warning is written once.
func (a *App) initialise(ctx context.Context, loud bool) (*instance, *share.Error) {
	select {
	case a.initialising <- struct{}{}:
		defer func() { <-a.initialising }()
	case <-ctx.Done():
		return nil, &share.Error{Code: share.CodeDeadlineExceeded,
			Message: "the invocation's deadline passed while the instance was being initialised"}
	}
	if a.inst != nil {
		return a.inst, nil
	}
	cfg, err := config.Load()
	if err != nil {
		if loud {
			a.log.ErrorContext(ctx, "configuration rejected", "error", err.Error())
		}
		return nil, &share.Error{Code: share.CodeInternal, Message: err.Error()}
	}
	if a.level != nil {
		a.level.Set(parseLevel(cfg.LogLevel))
	}
	a.secrets.Add(cfg.Secrets()...)
	if loud {
		a.warnUnknownVariables(ctx)
	}
	core, err := a.build(ctx, cfg)
	if err != nil {
		msg := a.secrets.String("initialisation failed: " + err.Error())
		if loud {
			a.log.ErrorContext(ctx, "initialisation failed", "error", msg)
		}
		return nil, &share.Error{Code: share.CodeInternal, Message: msg}
	}
	if !loud {
		a.warnUnknownVariables(ctx)
	}
	a.inst = &instance{cfg: cfg, Core: core}
	return a.inst, nil
}

// answerReserve is the time kept free before the invocation's deadline so that the function
// still answers (deadline_exceeded, deferred pairs) before the platform stops it; at most a
// quarter of the time left, for short deadlines.
const answerReserve = 500 * time.Millisecond

// do carries out a request body: the one call into the core, against a deadline answerReserve
// earlier than the invocation's. Its failure is classified here, once.
func (a *App) do(ctx context.Context, inst *instance, body []byte, action string) (*share.Result, *share.Error) {
	if deadline, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-min(answerReserve, time.Until(deadline)/4)))
		defer cancel()
	}
	res, err := inst.Share.DoJSON(ctx, body, action)
	if err == nil && res == nil {
		err = errors.New("service returned no result")
	}
	if err != nil {
		return nil, a.errorOf(ctx, err)
	}
	return res, nil
}

// errorOf is the one classification of a failure as the contract's error object: a
// *share.Error passes unchanged; a context deadline is deadline_exceeded; anything else is
// logged and answered as a generic internal error, because its text was not written for
// callers.
func (a *App) errorOf(ctx context.Context, err error) *share.Error {
	var se *share.Error
	switch {
	case errors.As(err, &se) && se != nil:
		return se
	case errors.Is(err, context.DeadlineExceeded):
		return &share.Error{Code: share.CodeDeadlineExceeded, Message: "the invocation's deadline passed before the action completed"}
	}
	a.log.ErrorContext(ctx, "internal error", "error", err)
	return internalError()
}

func parseLevel(s string) slog.Level {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}
