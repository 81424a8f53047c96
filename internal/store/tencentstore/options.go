package tencentstore

import "github.com/envshare/envshare/internal/store"

// Option configures a store or an invoker: the options of package store (WithEndpoint, such as
// http://127.0.0.1:9000 instead of https://ssm.tencentcloudapi.com; WithHTTPClient, whose
// transport carries every call; WithAttempts, WithBackoff, WithWait, WithAttemptTimeout),
// shared with the AWS stores, and the two below.
type Option = store.Option

// WithVersionID reads (and writes) this version of the secret. Without it Get reads the newest
// version and Put is refused. The state record's store needs it (DefaultStateVersionID).
func WithVersionID(id string) Option { return func(o *store.Options) { o.VersionID = id } }

// WithQualifier invokes this version or alias of the function instead of $LATEST (Invoker only).
func WithQualifier(q string) Option { return func(o *store.Options) { o.Qualifier = q } }
