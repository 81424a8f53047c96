package wechat

import (
	"context"
	"time"
)

// ClientTrace is a set of hooks that report what a Client does for the calls made with one
// context, in the manner of net/http/httptrace: put it in the context with WithClientTrace.
// Any hook may be nil. A context shared by concurrent calls calls its hooks concurrently.
//
// envshare counts upstream calls, retries and token reloads per invocation with it.
type ClientTrace struct {
	// AttemptStart is called before each HTTP request to WeChat, retries included.
	AttemptStart func(AttemptStartInfo)
	// AttemptDone is called when a request has been answered or has failed.
	AttemptDone func(AttemptDoneInfo)
	// TokenReload is called when WeChat rejected the access token and the client reloads it.
	TokenReload func(endpoint string)
	// TokenRejected is called when the call ends because WeChat rejected the access token and
	// the reload gave none it accepts: the source failed, still held the rejected token, or
	// WeChat rejected the reloaded one too.
	TokenRejected func(endpoint string)
	// MinuteQuotaWait is called when WeChat answered 45011 (the per-minute limit) and the
	// client waits for the next minute before it sends the request again.
	MinuteQuotaWait func(MinuteQuotaWaitInfo)
}

// MinuteQuotaWaitInfo describes a wait for the next minute.
type MinuteQuotaWaitInfo struct {
	Endpoint string
	Wait     time.Duration // until the next minute starts, by the client's clock
}

// AttemptStartInfo describes a request about to be sent.
type AttemptStartInfo struct {
	Endpoint string // the API's name, such as "batchshareenv"
	Attempt  int    // 1 for a call's first request; the others are retries
}

// AttemptDoneInfo describes a request that has ended.
type AttemptDoneInfo struct {
	Endpoint string
	Attempt  int
	Duration time.Duration
	Err      error // nil when WeChat answered errcode 0; never holds the token
}

type traceKey struct{}

// WithClientTrace returns a context whose calls report to trace.
func WithClientTrace(ctx context.Context, trace *ClientTrace) context.Context {
	return context.WithValue(ctx, traceKey{}, trace)
}

// ContextClientTrace returns the ClientTrace of ctx, or nil.
func ContextClientTrace(ctx context.Context) *ClientTrace {
	t, _ := ctx.Value(traceKey{}).(*ClientTrace)
	return t
}

// fire calls hook with info unless the hook was left nil.
func fire[I any](hook func(I), info I) {
	if hook != nil {
		hook(info)
	}
}
