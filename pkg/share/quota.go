package share

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/envshare/envshare/pkg/wechat"
)

// ActionQuota is the quota view (GET /quota, {"action":"quota"}): WeChat's daily quotas of the
// APIs envshare calls. Service.Quota answers it; it is not one of the actions Decode takes.
const ActionQuota = "quota"

// QuotaReport is the answer of the quota view: one APIQuota per API of QuotaAPIs, in that
// order. pkg/client decodes it as client.Quota.
type QuotaReport struct {
	OK     bool       `json:"ok"`
	Action string     `json:"action"`
	Quotas []APIQuota `json:"quotas"`
}

// APIQuota is WeChat's daily quota of one API: calls allowed today, used and remaining.
type APIQuota struct {
	API        string `json:"api"` // batchshareenv, batchunshareenv, batchgetenvid or api_component_token
	DailyLimit int    `json:"daily_limit"`
	Used       int    `json:"used"`
	Remain     int    `json:"remain"`
}

// QuotaAPI is an API whose quota the quota view reads: its name and its path (quota/get's
// cgi_path).
type QuotaAPI struct{ Name, Path string }

// QuotaAPIs are the APIs of the quota view, in its order.
var QuotaAPIs = []QuotaAPI{
	{"batchshareenv", wechat.PathShareEnv},
	{"batchunshareenv", wechat.PathUnshareEnv},
	{"batchgetenvid", wechat.PathGetEnvID},
	{"api_component_token", wechat.PathComponentToken},
}

// QuotaReader reads an API's daily quota (quota/get); *wechat.Client implements it. An
// Upstream that does not implement it has no quota view and no write budget.
type QuotaReader interface {
	GetQuota(ctx context.Context, req *wechat.QuotaRequest) (*wechat.QuotaResponse, error)
}

var _ QuotaReader = (*wechat.Client)(nil)

// Reserve is how much of an API's daily quota a reconcile leaves unused, for onboarding and
// operators (Options.QuotaReserve): Calls calls, or Percent percent of the daily limit.
type Reserve struct {
	Calls   int
	Percent float64 // used when Calls is 0
}

// DefaultReserve keeps a tenth of each write API's daily quota.
var DefaultReserve = Reserve{Percent: 10}

// ParseReserve reads a reserve as ENVSHARE_QUOTA_RESERVE gives it: a number of calls ("500")
// or a percentage of the daily limit ("10%", "2.5%").
func ParseReserve(s string) (Reserve, error) {
	s = strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || f < 0 || f > 100 {
			return Reserve{}, fmt.Errorf("%q: a percentage must be a number from 0 to 100 followed by %%", s)
		}
		return Reserve{Percent: f}, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return Reserve{}, fmt.Errorf("%q: must be a number of calls (such as 500) or a percentage of the daily limit (such as 10%%)", s)
	}
	return Reserve{Calls: n}, nil
}

// Of is the reserve's number of calls for an API whose daily limit is dailyLimit.
func (r Reserve) Of(dailyLimit int) int {
	if r.Calls > 0 || r.Percent == 0 {
		return r.Calls
	}
	return int(math.Ceil(float64(dailyLimit) * r.Percent / 100))
}

func (r Reserve) String() string {
	if r.Calls > 0 || r.Percent == 0 {
		return strconv.Itoa(r.Calls)
	}
	return strconv.FormatFloat(r.Percent, 'f', -1, 64) + "%"
}

// Quota reads the daily quota of every API of QuotaAPIs, each read handed to Options.OnQuota
// and logged. A read that fails fails the view with its error (classified as a call's: an
// answer without the quota's fields is upstream_error).
func (s *Service) Quota(ctx context.Context) (*QuotaReport, error) {
	reader, ok := s.up.(QuotaReader)
	if !ok {
		s.log.ErrorContext(ctx, "the upstream given to share.New does not read quotas (share.QuotaReader)")
		return nil, errInternal()
	}
	rep := &QuotaReport{OK: true, Action: ActionQuota, Quotas: make([]APIQuota, len(QuotaAPIs))}
	fails := make([]*callError, len(QuotaAPIs))
	if err := s.parallel(len(QuotaAPIs), func(i int) {
		rep.Quotas[i], fails[i] = s.readQuota(ctx, reader, QuotaAPIs[i])
	}); err != nil {
		return nil, err
	}
	for i, ce := range fails {
		if ce != nil {
			e := &Error{Code: ce.entry.Code, Message: "reading the quota of " + QuotaAPIs[i].Name + ": " + ce.entry.Message,
				RetryAfter: ce.retryAfter}
			if ce.api != nil {
				code := ce.api.Code
				e.WechatErrcode, e.WechatErrmsg = &code, s.upstreamText(ce.api.Msg)
			}
			return nil, e
		}
	}
	return rep, nil
}

// readQuota reads one API's quota, publishes it (Options.OnQuota) and logs it.
func (s *Service) readQuota(ctx context.Context, reader QuotaReader, api QuotaAPI) (APIQuota, *callError) {
	start := time.Now()
	resp, err := reader.GetQuota(ctx, &wechat.QuotaRequest{CGIPath: api.Path})
	var ce *callError
	if err != nil {
		ce = s.classify(ctx, err)
	}
	s.logCall(ctx, "quota/get", "", 0, start, ce)
	if ce != nil {
		return APIQuota{API: api.Name}, ce
	}
	q := APIQuota{API: api.Name, DailyLimit: int(resp.Quota.DailyLimit), Used: int(resp.Quota.Used), Remain: int(resp.Quota.Remain)}
	s.log.InfoContext(ctx, "WeChat quota read", "api", q.API, "daily_limit", q.DailyLimit, "used", q.Used, "remain", q.Remain)
	if s.opts.OnQuota != nil {
		s.opts.OnQuota(ctx, q)
	}
	return q, nil
}

// quotaState is what one request learns of WeChat's daily quotas: the APIs that answered 45009
// (none is called again in the request: their pairs are deferred) and, for a reconcile that
// writes, how many write calls each write API may still make before Options.QuotaReserve.
type quotaState struct {
	s      *Service
	budget bool // a reconcile that writes: write calls are budgeted

	mu        sync.Mutex
	exhausted map[string]time.Time // endpoint → when its quota resets
	budgets   map[string]*writeBudget
}

// writeBudget is one write API's budget, read once, on the request's first write call of it.
type writeBudget struct {
	read    sync.Once
	limited bool
	left    int // calls left when limited (guarded by quotaState.mu)
}

func (s *Service) newQuotaState(budget bool) *quotaState {
	return &quotaState{s: s, budget: budget, exhausted: map[string]time.Time{}, budgets: map[string]*writeBudget{}}
}

// exhaust notes that endpoint's daily quota is used up until retryAfter.
func (q *quotaState) exhaust(endpoint string, retryAfter time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.exhausted[endpoint] = retryAfter
}

// isExhausted reports whether endpoint answered 45009 in this request.
func (q *quotaState) isExhausted(endpoint string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	_, ok := q.exhausted[endpoint]
	return ok
}

// take asks for one call of endpoint: "" when it may be made, else why not (its quota is
// exhausted, or a reconcile's budget of write calls is spent).
func (q *quotaState) take(ctx context.Context, endpoint string) Reason {
	if q.isExhausted(endpoint) {
		return ReasonQuotaExhausted
	}
	if !q.budget {
		return ""
	}
	q.mu.Lock()
	b, ok := q.budgets[endpoint]
	if !ok {
		b = &writeBudget{}
		q.budgets[endpoint] = b
	}
	q.mu.Unlock()
	b.read.Do(func() { b.limited, b.left = q.s.writeBudget(ctx, endpoint) })
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case !b.limited:
		return ""
	case b.left <= 0:
		return ReasonQuotaReserve
	}
	b.left--
	return ""
}

// writeBudget reads endpoint's quota and returns how many write calls a reconcile may make of
// it: remain minus Options.QuotaReserve (at least 0). When the quota cannot be read, the
// reconcile goes on unbudgeted (45009 still stops it): limited is false.
func (s *Service) writeBudget(ctx context.Context, endpoint string) (limited bool, calls int) {
	reader, ok := s.up.(QuotaReader)
	if !ok {
		return false, 0
	}
	api := QuotaAPI{Name: endpoint}
	for _, a := range QuotaAPIs {
		if a.Name == endpoint {
			api = a
		}
	}
	q, ce := s.readQuota(ctx, reader, api)
	if ce != nil {
		s.log.WarnContext(ctx, "the write quota could not be read: the reconcile's write calls are not budgeted",
			"api", endpoint, "error_code", ce.entry.Code, "error", ce.entry.Message)
		return false, 0
	}
	reserve := s.opts.QuotaReserve.Of(q.DailyLimit)
	calls = max(q.Remain-reserve, 0)
	s.log.InfoContext(ctx, "write budget of the reconcile", "api", endpoint, "remain", q.Remain,
		"reserve", reserve, "budget", calls)
	return true, calls
}

// endpointOf names the write API of an action.
func endpointOf(action string) string {
	if action == ActionUnshare {
		return "batchunshareenv"
	}
	return "batchshareenv"
}

// quotaSkipped is the entry error of a bindings query not sent because the API's daily quota
// was found used up earlier in the request.
func quotaSkipped(q *quotaState, endpoint string) *callError {
	q.mu.Lock()
	retryAfter := q.exhausted[endpoint]
	q.mu.Unlock()
	return &callError{retryAfter: retryAfter, entry: EntryError{Code: CodeQuotaExhausted, Message: fmt.Sprintf(
		"not sent: WeChat's daily quota of %s is used up (errcode %d) until %s", endpoint, wechat.ErrcodeDailyQuota,
		retryAfter.Format(time.RFC3339))}}
}
