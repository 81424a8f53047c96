// Package trigger turns platform-neutral invocations into calls of the share service and
// encodes the answers. Both platform adapters (function/aws, function/scf) only convert their
// event structs into one of these calls:
//
//   - App.HTTP: an HTTP request, routed by path suffix (/healthz, /share, /unshare, /bindings,
//     /reconcile), authenticated per ENVSHARE_HTTP_AUTH (fail closed when unset), answered with
//     a status and the contract's result or error object.
//   - App.Message: a direct invocation, scheduler custom input, timer JSON Message or queue
//     record: {"action": ..., ...fields}. Answer turns its outcome into the invocation's value
//     or, for transient failures, an invocation error so the platform retries.
//   - App.Scheduled: a schedule without input: reconcile the configured manifest.
//
// The configuration is read on the first invocation that needs it, never at start-up: the SCF
// runtime sets the function's environment variables inside each invocation. Every invocation
// writes one JSON summary log line and, on AWS, one CloudWatch Embedded Metric Format line.
package trigger
