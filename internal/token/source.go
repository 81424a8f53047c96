package token

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/envshare/envshare/internal/config"
	"github.com/envshare/envshare/pkg/wechat"
)

const (
	// StaleBackoff is how long Reload answers ErrStaleToken without reading the source again,
	// after the source was found to still hold the token WeChat rejected.
	StaleBackoff = 10 * time.Second

	// DefaultTokenTTL is assumed when api_component_token answers without expires_in.
	DefaultTokenTTL = 7200 * time.Second

	// refreshRetry is how long a minted token that could not be refreshed, but has not expired,
	// is served before the source is tried again.
	refreshRetry = 30 * time.Second
)

// ErrStaleToken means a reload found the very token WeChat rejected: the secret must be updated.
var ErrStaleToken = errors.New("the token source still holds the token WeChat rejected; update the secret")

// Minter mints a component access token from the platform's credentials
// (api_component_token). *wechat.Client implements it.
type Minter interface {
	ComponentToken(ctx context.Context, req *wechat.ComponentTokenRequest) (*wechat.ComponentTokenResponse, error)
}

// MinterFunc adapts a function to Minter.
type MinterFunc func(ctx context.Context, req *wechat.ComponentTokenRequest) (*wechat.ComponentTokenResponse, error)

// ComponentToken calls f.
func (f MinterFunc) ComponentToken(ctx context.Context, req *wechat.ComponentTokenRequest) (*wechat.ComponentTokenResponse, error) {
	return f(ctx, req)
}

// Source gives the component access token from the configured source, cached per instance.
// It is safe for concurrent use.
type Source struct {
	mode    string
	id      string // where the value is read from (variable, path, secret name): never the value
	loader  Loader
	minter  Minter
	now     func() time.Time
	log     *slog.Logger
	timeout time.Duration // per read of the source, all attempts; 0 = the caller's context only

	// sem admits one load at a time. Callers that waited take that load's outcome.
	sem chan struct{}

	mu         sync.Mutex
	token      string
	refreshAt  time.Time // zero: the token is kept until WeChat rejects it
	expiresAt  time.Time // minted tokens: when WeChat stops accepting it
	staleUntil time.Time // Reload of the cached token answers ErrStaleToken until then
	loads      uint64    // finished loads, so a waiter can tell one happened
	lastErr    error     // the last load's error, when other callers may share it
}

var _ wechat.TokenSource = (*Source)(nil)

type options struct {
	now             func() time.Time
	httpClient      *http.Client
	awsEndpoint     string
	tencentEndpoint string
	logger          *slog.Logger
	backoff         func(attempt int) time.Duration
	loader          Loader
}

// Option configures a Source.
type Option func(*options)

// WithNow sets the clock (tests).
func WithNow(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithHTTPClient sets the HTTP client of the AWS and Tencent Cloud SDKs.
func WithHTTPClient(hc *http.Client) Option { return func(o *options) { o.httpClient = hc } }

// WithAWSEndpoint sends Secrets Manager and SSM calls to url, over any AWS_ENDPOINT_URL_*.
func WithAWSEndpoint(url string) Option { return func(o *options) { o.awsEndpoint = url } }

// WithTencentEndpoint sends Tencent SSM calls to url (scheme://host[:port]), over
// ENVSHARE_TENCENT_SSM_ENDPOINT.
func WithTencentEndpoint(url string) Option { return func(o *options) { o.tencentEndpoint = url } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithBackoff sets the wait before retry n (n >= 1) of a failed secret store call (tests pass a
// function returning 0). Default: the AWS SDK's own; 200ms doubling up to 2s for Tencent.
func WithBackoff(backoff func(n int) time.Duration) Option {
	return func(o *options) { o.backoff = backoff }
}

// WithLoader replaces the source that the mode names (tests, or a custom source). The mode is
// then used in logs and errors only.
func WithLoader(l Loader) Option { return func(o *options) { o.loader = l } }

// NewSource returns the Source for cfg.TokenMode. It does no I/O: the source is read on the
// first Token call. minter may be nil when no secret holds platform credentials.
func NewSource(cfg config.Config, minter Minter, opts ...Option) (*Source, error) {
	o := options{now: time.Now, logger: slog.Default()}
	for _, opt := range opts {
		opt(&o)
	}
	if !slices.Contains(config.TokenModes, cfg.TokenMode) {
		return nil, fmt.Errorf("token: ENVSHARE_TOKEN_MODE must be one of %s", strings.Join(config.TokenModes, ", "))
	}
	attempts := cfg.Attempts
	if attempts < 1 {
		attempts = 3
	}

	s := &Source{
		mode:    cfg.TokenMode,
		id:      cfg.TokenSecretID,
		loader:  o.loader,
		minter:  minter,
		now:     o.now,
		log:     o.logger.With("token_mode", cfg.TokenMode),
		timeout: cfg.HTTPTimeout * time.Duration(attempts),
		sem:     make(chan struct{}, 1),
	}
	switch cfg.TokenMode {
	case "env":
		s.id = config.Prefix + "_COMPONENT_ACCESS_TOKEN"
	case "file":
		s.id = cfg.TokenFile
	}
	s.log = s.log.With("token_source", s.id)
	if s.loader != nil {
		return s, nil
	}
	if s.id == "" {
		name := "TOKEN_SECRET_ID"
		if cfg.TokenMode == "file" {
			name = "TOKEN_FILE"
		}
		return nil, fmt.Errorf("token: %s_%s is required when ENVSHARE_TOKEN_MODE is %s", config.Prefix, name, cfg.TokenMode)
	}

	switch cfg.TokenMode {
	case "env":
		s.loader = envLoader{value: cfg.ComponentAccessToken}
	case "file":
		s.loader = fileLoader{path: cfg.TokenFile}
	case "aws-secretsmanager":
		s.loader = &secretsManagerLoader{session: newAWSSession(o, attempts), id: s.id}
	case "aws-ssm":
		s.loader = &parameterLoader{session: newAWSSession(o, attempts), name: s.id}
	case "tencent-ssm":
		endpoint := cfg.TencentSSMEndpoint
		if o.tencentEndpoint != "" {
			endpoint = o.tencentEndpoint
		}
		l, err := newTencentLoader(s.id, cfg.TencentSSMVersionID, endpoint, o, cfg.HTTPTimeout, attempts)
		if err != nil {
			return nil, fmt.Errorf("token: %w", err)
		}
		s.loader = l
	}
	return s, nil
}

// Token returns the cached token, loading it on first need and, for a minted token, again
// shortly before it expires.
func (s *Source) Token(ctx context.Context) (string, error) {
	return s.get(ctx, "", false)
}

// Reload is called after WeChat rejected the token `rejected`. If another caller has already
// replaced it, Reload returns the new token at once; otherwise it reads the source again (and
// mints again). If the source still yields the rejected token, Reload returns an error wrapping
// ErrStaleToken, and keeps returning it without reading the source for StaleBackoff.
func (s *Source) Reload(ctx context.Context, rejected string) (string, error) {
	return s.get(ctx, rejected, true)
}

func (s *Source) get(ctx context.Context, rejected string, reload bool) (string, error) {
	s.mu.Lock()
	tok, err, done := s.cachedLocked(rejected, reload)
	seen := s.loads
	s.mu.Unlock()
	if done {
		return tok, err
	}

	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return "", s.wrap(ctx.Err())
	}
	defer func() { <-s.sem }()

	s.mu.Lock()
	if s.loads != seen {
		// A load finished while this caller waited: take its outcome rather than load again.
		if s.lastErr != nil {
			err := s.lastErr
			s.mu.Unlock()
			return "", err
		}
		if tok, err, done := s.cachedLocked(rejected, reload); done {
			s.mu.Unlock()
			return tok, err
		}
	}
	s.mu.Unlock()
	return s.load(ctx, rejected, reload)
}

// cachedLocked answers from the cache when it can (done); otherwise the caller must load.
func (s *Source) cachedLocked(rejected string, reload bool) (tok string, err error, done bool) {
	now := s.now()
	fresh := s.token != "" && (s.refreshAt.IsZero() || now.Before(s.refreshAt))
	switch {
	case !reload:
		return s.token, nil, fresh
	case fresh && s.token != rejected:
		return s.token, nil, true // another caller already reloaded
	case s.token == rejected && now.Before(s.staleUntil):
		return "", s.wrap(ErrStaleToken), true
	}
	return "", nil, false
}

// load reads the source, mints when the value holds credentials, and updates the cache.
func (s *Source) load(ctx context.Context, rejected string, reload bool) (string, error) {
	start := time.Now()
	tok, ttl, err := s.fetch(ctx)

	s.mu.Lock()
	defer s.mu.Unlock()
	s.loads++
	s.lastErr = nil
	now := s.now()
	if err != nil {
		err = s.wrap(err)
		if s.token != "" && s.token != rejected && now.Before(s.expiresAt) {
			// The minted token still works: keep serving it and try the source again later.
			s.refreshAt = minTime(now.Add(refreshRetry), s.expiresAt)
			s.log.WarnContext(ctx, "token refresh failed; serving the cached token until it expires",
				"error", err, "expires_at", s.expiresAt)
			return s.token, nil
		}
		if ctx.Err() == nil {
			s.lastErr = err // not this caller's own cancellation: waiters share it
		}
		s.log.DebugContext(ctx, "token load failed", "error", err, "reload", reload,
			"duration_ms", msSince(start))
		return "", err
	}

	s.token = tok
	s.refreshAt, s.expiresAt = time.Time{}, time.Time{}
	if ttl > 0 {
		s.expiresAt = now.Add(ttl)
		s.refreshAt = s.expiresAt.Add(-refreshMargin(ttl))
	}
	s.log.DebugContext(ctx, "token loaded", "minted", ttl > 0, "reload", reload, "duration_ms", msSince(start))
	if reload && tok == rejected {
		s.staleUntil = now.Add(StaleBackoff)
		s.log.WarnContext(ctx, "token source still holds the token WeChat rejected",
			"retry_after", StaleBackoff.String())
		return "", s.wrap(ErrStaleToken)
	}
	return tok, nil
}

// fetch reads and parses the secret value and mints when it holds credentials. ttl is 0 for a
// token taken from the source as is.
func (s *Source) fetch(ctx context.Context) (tok string, ttl time.Duration, err error) {
	readCtx := ctx
	if s.timeout > 0 {
		var cancel context.CancelFunc
		readCtx, cancel = context.WithTimeout(ctx, s.timeout)
		defer cancel()
	}
	raw, err := s.loader.Load(readCtx)
	if err != nil {
		return "", 0, err
	}
	sec, err := parseSecret(raw)
	if err != nil {
		return "", 0, err
	}
	if sec.creds == nil {
		return sec.token, 0, nil
	}
	return s.mint(ctx, sec.creds)
}

func (s *Source) mint(ctx context.Context, creds *wechat.ComponentTokenRequest) (string, time.Duration, error) {
	if s.minter == nil {
		return "", 0, errors.New("the secret holds the platform's credentials, but no WeChat client was given to mint a token")
	}
	resp, err := s.minter.ComponentToken(ctx, creds)
	if err != nil {
		return "", 0, fmt.Errorf("mint the component access token: %w", err)
	}
	if resp == nil {
		return "", 0, errors.New("mint the component access token: empty answer")
	}
	if resp.ErrCode != 0 {
		return "", 0, fmt.Errorf("mint the component access token: %w",
			&wechat.APIError{Endpoint: "api_component_token", Code: resp.ErrCode, Msg: resp.ErrMsg})
	}
	if problem := tokenProblem(resp.ComponentAccessToken); problem != "" {
		return "", 0, fmt.Errorf("mint the component access token: the answer's token is unusable: %s", problem)
	}
	ttl := time.Duration(resp.ExpiresIn) * time.Second
	if ttl <= 0 {
		ttl = DefaultTokenTTL
	}
	return resp.ComponentAccessToken, ttl, nil
}

// wrap names the source in an error; the source's name is configuration, never the secret.
func (s *Source) wrap(err error) error {
	return fmt.Errorf("token source %s %q: %w", s.mode, s.id, err)
}

// refreshMargin is how long before expiry a minted token is replaced: 5 minutes, or a tenth of
// a short lifetime.
func refreshMargin(ttl time.Duration) time.Duration {
	return min(5*time.Minute, ttl/10)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func msSince(t time.Time) float64 {
	return float64(time.Since(t).Microseconds()) / 1000
}
