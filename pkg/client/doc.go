// Package client calls a deployed envshare, and checks the notifications it sends. It is a
// public package: another Go service imports it (it imports nothing of envshare's internal/).
//
// Over the HTTP routes, with the deployment's ENVSHARE_HTTP_AUTH and ENVSHARE_HTTP_SECRET:
//
//	c, err := client.NewHTTPClient("https://abc123.execute-api.ap-east-1.amazonaws.com/prod",
//		client.Auth{Mode: client.AuthHMAC, Secret: secret}, client.Options{})
//	res, err := c.Share(ctx, "prod-6gni9ity244a6ea3", []string{"wx5fe6bb43205e9e07"})
//
// or by invoking the function (package lambdainvoke for AWS Lambda's Invoke API, scfinvoke for
// Tencent SCF's), which needs no HTTP authentication: the cloud's own credentials guard it.
//
// Requests and answers are pkg/share's types: a share, unshare, bindings or reconcile answers
// a *share.Result (its Summary typed by the action); Refresh, Fleet and Quota answer this
// package's Refresh, Fleet and Quota. A Request built in Go is checked by the contract's rules
// (share.Check) before anything is sent.
//
// A request that was not carried out is an *Error with the contract's code (errors.As), its
// HTTP status and, when WeChat refused the whole request, wechat_errcode. A processed request
// whose entries partly failed is no error: its Result has OK false.
//
// Retries: only transient failures are tried again (upstream_unavailable, deadline_exceeded,
// quota_exhausted, a gateway's 429, 503 and 504), with the one policy of pkg/retry (3 attempts
// by default), never past the context's deadline. An answer that asks to be retried later
// (quota_exhausted's retry_after: the next midnight in China; a 429's Retry-After) is waited
// for only when that is within Options.MaxWait (30 s by default): a daily quota is returned at
// once. A call that got no answer (network, a refused Invoke API call) is returned as it is.
//
// Notifications: VerifyNotification checks a notification's signature (timestamp window,
// constant time), DecodeNotification reads it, and NotificationHandler does both for an
// http.Handler and calls your function.
package client
