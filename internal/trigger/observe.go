package trigger

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/envshare/envshare/internal/metrics"
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
	errCode  string
	summary  share.Summary
}

// begin starts the record of an invocation and puts fresh upstream counters into ctx.
func (a *App) begin(ctx context.Context, defaultTrigger string) (context.Context, *record) {
	rec := &record{
		inv:      invocationFrom(ctx),
		start:    time.Now(),
		cold:     !a.invoked.Swap(true),
		counters: new(metrics.Counters),
	}
	if rec.inv.Trigger == "" {
		rec.inv.Trigger = defaultTrigger
	}
	return metrics.NewContext(ctx, rec.counters), rec
}

// outcome notes the result or error of the invocation's action.
func (rec *record) outcome(res *share.Result, err error) {
	if err != nil {
		rec.status = 500
		if se, ok := err.(*share.Error); ok {
			rec.status = se.HTTPStatus()
			rec.errCode = se.Code
		}
		return
	}
	rec.status = 200
	if res != nil {
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
		attrs = append(attrs, slog.String("error_code", rec.errCode))
	}
	if len(rec.summary) > 0 {
		counts := make([]any, 0, len(rec.summary))
		for _, c := range rec.summary {
			counts = append(counts, slog.Int(c.Name, c.N))
		}
		attrs = append(attrs, slog.Group("summary", counts...))
	}
	level := slog.LevelInfo
	if rec.status >= 500 {
		level = slog.LevelError
	}
	a.log.LogAttrs(ctx, level, "invocation", attrs...)
	if a.platform == PlatformAWS {
		a.emitEMF(rec)
	}
}

// emfDirective declares the metrics of every EMF line; it never changes, so it is written once.
const emfDirective = `"CloudWatchMetrics":[{"Namespace":"envshare","Dimensions":[["Action"]],"Metrics":[` +
	`{"Name":"Shared","Unit":"Count"},{"Name":"PendingConfirmation","Unit":"Count"},` +
	`{"Name":"Failed","Unit":"Count"},{"Name":"UpstreamCalls","Unit":"Count"},` +
	`{"Name":"Retries","Unit":"Count"},{"Name":"TokenReloads","Unit":"Count"}]}]`

// emitEMF prints one CloudWatch Embedded Metric Format line: CloudWatch turns it into metrics
// without any API call from the function. The line is formatted directly (it is on every
// invocation's path); the action is one of a fixed set of plain names, safe to quote with %q.
func (a *App) emitEMF(rec *record) {
	action := rec.action
	if action == "" {
		action = "none"
	}
	line := fmt.Appendf(make([]byte, 0, 640),
		`{"_aws":{"Timestamp":%d,%s},"Action":%q,"Shared":%d,"PendingConfirmation":%d,"Failed":%d,"UpstreamCalls":%d,"Retries":%d,"TokenReloads":%d}`+"\n",
		time.Now().UnixMilli(), emfDirective, action,
		rec.summary.Get(share.StatusShared),
		rec.summary.Get(share.StatusPendingConfirmation),
		rec.summary.Get(share.StatusFailed),
		rec.counters.UpstreamCalls.Load(),
		rec.counters.Retries.Load(),
		rec.counters.TokenReloads.Load())
	a.metricsMu.Lock()
	defer a.metricsMu.Unlock()
	_, _ = a.metricsOut.Write(line)
}

var accessTokenParam = regexp.MustCompile(`(?i)(access_token=)[^&\s"']+`)

// redact removes secret values and access_token query values from s before it is logged.
func redact(s string, secrets []string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "REDACTED")
		}
	}
	return accessTokenParam.ReplaceAllString(s, "${1}REDACTED")
}
