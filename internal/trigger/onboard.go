package trigger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/envshare/envshare/internal/fleet"
	"github.com/envshare/envshare/internal/ledger"
	"github.com/envshare/envshare/internal/wxcrypt"
	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/wechat"
)

// onboardAction is the internal message that retries an onboarding by customer (docs/customers.md,
// onboarding by customer): {"action":"onboard","appid":A,"event":E,"create_time":T}.
const onboardAction = "onboard"

// Outcomes of an authorization event with a ledger (the contract's section 8).
const (
	outcomeOnboarded         = "onboarded"
	outcomeOnboardFailed     = "onboard_failed"
	outcomePermissionMissing = "permission_missing"
	outcomeUnknownCustomer   = "unknown_customer"
	outcomeRecorded          = "recorded"
)

// authorization is what became of an authorization event with a ledger: the notification
// {"action":"authorization","event","appid","principal","outcome",...} and, for the onboard
// message, its answer (action "onboard", with ok).
type authorization struct {
	OK         *bool        `json:"ok,omitempty"` // the onboard message's answer only
	Action     string       `json:"action"`
	Event      string       `json:"event"`
	AppID      string       `json:"appid"`
	Principal  string       `json:"principal"`
	Outcome    string       `json:"outcome"`
	CreateTime time.Time    `json:"create_time"`
	Envs       []string     `json:"envs,omitempty"`     // the envs shared (or unshared)
	Onboard    *onboarding  `json:"onboard,omitempty"`  // the share of the envs
	Offboard   *onboarding  `json:"offboard,omitempty"` // the unshare, with ENVSHARE_OFFBOARD=unshare
	Error      *share.Error `json:"error,omitempty"`    // why it failed
}

// errTransient marks a failure of the ledger, of the info call or of a share that a retry may
// overcome: the onboarding is handed to the platform's retry, never lost.
type errTransient struct{ err error }

func (e errTransient) Error() string { return e.err.Error() }
func (e errTransient) Unwrap() error { return e.err }

// errIgnored: the event is older than the newest one recorded for its appid.
var errIgnored = errors.New("ignored")

// authorizationEvent handles a pushed authorized, updateauthorized or unauthorized with a
// ledger. What fails for a transient reason is handed to the platform's retry as an onboard
// message (notified when the retry ends); without a retry, it is onboard_failed.
func (a *App) authorizationEvent(ctx context.Context, inst *instance, pushed wxcrypt.Event) {
	ev := fleet.Event{AppID: pushed.AuthorizerAppID, InfoType: pushed.InfoType, CreateTime: time.Unix(pushed.CreateTime, 0).UTC()}
	out, err := a.authorize(ctx, inst, ev, true)
	var tr errTransient
	switch {
	case errors.Is(err, errIgnored):
		return
	case errors.As(err, &tr):
		if a.handOff(ctx, inst, ev, tr) {
			return
		}
		out.Outcome, out.Error = outcomeOnboardFailed, &share.Error{Code: share.CodeUpstreamUnavailable,
			Message: a.secrets.String("not finished, and not handed to a retry: " + tr.Error())}
		a.log.ErrorContext(ctx, outcomeOnboardFailed, "authorizer_appid", ev.AppID, "event", ev.InfoType, "error", out.Error.Message)
	}
	a.notifyEvent(ctx, inst, out)
}

// handOff hands the onboarding to the platform's retry as an onboard message; it reports
// whether the retry took it.
func (a *App) handOff(ctx context.Context, inst *instance, ev fleet.Event, cause error) bool {
	if inst.Retry == nil {
		return false
	}
	msg, _ := json.Marshal(onboardMessage{Action: onboardAction, AppID: ev.AppID, Event: ev.InfoType, CreateTime: ev.CreateTime.Unix()})
	rctx, cancel := wrapUp(ctx, handOffEarly)
	defer cancel()
	if err := inst.Retry(rctx, string(msg)); err != nil {
		a.log.ErrorContext(ctx, "the platform's retry refused the onboarding", "authorizer_appid", ev.AppID, "error", err)
		return false
	}
	a.log.WarnContext(ctx, "onboarding handed to the platform's retry", "authorizer_appid", ev.AppID, "event", ev.InfoType,
		"cause", a.secrets.String(cause.Error()))
	return true
}

// authorize records an authorization event in the ledger and acts on it: the contract's
// section 8. A push is first taken up in the ledger (fleet.Claim), so that its copies, on any
// instance, are collapsed for duplicateWindow; a retry (pushed false) carries on an event
// taken up already. It returns errIgnored for an event older than the newest recorded or taken
// up, or a copy, and an errTransient for a failure a retry may overcome (the ledger, the info
// call, a share); out is then what is known so far.
func (a *App) authorize(ctx context.Context, inst *instance, ev fleet.Event, pushed bool) (out authorization, err error) {
	out = authorization{Action: "authorization", Event: ev.InfoType, AppID: ev.AppID, CreateTime: ev.CreateTime}
	log := a.log.With("authorizer_appid", ev.AppID, "event", ev.InfoType)
	f := inst.Fleet
	var rec ledger.Authorizer
	if pushed {
		rec, err = f.Claim(ctx, ev, duplicateWindow)
	} else {
		rec, err = f.CheckOrder(ctx, ev)
	}
	switch {
	case errors.Is(err, fleet.ErrStale):
		log.InfoContext(ctx, "authorization event older than the newest one recorded for the appid: ignored", "reason", err.Error())
		return out, errIgnored
	case errors.Is(err, fleet.ErrDuplicate):
		log.InfoContext(ctx, "authorization event pushed again moments after, to this or another instance: this copy is collapsed")
		return out, errIgnored
	}
	if err != nil {
		return out, errTransient{fmt.Errorf("the ledger: %w", err)}
	}
	var info *fleet.Info
	if ev.InfoType != fleet.EventUnauthorized {
		if rec.LastEvent == ev.InfoType && rec.LastEventTime.Equal(ev.CreateTime) && !rec.InfoFetchedAt.IsZero() {
			i := fleet.InfoOf(rec) // a retry, or WeChat's own re-push: the info was fetched for it
			info = &i
		} else if i, err := a.authorizerInfo(ctx, inst, ev.AppID); err == nil {
			info = &i
		} else if isTransient(ctx, err) {
			return out, errTransient{fmt.Errorf("api_get_authorizer_info: %w", err)}
		} else {
			out.Outcome, out.Error = outcomeOnboardFailed, a.entryError(err)
		}
	}
	rec, changed, err := f.RecordEvent(ctx, ev, info)
	if errors.Is(err, fleet.ErrStale) {
		log.InfoContext(ctx, "a newer authorization event was recorded meanwhile: this one is ignored")
		return out, errIgnored
	}
	if err != nil {
		return out, errTransient{fmt.Errorf("the ledger: %w", err)}
	}
	out.Principal = rec.Principal
	log = log.With("principal", rec.Principal)
	if out.Outcome == outcomeOnboardFailed {
		log.ErrorContext(ctx, outcomeOnboardFailed, "error", out.Error.Error())
		return out, nil
	}
	if ev.InfoType == fleet.EventUnauthorized {
		return a.offboard(ctx, inst, out, log)
	}
	switch {
	case !info.CanShare():
		out.Outcome = outcomePermissionMissing
		log.WarnContext(ctx, "the Mini Program has not granted permission set 18: nothing is shared until it does",
			"permission_sets", info.PermissionSets)
		return out, nil
	case ev.InfoType == fleet.EventUpdateAuthorized && !changed:
		out.Outcome = outcomeRecorded
		log.InfoContext(ctx, "authorization recorded: nothing changed")
		return out, nil
	case inst.ManifestErr != nil:
		out.Outcome, out.Error = outcomeOnboardFailed, inst.ManifestErr
		log.ErrorContext(ctx, outcomeOnboardFailed, "error", inst.ManifestErr.Error())
		return out, nil
	}
	envs, sourceType := a.customerEnvs(inst, rec.Principal)
	if len(envs) == 0 {
		out.Outcome = outcomeUnknownCustomer
		log.WarnContext(ctx, "unknown_customer: no customer of ENVSHARE_MANIFEST has this principal, and ENVSHARE_ONBOARD_ENVS "+
			"is not set: add the customer, and the next reconcile shares its envs")
		return out, nil
	}
	out.Envs = envs
	out.Onboard = a.shareEnvs(ctx, inst, share.ActionShare, ev.AppID, envs, sourceType)
	if out.Onboard.Status == statusRetrying {
		return out, errTransient{errors.New(out.Onboard.Error.Message)}
	}
	out.Outcome = outcomeOnboarded
	if out.Onboard.Status == statusFailed {
		out.Outcome = outcomeOnboardFailed
	}
	return out, nil
}

// offboard acts on a recorded unauthorized: with ENVSHARE_OFFBOARD=unshare, its customer's
// envs and ENVSHARE_ONBOARD_ENVS are unshared.
func (a *App) offboard(ctx context.Context, inst *instance, out authorization, log *slog.Logger) (authorization, error) {
	out.Outcome = outcomeRecorded
	if inst.cfg.Offboard != "unshare" {
		log.InfoContext(ctx, "revocation recorded (ENVSHARE_OFFBOARD=keep)")
		return out, nil
	}
	var envs []string
	sourceType := 0
	if inst.ManifestErr == nil {
		envs, sourceType = a.customerEnvs(inst, out.Principal)
	} else { // its customer's envs are unknown: the onboard envs only, and the error said
		out.Outcome, out.Error = outcomeOnboardFailed, inst.ManifestErr
		log.ErrorContext(ctx, outcomeOnboardFailed, "error", inst.ManifestErr.Error())
	}
	for _, env := range inst.cfg.OnboardEnvList() {
		if !slices.Contains(envs, env) {
			envs = append(envs, env)
		}
	}
	if len(envs) == 0 {
		log.InfoContext(ctx, "revocation recorded: no env of its customer to unshare")
		return out, nil
	}
	out.Envs = envs
	out.Offboard = a.shareEnvs(ctx, inst, share.ActionUnshare, out.AppID, envs, sourceType)
	if out.Offboard.Status == statusRetrying {
		return out, errTransient{errors.New(out.Offboard.Error.Message)}
	}
	return out, nil
}

// customerEnvs returns the envs to share with an authorizer of principal: its customer's
// (with the customer's source_type, 0 for the default), else ENVSHARE_ONBOARD_ENVS (a
// platform of one customer), else none.
func (a *App) customerEnvs(inst *instance, principal string) ([]string, int) {
	if m := inst.Manifest; m != nil {
		for _, c := range m.Customers {
			if c.Principal == principal {
				st := 0
				if c.SourceType != nil {
					st = *c.SourceType
				}
				return c.Envs, st
			}
		}
	}
	return inst.cfg.OnboardEnvList(), 0
}

// shareEnvs shares (or unshares) envs with appid through the core, so that the links are
// delivered like any share's and the ledger records the outcomes. A transient failure is
// status retrying (the caller hands the whole onboarding to the retry); a permanent one
// onboard_failed.
func (a *App) shareEnvs(ctx context.Context, inst *instance, action, appid string, envs []string, sourceType int) *onboarding {
	body := map[string]any{"action": action, "data": onboardData(envs, appid)}
	if sourceType > 0 {
		body["source_type"] = sourceType
	}
	message, _ := json.Marshal(body)
	out, se, transient := a.onboardShare(ctx, inst, message, envs)
	if transient {
		msg := "a call did not finish"
		if se != nil {
			msg = se.Message
		}
		out.Status, out.Error = statusRetrying, &share.Error{Code: share.CodeUpstreamUnavailable, Message: a.secrets.String(msg)}
	}
	a.logOnboarding(ctx, action, appid, out)
	return out
}

// onboardData is the data of a share of envs with one appid.
func onboardData(envs []string, appid string) []map[string]any {
	data := make([]map[string]any, len(envs))
	for i, env := range envs {
		data[i] = map[string]any{"env": env, "appids": []string{appid}}
	}
	return data
}

// authorizerInfo reads the authorizer's info from WeChat.
func (a *App) authorizerInfo(ctx context.Context, inst *instance, appid string) (fleet.Info, error) {
	if inst.Fleet.WeChat == nil {
		return fleet.Info{}, errors.New("no WeChat client for api_get_authorizer_info")
	}
	return inst.Fleet.WeChat.Info(ctx, appid)
}

// isTransient reports whether a failed call may succeed later: WeChat unavailable, the
// invocation's time used up, or the token not readable yet.
func isTransient(ctx context.Context, err error) bool {
	switch wechat.Classify(err) {
	case wechat.Unavailable, wechat.Stopped:
		return true
	}
	return ctx.Err() != nil
}

// entryError is a failed call as the contract's error object, masked.
func (a *App) entryError(err error) *share.Error {
	var api *wechat.APIError
	if errors.As(err, &api) {
		code := api.Code
		return &share.Error{Code: share.CodeUpstreamError, Message: a.secrets.String(fmt.Sprintf("WeChat %s answered errcode %d", api.Endpoint, code)),
			WechatErrcode: &code, WechatErrmsg: a.secrets.String(api.Msg)}
	}
	return &share.Error{Code: share.CodeUpstreamError, Message: a.secrets.String(err.Error())}
}

// onboardMessage is the retry of an onboarding by customer.
type onboardMessage struct {
	Action     string `json:"action"`
	AppID      string `json:"appid"`
	Event      string `json:"event"`
	CreateTime int64  `json:"create_time"` // Unix seconds, the push's CreateTime
}

// decodeOnboard reads an onboard message as strictly as the other messages: every field
// required, none unknown or given twice.
func decodeOnboard(body []byte) (fleet.Event, *share.Error) {
	var msg onboardMessage
	se := decodeMessage(body, map[string]messageField{
		"action": into("action", &msg.Action, nil),
		"appid": into("appid", &msg.AppID, func(v string) string {
			if !share.ValidAppID(v) {
				return "must be an appid (wx followed by 16 lowercase hex digits)"
			}
			return ""
		}),
		"event": into("event", &msg.Event, func(v string) string {
			if !slices.Contains([]string{fleet.EventAuthorized, fleet.EventUpdateAuthorized, fleet.EventUnauthorized}, v) {
				return "must be authorized, updateauthorized or unauthorized"
			}
			return ""
		}),
		"create_time": into("create_time", &msg.CreateTime, func(v int64) string {
			if v <= 0 {
				return "must be a positive Unix time"
			}
			return ""
		}),
	}, []string{"appid", "event", "create_time"}, "an onboard message takes action, appid, event and create_time")
	if se != nil {
		return fleet.Event{}, se
	}
	return fleet.Event{AppID: msg.AppID, InfoType: msg.Event, CreateTime: time.Unix(msg.CreateTime, 0).UTC()}, nil
}

// retryOnboard carries out an onboard message (the retry of an onboarding): it answers the
// outcome, notified like a push's; a transient failure again is an invocation error, so the
// platform retries once more (and in the end dead-letters it).
func (a *App) retryOnboard(ctx context.Context, inst *instance, body []byte) (any, error) {
	ev, se := decodeOnboard(body)
	if se != nil {
		return nil, se
	}
	if inst.Fleet == nil {
		return nil, invalid("action onboard needs ENVSHARE_LEDGER (it retries an onboarding by customer)")
	}
	out, err := authorization{Action: "authorization", Event: ev.InfoType, AppID: ev.AppID, CreateTime: ev.CreateTime}, errIgnored
	if !a.tooFarAhead(ctx, a.log.With("authorizer_appid", ev.AppID, "event", ev.InfoType), ev.CreateTime.Unix()) {
		out, err = a.authorize(ctx, inst, ev, false)
	}
	var tr errTransient
	switch {
	case errors.Is(err, errIgnored):
		out.Outcome = "ignored"
	case errors.As(err, &tr):
		return nil, &share.Error{Code: share.CodeUpstreamUnavailable, Message: a.secrets.String("onboarding not finished: " + tr.Error())}
	default:
		a.notifyEvent(ctx, inst, out)
	}
	ok := out.Outcome != outcomeOnboardFailed
	out.OK, out.Action = &ok, onboardAction
	return out, nil
}
