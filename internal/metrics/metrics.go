// Package metrics counts what one invocation did (upstream calls, retries, token reloads,
// outcomes) so that the adapters can log it and, on AWS, emit CloudWatch EMF lines.
// The counters travel in the context: no global state.
package metrics

import (
	"context"
	"sync/atomic"
)

// Counters are safe for concurrent use. A nil *Counters ignores every Add.
type Counters struct {
	UpstreamCalls atomic.Int64 // HTTP requests sent to WeChat, retries included
	Retries       atomic.Int64 // attempts after the first
	TokenReloads  atomic.Int64 // reloads after a token error
	Calls         [4]atomic.Int64
}

// Endpoint indexes Counters.Calls.
type Endpoint int

const (
	ShareEnv Endpoint = iota
	UnshareEnv
	GetEnvID
	ComponentToken
)

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

// Call counts one HTTP request to an endpoint.
func (c *Counters) Call(e Endpoint) {
	if c == nil {
		return
	}
	c.UpstreamCalls.Add(1)
	c.Calls[e].Add(1)
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
