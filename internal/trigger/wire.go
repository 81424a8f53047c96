package trigger

import (
	"context"
	"fmt"
	"time"

	"github.com/envshare/envshare/internal/config"
	"github.com/envshare/envshare/internal/token"
	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/wechat"
)

// wire builds the instance's service from the configuration: one HTTP client (connections
// reused across warm invocations), the token source (minting through its own client, which
// has no token), the rate-limited WeChat client, the configured manifest and notifier. It does
// no I/O besides reading a manifest file: the token is loaded on first need.
func (a *App) wire(_ context.Context, cfg config.Config) (Doer, error) {
	hc := wechat.NewHTTPClient(cfg.HTTPTimeout)
	base := []wechat.Option{wechat.WithHTTPClient(hc), wechat.WithAttempts(cfg.Attempts), wechat.WithLogger(a.log)}

	minter := wechat.New(cfg.WechatBaseURL, nil, base...)
	tokens, err := token.NewSource(cfg, minter, token.WithHTTPClient(hc), token.WithLogger(a.log))
	if err != nil {
		return nil, fmt.Errorf("token source: %w", err)
	}
	client := wechat.New(cfg.WechatBaseURL, tokens,
		append(base, wechat.WithRateLimit(cfg.RateLimit, cfg.Concurrency))...)

	opts := share.Options{
		SourceType:     cfg.SourceType,
		ChunkSize:      cfg.ChunkSize,
		Concurrency:    cfg.Concurrency,
		DeadlineMargin: cfg.DeadlineMargin,
		Logger:         a.log,
		Redact:         a.secrets.String,
	}
	if opts.Manifest, err = share.LoadManifest(cfg.Manifest); err != nil {
		return nil, err
	}
	if cfg.NotifyURL != "" {
		opts.Notifier = share.NewHTTPNotifier(cfg.NotifyURL, cfg.NotifyKey(), hc, time.Now)
	}
	return share.New(client, opts), nil
}
