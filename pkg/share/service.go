package share

import (
	"context"
	"log/slog"
	"time"

	"github.com/envshare/envshare/pkg/wechat"
)

// Upstream is the WeChat API as this package uses it; *wechat.Client implements it.
type Upstream interface {
	ShareEnv(ctx context.Context, req *wechat.ShareEnvRequest) (*wechat.ShareEnvResponse, error)
	UnshareEnv(ctx context.Context, req *wechat.ShareEnvRequest) (*wechat.UnshareEnvResponse, error)
	GetEnvID(ctx context.Context, req *wechat.GetEnvIDRequest) (*wechat.GetEnvIDResponse, error)
}

// Notifier delivers confirmation links (pending_confirmation outcomes) to the operator.
type Notifier interface {
	Notify(ctx context.Context, action string, pending []Outcome) error
}

// Options tune a Service. Zero values take the documented defaults.
type Options struct {
	SourceType     int           // default source_type (1)
	ChunkSize      int           // appids per upstream call (100)
	Concurrency    int           // upstream calls in flight per invocation (8)
	DeadlineMargin time.Duration // reconcile stops starting calls this long before the deadline (3s)
	Manifest       *Request      // the configured ENVSHARE_MANIFEST, or nil
	Notifier       Notifier      // nil: links are only returned
	Logger         *slog.Logger  // nil: slog.Default()
}
