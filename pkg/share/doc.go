// Package share is envshare's core, and a public package: other Go code may import it to share
// WeChat CloudBase / CloudRun environments with Mini Programs directly, without the function
// around it. It validates share, unshare, bindings and reconcile requests, turns them into
// chunked, concurrent calls of the WeChat third-party-platform API (componenttcb/batchshareenv,
// batchunshareenv, batchgetenvid, through pkg/wechat) and reports one outcome per (env, appid),
// as docs/results.md describes. It knows nothing about Lambda, SCF or
// HTTP: the function's transport layer maps its errors to statuses.
//
//	client := wechat.New("https://api.weixin.qq.com", wechat.StaticToken(token))
//	svc := share.New(client, share.Options{})
//	res, err := svc.Share(ctx, "prod-1", []string{"wx5fe6bb43205e9e07"}) // or Unshare, Bindings, Reconcile
//
// A transport that receives JSON hands it over in one call, DoJSON(ctx, body, action); a
// Request built in Go goes to Do, which validates it first. Errors are *Error values with a
// Code; a Result encodes as the contract's result object and decodes back into a Result.
// A Service logs nothing unless Options.Logger is set.
//
// # Input rules
//
// Decode validates a body; Check validates a Request built in Go by encoding it and decoding it
// again, and Do does so itself for a Request that did not come from Decode.
//
//   - An appid is "wx" followed by 16 lowercase hex digits (^wx[0-9a-f]{16}$).
//   - An env id is 1 to 64 lowercase letters, digits and hyphens (^[a-z0-9-]{1,64}$).
//   - source_type is an integer >= 0; when absent, Options.SourceType (default 1) is sent.
//   - JSON keys are matched exactly (case-sensitive); unknown keys and keys given twice are
//     invalid, at every level: a typo such as "dryrun" is an error, never ignored. A key whose
//     value is null counts as absent.
//   - Fields are allowed per action: share and unshare take data, or env with appids, and
//     source_type; bindings takes appids and source_type; reconcile takes envs, customers,
//     prune, dry_run, shard, source_type and backfill. "action" may appear in every body.
//   - customers: each a principal and at least one env (source_type optional); an env under
//     two customers, or a principal twice, is invalid, naming both places.
//   - Limits: MaxPairs distinct (env, appid) pairs per share or unshare request, MaxAppIDs
//     distinct appids per bindings request and MaxManifestPairs distinct pairs per manifest.
//
// Every problem is reported at once in Error.Details, each naming its field
// (e.g. `data[1].appids[3]: "wx12" is not an appid ...`); nothing is sent upstream then.
//
// # Calls
//
// Share and unshare calls are packed: a call carries at most Options.ChunkSize appids, of as
// many envs as fit, but never one appid twice (so that every confirmation link of
// msg_info_list, which names an appid, belongs to exactly one (env, appid)); pairs whose
// appids never repeat take ceil(pairs/ChunkSize) calls whatever the number of envs. Bindings
// calls carry at most ChunkSize appids. At most Options.Concurrency calls are in flight; the
// rate limit, the retries and the wait for the next minute after 45011 live in the wechat
// client.
//
// A request fails as a whole (a returned *Error) only when no entry succeeded and every
// upstream call failed with the same error code; otherwise the *Result reports each entry,
// with ok false when any failed.
//
// # Daily quotas
//
// When an API answers 45009 (its daily quota is used up), the request makes no further call
// of it: the refused call's pairs and those not yet sent are deferred with reason
// quota_exhausted (bindings report them as errors with code quota_exhausted), a share or
// unshare summary then counts them in deferred and ok is false, and a request of which
// nothing succeeded fails with quota_exhausted and RetryAfter (the next 00:00 Asia/Shanghai).
// Before its first write call of an API, a reconcile reads that API's quota (an Upstream that
// is a QuotaReader) and makes at most remain minus Options.QuotaReserve write calls of it; the
// rest is deferred with reason quota_reserve. Service.Quota reads the quotas of QuotaAPIs
// (the quota view); every read goes to Options.OnQuota.
//
// # Answers
//
// Results are listed attention-first (failed, pending_confirmation, deferred, would_*, then
// the rest; manifest order within each), at most Options.MaxResults of them, and at most what
// fits the invocation's AnswerLimit in bytes (WithAnswerLimit; MaxAnswerBytes, counted as an
// HTTP envelope's body, when none is given); bindings list their errors first and are bounded
// in bytes alike. The others are written to the log, one JSON line each, and counted in
// results_omitted. Summaries are always complete. Every text of WeChat's an entry keeps is
// masked and bounded (MaxUpstreamText, MaxConfirmURL, MaxEnvsPerAppID), and only https links on
// ConfirmHosts (or Options.ConfirmOrigins) are delivered.
//
// # Reconcile
//
// Reconcile reads the bindings of every manifest appid (of the selected shard), shares the
// missing desired pairs and, with prune, unshares the envs the manifest names but does not
// pair with an appid. Envs the manifest does not name are never touched. With a context
// deadline it stops starting calls Options.DeadlineMargin before it and reports what was not
// attempted as deferred.
//
// # Fan-out
//
// With Options.FanOut, a reconcile of the configured manifest with more desired pairs than
// Options.ShardPairs is not run: it is planned as shards of at most ShardPairs pairs each
// (their count suits a ledger partitioned by 60), handed out as one message each,
// {"action":"reconcile","shard":{"index":i,"count":n},"run":ID}, and answered with Run and
// Shards. A shard message is an ordinary reconcile of its shard; one whose run was planned from
// another manifest is refused (invalid_request naming the run), and the FanOut records what
// each shard did (FanOut.Finish).
//
// # Customers and the Fleet
//
// WeChat shares an env only with Mini Programs of its own legal entity (principal). A manifest
// may list customers, each a principal and its envs; their pairs come from a Fleet
// (Options.Fleet), a memory of which authorizer has which principal and what became of each
// pair, which the caller implements (envshare's function implements it with its ledger). With
// a Fleet, a reconcile desires every customer's envs with each authorizer of its principal that
// may be shared with (Authorizer.CanShare), answers awaiting_confirmation instead of a new link
// for a pair whose link is younger than Options.RelinkAfter, does not send a pair again that
// failed permanently (different_entity while the principal is the same; permission_missing),
// runs one pass per source_type, can first Backfill the Fleet, and records what it finds
// (Fleet.Remember, by the rules of PairMemory.Apply); shares and unshares are recorded too.
// The Fleet is read a query chunk at a time, never the whole fleet at once. Without a Fleet,
// customers and backfill are refused and nothing else changes.
package share
