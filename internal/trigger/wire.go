package trigger

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/envshare/envshare/internal/config"
	"github.com/envshare/envshare/internal/fleet"
	"github.com/envshare/envshare/internal/ledger"
	"github.com/envshare/envshare/internal/notify"
	"github.com/envshare/envshare/internal/page"
	"github.com/envshare/envshare/internal/store"
	"github.com/envshare/envshare/internal/token"
	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/wechat"
)

// Cloud is what one binary links of its cloud: the stores of its token modes, and the
// platform's retry for an onboarding that could not finish. Each main passes its own, so the
// AWS binary links no Tencent SDK and the SCF binary no AWS SDK.
type Cloud struct {
	Name string // "AWS Lambda", "Tencent SCF": named when a mode is not linked
	// Stores opens, per cloud token mode this binary links, the credentials store and the
	// state record's store (env and file are built in).
	Stores map[string]func(cfg config.Config) (credentials, state store.Store, err error)
	// Retry opens the platform's retry of a message (the AWS queue, an SCF asynchronous
	// self-invocation); nil, or a nil result, when there is none.
	Retry func(cfg config.Config) (Retry, error)
	// Ledgers are the engines of ENVSHARE_LEDGER this binary links (DynamoDB on AWS, MySQL
	// on SCF, SQLite in the local tools): another scheme fails at cold start naming them.
	Ledgers []ledger.Engine
}

// Retry hands a message to the platform's own retry.
type Retry func(ctx context.Context, message string) error

// Core is what the wiring builds for an instance.
type Core struct {
	Share       Doer
	Refresher   *token.Refresher         // nil without ENVSHARE_STATE_ID
	Credentials *token.CredentialsReader // the platform's credentials (events)
	Retry       Retry                    // nil: none
	Notifier    *notify.HTTPNotifier     // nil without ENVSHARE_NOTIFY_URL
	Forward     *forwarder               // nil without ENVSHARE_FORWARD_URL
	Pages       page.Keys                // the confirmation pages' keys (none: no pages)
	Fleet       *fleet.Fleet             // nil without ENVSHARE_LEDGER
	// Manifest is ENVSHARE_MANIFEST (nil: unset); ManifestErr why it is unusable. A bad
	// manifest fails only what needs it (reconcile without a body manifest, the fleet view,
	// onboarding by customer).
	Manifest    *share.Request
	ManifestErr *share.Error
}

// wire builds the instance: one HTTP client (connections reused across warm invocations), the
// token source and the one minter, the rate-limited WeChat client, the configured manifest and
// notifier, and the fleet ledger. Its I/O is reading a manifest file and opening the ledger
// (which checks that the database answers, reading ledger_dsn from the credentials secret
// for a bare mysql): the token is loaded on first need.
func (a *App) wire(ctx context.Context, cfg config.Config) (*Core, error) {
	creds, state, err := a.stores(cfg)
	if err != nil {
		return nil, err
	}
	hc := wechat.NewHTTPClient(cfg.HTTPTimeout)
	base := []wechat.Option{wechat.WithHTTPClient(hc), wechat.WithAttempts(cfg.Attempts), wechat.WithLogger(a.log),
		wechat.WithClock(a.wechatNow), wechat.WithWait(a.wechatWait)} // nil: the real ones
	issuer := wechat.New(cfg.WechatBaseURL, nil, base...) // api_component_token needs no token

	core := &Core{}
	id := sourceID(cfg)
	src := token.Config{Name: fmt.Sprintf("%s %q", cfg.TokenMode, id), Credentials: creds, CredentialsID: id, Issuer: issuer,
		External: cfg.External(), Timeout: cfg.HTTPTimeout * time.Duration(cfg.Attempts), Logger: a.log, Secrets: a.secrets}
	reader := &token.CredentialsReader{Store: creds, ID: id, Secrets: a.secrets}
	if cfg.TokenMode == "env" {
		reader.Fixed = &token.Credentials{AppID: cfg.ComponentAppID, MessageToken: cfg.ComponentToken,
			AESKey: cfg.ComponentAESKey, PreviousAESKey: cfg.ComponentAESKeyPrevious}
	}
	core.Credentials = reader
	if cfg.StateID != "" {
		src.State = &token.StateRecord{Store: state, ID: cfg.StateID, Secrets: a.secrets}
		src.ReadCredentials = reader.Read // a serving instance learns what to mask before it serves
		src.Name += fmt.Sprintf(" (state record %q)", cfg.StateID)
	}
	tokens := token.NewSource(src)
	if src.State != nil {
		ticketEvery := cfg.TicketWriteInterval
		if ticketEvery == 0 { // documented: every newer ticket that differs
			ticketEvery = token.StoreEveryTicket
		}
		core.Refresher = &token.Refresher{State: *src.State, Credentials: reader.Read, Issuer: issuer,
			RefreshBefore: cfg.RefreshBefore, TicketEvery: ticketEvery, Source: tokens, External: cfg.External(),
			Logger: a.log, Secrets: a.secrets}
	}
	l, err := a.openLedger(ctx, cfg, reader)
	if err != nil {
		return nil, err
	}
	client := wechat.New(cfg.WechatBaseURL, tokens, append(base, a.rateLimit(cfg, l)...)...)
	if l != nil {
		core.Fleet = &fleet.Fleet{Ledger: l, WeChat: authorizerAPI(client, reader), BackfillMax: cfg.BackfillMax, Clock: a.now, Logger: a.log}
	}

	opts := share.Options{
		SourceType:     cfg.SourceType,
		ChunkSize:      cfg.ChunkSize,
		Concurrency:    cfg.Concurrency,
		DeadlineMargin: cfg.DeadlineMargin,
		Logger:         a.log,
		Redact:         a.secrets.String,
		ConfirmOrigins: loopbackOrigin(cfg.WechatBaseURL),
		RelinkAfter:    cfg.RelinkAfter,
		QuotaReserve:   new(cfg.Reserve()),
		OnQuota:        a.publishQuota,
		ShardPairs:     cfg.ShardPairs,
	}
	if core.Fleet != nil {
		opts.Fleet = core.Fleet
	}
	core.Manifest, core.ManifestErr = a.loadManifest(ctx, cfg)
	opts.Manifest, opts.ManifestError = core.Manifest, core.ManifestErr
	if cfg.NotifyURL != "" {
		core.Notifier = notify.NewHTTPNotifier(cfg.NotifyURL, cfg.NotifyKey(), hc, time.Now)
		opts.Notifier = core.Notifier
	}
	if cfg.ForwardURL != "" {
		core.Forward = newForwarder(cfg.ForwardURL)
	}
	core.Pages = page.KeysFrom(page.Secrets{Page: cfg.PageSecret, PagePrevious: cfg.PageSecretPrevious,
		HTTP: cfg.HTTPSecret, HTTPPrevious: cfg.HTTPSecretPrevious})
	opts.ConfirmPage = a.pageLinker(core.Pages, cfg.PublicURL, cfg.PageTTL)
	opts.MaxResults = cfg.MaxResults
	if a.cloud.Retry != nil {
		if core.Retry, err = a.cloud.Retry(cfg); err != nil {
			return nil, fmt.Errorf("onboarding retry: %w", err)
		}
	}
	if core.Retry != nil { // large reconciles are handed out to the same engine
		opts.FanOut = &fanOut{send: core.Retry, ledger: l, log: a.log, now: a.now}
	}
	core.Share = share.New(client, opts)
	return core, nil
}

// rateBucket names the ledger's token bucket of ENVSHARE_RATE_LIMIT.
const rateBucket = "wechat"

// rateLimit is the WeChat client's rate limit: ENVSHARE_RATE_LIMIT calls a second, bursts of
// ENVSHARE_CONCURRENCY; with a ledger, for the whole platform, every instance drawing from one
// token bucket kept in it (one conditional write per call).
func (a *App) rateLimit(cfg config.Config, l *ledger.Ledger) []wechat.Option {
	opts := []wechat.Option{wechat.WithRateLimit(cfg.RateLimit, cfg.Concurrency)}
	if l != nil && cfg.RateLimit > 0 {
		opts = append(opts, wechat.WithLimiter(l.Limiter(rateBucket, ledger.Rate{PerSecond: cfg.RateLimit, Burst: cfg.Concurrency})))
	}
	return opts
}

// loadManifest reads ENVSHARE_MANIFEST. A bad one is logged at ERROR, naming the variable,
// and returned as the error of what needs it; the instance works on without it.
func (a *App) loadManifest(ctx context.Context, cfg config.Config) (*share.Request, *share.Error) {
	m, err := cfg.ConfiguredManifest()
	var se *share.Error
	if err != nil && !errors.As(err, &se) {
		se = &share.Error{Code: share.CodeInvalidRequest, Message: config.Prefix + "_MANIFEST is not a valid manifest",
			Details: []string{config.Prefix + "_MANIFEST: " + a.secrets.String(err.Error())}}
	}
	if se != nil {
		a.log.ErrorContext(ctx, config.Prefix+"_MANIFEST is unusable: reconciles without a manifest of their own, the fleet view "+
			"and onboarding by customer answer invalid_request until it is fixed", "error", se.Error())
		return nil, se
	}
	return m, nil
}

// openLedger opens ENVSHARE_LEDGER with the engines this binary links; nil without one. A
// bare mysql reads the DSN from the credentials secret's ledger_dsn. The errors name the
// variable and hold no password.
func (a *App) openLedger(ctx context.Context, cfg config.Config, creds *token.CredentialsReader) (*ledger.Ledger, error) {
	if cfg.Ledger == "" {
		return nil, nil
	}
	var dsn string
	if spec, err := ledger.ParseSpec(cfg.Ledger); err == nil && spec.FromSecret() {
		c, err := creds.Read(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s=mysql: the credentials secret's ledger_dsn cannot be read: %w", ledger.Variable, err)
		}
		dsn = c.LedgerDSN
	}
	return ledger.Open(ctx, cfg.Ledger, dsn, ledger.Options{Redactor: a.secrets, Now: a.wechatNow, Wait: a.wechatWait}, a.cloud.Ledgers...)
}

// stores opens the credentials store and the state record's store of cfg's token mode.
func (a *App) stores(cfg config.Config) (creds, state store.Store, err error) {
	switch cfg.TokenMode {
	case "env":
		return store.Value(cfg.ComponentAccessToken), nil, nil
	case "file":
		return store.File{}, store.File{}, nil
	}
	if open, ok := a.cloud.Stores[cfg.TokenMode]; ok {
		return open(cfg)
	}
	modes := []string{"env", "file"}
	for _, m := range config.TokenModes {
		if _, ok := a.cloud.Stores[m]; ok {
			modes = append(modes, m)
		}
	}
	where := a.cloud.Name
	if where == "" {
		where = "this"
	}
	return nil, nil, fmt.Errorf("ENVSHARE_TOKEN_MODE=%s is not available in the %s binary: use %s",
		cfg.TokenMode, where, strings.Join(modes, ", "))
}

// loopbackOrigin is the origin of ENVSHARE_WECHAT_BASE_URL when that is a loopback address: an
// emulator in local use and tests, whose confirmation links (http://127.0.0.1:port/...) are
// then delivered beside WeChat's own. A deployment's base URL is WeChat's (or a proxy's, which
// holds the token anyway), so nothing a deployment receives can widen what it delivers.
func loopbackOrigin(base string) []string {
	u, err := url.Parse(base)
	if err != nil {
		return nil
	}
	ip := net.ParseIP(u.Hostname())
	if ip != nil && ip.IsLoopback() || strings.EqualFold(u.Hostname(), "localhost") {
		return []string{u.Scheme + "://" + u.Host}
	}
	return nil
}

// sourceID is where the credentials are read: a variable, a path or a secret's name.
func sourceID(cfg config.Config) string {
	switch cfg.TokenMode {
	case "env":
		return config.Prefix + "_COMPONENT_ACCESS_TOKEN"
	case "file":
		return cfg.TokenFile
	default:
		return cfg.TokenSecretID
	}
}
