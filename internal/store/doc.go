// Package store defines where envshare keeps its secret values, and holds the file store.
//
// A Store reads and writes a value by id: the credentials secret (read only) and the token
// state record (read and written, see the contract's section 6). Cloud stores live in their own
// packages, so that each binary links only its cloud's code: awsstore (Secrets Manager, SSM
// Parameter Store, and the SQS retry queue) and tencentstore (Tencent Cloud SSM, and SCF
// asynchronous self-invocation).
//
// Every store wraps ErrNotFound when the record does not exist, and ErrMissingCredentials when
// the cloud credentials or region are not in the environment. No error ever holds a value.
//
// Options and Option are the settings both cloud stores take, and Options.Call their one retry
// wrapper: pkg/retry's policy (the WeChat client's too) with a bound on every attempt.
package store
