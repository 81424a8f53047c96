// Package wechat is a client for the WeChat third-party-platform API calls envshare uses:
// componenttcb/batchshareenv, batchunshareenv and batchgetenvid (ShareEnv, UnshareEnv,
// GetEnvID), api_component_token (ComponentToken), api_get_authorizer_info and
// api_get_authorizer_list (GetAuthorizerInfo, GetAuthorizerList, and Authorizers to page
// through them all), and the quota read openapi/quota/get (GetQuota). It is a public package:
// other Go code may import it.
//
//	client := wechat.New("https://api.weixin.qq.com", wechat.StaticToken(token))
//	resp, err := client.ShareEnv(ctx, &wechat.ShareEnvRequest{Data: ..., SourceType: 1})
//
// A Client sends one POST per call with a JSON body and the component access token (from its
// TokenSource; StaticToken for a fixed one) in the query: as access_token, or as
// component_access_token for the two authorizer calls, as WeChat wants. It refuses a request
// that cannot be right before sending it (a list count outside 1 to 500, an empty appid or
// cgi_path). It retries transient failures (errcode -1, HTTP 5xx, timeouts, connection errors)
// with pkg/retry's policy, capped exponential backoff and full jitter, never past the
// context's deadline; reloads a rejected token once (40001, 40014, 42001); on 45011 (the
// per-minute limit) waits until the next minute starts by its clock and sends the request
// again, at most WithMinuteWaits times (default 2) and never past the deadline; honours a
// client-side rate limit; and returns typed errors, which Classify sorts into the four things
// a caller can do about them (Refused, Unavailable, Stopped, Exhausted) so that no caller has
// to test error types in a set order:
//
//   - *APIError: WeChat answered a non-zero errcode (Class says what to do about it).
//   - *QuotaExhaustedError: errcode 45009, the API's daily quota is used up until RetryAfter
//     (the next 00:00 Asia/Shanghai, NextDailyReset); never retried; Exhausted.
//   - *UnavailableError: transient failures used every attempt, or 45011 outlasted the
//     minute waits or the deadline; it wraps the last cause.
//   - an error wrapping ErrTokenRejected and the *APIError: the token was rejected again after
//     one reload.
//   - *TokenSourceError: no token could be had (Unavailable, or Refused when the source's error
//     wraps ErrTokenUnusable).
//   - *ResponseError: an answer that is not a WeChat API answer (HTTP 5xx is transient and ends
//     up inside *UnavailableError; anything else is a permanent upstream protocol error), or
//     that lacks what the call is for: a quota read without quota.daily_limit, used and
//     remain, a list page without total_count, an authorizer info without principal_name.
//   - an error wrapping the context's error (errors.Is(err, context.DeadlineExceeded)) when the
//     context ended, or its deadline would pass during a backoff or rate-limit wait.
//
// The access token never appears in an error string or a log line: URLs in errors read
// access_token=[redacted], and any other trace of the token is replaced before an error leaves
// the client. Authorizers' refresh tokens are Secret values: they print, log and encode as
// [redacted], and only Reveal gives them.
//
// A Client is quiet: it logs nothing unless WithLogger gives it a logger. What it does reaches
// the caller through a ClientTrace put in the call's context (WithClientTrace), in the manner
// of net/http/httptrace: every attempt, its duration and error, every token reload and every
// wait for the next minute. WithClock and WithWait replace its clock and its waiting, so that
// tests live through minutes and days without waiting.
// WeChat's errcodes are named constants (ErrcodeBusy, ...; KnownErrcodes lists them).
//
// Event names the fields of the authorization events WeChat pushes to the platform (their
// InfoType values are InfoAuthorized, ...); reading and writing their encrypted XML is left to
// the push receiver and to the emulator (pkg/wxemu).
package wechat
