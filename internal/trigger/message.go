package trigger

import (
	"context"
	"errors"
	"fmt"

	"github.com/envshare/envshare/pkg/share"
)

// Message carries out a message: a direct invocation, scheduler custom input, timer JSON
// Message or queue record, {"action": ..., ...the fields of the HTTP body}. The error, if any,
// is a *share.Error; pass both results to Answer for a direct invocation's answer.
func (a *App) Message(ctx context.Context, body []byte) (*share.Result, error) {
	ctx, rec := a.begin(ctx, TriggerDirect)
	return a.run(ctx, rec, func(ctx context.Context) (*share.Result, error) {
		// Decode first: an invalid message is invalid whatever the configuration.
		req, err := share.Decode(body, "")
		if err != nil {
			return nil, errorOf(err)
		}
		rec.action = req.Action
		return a.runWith(ctx, req)
	})
}

// Scheduled reconciles the configured manifest (ENVSHARE_MANIFEST): a schedule without input.
func (a *App) Scheduled(ctx context.Context) (*share.Result, error) {
	ctx, rec := a.begin(ctx, TriggerSchedule)
	rec.action = share.ActionReconcile
	return a.run(ctx, rec, func(ctx context.Context) (*share.Result, error) {
		req, err := share.Decode(nil, share.ActionReconcile)
		if err != nil {
			return nil, errorOf(err)
		}
		return a.runWith(ctx, req)
	})
}

// runWith initialises the instance if needed and carries out req.
func (a *App) runWith(ctx context.Context, req share.Request) (*share.Result, error) {
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
func (a *App) run(ctx context.Context, rec *record, fn func(context.Context) (*share.Result, error)) (res *share.Result, err error) {
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

// Answer turns the outcome of Message or Scheduled into a direct invocation's answer: the
// result object; for invalid input or a permanent failure the error object as the value (a
// retry would fail the same way); for a transient failure (upstream unavailable, deadline) or
// an initialisation or internal failure an invocation error, so that the platform's async
// retry and dead-letter handling apply. Error texts are written for callers: no secrets.
func Answer(res *share.Result, err error) (any, error) {
	if err == nil {
		return res, nil
	}
	var se *share.Error
	if !errors.As(err, &se) {
		return nil, errors.New("internal error; see the function's log")
	}
	if se.Transient() || se.Code == share.CodeInternal || se.Code == CodeAuthNotConfigured {
		return nil, se
	}
	return share.ErrorBody{OK: false, Error: se}, nil
}
