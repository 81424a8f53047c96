// Package wechat is a client for the WeChat third-party-platform API calls envshare uses:
// componenttcb/batchshareenv, batchunshareenv and batchgetenvid, and api_component_token. It
// is a public package: other Go code may import it.
//
//	client := wechat.New("https://api.weixin.qq.com", wechat.StaticToken(token))
//	resp, err := client.ShareEnv(ctx, &wechat.ShareEnvRequest{Data: ..., SourceType: 1})
//
// A Client sends one POST per call with a JSON body and the component access token (from its
// TokenSource; StaticToken for a fixed one) in the query. It retries transient failures
// (errcode -1, HTTP 5xx, timeouts, connection errors) with pkg/retry's policy, capped
// exponential backoff and full jitter, never past the context's deadline; reloads a rejected
// token once (40001, 40014, 42001); honours a client-side rate limit; and returns typed
// errors, which Classify sorts into the three things a caller can do about them (Refused,
// Unavailable, Stopped) so that no caller has to test error types in a set order:
//
//   - *APIError: WeChat answered a non-zero errcode (Class says what to do about it).
//   - *UnavailableError: transient failures used every attempt; it wraps the last cause.
//   - an error wrapping ErrTokenRejected and the *APIError: the token was rejected again after
//     one reload.
//   - *TokenSourceError: no token could be had (Unavailable, or Refused when the source's error
//     wraps ErrTokenUnusable).
//   - *ResponseError: an answer that is not a WeChat API answer (HTTP 5xx is transient and ends
//     up inside *UnavailableError; anything else is a permanent upstream protocol error).
//   - an error wrapping the context's error (errors.Is(err, context.DeadlineExceeded)) when the
//     context ended, or its deadline would pass during a backoff or rate-limit wait.
//
// The access token never appears in an error string or a log line: URLs in errors read
// access_token=[redacted], and any other trace of the token is replaced before an error leaves
// the client.
//
// A Client is quiet: it logs nothing unless WithLogger gives it a logger. What it does reaches
// the caller through a ClientTrace put in the call's context (WithClientTrace), in the manner
// of net/http/httptrace: every attempt, its duration and error, and every token reload.
// WeChat's errcodes are named constants (ErrcodeBusy, ...; KnownErrcodes lists them).
package wechat
