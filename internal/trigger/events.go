package trigger

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/envshare/envshare/internal/fleet"
	"github.com/envshare/envshare/internal/metrics"
	"github.com/envshare/envshare/internal/wxcrypt"
	"github.com/envshare/envshare/pkg/share"
)

// The answer budget of POST /wechat/events, measured from the request's receipt: the start of
// App.HTTP, before the instance's initialisation, so that a cold start counts. WeChat waits 5 s
// for "success" and pushes again when it does not get it; the 2 s left are for the platform's
// gateway, the runtime and the network (docs/tokens-and-events.md, Receiving WeChat's events).
const (
	// eventsActBy: acting on the push (storing a ticket, onboarding) and forwarding it end by
	// then; what has not finished goes to the platform's retry.
	eventsActBy = 2 * time.Second
	// eventsNotifyBy: the notifications of the push end by then, leaving the last half second
	// to the hand-offs, so that a notification receiver that hangs cannot cost a push.
	eventsNotifyBy = 2500 * time.Millisecond
	// eventsAnswerBy: the initialisation and the credentials' read, and then the hand-offs to
	// the platform's retry, end by then, and the answer is written.
	eventsAnswerBy = 3 * time.Second
	// eventRetryBudget bounds a hand-off or a notification outside /wechat/events (the retry of
	// an onboarding, a message).
	eventRetryBudget = 1 * time.Second
)

// answerByKey carries the time the answer of /wechat/events is due, for what follows acting on
// the push (wrapUp).
type answerByKey struct{}

// wrapUp returns the context of what follows acting on an event: handing it to the platform's
// retry, notifying it. It outlives ctx's own end: on /wechat/events until the answer is due
// (less early, for the notifications: eventsAnswerBy - eventsNotifyBy), elsewhere
// eventRetryBudget from now.
func wrapUp(ctx context.Context, early time.Duration) (context.Context, context.CancelFunc) {
	if by, ok := ctx.Value(answerByKey{}).(time.Time); ok {
		return context.WithDeadline(context.WithoutCancel(ctx), by.Add(-early))
	}
	return context.WithTimeout(context.WithoutCancel(ctx), eventRetryBudget)
}

// Whether a wrap-up is a hand-off to the platform's retry (until the answer is due) or a
// notification (which ends earlier).
const (
	handOffEarly = 0
	notifyEarly  = eventsAnswerBy - eventsNotifyBy
)

// wechatEvents serves POST /wechat/events (docs/tokens-and-events.md, Receiving WeChat's events)
// within its answer budget from receipt (rec.start), the instance's initialisation included: 404
// when the platform's message token, key or appid is not configured; 413, 401 (signature) or 400
// (not decryptable, another platform's) in plain text, with nothing stored or shared; else
// "success", whatever acting on the event gave, since WeChat only wants to know it arrived. With
// ENVSHARE_FORWARD_URL every correctly signed push is forwarded meanwhile.
func (a *App) wechatEvents(ctx context.Context, req HTTPRequest, rec *record) HTTPResponse {
	answerBy := rec.start.Add(eventsAnswerBy)
	ctx = context.WithValue(ctx, answerByKey{}, answerBy)
	readCtx, cancelRead := context.WithDeadline(ctx, answerBy)
	defer cancelRead()
	inst, initErr := a.instance(readCtx)
	if initErr != nil {
		return a.fail(rec, initErr)
	}
	crypto, se := a.pushCrypto(readCtx, inst)
	if se != nil {
		return a.fail(rec, se)
	}
	ctx, cancel := context.WithDeadline(ctx, rec.start.Add(eventsActBy))
	defer cancel()
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
	ts, nonce, sig := query("timestamp"), query("nonce"), query("msg_signature")
	err := crypto.Verify(ts, nonce, sig, body)
	var ev wxcrypt.Event
	if err == nil {
		forwarded := a.startForward(ctx, inst, req, body) // signed: forwarded, whatever it holds
		defer forwarded()
		ev, err = crypto.OpenEvent(ts, nonce, sig, body)
	}
	switch {
	case errors.Is(err, wxcrypt.ErrSignature):
		rec.errCode = share.CodeUnauthorized
		a.pushRefused(ctx, pushBadSignature, "invalid signature (is component_token the console's 消息校验Token?)")
		return textResponse(http.StatusUnauthorized, "invalid signature")
	case err != nil:
		rec.errCode = share.CodeInvalidRequest
		a.pushUnopened(ctx, err)
		return textResponse(http.StatusBadRequest, "malformed message")
	}
	rec.action = "event:" + ev.InfoType
	a.onEvent(ctx, inst, ev)
	return textResponse(http.StatusOK, "success")
}

// eventsNotConfigured answers the route as an unknown path would (404), saying what is missing.
func eventsNotConfigured() *share.Error {
	return &share.Error{Code: share.CodeNotFound, Message: "POST /wechat/events is not configured: the platform's appid, " +
		"message token and EncodingAESKey are not all set (README, Receiving WeChat's events)"}
}

// tooFarAhead reports, and logs, a CreateTime more than wxcrypt.MaxAhead ahead of the
// function's clock: such a push is never stored or acted on (the contract's section 5, "The
// clock").
func (a *App) tooFarAhead(ctx context.Context, log *slog.Logger, createTime int64) bool {
	created, now := time.Unix(createTime, 0), a.now()
	if !wxcrypt.TooFarAhead(created, now) {
		return false
	}
	log.WarnContext(ctx, "wechat event from the future ignored: its CreateTime is more than 5 minutes ahead of the function's clock",
		"create_time", created.UTC(), "ahead", created.Sub(now).String())
	return true
}

// onEvent acts on one authenticated event, unless its CreateTime is from the future. The
// authorization events of one appid are taken up in order (pushMemory): an older one is
// ignored, a copy of one taken up moments ago is collapsed. With a ledger they are the
// contract's section 8 (authorizationEvent), ordered and collapsed across instances too.
func (a *App) onEvent(ctx context.Context, inst *instance, ev wxcrypt.Event) {
	log := a.log.With("info_type", ev.InfoType, "authorizer_appid", ev.AuthorizerAppID)
	if a.tooFarAhead(ctx, log, ev.CreateTime) {
		return
	}
	switch ev.InfoType {
	case wxcrypt.InfoComponentVerifyTicket:
		a.storeTicket(ctx, inst, ev)
	case wxcrypt.InfoAuthorized, wxcrypt.InfoUpdateAuthorized, wxcrypt.InfoUnauthorized:
		verdict, done, err := a.pushes.take(ctx, ev.AuthorizerAppID, ev.InfoType, ev.CreateTime, a.now)
		switch {
		case err != nil: // waited for an event of the same appid until the time was up
			a.timedOut(ctx, inst, ev, log)
			return
		case verdict == pushStale:
			log.InfoContext(ctx, "authorization event older than the newest one this instance took up for the appid: ignored",
				"create_time", time.Unix(ev.CreateTime, 0).UTC())
			return
		case verdict == pushDuplicate:
			log.InfoContext(ctx, "authorization event pushed again moments after: this copy is collapsed",
				"create_time", time.Unix(ev.CreateTime, 0).UTC())
			return
		}
		defer done()
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

// timedOut reports an authorization event whose turn did not come in time (another event of
// its appid was being acted on): with a ledger it goes to the platform's retry like an
// onboarding that did not finish; without one it is onboard_failed, logged and notified.
func (a *App) timedOut(ctx context.Context, inst *instance, ev wxcrypt.Event, log *slog.Logger) {
	cause := errors.New("another event of the appid was being acted on until the answer was due")
	if inst.Fleet != nil {
		fev := fleet.Event{AppID: ev.AuthorizerAppID, InfoType: ev.InfoType, CreateTime: time.Unix(ev.CreateTime, 0).UTC()}
		if a.handOff(ctx, inst, fev, cause) {
			return
		}
	}
	log.ErrorContext(ctx, "onboard_failed", "error", cause.Error())
	a.notifyEvent(ctx, inst, eventNotice{Action: statusFailed, Event: noticeOf(ev),
		Onboard: &onboarding{Status: statusFailed, Error: &share.Error{Code: share.CodeUpstreamUnavailable, Message: cause.Error()}}})
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
		a.log.InfoContext(ctx, "component_verify_ticket dropped: ENVSHARE_STATE_ID is not set "+
			"(docs/tokens-and-events.md, Token lifecycle)")
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
		rctx, cancel := wrapUp(ctx, handOffEarly)
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
	nctx, cancel := wrapUp(ctx, notifyEarly)
	defer cancel()
	if err := inst.Notifier.Send(nctx, notice); err != nil {
		a.log.WarnContext(ctx, "event notification failed", "error", err)
	}
}
