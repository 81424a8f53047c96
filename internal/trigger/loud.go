package trigger

import (
	"context"
	"errors"
	"log/slog"
	"os"

	"github.com/envshare/envshare/internal/config"
	"github.com/envshare/envshare/internal/metrics"
	"github.com/envshare/envshare/internal/token"
	"github.com/envshare/envshare/internal/wxcrypt"
)

// Failures an operator must hear about at once (docs/operations.md, Alarms): each is logged at
// ERROR with its reason, never a secret, and counted in the invocation's metrics, which the
// deployment's alarms watch.

// Reasons a WeChat push to /wechat/events is refused: the Reason dimension of PushRejected.
const (
	pushNotConfigured         = "not_configured"         // no appid, message token or EncodingAESKey (404)
	pushCredentialsUnreadable = "credentials_unreadable" // the credentials secret cannot be read (500)
	pushSettingsUnusable      = "settings_unusable"      // an EncodingAESKey that is no key (500)
	pushBadBody               = "bad_body"               // too large, or not base64 (413 / 400)
	pushBadSignature          = "bad_signature"          // another message token, or not WeChat's push (401)
	pushOtherPlatform         = "other_platform"         // sealed for another platform's appid (400)
	pushUndecryptable         = "undecryptable"          // another EncodingAESKey, or a malformed message (400)
)

// pushUnopened reports a push whose signature passed but which cannot be opened: sealed for
// another platform, or not decryptable with the platform's keys (or no push at all).
func (a *App) pushUnopened(ctx context.Context, err error) {
	if errors.Is(err, wxcrypt.ErrAppID) {
		a.pushRefused(ctx, pushOtherPlatform, "sealed for another appid (is component_appid the third-party platform's own?)", "error", err)
		return
	}
	a.pushRefused(ctx, pushUndecryptable, "the message cannot be opened (is component_encoding_aes_key the console's 消息加解密Key?)", "error", err)
}

// pushRefused logs a refused push at ERROR with its reason, and counts it (PushRejected):
// when the platform's settings are wrong, every push WeChat sends is refused, and nothing else
// would tell until the ticket expires 12 hours later.
func (a *App) pushRefused(ctx context.Context, reason, msg string, attrs ...any) {
	metrics.From(ctx).RejectPush(reason)
	a.log.ErrorContext(ctx, "wechat push refused: "+msg, append([]any{"reason", reason}, attrs...)...)
}

// missingMessageSettings names the credentials' fields that a push needs and lacks.
func missingMessageSettings(c token.Credentials) []string {
	var missing []string
	for _, f := range []struct{ name, value string }{
		{"component_appid", c.AppID}, {"component_token", c.MessageToken}, {"component_encoding_aes_key", c.AESKey},
	} {
		if f.value == "" {
			missing = append(missing, f.name)
		}
	}
	return missing
}

// warnUnknownVariables warns, once per instance, of each ENVSHARE_* variable that is no
// setting: a misspelt one would otherwise be ignored silently. Its value is never shown.
func (a *App) warnUnknownVariables(ctx context.Context) {
	for _, name := range config.Unknown(os.Environ()) {
		a.log.WarnContext(ctx, name+" is set but is not a setting of envshare (a typo?): ignored", "variable", name)
	}
}

// countingHandler counts the onboard_failed ERROR lines in the invocation's metrics
// (OnboardFailed): every path that ends an onboarding so (a share that failed, the manifest,
// the authorizer's info, a retry that was refused) logs that one line, so it is the one
// place that sees them all.
// It sees every ERROR record, even one the logger below does not write.
type countingHandler struct{ slog.Handler }

func (h countingHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= slog.LevelError || h.Handler.Enabled(ctx, level)
}

func (h countingHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError && r.Message == outcomeOnboardFailed {
		metrics.From(ctx).Count(metrics.OnboardFailed)
	}
	if !h.Handler.Enabled(ctx, r.Level) {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h countingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return countingHandler{h.Handler.WithAttrs(attrs)}
}

func (h countingHandler) WithGroup(name string) slog.Handler {
	return countingHandler{h.Handler.WithGroup(name)}
}
