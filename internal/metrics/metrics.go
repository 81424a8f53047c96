// Package metrics counts what one invocation did (upstream calls, retries, token reloads) and
// writes the CloudWatch Embedded Metric Format line the AWS adapter emits. The counters travel
// in the context: no global state.
package metrics

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// Counters are safe for concurrent use. A nil *Counters ignores every count.
type Counters struct {
	UpstreamCalls atomic.Int64 // HTTP requests sent to WeChat, retries included
	Retries       atomic.Int64 // attempts after the first
	TokenReloads  atomic.Int64 // reloads after a token error
}

type ctxKey struct{}

// NewContext returns ctx carrying c.
func NewContext(ctx context.Context, c *Counters) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// From returns the counters in ctx, or nil.
func From(ctx context.Context) *Counters {
	c, _ := ctx.Value(ctxKey{}).(*Counters)
	return c
}

// Call counts one HTTP request to WeChat.
func (c *Counters) Call() {
	if c != nil {
		c.UpstreamCalls.Add(1)
	}
}

// Retry counts one attempt after the first.
func (c *Counters) Retry() {
	if c != nil {
		c.Retries.Add(1)
	}
}

// TokenReload counts one token reload.
func (c *Counters) TokenReload() {
	if c != nil {
		c.TokenReloads.Add(1)
	}
}

// Outcomes are the entry counts of one invocation that the EMF line reports.
type Outcomes struct {
	Shared, PendingConfirmation, Failed int
}

// emfDirective declares the metrics of every EMF line; it never changes.
const emfDirective = `"CloudWatchMetrics":[{"Namespace":"envshare","Dimensions":[["Action"]],"Metrics":[` +
	`{"Name":"Shared","Unit":"Count"},{"Name":"PendingConfirmation","Unit":"Count"},` +
	`{"Name":"Failed","Unit":"Count"},{"Name":"UpstreamCalls","Unit":"Count"},` +
	`{"Name":"Retries","Unit":"Count"},{"Name":"TokenReloads","Unit":"Count"}]}]`

// WriteEMF writes one CloudWatch Embedded Metric Format line to w, in a single Write so that
// concurrent lines never mix: CloudWatch turns it into metrics without any API call from the
// function. It is formatted directly (it is on every invocation's path); action is one of a
// fixed set of plain names, safe to quote with %q.
func WriteEMF(w io.Writer, at time.Time, action string, o Outcomes, c *Counters) error {
	if action == "" {
		action = "none"
	}
	line := fmt.Appendf(make([]byte, 0, 640),
		`{"_aws":{"Timestamp":%d,%s},"Action":%q,"Shared":%d,"PendingConfirmation":%d,"Failed":%d,"UpstreamCalls":%d,"Retries":%d,"TokenReloads":%d}`+"\n",
		at.UnixMilli(), emfDirective, action, o.Shared, o.PendingConfirmation, o.Failed,
		c.UpstreamCalls.Load(), c.Retries.Load(), c.TokenReloads.Load())
	_, err := w.Write(line)
	return err
}
