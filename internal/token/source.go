package token

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/envshare/envshare/internal/store"
	"github.com/envshare/envshare/pkg/redact"
	"github.com/envshare/envshare/pkg/wechat"
)

const (
	// StaleBackoff is how long Reload answers ErrStaleToken without reading the source again,
	// after the source was found to still hold the token WeChat rejected.
	StaleBackoff = 10 * time.Second

	// DefaultTokenTTL is assumed when api_component_token answers without expires_in.
	DefaultTokenTTL = 7200 * time.Second

	// StateMaxAge is how long a token read from the state record is served before the record is
	// read again: well within the 5 minutes WeChat keeps a token valid after a newer one is
	// minted, so that no instance ever sends the old one after that.
	StateMaxAge = time.Minute

	// TicketTTL is how long WeChat accepts a component_verify_ticket.
	TicketTTL = 12 * time.Hour

	// refreshRetry is how long a token that could not be refreshed, but has not expired, is
	// served before the source is tried again.
	refreshRetry = 30 * time.Second

	// defaultLoadTimeout bounds one load (all attempts) shared by concurrent callers.
	defaultLoadTimeout = 30 * time.Second
)

// ErrStaleToken is wrapped when a reload found the very token WeChat rejected.
var ErrStaleToken = errors.New("the token source still holds the token WeChat rejected")

// Issuer mints a component access token from the platform's credentials
// (api_component_token). *wechat.Client implements it.
type Issuer interface {
	ComponentToken(ctx context.Context, req *wechat.ComponentTokenRequest) (*wechat.ComponentTokenResponse, error)
}

// Config says where a Source takes the token from.
type Config struct {
	// Name says where the token comes from in errors and logs, e.g. `aws-secretsmanager
	// "envshare/token"`: configuration, never a secret.
	Name string
	// State, when set, is the state record: the token is read from it and never minted.
	State *StateRecord
	// ReadCredentials, with a state record, reads the credentials secret (adding its values to
	// Secrets) before a token is served: an instance that only serves would otherwise never
	// learn the app secret, the message token and keys, and could not mask an echo of them. A
	// failed read fails the load.
	ReadCredentials func(ctx context.Context) (Credentials, error)
	// Credentials and CredentialsID are the credentials secret, read when State is nil.
	Credentials   store.Store
	CredentialsID string
	// Issuer mints from credentials (without a state record); nil refuses to mint.
	Issuer Issuer
	// External: the platform's own backend owns the token (ENVSHARE_TOKEN_OWNER=external) and
	// writes component_access_token and expires_at into the state record, or without one into
	// the credentials secret. The Source only reads it, every StateMaxAge and after WeChat
	// rejected it, and never mints.
	External bool

	Timeout time.Duration    // bounds one load (all attempts); default 30 s
	Now     func() time.Time // default time.Now
	Logger  *slog.Logger     // default slog.Default()
	Secrets *redact.Set      // learns every value read; default a set of its own
}

// Source gives the component access token, cached per instance. It is safe for concurrent use.
type Source struct {
	cfg   Config
	log   *slog.Logger
	group singleflight.Group
	warn  sync.Once // the one-instance warning of minting without a state record

	mu         sync.Mutex
	token      string
	refreshAt  time.Time // zero: kept until WeChat rejects it
	expiresAt  time.Time // zero: unknown
	staleUntil time.Time // Reload of the cached token answers staleErr until then
	staleErr   error     // why the last reload of the cached token gave no other token
}

var _ wechat.TokenSource = (*Source)(nil)

// NewSource returns a Source. It does no I/O: the source is read on the first Token call.
func NewSource(cfg Config) *Source {
	if cfg.Timeout <= 0 {
		cfg.Timeout = defaultLoadTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Secrets == nil {
		cfg.Secrets = redact.New()
	}
	return &Source{cfg: cfg, log: cfg.Logger.With("token_source", cfg.Name)}
}

// Token returns the cached token, loading it on first need, and again when it is due: every
// StateMaxAge with a state record, shortly before expiry for a minted token.
func (s *Source) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	tok, fresh := s.token, s.token != "" && (s.refreshAt.IsZero() || s.cfg.Now().Before(s.refreshAt))
	s.mu.Unlock()
	if fresh {
		return tok, nil
	}
	return s.load(ctx, "token", "")
}

// Reload is called after WeChat rejected the token `rejected`. If another caller has already
// replaced it, Reload returns the new token at once; otherwise it reads the source again (and,
// without a state record, mints again). If the source still yields the rejected token, Reload
// returns an error wrapping ErrStaleToken, and keeps returning it without reading the source for
// StaleBackoff. With a state record that error also wraps wechat.ErrTokenUnusable: retrying
// will not help until someone runs refresh with force.
func (s *Source) Reload(ctx context.Context, rejected string) (string, error) {
	s.mu.Lock()
	now := s.cfg.Now()
	switch {
	case s.token != "" && s.token != rejected:
		tok := s.token
		s.mu.Unlock()
		return tok, nil // another caller already reloaded
	case s.token == rejected && now.Before(s.staleUntil):
		err := s.staleErr
		s.mu.Unlock()
		return "", err
	}
	s.mu.Unlock()

	tok, err := s.load(ctx, "reload", rejected)
	switch {
	case err == nil && tok != rejected:
		return tok, nil
	case err == nil:
		err = s.stale()
		s.log.WarnContext(ctx, "the token source still holds the token WeChat rejected", "retry_after", StaleBackoff.String())
	case ctx.Err() != nil:
		return "", err // this caller gave up; nothing is learnt about the source
	}
	// Either way the source is not read again for StaleBackoff: a rejected token cannot cause
	// a storm of reads (or, without a state record, of mints). A failed read stays what it is,
	// transient, rather than "stale": the next read may well find the new token.
	s.mu.Lock()
	s.staleUntil, s.staleErr = s.cfg.Now().Add(StaleBackoff), err
	s.mu.Unlock()
	return "", err
}

func (s *Source) stale() error {
	switch {
	case s.cfg.External:
		return s.wrap(fmt.Errorf("%w: stored token rejected: the backend that owns it (ENVSHARE_TOKEN_OWNER=external) "+
			"must write a new one (%w)", ErrStaleToken, wechat.ErrTokenUnusable))
	case s.cfg.State != nil:
		return s.wrap(fmt.Errorf("%w: stored token rejected: run refresh with force (%w)", ErrStaleToken, wechat.ErrTokenUnusable))
	}
	return s.wrap(fmt.Errorf("%w; update the secret", ErrStaleToken))
}

// Use puts a token the instance has just written to the state record into the cache, so that
// the minting instance serves it at once.
func (s *Source) Use(tok string, expiresAt time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token, s.expiresAt, s.staleUntil = tok, expiresAt, time.Time{}
	s.refreshAt = s.cfg.Now().Add(StateMaxAge)
}

// load reads the source once for every caller waiting on key; each caller waits only as long
// as its own context allows, while the shared load runs on its own time limit. A reload
// (rejected: the token WeChat refused) that starts after another one has replaced that token
// returns the replacement without reading: Reload's own check and the start of the shared
// load are not atomic, and a busy instance can fit a whole other reload between them.
func (s *Source) load(ctx context.Context, key, rejected string) (string, error) {
	ch := s.group.DoChan(key, func() (any, error) {
		if key == "reload" {
			s.mu.Lock()
			tok := s.token
			s.mu.Unlock()
			if tok != "" && tok != rejected {
				return tok, nil
			}
		}
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.Timeout)
		defer cancel()
		return s.fill(lctx, key == "reload")
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", s.wrap(ctx.Err())
	}
}

// fill fetches the token and updates the cache. A failure while a cached token is still valid
// keeps serving it and tries again after refreshRetry.
func (s *Source) fill(ctx context.Context, reload bool) (string, error) {
	start := time.Now()
	tok, refreshAt, expiresAt, err := s.fetch(ctx)

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	if err != nil {
		err = s.wrap(s.cfg.Secrets.Error(err))
		if !reload && s.token != "" && now.Before(s.expiresAt) {
			s.refreshAt = minTime(now.Add(refreshRetry), s.expiresAt)
			s.log.WarnContext(ctx, "token refresh failed; serving the cached token until it expires",
				"error", err, "expires_at", s.expiresAt)
			return s.token, nil
		}
		s.log.DebugContext(ctx, "token load failed", "error", err, "reload", reload, "duration_ms", msSince(start))
		return "", err
	}
	s.cfg.Secrets.Add(tok)
	s.token, s.refreshAt, s.expiresAt = tok, refreshAt, expiresAt
	s.log.DebugContext(ctx, "token loaded", "reload", reload, "duration_ms", msSince(start))
	return tok, nil
}

// fetch reads the token: from the state record, or from the credentials secret (minting when
// it holds credentials).
func (s *Source) fetch(ctx context.Context) (tok string, refreshAt, expiresAt time.Time, err error) {
	now := s.cfg.Now()
	if s.cfg.State != nil {
		if s.cfg.ReadCredentials != nil {
			if _, err := s.cfg.ReadCredentials(ctx); err != nil {
				return "", time.Time{}, time.Time{}, fmt.Errorf("read first the values to mask: %w", err)
			}
		}
		st, err := s.cfg.State.Read(ctx)
		if err != nil {
			return "", time.Time{}, time.Time{}, err
		}
		if problem := usableToken(st, now, s.cfg.External); problem != "" {
			return "", time.Time{}, time.Time{}, errors.New(problem)
		}
		return st.Token, readAgainAt(now, st.ExpiresAt), st.ExpiresAt, nil
	}
	raw, err := s.cfg.Credentials.Get(ctx, s.cfg.CredentialsID)
	if err != nil {
		return "", time.Time{}, time.Time{}, err
	}
	sec, err := parseSecret(raw)
	if err != nil {
		return "", time.Time{}, time.Time{}, err
	}
	s.cfg.Secrets.Add(sec.token)
	s.cfg.Secrets.Add(sec.creds.Values()...)
	if s.cfg.External { // the backend's token, read like a state record's: never minted here
		st := State{Token: sec.token, ExpiresAt: sec.expiresAt}
		if problem := usableToken(st, now, true); problem != "" {
			return "", time.Time{}, time.Time{}, errors.New(problem)
		}
		return st.Token, readAgainAt(now, st.ExpiresAt), st.ExpiresAt, nil
	}
	if sec.token != "" {
		return sec.token, time.Time{}, time.Time{}, nil
	}
	if problem := sec.mintingProblem(); problem != "" {
		return "", time.Time{}, time.Time{}, malformed(problem)
	}
	s.warn.Do(func() {
		s.log.WarnContext(ctx, "minting the component access token without ENVSHARE_STATE_ID: only safe with one "+
			"instance, as WeChat invalidates a token about 5 minutes after a newer one is minted "+
			"(docs/tokens-and-events.md, Token lifecycle)")
	})
	m, err := mint(ctx, s.cfg.Issuer, sec.creds, sec.creds.VerifyTicket, now)
	if err != nil {
		return "", time.Time{}, time.Time{}, err
	}
	ttl := m.ExpiresAt.Sub(now)
	return m.Token, m.ExpiresAt.Add(-refreshMargin(ttl)), m.ExpiresAt, nil
}

// readAgainAt is when a token read from a record that others write is read again: after
// StateMaxAge, and never served past its expiry.
func readAgainAt(now, expiresAt time.Time) time.Time {
	at := now.Add(StateMaxAge)
	if !expiresAt.IsZero() && expiresAt.Before(at) {
		at = expiresAt
	}
	return at
}

// usableToken says why the state record (or, with an external owner, the record the backend
// writes) holds no token an instance may send ("" when it does).
func usableToken(st State, now time.Time, external bool) string {
	problem := ""
	switch {
	case st.Token == "" && external:
		problem = "the record holds no component access token yet: the backend that owns it (ENVSHARE_TOKEN_OWNER=external) " +
			"writes component_access_token and expires_at there"
	case st.Token == "":
		problem = "the state record holds no component access token yet: run refresh (the schedule does every 20 minutes)"
	case !st.ExpiresAt.IsZero() && !now.Before(st.ExpiresAt) && external:
		problem = fmt.Sprintf("the stored component access token expired at %s: the backend that owns it "+
			"(ENVSHARE_TOKEN_OWNER=external) has not written a new one", st.ExpiresAt.UTC().Format(time.RFC3339))
	case !st.ExpiresAt.IsZero() && !now.Before(st.ExpiresAt):
		problem = fmt.Sprintf("the stored component access token expired at %s: is the refresh schedule running?",
			st.ExpiresAt.UTC().Format(time.RFC3339))
	default:
		return ""
	}
	if age := ticketAge(st, now); age >= TicketTTL {
		problem += fmt.Sprintf("; its component_verify_ticket is %s old, older than the 12 h WeChat accepts: "+
			"check that WeChat's pushes reach /wechat/events", age.Round(time.Minute))
	}
	return problem
}

// ticketAge is how old the stored ticket is (0 when unknown).
func ticketAge(st State, now time.Time) time.Duration {
	if st.Ticket == "" || st.TicketCreated.IsZero() {
		return 0
	}
	return now.Sub(st.TicketCreated)
}

// minted is a token api_component_token just gave.
type minted struct {
	Token     string
	ExpiresAt time.Time
}

// mint calls api_component_token.
func mint(ctx context.Context, issuer Issuer, c Credentials, ticket string, now time.Time) (minted, error) {
	if issuer == nil {
		return minted{}, errors.New("the secret holds the platform's credentials, but no WeChat client was given to mint a token")
	}
	resp, err := issuer.ComponentToken(ctx, &wechat.ComponentTokenRequest{
		ComponentAppID: c.AppID, ComponentAppSecret: c.AppSecret, ComponentVerifyTicket: ticket})
	if err != nil {
		return minted{}, fmt.Errorf("mint the component access token: %w", err)
	}
	if problem := tokenProblem(resp.ComponentAccessToken); problem != "" {
		return minted{}, fmt.Errorf("mint the component access token: the answer's token is unusable: %s", problem)
	}
	ttl := time.Duration(resp.ExpiresIn) * time.Second
	if ttl <= 0 {
		ttl = DefaultTokenTTL
	}
	return minted{Token: resp.ComponentAccessToken, ExpiresAt: now.Add(ttl)}, nil
}

// wrap names the source in an error; the name is configuration, never the secret.
func (s *Source) wrap(err error) error {
	return fmt.Errorf("token source %s: %w", s.cfg.Name, err)
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
