// Package trigger turns platform-neutral invocations into calls of the core and encodes the
// answers. Both platform adapters (function/aws, function/scf) only convert their event
// structs into one of these calls:
//
//   - App.HTTP: an HTTP request, routed by path suffix (/healthz, /share, /unshare, /bindings,
//     /reconcile, /refresh under ENVSHARE_HTTP_AUTH, failing closed when it is unset;
//     /wechat/events under WeChat's signature; /confirm/<token>, a signed page), answered with
//     a status and the contract's result or error object.
//   - App.Message: a direct invocation, scheduler custom input, timer JSON Message or queue
//     record: {"action": ..., ...fields}, the refresh action included. Answer turns its outcome
//     into the invocation's value or, for transient failures and any failed refresh, an
//     invocation error so the platform retries and alarms.
//   - App.Scheduled: a schedule without input: reconcile the configured manifest.
//
// The configuration is read on the first invocation that needs it, never at start-up: the SCF
// runtime sets the function's environment variables inside each invocation. The wiring (wire.go)
// builds the instance's Core from it: the share service over the WeChat client, the token
// source and the one minter over the stores the binary links (Cloud, passed by each main), the
// notifier and the page keys. Every invocation writes one JSON summary log line and, on AWS, one
// CloudWatch Embedded Metric Format line; every answer and log record is masked of every secret
// the instance knows (pkg/redact).
//
// # From main.go to WeChat in eight hops
//
// A share request over HTTP API on AWS:
//
//  1. function/aws/main.go      handler.handle: the event's shape is kindHTTPAPI
//  2. function/aws/events.go    handler.httpAPI: the v2 event becomes an HTTPRequest for App.HTTP
//  3. internal/trigger/http.go  App.serveHTTP: route, auth, share.Decode of the body
//  4. internal/trigger/app.go   App.do: the answer's deadline, then Core.Share.Do
//  5. pkg/share/service.go      Service.Do: dispatch to write
//  6. pkg/share/write.go        Service.runWrites, send: one env per call, Upstream.ShareEnv
//  7. pkg/wechat/client.go      Client.ShareEnv, call: token, rate limit, attempts, backoff
//  8. pkg/wechat/client.go      Client.send: the POST of componenttcb/batchshareenv
package trigger
