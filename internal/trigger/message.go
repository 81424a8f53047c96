package trigger

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/envshare/envshare/pkg/share"
)

// Message carries out a message: a direct invocation, scheduler custom input, timer JSON
// Message or queue record, {"action": ..., ...the fields of the HTTP body}. Its value is a
// *share.Result, a *token.RefreshResult for {"action":"refresh"}, the fleet view for
// {"action":"fleet"}, a *StatusLink for {"action":"status_link"}, or an onboarding's outcome for the internal {"action":"onboard"}; the
// error, if any, is a *share.Error. Pass both to Answer for a direct invocation's answer.
func (a *App) Message(ctx context.Context, body []byte) (any, error) {
	action, run := peek(body)
	ctx = withRun(ctx, run) // a shard's: every line of the invocation names its run
	return a.invoke(ctx, TriggerDirect, func(ctx context.Context, rec *record) (any, error) {
		ctx = share.WithAnswerLimit(ctx, share.AnswerLimit{}) // the answer is the invocation's value
		inst, initErr := a.instance(ctx)
		if initErr != nil {
			// An invalid message is invalid whatever the configuration: answered so, it is
			// not retried by the platform.
			if _, err := share.Decode(body, ""); err != nil && !slices.Contains(ownActions, action) {
				return nil, a.errorOf(ctx, err)
			}
			return nil, initErr
		}
		res, se := a.do(ctx, inst, body, "")
		if se == nil {
			rec.action = res.Action
			return answerOf(res), nil
		}
		// No share action is one of the function's own: only a message the core refused is
		// looked at again.
		if se.Code != share.CodeInvalidRequest {
			rec.action = action // a valid request that failed
			return nil, se
		}
		if !slices.Contains(ownActions, action) {
			return nil, se
		}
		rec.action = action
		switch action {
		case fleetAction, quotaAction:
			if se := decodeBare(body, action); se != nil {
				return nil, se
			}
			v, se := a.view(ctx, inst, action)
			if se != nil {
				return nil, se
			}
			return v, nil
		case statusLinkAction:
			ttl, se := decodeStatusLink(body, false)
			if se != nil {
				return nil, se
			}
			link, se := a.statusLink(inst, ttl)
			if se != nil {
				return nil, se
			}
			return link, nil
		case onboardAction:
			return a.retryOnboard(ctx, inst, body)
		case forwardAction:
			return a.retryForward(ctx, inst, body)
		}
		force, se := decodeRefresh(body, false)
		if se != nil {
			return nil, loud(se)
		}
		res2, se := a.refresh(ctx, inst, force)
		if se != nil {
			return nil, loud(se)
		}
		return res2, nil
	})
}

// ownActions are the actions of the function itself, besides the share service's.
var ownActions = []string{refreshAction, fleetAction, quotaAction, statusLinkAction, onboardAction, forwardAction}

// Scheduled reconciles the configured manifest (ENVSHARE_MANIFEST): a schedule without input.
func (a *App) Scheduled(ctx context.Context) (any, error) {
	return a.invoke(ctx, TriggerSchedule, func(ctx context.Context, rec *record) (any, error) {
		ctx = share.WithAnswerLimit(ctx, share.AnswerLimit{}) // the answer is the invocation's value
		rec.action = share.ActionReconcile
		inst, initErr := a.instance(ctx)
		if initErr != nil {
			return nil, initErr
		}
		res, se := a.do(ctx, inst, nil, share.ActionReconcile)
		if se != nil && se == inst.ManifestErr {
			return nil, loud(se) // nobody reads a schedule's answer: the error alarm must fire
		}
		if se != nil {
			return nil, se
		}
		return answerOf(res), nil
	})
}

// plannedAnswer is the answer of a reconcile planned as shards (contract section 9): the run
// and its number of shards, and the backfill when one was asked for.
type plannedAnswer struct {
	OK       bool                   `json:"ok"`
	Action   string                 `json:"action"`
	Run      string                 `json:"run"`
	Shards   int                    `json:"shards"`
	Backfill *share.BackfillSummary `json:"backfill,omitempty"`
}

// answerOf is what a result answers: the result itself, or for a reconcile planned as shards
// only its run.
func answerOf(res *share.Result) any {
	if res.Shards == 0 {
		return res
	}
	return plannedAnswer{OK: res.OK, Action: res.Action, Run: res.Run, Shards: res.Shards, Backfill: res.Backfill}
}

// peek reads a message's action and a shard message's run, each "" when the message has none
// that is a string. It is the one look at the body before the core's: a reconcile message may
// hold a whole manifest.
func peek(body []byte) (action, run string) {
	var m struct {
		Action json.RawMessage `json:"action"`
		Run    json.RawMessage `json:"run"`
	}
	if json.Unmarshal(body, &m) != nil {
		return "", ""
	}
	if json.Unmarshal(m.Action, &action) != nil {
		action = ""
	}
	if json.Unmarshal(m.Run, &run) != nil {
		run = ""
	}
	return action, run
}

// loudError is a failure that must be an invocation error whatever its code: a failed refresh,
// so that the platform's retry and the function's error alarm apply.
type loudError struct{ err *share.Error }

func (e loudError) Error() string { return e.err.Error() }
func (e loudError) Unwrap() error { return e.err }

func loud(e *share.Error) error { return loudError{e} }

// Answer turns the outcome of Message or Scheduled into a direct invocation's answer: the
// result; for invalid input or a permanent failure the error object as the value (a retry
// would fail the same way); for a transient failure (upstream unavailable, deadline), WeChat's
// daily quota used up (quota_exhausted: nothing was done, and nothing may be dropped), an
// initialisation or internal failure, or any failed refresh an invocation error, so that the
// platform's async retry and dead-letter handling apply. Error texts are written for
// callers: no secrets.
func Answer(res any, err error) (any, error) {
	if err == nil {
		return res, nil
	}
	var se *share.Error
	if !errors.As(err, &se) {
		return nil, errors.New("internal error; see the function's log")
	}
	var l loudError
	if errors.As(err, &l) || se.Transient() || se.Code == share.CodeQuotaExhausted || se.Code == share.CodeInternal ||
		se.Code == share.CodeAuthNotConfigured {
		return nil, se
	}
	return ErrorBody{OK: false, Error: se}, nil
}

// MaxPostpone is the longest a queue record can be hidden: SQS's longest visibility timeout.
const MaxPostpone = 12 * time.Hour

// Postpone handles a queue record whose message failed with err. When WeChat's daily quota was
// used up (quota_exhausted), it hides the record until the quota resets (retry_after, at most
// MaxPostpone) through hide, so that the queue does not deliver it again before then; the
// record is still to be reported failed, so that it comes back and, if it keeps failing, ends
// in the dead-letter queue. Other failures are left to the queue's own visibility timeout.
func (a *App) Postpone(ctx context.Context, err error, hide func(ctx context.Context, d time.Duration) error) {
	var se *share.Error
	if !errors.As(err, &se) || se.Code != share.CodeQuotaExhausted || se.RetryAfter.IsZero() {
		return
	}
	now := time.Now
	if a.wechatNow != nil { // the clock retry_after was read on
		now = a.wechatNow
	}
	d := min(max(se.RetryAfter.Sub(now()), 0), MaxPostpone)
	if err := hide(ctx, d); err != nil {
		a.log.ErrorContext(ctx, "a queue record stopped by WeChat's daily quota could not be hidden until it resets: "+
			"the queue delivers it again after its own visibility timeout", "retry_after", se.RetryAfter, "error", a.secrets.String(err.Error()))
		return
	}
	a.log.InfoContext(ctx, "queue record hidden until WeChat's daily quota resets", "retry_after", se.RetryAfter,
		"hidden_s", int64(d.Seconds()))
}
