// Package tencentstore keeps envshare's secrets in Tencent Cloud SSM (Secrets Manager), and
// hands onboarding retries to an asynchronous invocation of the function itself on SCF.
//
// Calls go through the Tencent Cloud SDK's common client (TC3-HMAC-SHA256 signing), so neither
// the AWS SDK nor the SDK's per-service packages are linked.
//
// The environment is read at every call, because SCF delivers the execution role's temporary
// credentials with each invocation: TENCENTCLOUD_SECRETID, TENCENTCLOUD_SECRETKEY,
// TENCENTCLOUD_SESSIONTOKEN, and the region TENCENTCLOUD_REGION (DefaultRegion when unset).
//
// The state record is read and written at one fixed version of its secret (WithVersionID;
// DefaultStateVersionID is the suggested one), as UpdateSecret changes a version in place. The
// credentials secret may instead be read at its newest version, found with ListSecretVersionIds.
//
// Transient failures (no answer, HTTP 5xx or 429, InternalError, RequestLimitExceeded) are
// attempted again with capped, jittered backoff. Errors carry the API's code, message and
// request id; the SDK's own client errors quote the answer's body, which can hold the secret, so
// their text is dropped and the HTTP status kept instead.
package tencentstore
