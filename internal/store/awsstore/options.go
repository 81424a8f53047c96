package awsstore

import "github.com/envshare/envshare/internal/store"

// Option configures a store or queue: the options of package store (WithEndpoint,
// WithHTTPClient, WithAttempts, WithBackoff, WithWait, WithAttemptTimeout), shared with the
// Tencent stores, and WithKMSKeyID.
type Option = store.Option

// WithKMSKeyID encrypts what Parameters.Put writes with this KMS key (id, ARN or alias)
// instead of the account's default key for SSM (alias/aws/ssm).
func WithKMSKeyID(id string) Option { return func(o *store.Options) { o.KMSKeyID = id } }
