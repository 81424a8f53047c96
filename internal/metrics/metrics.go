// Package metrics counts what one invocation did (upstream calls, retries, token reloads, and
// the events the deployment's alarms watch) and writes the CloudWatch Embedded Metric Format
// line the AWS adapter emits. The upstream counts reach it through the WeChat client's exported
// hook (wechat.ClientTrace), the events through the invocation's context (From): no global
// state.
package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/envshare/envshare/pkg/wechat"
)

// Namespace is the CloudWatch namespace of every metric; the template's alarms and dashboard
// name it.
const Namespace = "envshare"

// Event is something the deployment's alarms watch, counted once per occurrence: its name is
// the metric's (namespace envshare, no dimension, unit Count).
type Event int

// The alarmed events.
const (
	RefreshFailed Event = iota // a refresh that failed (metric RefreshFailed)
	TokenRejected              // WeChat rejected the token, and a reload gave no token it accepts (TokenRejected)
	OnboardFailed              // an onboarding that ended onboard_failed (OnboardFailed)
	numEvents
)

var eventNames = [numEvents]string{"RefreshFailed", "TokenRejected", "OnboardFailed"}

// String is the event's metric name.
func (e Event) String() string { return eventNames[e] }

// Metric names that are not events.
const (
	// PushRejected counts WeChat pushes that /wechat/events refused, with no dimension and
	// with the dimension Reason (one of the PushReason values).
	PushRejected = "PushRejected"
	// TicketAge is the age in seconds of the newest component_verify_ticket: on a ticket push
	// that was stored (or did not need to be), the pushed ticket's; on a refresh, the stored one's.
	TicketAge = "TicketAge"
	// ReasonDimension is PushRejected's dimension.
	ReasonDimension = "Reason"
)

// Counters are safe for concurrent use; the methods do nothing on a nil *Counters.
type Counters struct {
	UpstreamCalls atomic.Int64 // HTTP requests sent to WeChat, retries included
	Retries       atomic.Int64 // attempts after the first
	TokenReloads  atomic.Int64 // reloads after a token error

	events [numEvents]atomic.Int64

	mu           sync.Mutex
	pushRejected string // the reason, "" when no push was refused
	ticketAge    time.Duration
	hasTicketAge bool
}

type countersKey struct{}

// Context returns ctx carrying c (see From), with a wechat.ClientTrace that counts into c every
// call made with it.
func (c *Counters) Context(ctx context.Context) context.Context {
	ctx = context.WithValue(ctx, countersKey{}, c)
	return wechat.WithClientTrace(ctx, &wechat.ClientTrace{
		AttemptStart: func(info wechat.AttemptStartInfo) {
			c.UpstreamCalls.Add(1)
			if info.Attempt > 1 {
				c.Retries.Add(1)
			}
		},
		TokenReload:   func(string) { c.TokenReloads.Add(1) },
		TokenRejected: func(string) { c.Count(TokenRejected) },
	})
}

// From returns the counters of the invocation ctx belongs to; nil outside one.
func From(ctx context.Context) *Counters {
	c, _ := ctx.Value(countersKey{}).(*Counters)
	return c
}

// Count counts one occurrence of e.
func (c *Counters) Count(e Event) {
	if c != nil {
		c.events[e].Add(1)
	}
}

// Counted returns how often e was counted.
func (c *Counters) Counted(e Event) int64 {
	if c == nil {
		return 0
	}
	return c.events[e].Load()
}

// RejectPush notes that the invocation's WeChat push was refused, for reason (a fixed name,
// such as "bad_signature").
func (c *Counters) RejectPush(reason string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pushRejected = reason
}

// SetTicketAge notes the age of the newest component_verify_ticket.
func (c *Counters) SetTicketAge(age time.Duration) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ticketAge, c.hasTicketAge = max(age, 0), true
}

// Outcomes are the entry counts of one invocation that the EMF line reports.
type Outcomes struct {
	Shared, PendingConfirmation, Failed int
}

// actionDirective declares the metrics of every EMF line, by action; it never changes.
const actionDirective = `{"Namespace":"` + Namespace + `","Dimensions":[["Action"]],"Metrics":[` +
	`{"Name":"Shared","Unit":"Count"},{"Name":"PendingConfirmation","Unit":"Count"},` +
	`{"Name":"Failed","Unit":"Count"},{"Name":"UpstreamCalls","Unit":"Count"},` +
	`{"Name":"Retries","Unit":"Count"},{"Name":"TokenReloads","Unit":"Count"}]}`

// reasonDirective declares PushRejected by Reason, beside its total.
const reasonDirective = `{"Namespace":"` + Namespace + `","Dimensions":[["` + ReasonDimension + `"]],"Metrics":[` +
	`{"Name":"` + PushRejected + `","Unit":"Count"}]}`

// WriteEMF writes one CloudWatch Embedded Metric Format line to w, in a single Write so that
// concurrent lines never mix: CloudWatch turns it into metrics without any API call from the
// function. The per-action metrics are on every line; the alarmed ones (events, PushRejected,
// TicketAge) only on the lines of invocations where they happened, with no dimension, so that
// one alarm watches each. It is formatted directly (it is on every invocation's path); action
// and the push's reason are plain names from fixed sets, safe to quote with %q.
func WriteEMF(w io.Writer, at time.Time, action string, o Outcomes, c *Counters) error {
	if action == "" {
		action = "none"
	}
	var plain []byte // the alarmed metrics' declarations, comma-separated
	var values []byte
	declare := func(name, unit string, value string) {
		if len(plain) > 0 {
			plain = append(plain, ',')
		}
		plain = fmt.Appendf(plain, `{"Name":%q,"Unit":%q}`, name, unit)
		values = fmt.Appendf(values, `,%q:%s`, name, value)
	}
	for e := range numEvents {
		if n := c.events[e].Load(); n > 0 {
			declare(e.String(), "Count", strconv.FormatInt(n, 10))
		}
	}
	c.mu.Lock()
	reason, age, hasAge := c.pushRejected, c.ticketAge, c.hasTicketAge
	c.mu.Unlock()
	if reason != "" {
		declare(PushRejected, "Count", "1")
		values = fmt.Appendf(values, `,%q:%q`, ReasonDimension, reason)
	}
	if hasAge {
		declare(TicketAge, "Seconds", strconv.FormatInt(int64(age/time.Second), 10))
	}

	line := fmt.Appendf(make([]byte, 0, 640+len(plain)+len(values)), `{"_aws":{"Timestamp":%d,"CloudWatchMetrics":[%s`,
		at.UnixMilli(), actionDirective)
	if len(plain) > 0 {
		line = fmt.Appendf(line, `,{"Namespace":"%s","Dimensions":[[]],"Metrics":[%s]}`, Namespace, plain)
	}
	if reason != "" {
		line = append(line, ',')
		line = append(line, reasonDirective...)
	}
	line = fmt.Appendf(line, `]},"Action":%q,"Shared":%d,"PendingConfirmation":%d,"Failed":%d,"UpstreamCalls":%d,"Retries":%d,"TokenReloads":%d`,
		action, o.Shared, o.PendingConfirmation, o.Failed, c.UpstreamCalls.Load(), c.Retries.Load(), c.TokenReloads.Load())
	line = append(line, values...)
	line = append(line, "}\n"...)
	_, err := w.Write(line)
	return err
}

// Datapoint is one value CloudWatch extracts from an EMF line: a metric of a namespace, with
// one dimension set's values.
type Datapoint struct {
	Namespace  string
	Name, Unit string
	Dimensions map[string]string // name -> value; empty for a metric without dimension
	Value      float64
}

// Datapoints reads an EMF line as CloudWatch does: every metric of every directive, once per
// dimension set, its value and the dimensions' values taken from the line's members. It is
// how the tests check the lines against the alarms that watch them.
func Datapoints(line []byte) ([]Datapoint, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(line, &doc); err != nil {
		return nil, fmt.Errorf("an EMF line must be one JSON object: %w", err)
	}
	var meta struct {
		CloudWatchMetrics []struct {
			Namespace  string
			Dimensions [][]string
			Metrics    []struct{ Name, Unit string }
		}
	}
	if err := json.Unmarshal(doc["_aws"], &meta); err != nil {
		return nil, fmt.Errorf("_aws: %w", err)
	}
	var points []Datapoint
	for _, d := range meta.CloudWatchMetrics {
		for _, set := range d.Dimensions {
			dims := map[string]string{}
			for _, name := range set {
				var v string
				if err := json.Unmarshal(doc[name], &v); err != nil {
					return nil, fmt.Errorf("dimension %s has no string value", name)
				}
				dims[name] = v
			}
			for _, m := range d.Metrics {
				var v float64
				if err := json.Unmarshal(doc[m.Name], &v); err != nil {
					return nil, fmt.Errorf("metric %s has no number value", m.Name)
				}
				points = append(points, Datapoint{Namespace: d.Namespace, Name: m.Name, Unit: m.Unit, Dimensions: dims, Value: v})
			}
		}
	}
	return points, nil
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
