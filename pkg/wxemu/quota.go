package wxemu

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/envshare/envshare/pkg/wechat"
)

// Default daily limits. WeChat publishes 10,000 a day for api_component_token (it cannot be
// raised); the others are unpublished, so they default high enough that no ordinary run
// reaches them. No API has a per-minute limit by default.
const (
	DefaultDailyLimit        = 1_000_000
	ComponentTokenDailyLimit = 10_000
)

// QuotaLimit is one API's limits: calls per day (00:00 to 00:00 Asia/Shanghai, at least 1)
// and per minute (0: none).
type QuotaLimit struct {
	DailyLimit  int `json:"daily_limit"`
	MinuteLimit int `json:"minute_limit,omitempty"`
}

func (l QuotaLimit) validate() error {
	switch {
	case l.DailyLimit < 1:
		return fmt.Errorf("daily_limit %d: must be at least 1", l.DailyLimit)
	case l.MinuteLimit < 0:
		return fmt.Errorf("minute_limit %d: must not be negative", l.MinuteLimit)
	}
	return nil
}

// QuotaUsage is one metered API's limits and what it used: the answer of GET /__emu/quota.
type QuotaUsage struct {
	API         string `json:"api"`      // the endpoint name
	CGIPath     string `json:"cgi_path"` // its path, as quota/get names it
	DailyLimit  int    `json:"daily_limit"`
	MinuteLimit int    `json:"minute_limit"`
	Used        int    `json:"used"` // today
	Remain      int    `json:"remain"`
	MinuteUsed  int    `json:"minute_used"` // this minute
}

// QuotaChange changes one API's quota (POST /__emu/quota takes it as JSON). Fields left nil
// keep their value; the limits become part of the state (State().Quotas). Exhaust uses up
// today's quota, as if every call allowed had been made: the API answers 45009 until the day
// ends (00:00 Asia/Shanghai by the emulator's clock), or its limit is raised, or its usage
// reset.
type QuotaChange struct {
	API         string `json:"api"` // an endpoint name or path
	DailyLimit  *int   `json:"daily_limit,omitempty"`
	MinuteLimit *int   `json:"minute_limit,omitempty"`
	Used        *int   `json:"used,omitempty"` // calls used today
	Exhaust     bool   `json:"exhaust,omitempty"`
}

// quotaUse is what one API used: today (the day ending at dayEnd) and this minute.
type quotaUse struct {
	dayEnd     time.Time
	used       int
	minute     time.Time
	minuteUsed int
}

// roll starts a new day or minute when now has passed into one.
func (u *quotaUse) roll(now time.Time) {
	if !now.Before(u.dayEnd) {
		u.dayEnd, u.used = wechat.NextDailyReset(now), 0
	}
	if m := now.Truncate(time.Minute); !m.Equal(u.minute) {
		u.minute, u.minuteUsed = m, 0
	}
}

// metered reports whether calls of an endpoint count against a quota: every API but the quota
// read itself.
func metered(ep string) bool {
	_, known := endpointOf(ep)
	return known && ep != EndpointQuota
}

// defaultQuota is an API's limit unless Options or the state say otherwise.
func defaultQuota(ep string) QuotaLimit {
	if ep == EndpointComponentToken {
		return QuotaLimit{DailyLimit: ComponentTokenDailyLimit}
	}
	return QuotaLimit{DailyLimit: DefaultDailyLimit}
}

// normalizeQuotas checks quotas and keys them by endpoint name.
func normalizeQuotas(quotas map[string]QuotaLimit) (map[string]QuotaLimit, error) {
	out := make(map[string]QuotaLimit, len(quotas))
	var errs []error
	for _, key := range slices.Sorted(maps.Keys(quotas)) {
		ep, ok := endpointOf(key)
		switch {
		case !ok || !metered(ep):
			errs = append(errs, fmt.Errorf("quotas: %q is not a metered API", key))
			continue
		case hasKey(out, ep):
			errs = append(errs, fmt.Errorf("quotas: %q given twice (by name and by path)", ep))
			continue
		}
		if err := quotas[key].validate(); err != nil {
			errs = append(errs, fmt.Errorf("quotas[%q]: %w", key, err))
			continue
		}
		out[ep] = quotas[key]
	}
	return out, errors.Join(errs...)
}

// limitLocked is the limit of a metered API: the state's, else Options', else the default.
func (e *Emulator) limitLocked(ep string) QuotaLimit {
	if l, ok := e.quotaState[ep]; ok {
		return l
	}
	if l, ok := e.quotaOpts[ep]; ok {
		return l
	}
	return defaultQuota(ep)
}

// useLocked is the usage of a metered API, rolled to now.
func (e *Emulator) useLocked(ep string) *quotaUse {
	u, ok := e.quotaUse[ep]
	if !ok {
		u = &quotaUse{}
		e.quotaUse[ep] = u
	}
	u.roll(e.now())
	return u
}

// meter counts one call of ep against its quota: 0 when it may proceed, else the errcode
// answered instead (45009 when today's quota is used up, 45011 when this minute's is). A
// refused call does not count.
func (e *Emulator) meter(ep string) int {
	if !metered(ep) {
		return 0
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	limit, use := e.limitLocked(ep), e.useLocked(ep)
	switch {
	case use.used >= limit.DailyLimit:
		return wechat.ErrcodeDailyQuota
	case limit.MinuteLimit > 0 && use.minuteUsed >= limit.MinuteLimit:
		return wechat.ErrcodeMinuteQuota
	}
	use.used++
	use.minuteUsed++
	return 0
}

func (e *Emulator) usageLocked(ep string) QuotaUsage {
	limit, use := e.limitLocked(ep), e.useLocked(ep)
	return QuotaUsage{API: ep, CGIPath: endpointPath(ep), DailyLimit: limit.DailyLimit, MinuteLimit: limit.MinuteLimit,
		Used: use.used, Remain: max(limit.DailyLimit-use.used, 0), MinuteUsed: use.minuteUsed}
}

// Quotas returns the limits and usage of every metered API, by the emulator's clock.
func (e *Emulator) Quotas() []QuotaUsage {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []QuotaUsage
	for _, ep := range endpoints {
		if metered(ep.name) {
			out = append(out, e.usageLocked(ep.name))
		}
	}
	return out
}

// ChangeQuota applies c (see QuotaChange) and returns the API's quota afterwards. Nothing
// changes when c is invalid.
func (e *Emulator) ChangeQuota(c QuotaChange) (QuotaUsage, error) {
	ep, ok := endpointOf(c.API)
	if !ok || !metered(ep) {
		return QuotaUsage{}, fmt.Errorf("quota: %q is not a metered API", c.API)
	}
	if c.Used != nil && *c.Used < 0 {
		return QuotaUsage{}, fmt.Errorf("quota %s: used %d is negative", ep, *c.Used)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	limit := e.limitLocked(ep)
	if c.DailyLimit != nil {
		limit.DailyLimit = *c.DailyLimit
	}
	if c.MinuteLimit != nil {
		limit.MinuteLimit = *c.MinuteLimit
	}
	if err := limit.validate(); err != nil {
		return QuotaUsage{}, fmt.Errorf("quota %s: %w", ep, err)
	}
	if c.DailyLimit != nil || c.MinuteLimit != nil {
		e.quotaState[ep] = limit
	}
	use := e.useLocked(ep)
	if c.Used != nil {
		use.used = *c.Used
	}
	if c.Exhaust {
		use.used = max(use.used, limit.DailyLimit)
	}
	return e.usageLocked(ep), nil
}

// ExhaustQuota uses up today's quota of api (an endpoint name or path): its calls answer
// 45009 until the day ends by the emulator's clock.
func (e *Emulator) ExhaustQuota(api string) error {
	_, err := e.ChangeQuota(QuotaChange{API: api, Exhaust: true})
	return err
}

// ResetQuotaUsage forgets what every API used; limits are kept.
func (e *Emulator) ResetQuotaUsage() {
	e.mu.Lock()
	defer e.mu.Unlock()
	clear(e.quotaUse)
}

// quotaAnswer is the answer of quota/get.
type quotaAnswer struct {
	ErrCode   int               `json:"errcode"`
	ErrMsg    string            `json:"errmsg"`
	Quota     wechat.Quota      `json:"quota"`
	RateLimit *wechat.RateLimit `json:"rate_limit,omitempty"`
}

// quotaGet answers quota/get for the API at cgiPath.
func (e *Emulator) quotaGet(cgiPath string) reply {
	ep, ok := pathEndpoint(cgiPath)
	if cgiPath == "" {
		return errReply(40101)
	}
	if !ok || !metered(ep) {
		return errReply(errcodeCGIPathNotFound)
	}
	e.mu.Lock()
	u := e.usageLocked(ep)
	e.mu.Unlock()
	ans := quotaAnswer{ErrMsg: errMsg(0), Quota: wechat.Quota{DailyLimit: int64(u.DailyLimit), Used: int64(u.Used), Remain: int64(u.Remain)}}
	if u.MinuteLimit > 0 {
		ans.RateLimit = &wechat.RateLimit{CallCount: int64(u.MinuteLimit), RefreshSecond: 60}
	}
	return reply{status: http.StatusOK, body: ans}
}
