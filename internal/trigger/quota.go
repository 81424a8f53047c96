package trigger

import (
	"context"
	"time"

	"github.com/envshare/envshare/internal/metrics"
	"github.com/envshare/envshare/pkg/share"
)

// quotaAction is the quota view: GET /quota, {"action":"quota"}.
const quotaAction = share.ActionQuota

// quotaViewer reads WeChat's daily quotas; *share.Service implements it.
type quotaViewer interface {
	Quota(ctx context.Context) (*share.QuotaReport, error)
}

// quotaView answers the quota view: one quota/get per API of share.QuotaAPIs, each published
// (publishQuota) and logged by the core.
func (a *App) quotaView(ctx context.Context, inst *instance) (*share.QuotaReport, *share.Error) {
	viewer, ok := inst.Share.(quotaViewer)
	if !ok {
		a.log.ErrorContext(ctx, "the core of this instance has no quota view")
		return nil, internalError()
	}
	rep, err := viewer.Quota(ctx)
	if err != nil {
		return nil, a.errorOf(ctx, err)
	}
	return rep, nil
}

// publishQuota writes an API's remaining daily quota as the EMF metric QuotaRemaining
// (dimension Api) on AWS, where the template's alarm watches it; the core logs every read on
// both platforms.
func (a *App) publishQuota(_ context.Context, q share.APIQuota) {
	if a.platform != PlatformAWS {
		return
	}
	a.metricsMu.Lock()
	defer a.metricsMu.Unlock()
	_ = metrics.WriteQuotaEMF(a.metricsOut, time.Now(), q.API, q.Remain)
}
