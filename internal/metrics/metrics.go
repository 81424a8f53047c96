// Package metrics counts what one invocation did (upstream calls, retries, token reloads) and
// writes the CloudWatch Embedded Metric Format line the AWS adapter emits. The counts reach it
// through the WeChat client's exported hook (wechat.ClientTrace), which the invocation's context
// carries: no global state.
package metrics

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/envshare/envshare/pkg/wechat"
)

// Counters are safe for concurrent use.
type Counters struct {
	UpstreamCalls atomic.Int64 // HTTP requests sent to WeChat, retries included
	Retries       atomic.Int64 // attempts after the first
	TokenReloads  atomic.Int64 // reloads after a token error
}

// Context returns ctx with a wechat.ClientTrace that counts into c every call made with it.
func (c *Counters) Context(ctx context.Context) context.Context {
	return wechat.WithClientTrace(ctx, &wechat.ClientTrace{
		AttemptStart: func(info wechat.AttemptStartInfo) {
			c.UpstreamCalls.Add(1)
			if info.Attempt > 1 {
				c.Retries.Add(1)
			}
		},
		TokenReload: func(string) { c.TokenReloads.Add(1) },
	})
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

// quotaDirective declares the metric of a quota line: QuotaRemaining, by API.
const quotaDirective = `"CloudWatchMetrics":[{"Namespace":"envshare","Dimensions":[["Api"]],"Metrics":[` +
	`{"Name":"QuotaRemaining","Unit":"Count"}]}]`

// WriteQuotaEMF writes one CloudWatch Embedded Metric Format line with an API's remaining daily
// quota as WeChat reported it (QuotaRemaining, dimension Api), in a single Write. api is one of
// a fixed set of plain names, safe to quote with %q.
func WriteQuotaEMF(w io.Writer, at time.Time, api string, remain int) error {
	line := fmt.Appendf(make([]byte, 0, 256), `{"_aws":{"Timestamp":%d,%s},"Api":%q,"QuotaRemaining":%d}`+"\n",
		at.UnixMilli(), quotaDirective, api, remain)
	_, err := w.Write(line)
	return err
}
