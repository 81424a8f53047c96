package trigger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/envshare/envshare/internal/metrics"
	"github.com/envshare/envshare/internal/store"
	"github.com/envshare/envshare/pkg/share"
)

// Triggers, as named in the summary log line.
const (
	TriggerHTTP     = "http"
	TriggerSchedule = "schedule"
	TriggerDirect   = "direct"
	TriggerSQS      = "sqs"
	TriggerTimer    = "timer"
)

// Invocation describes the platform invocation, for the summary log line. Adapters put it in
// the context with WithInvocation.
type Invocation struct {
	RequestID string // the platform's request id
	Trigger   string // one of the Trigger constants; default per App method
	MessageID string // the queue message, for SQS records
}

type invocationKey struct{}

// WithInvocation returns ctx carrying inv.
func WithInvocation(ctx context.Context, inv Invocation) context.Context {
	return context.WithValue(ctx, invocationKey{}, inv)
}

func invocationFrom(ctx context.Context) Invocation {
	inv, _ := ctx.Value(invocationKey{}).(Invocation)
	return inv
}

// record collects what one invocation did, for its summary line.
type record struct {
	inv      Invocation
	start    time.Time
	cold     bool
	counters *metrics.Counters
	action   string
	route    string
	status   int // HTTP status, or its equivalent for other triggers
	errCode  share.Code
	err      *share.Error // the error of a message, schedule or queue record (logged whole)
	summary  share.Summary
}

// begin starts the record of an invocation and puts fresh upstream counters into ctx (through
// the WeChat client's trace hook). It first learns the cloud credentials of the moment, which
// SCF hands over with each invocation, so that no output of the invocation can show them.
func (a *App) begin(ctx context.Context, defaultTrigger string) (context.Context, *record) {
	a.secrets.Add(store.Credentials()...)
	rec := &record{
		inv:      invocationFrom(ctx),
		start:    time.Now(),
		cold:     !a.invoked.Swap(true),
		counters: new(metrics.Counters),
	}
	if rec.inv.Trigger == "" {
		rec.inv.Trigger = defaultTrigger
	}
	return rec.counters.Context(ctx), rec
}

// invoke is the boundary of the message and schedule invocations: it starts the record, runs
// fn, and settles the invocation.
func (a *App) invoke(ctx context.Context, defaultTrigger string, fn func(ctx context.Context, rec *record) (any, error)) (res any, err error) {
	ctx, rec := a.begin(ctx, defaultTrigger)
	defer func() {
		if a.settle(ctx, recover()) {
			res, err = nil, internalError()
		}
		rec.outcome(res, err)
		a.finish(ctx, rec)
	}()
	return fn(ctx, rec)
}

// settle is the one handling of a panic at an invocation's boundary (HTTP, invoke): it logs
// the value recovered, if any, and reports whether there was one, so that the invocation
// answers an internal error instead of killing the instance.
func (a *App) settle(ctx context.Context, recovered any) bool {
	if recovered == nil {
		return false
	}
	a.log.ErrorContext(ctx, "panic", "panic", fmt.Sprint(recovered))
	return true
}

// outcome notes the result or error of the invocation's action.
func (rec *record) outcome(v any, err error) {
	if err != nil {
		rec.status = 500
		var se *share.Error
		if errors.As(err, &se) {
			rec.status = statusOf(se.Code)
			rec.errCode, rec.err = se.Code, se
		}
		return
	}
	rec.status = 200
	if res, ok := v.(*share.Result); ok && res != nil {
		rec.summary = res.Summary
		if rec.action == "" {
			rec.action = res.Action
		}
	}
}

// finish writes the summary log line and, on AWS, the EMF metrics line.
func (a *App) finish(ctx context.Context, rec *record) {
	attrs := []slog.Attr{
		slog.String("request_id", rec.inv.RequestID),
		slog.String("platform", a.platform),
		slog.String("trigger", rec.inv.Trigger),
		slog.String("action", rec.action),
		slog.String("route", rec.route),
		slog.Int("status", rec.status),
		slog.Bool("cold_start", rec.cold),
		slog.Int64("duration_ms", time.Since(rec.start).Milliseconds()),
		slog.Int64("upstream_calls", rec.counters.UpstreamCalls.Load()),
		slog.Int64("retries", rec.counters.Retries.Load()),
		slog.Int64("token_reloads", rec.counters.TokenReloads.Load()),
	}
	if rec.inv.MessageID != "" {
		attrs = append(attrs, slog.String("message_id", rec.inv.MessageID))
	}
	if rec.errCode != "" {
		attrs = append(attrs, slog.String("error_code", string(rec.errCode)))
	}
	if rec.err != nil {
		// Nobody reads the answer of a queue record or an asynchronous invocation: its error
		// object, details included, is what the triage of the dead-letter queue has to go on.
		attrs = append(attrs, slog.Any("error", a.errorLog(rec.err)))
	}
	if rec.summary != nil {
		attrs = append(attrs, slog.Any("summary", rec.summary))
	}
	level := slog.LevelInfo
	if rec.status >= 500 {
		level = slog.LevelError
	}
	a.log.LogAttrs(ctx, level, "invocation", attrs...)
	if a.platform == PlatformAWS {
		a.metricsMu.Lock()
		defer a.metricsMu.Unlock()
		_ = metrics.WriteEMF(a.metricsOut, time.Now(), rec.action, outcomes(rec.summary), rec.counters)
	}
}

// outcomes picks the counts the EMF line reports from an action's summary.
func outcomes(s share.Summary) metrics.Outcomes {
	switch s := s.(type) {
	case *share.ShareSummary:
		return metrics.Outcomes{Shared: s.Shared, PendingConfirmation: s.PendingConfirmation, Failed: s.Failed}
	case *share.UnshareSummary:
		return metrics.Outcomes{Failed: s.Failed}
	case *share.ReconcileSummary:
		return metrics.Outcomes{Shared: s.Shared, PendingConfirmation: s.PendingConfirmation, Failed: s.Failed}
	default:
		return metrics.Outcomes{}
	}
}

// errorLog is an error object as a log attribute: its code, message and details. The App's
// log handler masks the strings; the list of details is masked here.
func (a *App) errorLog(e *share.Error) slog.Value {
	attrs := []slog.Attr{slog.String("code", string(e.Code)), slog.String("message", e.Message)}
	if len(e.Details) > 0 {
		details := make([]string, len(e.Details))
		for i, d := range e.Details {
			details[i] = a.secrets.String(d)
		}
		attrs = append(attrs, slog.Any("details", details))
	}
	if e.WechatErrcode != nil {
		attrs = append(attrs, slog.Int("wechat_errcode", *e.WechatErrcode))
	}
	return slog.GroupValue(attrs...)
}

type runKey struct{}

// withRun returns ctx carrying the run a shard message belongs to: every log line of the
// invocation then names it (runHandler).
func withRun(ctx context.Context, run string) context.Context {
	if run == "" {
		return ctx
	}
	return context.WithValue(ctx, runKey{}, run)
}

// runHandler adds the "run" of the invocation's context to every record that does not name
// one already, whoever logs it (the core, the WeChat client, the summary line).
type runHandler struct{ slog.Handler }

func (h runHandler) Handle(ctx context.Context, r slog.Record) error {
	if run, ok := ctx.Value(runKey{}).(string); ok {
		named := false
		r.Attrs(func(a slog.Attr) bool {
			named = a.Key == "run"
			return !named
		})
		if !named {
			r = r.Clone()
			r.AddAttrs(slog.String("run", run))
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h runHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return runHandler{h.Handler.WithAttrs(attrs)}
}

func (h runHandler) WithGroup(name string) slog.Handler { return runHandler{h.Handler.WithGroup(name)} }
