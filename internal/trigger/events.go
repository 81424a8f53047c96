package trigger

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/envshare/envshare/internal/metrics"
	"github.com/envshare/envshare/internal/wxcrypt"
	"github.com/envshare/envshare/pkg/share"
)

// eventActBudget is how long acting on a push (storing a ticket, an onboarding share) may take:
// WeChat wants "success" within 5 s of sending, and the retry hand-off and the answer need
// the rest.
const (
	eventActBudget   = 3 * time.Second
	eventRetryBudget = 1 * time.Second
)

// wechatEvents serves POST /wechat/events (the README's "Receiving WeChat's events"): 404 when
// the platform's message token, key or appid is not configured; 413, 401 (signature) or 400
// (not decryptable, another platform's) in plain text, with nothing stored or shared; else
// "success", whatever acting on the event gave, since WeChat only wants to know it arrived.
func (a *App) wechatEvents(ctx context.Context, inst *instance, req HTTPRequest, rec *record) HTTPResponse {
	received := time.Now()
	if inst.Credentials == nil {
		a.pushRefused(ctx, pushNotConfigured, "no credentials are configured")
		return a.fail(rec, eventsNotConfigured())
	}
	creds, err := inst.Credentials.Read(ctx) // its values are among a.secrets (Read, or cfg.Secrets in mode env)
	if err != nil {
		a.pushRefused(ctx, pushCredentialsUnreadable, "the platform's credentials cannot be read", "error", err)
		return a.fail(rec, &share.Error{Code: share.CodeInternal, Message: "the platform's credentials cannot be read; see the function's log"})
	}
	if creds.AppID == "" || creds.MessageToken == "" || creds.AESKey == "" {
		a.pushRefused(ctx, pushNotConfigured, "the platform's appid, message token or EncodingAESKey is not set", "missing", missingMessageSettings(creds))
		return a.fail(rec, eventsNotConfigured())
	}
	crypto, err := wxcrypt.New(wxcrypt.Config{Token: creds.MessageToken, EncodingAESKey: creds.AESKey,
		PreviousEncodingAESKey: creds.PreviousAESKey, ComponentAppID: creds.AppID})
	if err != nil {
		a.pushRefused(ctx, pushSettingsUnusable, "the platform's message settings are unusable", "error", err)
		return a.fail(rec, &share.Error{Code: share.CodeInternal, Message: "the platform's message settings are unusable: " + err.Error()})
	}
	body, bodyErr := readBody(req, inst.cfg.MaxBodyBytes)
	if bodyErr != nil {
		a.pushRefused(ctx, pushBadBody, "the body is too large or not base64", "error", bodyErr.Message)
		rec.errCode = bodyErr.Code
		return textResponse(statusOf(bodyErr.Code), bodyErr.Message)
	}
	query := func(name string) string {
		if v := req.Query[name]; len(v) == 1 {
			return v[0]
		}
		return "" // absent, or ambiguous: fails the signature
	}
	message, err := crypto.Open(query("timestamp"), query("nonce"), query("msg_signature"), body)
	var ev wxcrypt.Event
	if err == nil {
		ev, err = wxcrypt.ParseEvent(message)
	}
	switch {
	case errors.Is(err, wxcrypt.ErrSignature):
		rec.errCode = CodeUnauthorized
		a.pushRefused(ctx, pushBadSignature, "invalid signature (is component_token the console's 消息校验Token?)")
		return textResponse(http.StatusUnauthorized, "invalid signature")
	case err != nil:
		rec.errCode = share.CodeInvalidRequest
		a.pushUnopened(ctx, err)
		return textResponse(http.StatusBadRequest, "malformed message")
	}
	rec.action = "event:" + ev.InfoType

	actCtx, cancel := context.WithDeadline(ctx, received.Add(eventActBudget))
	defer cancel()
	a.onEvent(actCtx, inst, ev)
	return textResponse(http.StatusOK, "success")
}

// eventsNotConfigured answers the route as an unknown path would (404), saying what is missing.
func eventsNotConfigured() *share.Error {
	return &share.Error{Code: CodeNotFound, Message: "POST /wechat/events is not configured: the platform's appid, " +
		"message token and EncodingAESKey are not all set (README, Receiving WeChat's events)"}
}

// onEvent acts on one authenticated event. With a ledger, the authorization events are the
// contract's section 8 (authorizationEvent).
func (a *App) onEvent(ctx context.Context, inst *instance, ev wxcrypt.Event) {
	log := a.log.With("info_type", ev.InfoType, "authorizer_appid", ev.AuthorizerAppID)
	switch ev.InfoType {
	case wxcrypt.InfoComponentVerifyTicket:
		a.storeTicket(ctx, inst, ev)
	case wxcrypt.InfoAuthorized, wxcrypt.InfoUpdateAuthorized, wxcrypt.InfoUnauthorized:
		if inst.Fleet != nil {
			log.InfoContext(ctx, "authorization event")
			a.authorizationEvent(ctx, inst, ev)
			return
		}
		a.authorizationWithoutLedger(ctx, inst, ev, log)
	default:
		log.InfoContext(ctx, "wechat event of another kind, acknowledged")
	}
}

// authorizationWithoutLedger acts on an authorization event as the contract's section 5 says:
// ENVSHARE_ONBOARD_ENVS shared (or unshared), the event notified.
func (a *App) authorizationWithoutLedger(ctx context.Context, inst *instance, ev wxcrypt.Event, log *slog.Logger) {
	switch ev.InfoType {
	case wxcrypt.InfoAuthorized:
		log.InfoContext(ctx, "a Mini Program authorized the platform")
		a.onboard(ctx, inst, ev)
	case wxcrypt.InfoUpdateAuthorized:
		log.InfoContext(ctx, "a Mini Program changed its authorization")
		a.notifyEvent(ctx, inst, eventNotice{Action: "authorization", Event: noticeOf(ev)})
	case wxcrypt.InfoUnauthorized:
		log.InfoContext(ctx, "a Mini Program revoked its authorization", "offboard", inst.cfg.Offboard)
		notice := eventNotice{Action: "authorization", Event: noticeOf(ev)}
		if inst.cfg.Offboard == "unshare" && len(inst.cfg.OnboardEnvList()) > 0 {
			notice.Offboard = a.shareWith(ctx, inst, share.ActionUnshare, ev.AuthorizerAppID)
		}
		a.notifyEvent(ctx, inst, notice)
	}
}

// storeTicket keeps a pushed ticket in the state record (at most one write per
// ENVSHARE_TICKET_WRITE_INTERVAL; never an older over a newer one).
func (a *App) storeTicket(ctx context.Context, inst *instance, ev wxcrypt.Event) {
	a.secrets.Add(ev.ComponentVerifyTicket)
	if inst.Refresher == nil {
		a.log.InfoContext(ctx, "component_verify_ticket dropped: ENVSHARE_STATE_ID is not set (README, Token lifecycle)")
		return
	}
	stored, err := inst.Refresher.StoreTicket(ctx, ev.ComponentVerifyTicket, time.Unix(ev.CreateTime, 0))
	if err != nil {
		// WeChat pushes a new ticket every 10 minutes: the next one will be stored.
		a.log.ErrorContext(ctx, "component_verify_ticket not stored", "error", err)
		return
	}
	a.log.InfoContext(ctx, "component_verify_ticket received", "stored", stored,
		"create_time", time.Unix(ev.CreateTime, 0).UTC())
	// Stored, or not needed (the record holds one at most TicketEvery older): a push arrived.
	metrics.From(ctx).SetTicketAge(a.now().Sub(time.Unix(ev.CreateTime, 0)))
}

// onboard shares ENVSHARE_ONBOARD_ENVS with a Mini Program that authorized the platform. The
// links are delivered like any share's (notification, confirmation pages).
func (a *App) onboard(ctx context.Context, inst *instance, ev wxcrypt.Event) {
	notice := eventNotice{Action: "authorization", Event: noticeOf(ev)}
	if len(inst.cfg.OnboardEnvList()) == 0 {
		a.log.InfoContext(ctx, "nothing to onboard: ENVSHARE_ONBOARD_ENVS is not set")
	} else {
		notice.Onboard = a.shareWith(ctx, inst, share.ActionShare, ev.AuthorizerAppID)
		if notice.Onboard.Status == statusFailed {
			notice.Action = "onboard_failed"
		}
	}
	a.notifyEvent(ctx, inst, notice)
}

// Statuses of an onboarding (or offboarding).
const (
	statusDone     = "done"
	statusRetrying = "retrying"
	statusFailed   = "onboard_failed"
)

// shareWith shares (or unshares) the onboard envs with appid. What fails for a transient
// reason, or does not finish in time, is handed to the platform's retry; what cannot be handed
// over, or fails for good, is reported as onboard_failed. Nothing is lost silently.
func (a *App) shareWith(ctx context.Context, inst *instance, action, appid string) *onboarding {
	envs := inst.cfg.OnboardEnvList()
	message, _ := json.Marshal(map[string]any{"action": action, "data": onboardData(envs, appid)})
	out, _, transient := a.onboardShare(ctx, inst, message, envs) // invalid_request: the appid WeChat sent is no appid
	switch {
	case transient && inst.Retry != nil:
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), eventRetryBudget)
		defer cancel()
		if err := inst.Retry(rctx, string(message)); err != nil {
			out.Status, out.Error = statusFailed, &share.Error{Code: share.CodeUpstreamUnavailable,
				Message: a.secrets.String("not finished in time, and the platform's retry refused it: " + err.Error())}
		} else {
			out.Status = statusRetrying
		}
	case transient:
		out.Status, out.Error = statusFailed, &share.Error{Code: share.CodeUpstreamUnavailable,
			Message: "not finished in time, and no retry is configured (ENVSHARE_RETRY_QUEUE_URL on AWS; SCF_FUNCTIONNAME on SCF)"}
	}
	a.logOnboarding(ctx, action, appid, out)
	return out
}

// onboardShare carries out an onboarding's share (or unshare) message through the core. It
// returns the outcome (done, or onboard_failed with the entries that failed for good or the
// error of a request that failed as a whole), that error, and whether anything failed for a
// reason a retry may overcome: then the status is left done, for the caller to settle.
func (a *App) onboardShare(ctx context.Context, inst *instance, message []byte, envs []string) (*onboarding, *share.Error, bool) {
	out := &onboarding{Envs: envs, Status: statusDone}
	res, se := a.do(ctx, inst, message, "")
	transient := se != nil && se.Transient()
	if se == nil {
		out.Summary = res.Summary
		for _, o := range res.Results {
			switch {
			case o.Status != share.StatusFailed:
			case o.Error.Code == share.CodeUpstreamUnavailable || o.Error.Code == share.CodeDeadlineExceeded:
				transient = true
			default:
				out.Failed = append(out.Failed, o)
			}
		}
	}
	switch {
	case transient:
	case se != nil:
		out.Status, out.Error = statusFailed, se
	case len(out.Failed) > 0:
		out.Status = statusFailed
	}
	return out, se, transient
}

// logOnboarding writes what became of an onboarding share: onboard_failed at ERROR.
func (a *App) logOnboarding(ctx context.Context, action, appid string, out *onboarding) {
	attrs := []any{"action", action, "authorizer_appid", appid, "status", out.Status, "envs", out.Envs}
	if out.Error != nil {
		attrs = append(attrs, "error", out.Error.Error())
	}
	if len(out.Failed) > 0 {
		attrs = append(attrs, "failed", out.Failed)
	}
	if out.Status == statusFailed {
		a.log.ErrorContext(ctx, "onboard_failed", attrs...)
	} else {
		a.log.InfoContext(ctx, "onboarding "+out.Status, attrs...)
	}
}

// onboarding reports what became of an onboarding share (or an offboarding unshare).
type onboarding struct {
	Envs    []string        `json:"envs"`
	Status  string          `json:"status"` // done, retrying, onboard_failed
	Summary share.Summary   `json:"summary,omitempty"`
	Failed  []share.Outcome `json:"failed,omitempty"`
	Error   *share.Error    `json:"error,omitempty"`
}

// eventNotice is the notification of an authorization event:
// {"action": "authorization" | "onboard_failed", "event": {...}, "onboard"?, "offboard"?}.
type eventNotice struct {
	Action   string      `json:"action"`
	Event    eventFields `json:"event"`
	Onboard  *onboarding `json:"onboard,omitempty"`
	Offboard *onboarding `json:"offboard,omitempty"`
}

type eventFields struct {
	InfoType        string    `json:"info_type"`
	AuthorizerAppID string    `json:"authorizer_appid"`
	CreateTime      time.Time `json:"create_time"`
}

func noticeOf(ev wxcrypt.Event) eventFields {
	return eventFields{InfoType: ev.InfoType, AuthorizerAppID: ev.AuthorizerAppID, CreateTime: time.Unix(ev.CreateTime, 0).UTC()}
}

// notifyEvent posts an event notice (an eventNotice, or an authorization with a ledger) to
// ENVSHARE_NOTIFY_URL, when there is one.
func (a *App) notifyEvent(ctx context.Context, inst *instance, notice any) {
	if inst.Notifier == nil {
		return
	}
	nctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), eventRetryBudget)
	defer cancel()
	if err := inst.Notifier.Send(nctx, notice); err != nil {
		a.log.WarnContext(ctx, "event notification failed", "error", err)
	}
}
