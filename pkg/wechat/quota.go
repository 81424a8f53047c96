package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// DefaultMinuteWaits is how many times a call waits for the next minute after errcode 45011
// (WithMinuteWaits).
const DefaultMinuteWaits = 2

// quotaZone is the zone of WeChat's quota day: it starts at 00:00 Asia/Shanghai (UTC+8, no
// daylight saving time, so no tzdata is needed).
var quotaZone = time.FixedZone("Asia/Shanghai", 8*60*60)

// NextDailyReset returns when WeChat's daily quotas are next reset after t: the next 00:00
// Asia/Shanghai.
func NextDailyReset(t time.Time) time.Time {
	y, m, d := t.In(quotaZone).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, quotaZone)
}

// nextMinute returns the start of the minute after t's.
func nextMinute(t time.Time) time.Time { return t.Truncate(time.Minute).Add(time.Minute) }

// QuotaExhaustedError is errcode 45009: the daily quota of Endpoint is used up. Further calls
// of that API fail the same way until RetryAfter (the next 00:00 Asia/Shanghai by the
// client's clock), so the client never retries it; Classify calls it Exhausted. It wraps the
// *APIError.
type QuotaExhaustedError struct {
	Endpoint   string
	RetryAfter time.Time
	Err        *APIError
}

func (e *QuotaExhaustedError) Error() string {
	return fmt.Sprintf("wechat %s: daily quota used up (errcode %d: %s); calls resume after %s",
		e.Endpoint, e.Err.Code, e.Err.Msg, e.RetryAfter.Format(time.RFC3339))
}

func (e *QuotaExhaustedError) Unwrap() error { return e.Err }

// QuotaRequest is the body of quota/get: the API to read, by its path
// (cgi_path, such as PathShareEnv).
type QuotaRequest struct {
	CGIPath string `json:"cgi_path"`
}

func (r *QuotaRequest) check() error {
	if r.CGIPath == "" {
		return errors.New("cgi_path is empty")
	}
	return nil
}

// QuotaResponse is the answer of quota/get.
type QuotaResponse struct {
	ErrCode int    `json:"errcode,omitempty"`
	ErrMsg  string `json:"errmsg,omitempty"`
	Quota   Quota  `json:"quota"`
	// RateLimit and ComponentRateLimit are in newer answers only.
	RateLimit          *RateLimit `json:"rate_limit,omitempty"`
	ComponentRateLimit *RateLimit `json:"component_rate_limit,omitempty"`
}

// Quota is one API's daily quota: calls allowed today, used and remaining.
type Quota struct {
	DailyLimit int64 `json:"daily_limit"`
	Used       int64 `json:"used"`
	Remain     int64 `json:"remain"`
}

// RateLimit is a per-interval limit: CallCount calls every RefreshSecond seconds.
type RateLimit struct {
	CallCount     int64 `json:"call_count"`
	RefreshSecond int64 `json:"refresh_second"`
}

// validate: the three quota fields are the answer; without them it is a protocol error.
func (r *QuotaResponse) validate(raw []byte) error {
	var seen struct {
		Quota *struct {
			DailyLimit *int64 `json:"daily_limit"`
			Used       *int64 `json:"used"`
			Remain     *int64 `json:"remain"`
		} `json:"quota"`
	}
	if err := json.Unmarshal(raw, &seen); err != nil {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	q := seen.Quota
	if q == nil || q.DailyLimit == nil || q.Used == nil || q.Remain == nil {
		return errors.New("answer has no quota.daily_limit, quota.used and quota.remain")
	}
	return nil
}

// GetQuota reads one API's daily quota (cgi-bin/openapi/quota/get, ?access_token=). An
// answer without quota.daily_limit, used and remain is a *ResponseError.
func (c *Client) GetQuota(ctx context.Context, req *QuotaRequest) (*QuotaResponse, error) {
	return call[QuotaResponse](ctx, c, epQuota, req)
}

// waitNextMinute handles errcode 45011 (err): it waits until the next minute starts, by the
// client's clock, and returns nil so that the request is sent again. It returns the error to
// end the call with instead when the call has used its minute waits, or when the deadline
// would pass first (both *UnavailableError: the limit clears by itself), or when the context
// ended during the wait.
func (r *run) waitNextMinute(ctx context.Context, err error) error {
	if r.minuteWaits >= r.c.minuteWaits {
		return &UnavailableError{Endpoint: r.ep.name, Attempts: r.sent, Err: err}
	}
	now := r.c.now()
	until := nextMinute(now)
	wait := until.Sub(now)
	if deadline, ok := ctx.Deadline(); ok && !until.Before(deadline) {
		return &UnavailableError{Endpoint: r.ep.name, Attempts: r.sent,
			Err: fmt.Errorf("%w (the next minute starts after the deadline)", err)}
	}
	r.minuteWaits++
	fire(r.trace.MinuteQuotaWait, MinuteQuotaWaitInfo{Endpoint: r.ep.name, Wait: wait})
	r.c.logger.LogAttrs(ctx, slog.LevelInfo, "wechat minute quota reached (45011); waiting for the next minute",
		slog.String("endpoint", r.ep.name), slog.Duration("wait", wait))
	if err := r.c.retry.Pause(ctx, wait); err != nil {
		return stopError{err}
	}
	return nil
}
