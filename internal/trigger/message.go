package trigger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/envshare/envshare/pkg/share"
)

// Message carries out a message: a direct invocation, scheduler custom input, timer JSON
// Message or queue record, {"action": ..., ...the fields of the HTTP body}. Its value is a
// *share.Result, or a *token.RefreshResult for {"action":"refresh"}; the error, if any, is a
// *share.Error. Pass both to Answer for a direct invocation's answer.
func (a *App) Message(ctx context.Context, body []byte) (any, error) {
	ctx, rec := a.begin(ctx, TriggerDirect)
	return a.run(ctx, rec, func(ctx context.Context) (any, error) {
		// Decode first: an invalid message is invalid whatever the configuration. No share
		// action is "refresh", so only a message that does not decode is peeked at for one
		// (a reconcile message may hold a whole manifest: it is parsed once).
		req, err := share.Decode(body, "")
		if err == nil {
			rec.action = req.Action
			return a.runWith(ctx, req)
		}
		if actionOf(body) != refreshAction {
			return nil, errorOf(err)
		}
		rec.action = refreshAction
		force, se := decodeRefresh(body, false)
		if se != nil {
			return nil, loud(se)
		}
		inst, initErr := a.instance(ctx)
		if initErr != nil {
			return nil, initErr
		}
		res, se := a.refresh(ctx, inst, force)
		if se != nil {
			return nil, loud(se)
		}
		return res, nil
	})
}

// Scheduled reconciles the configured manifest (ENVSHARE_MANIFEST): a schedule without input.
func (a *App) Scheduled(ctx context.Context) (any, error) {
	ctx, rec := a.begin(ctx, TriggerSchedule)
	rec.action = share.ActionReconcile
	return a.run(ctx, rec, func(ctx context.Context) (any, error) {
		req, err := share.Decode(nil, share.ActionReconcile)
		if err != nil {
			return nil, errorOf(err)
		}
		return a.runWith(ctx, req)
	})
}

// actionOf peeks at a message's action, "" when it has none that is a string.
func actionOf(body []byte) string {
	var m struct {
		Action json.RawMessage `json:"action"`
	}
	var action string
	if json.Unmarshal(body, &m) == nil && json.Unmarshal(m.Action, &action) == nil {
		return action
	}
	return ""
}

// runWith initialises the instance if needed and carries out req.
func (a *App) runWith(ctx context.Context, req share.Request) (any, error) {
	inst, initErr := a.instance(ctx)
	if initErr != nil {
		return nil, initErr
	}
	res, se := a.do(ctx, inst, req)
	if se != nil {
		return nil, se
	}
	return res, nil
}

// run calls fn, turns a panic into an internal error (this is the function's boundary) and
// writes the invocation's summary.
func (a *App) run(ctx context.Context, rec *record, fn func(context.Context) (any, error)) (res any, err error) {
	defer func() {
		if p := recover(); p != nil {
			a.log.ErrorContext(ctx, "panic", "panic", fmt.Sprint(p))
			res, err = nil, internalError()
		}
		rec.outcome(res, err)
		a.finish(ctx, rec)
	}()
	return fn(ctx)
}

// loudError is a failure that must be an invocation error whatever its code: a failed refresh,
// so that the platform's retry and the function's error alarm apply.
type loudError struct{ err *share.Error }

func (e loudError) Error() string { return e.err.Error() }
func (e loudError) Unwrap() error { return e.err }

func loud(e *share.Error) error { return loudError{e} }

// Answer turns the outcome of Message or Scheduled into a direct invocation's answer: the
// result; for invalid input or a permanent failure the error object as the value (a retry
// would fail the same way); for a transient failure (upstream unavailable, deadline), an
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
	if errors.As(err, &l) || se.Transient() || se.Code == share.CodeInternal || se.Code == CodeAuthNotConfigured {
		return nil, se
	}
	return share.ErrorBody{OK: false, Error: se}, nil
}
