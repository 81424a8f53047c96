// Package trigger turns platform-neutral invocations into calls of the core and encodes the
// answers. Both platform adapters (function/aws, function/scf) only convert their event
// structs into one of these calls:
//
//   - App.HTTP: an HTTP request, routed by path suffix (/healthz, /share, /unshare, /bindings,
//     /reconcile, /refresh, /fleet, /status_link under ENVSHARE_HTTP_AUTH, failing closed when
//     it is unset; /wechat/events under WeChat's signature; /confirm/<token> and
//     /status/<token>, signed pages), answered with a status and the contract's result or
//     error object.
//   - App.Message: a direct invocation, scheduler custom input, timer JSON Message or queue
//     record: {"action": ..., ...fields}, the refresh and fleet actions and the internal onboard
//     message included. Answer turns its outcome into the invocation's value or, for transient
//     failures and any failed refresh, an invocation error so the platform retries and alarms.
//   - App.Scheduled: a schedule without input: reconcile the configured manifest.
//
// The configuration is read on the first invocation that needs it: the SCF runtime sets the
// function's environment variables inside each invocation. On AWS Lambda they are there from the
// start, so the binary has App.Prepare read them and wire the instance while the runtime client
// asks for the first invocation; a failure there is neither kept nor logged, and the invocation
// tries again and answers it. The wiring (wire.go)
// builds the instance's Core from it: the share service over the WeChat client, the token
// source and the one minter over the stores the binary links (Cloud, passed by each main), the
// notifier (internal/notify), the configured manifest (config.LoadManifest; a bad one is kept as
// the error of what needs it), the page keys, and with ENVSHARE_LEDGER the fleet (internal/fleet)
// over the ledger engines the binary links (Cloud.Ledgers).
//
// POST /wechat/events (events.go) answers within 3 s of the request's arrival, the instance's
// initialisation included: acting and forwarding end at 2 s, notifications at 2.5 s, hand-offs to
// the platform's retry at 3 s. Pushes from more than 5 minutes ahead are ignored; the
// authorization events of an appid are taken up in order and copies collapsed (pushes.go, and
// with a ledger its record); with ENVSHARE_FORWARD_URL every correctly signed push is forwarded
// (forward.go), what fails going to the retry as the internal {"action":"forward",...} message.
//
// With a ledger, WeChat's authorization events are onboarding by customer (onboard.go): the
// authorizer's info from WeChat, recorded in the ledger in order, then its customer's envs
// shared, or permission_missing / unknown_customer reported; what fails transiently goes to the
// platform's retry as the internal {"action":"onboard",...} message. The fleet view (fleet.go)
// answers from the ledger and the manifest alone; the status page (status.go) shows it with the
// state record's times and WeChat's quotas.
//
// Every request body enters the core once (App.do: share.Service.DoJSON decodes and carries it
// out); a failure is classified once (App.errorOf) into the contract's error object; each
// boundary has one recover (App.HTTP and App.invoke here, the share service's goroutines
// there). Every invocation writes one JSON summary log line and, on AWS, one CloudWatch
// Embedded Metric Format line, its upstream counts taken through the WeChat client's
// ClientTrace hook (internal/metrics); every answer and log record is masked of every secret
// the instance knows (pkg/redact).
//
// # The path of a share
//
// A share request over HTTP API on AWS, from the handler to the WeChat call: 20 frames in 5
// packages, as measured at the call (function/aws's TestThePathOfAShareIsTheOneTheTriggerDocLists
// compares this list with the stack, so it stays true):
//
//	function/aws      handler.handle              the event's shape is kindHTTPAPI
//	function/aws      handler.httpAPI             the v2 answer's envelope
//	function/aws      handler.formatV2            the v2 event becomes an HTTPRequest (formatV2Request)
//	internal/trigger  ServeHTTPEvent[...]         the one decode of an HTTP event: a bad field is a 400
//	internal/trigger  (*App).HTTP                 the boundary: the record, the one recover, the summary line
//	internal/trigger  (*App).serveHTTP            route, method, configuration, body size, auth
//	internal/trigger  (*App).do                   the answer's deadline; the one call into the core
//	pkg/share         (*Service).DoJSON           the body decoded and validated
//	pkg/share         (*Service).Do               the action dispatched; notification, bounds, pages after
//	pkg/share         (*Service).write            distinct pairs, planned as calls of one env each
//	pkg/share         (*Service).parallel         at most Options.Concurrency calls at once
//	pkg/share         (*Service).write.func1      one call's job
//	pkg/share         (*Service).writeOne         not sent when the context has ended
//	pkg/share         (*Service).send             batchshareenv, its answer applied to the entries
//	pkg/wechat        (*Client).ShareEnv          the typed call
//	pkg/wechat        call[...]                   the request encoded, the token read
//	pkg/retry         Policy.Do                   attempts and backoff while the failure is transient
//	pkg/wechat        call[...].func1             a fresh answer for each attempt
//	pkg/wechat        (*run).attempt              rate limit, trace hooks, one token reload
//	pkg/wechat        (*Client).send              the POST of componenttcb/batchshareenv
package trigger
