package wechat

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestGetQuota(t *testing.T) {
	f := setup(t)
	var got received
	f.mux.HandleFunc(PathQuota, record(t, &got, `{"errcode":0,"errmsg":"ok","quota":{"daily_limit":100000,"used":42,"remain":99958},`+
		`"rate_limit":{"call_count":5000,"refresh_second":60}}`))
	resp, err := f.client.GetQuota(context.Background(), &QuotaRequest{CGIPath: PathShareEnv})
	if err != nil {
		t.Fatal(err)
	}
	checkRequest(t, got, true, `{"cgi_path":"/componenttcb/batchshareenv"}`)
	want := &QuotaResponse{ErrMsg: "ok", Quota: Quota{DailyLimit: 100000, Used: 42, Remain: 99958},
		RateLimit: &RateLimit{CallCount: 5000, RefreshSecond: 60}}
	if !reflect.DeepEqual(resp, want) {
		t.Errorf("got %+v, want %+v", resp, want)
	}
}

func TestNextDailyResetIsMidnightInShanghai(t *testing.T) {
	tests := []struct{ now, want string }{
		{"2026-12-07T15:59:59Z", "2026-12-07T16:00:00Z"}, // 23:59:59 in Shanghai
		{"2026-12-07T16:00:00Z", "2026-12-08T16:00:00Z"}, // 00:00 in Shanghai: a whole day ahead
		{"2026-12-07T03:00:00Z", "2026-12-07T16:00:00Z"},
		{"2026-12-31T20:00:00Z", "2027-01-01T16:00:00Z"}, // across the year in Shanghai
		{"2026-12-07T20:00:00-08:00", "2026-12-08T16:00:00Z"},
	}
	for _, tt := range tests {
		now, _ := time.Parse(time.RFC3339, tt.now)
		want, _ := time.Parse(time.RFC3339, tt.want)
		got := NextDailyReset(now)
		if !got.Equal(want) {
			t.Errorf("NextDailyReset(%s) = %s, want %s", tt.now, got, want)
		}
		if _, offset := got.Zone(); offset != 8*3600 {
			t.Errorf("zone offset %d, want UTC+8", offset)
		}
	}
}

func TestADailyQuotaErrorIsTypedAndNeverRetried(t *testing.T) {
	now, _ := time.Parse(time.RFC3339, "2026-12-07T15:30:00Z") // 23:30 in Shanghai
	f := setup(t, WithClock(func() time.Time { return now }), WithAttempts(5))
	f.mux.HandleFunc(PathShareEnv, errcode(ErrcodeDailyQuota))
	_, err := f.client.ShareEnv(context.Background(), shareReq())

	var exhausted *QuotaExhaustedError
	if !errors.As(err, &exhausted) {
		t.Fatalf("error %v (%T), want *QuotaExhaustedError", err, err)
	}
	if want, _ := time.Parse(time.RFC3339, "2026-12-08T00:00:00+08:00"); exhausted.Endpoint != "batchshareenv" || !exhausted.RetryAfter.Equal(want) {
		t.Errorf("endpoint %q, retry after %s", exhausted.Endpoint, exhausted.RetryAfter)
	}
	if Classify(err) != Exhausted || Classify(err).String() != "exhausted" {
		t.Errorf("Classify = %v, want exhausted", Classify(err))
	}
	if apiErr := asAPIError(t, err); apiErr.Code != ErrcodeDailyQuota {
		t.Errorf("the APIError is not wrapped: %+v", apiErr)
	}
	if !strings.Contains(err.Error(), "2026-12-08T00:00:00+08:00") {
		t.Errorf("the error does not say when calls resume: %v", err)
	}
	if n := f.hitsOf(PathShareEnv); n != 1 || len(f.waits.all()) != 0 {
		t.Errorf("hits %d, waits %v: 45009 is never retried", n, f.waits.all())
	}
}

// minuteClock is a fake clock that the client's waits move; its deadline context lies in
// real time an hour ahead, so only the fake clock decides whether a wait overruns it.
func minuteClock(t *testing.T, f *fixture, start string) *fakeClock {
	t.Helper()
	now, err := time.Parse(time.RFC3339Nano, start)
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: now, advance: true}
	withClock(f, clock)
	return clock
}

func TestAMinuteQuotaWaitsForTheNextMinute(t *testing.T) {
	f := setup(t, WithAttempts(1)) // the waits use up no attempt
	clock := minuteClock(t, f, "2026-12-07T04:00:42.5Z")
	f.mux.HandleFunc(PathShareEnv, sequence(errcode(ErrcodeMinuteQuota), errcode(ErrcodeMinuteQuota), ok))
	var mu sync.Mutex
	var traced []MinuteQuotaWaitInfo
	ctx := WithClientTrace(context.Background(), &ClientTrace{MinuteQuotaWait: func(info MinuteQuotaWaitInfo) {
		mu.Lock()
		defer mu.Unlock()
		traced = append(traced, info)
	}})

	if _, err := f.client.ShareEnv(ctx, shareReq()); err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{17500 * time.Millisecond, time.Minute} // to 04:01:00, then to 04:02:00
	if got := clock.recorded(); !reflect.DeepEqual(got, want) {
		t.Errorf("waits %v, want %v", got, want)
	}
	if n := f.hitsOf(PathShareEnv); n != 3 {
		t.Errorf("hits %d, want 3", n)
	}
	if len(traced) != 2 || traced[0] != (MinuteQuotaWaitInfo{Endpoint: "batchshareenv", Wait: 17500 * time.Millisecond}) {
		t.Errorf("traced %+v", traced)
	}
}

func TestMinuteQuotaWaitsAreBounded(t *testing.T) {
	tests := []struct {
		name  string
		opts  []Option
		waits int
	}{
		{"by default a call waits twice", nil, DefaultMinuteWaits},
		{"WithMinuteWaits(5) waits five times", []Option{WithMinuteWaits(5)}, 5},
		{"WithMinuteWaits(0) never waits", []Option{WithMinuteWaits(0)}, 0},
		{"a negative count never waits", []Option{WithMinuteWaits(-1)}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, tt.opts...)
			clock := minuteClock(t, f, "2026-12-07T04:00:00Z")
			f.mux.HandleFunc(PathGetEnvID, errcode(ErrcodeMinuteQuota))
			_, err := f.client.GetEnvID(context.Background(), &GetEnvIDRequest{AppIDs: []string{"wx1"}, SourceType: 1})

			var unavailable *UnavailableError
			if !errors.As(err, &unavailable) || Classify(err) != Unavailable {
				t.Fatalf("error %v (%T), want *UnavailableError", err, err)
			}
			if asAPIError(t, err).Code != ErrcodeMinuteQuota {
				t.Errorf("the 45011 is not wrapped: %v", err)
			}
			if got := len(clock.recorded()); got != tt.waits {
				t.Errorf("%d waits, want %d", got, tt.waits)
			}
			if n := f.hitsOf(PathGetEnvID); n != tt.waits+1 {
				t.Errorf("hits %d, want %d", n, tt.waits+1)
			}
		})
	}
}

func TestAMinuteQuotaUnderADeadline(t *testing.T) {
	tests := []struct {
		name     string
		second   time.Duration // into the minute, when WeChat answers 45011
		left     time.Duration // until the deadline, by the fake clock
		wantErr  bool
		wantWait []time.Duration
	}{
		{"the next minute starts before the deadline: wait and succeed", 55 * time.Second, 10 * time.Second, false, []time.Duration{5 * time.Second}},
		{"the next minute starts after the deadline: fail at once, unavailable", 42 * time.Second, 10 * time.Second, true, nil},
		{"the next minute starts at the deadline: fail at once", 50 * time.Second, 10 * time.Second, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t)
			// The fake clock runs an hour ahead of the real one, so that the context's
			// deadline, placed by the fake clock, is not reached in real time.
			start := time.Now().Add(time.Hour).Truncate(time.Minute).Add(tt.second)
			clock := minuteClock(t, f, start.Format(time.RFC3339Nano))
			f.mux.HandleFunc(PathShareEnv, sequence(errcode(ErrcodeMinuteQuota), ok))
			ctx, cancel := context.WithDeadline(context.Background(), clock.now().Add(tt.left))
			defer cancel()
			_, err := f.client.ShareEnv(ctx, shareReq())

			if got := clock.recorded(); !reflect.DeepEqual(got, tt.wantWait) {
				t.Errorf("waits %v, want %v", got, tt.wantWait)
			}
			if !tt.wantErr {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if Classify(err) != Unavailable || errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("error %v: want unavailable (transient), not a deadline", err)
			}
			if !strings.Contains(err.Error(), "next minute starts after the deadline") {
				t.Errorf("the error does not say why: %v", err)
			}
			if n := f.hitsOf(PathShareEnv); n != 1 {
				t.Errorf("hits %d, want 1", n)
			}
		})
	}
	t.Run("a cancel during the wait stops the call", func(t *testing.T) {
		f := setup(t)
		ctx, cancel := context.WithCancel(context.Background())
		now, _ := time.Parse(time.RFC3339, "2026-12-07T04:00:30Z")
		f.client.retry.Now = func() time.Time { return now }
		f.client.retry.Wait = func(ctx context.Context, d time.Duration) error {
			cancel()
			return ctx.Err()
		}
		f.mux.HandleFunc(PathShareEnv, errcode(ErrcodeMinuteQuota))
		_, err := f.client.ShareEnv(ctx, shareReq())
		if Classify(err) != Stopped || !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want stopped", err)
		}
		if n := f.hitsOf(PathShareEnv); n != 1 {
			t.Errorf("hits %d", n)
		}
	})
}

func TestQuotaErrorsOfEveryCall(t *testing.T) {
	// The component token mint and the authorizer calls handle 45009 and 45011 like the others.
	for _, path := range []string{PathComponentToken, PathAuthorizerInfo, PathAuthorizerList, PathQuota} {
		t.Run(path, func(t *testing.T) {
			f := setup(t)
			minuteClock(t, f, "2026-12-07T04:00:30Z")
			f.mux.HandleFunc(path, sequence(errcode(ErrcodeMinuteQuota), errcode(ErrcodeDailyQuota)))
			var err error
			switch path {
			case PathComponentToken:
				_, err = f.client.ComponentToken(context.Background(), &ComponentTokenRequest{ComponentAppID: "a"})
			case PathAuthorizerInfo:
				_, err = f.client.GetAuthorizerInfo(context.Background(), &AuthorizerInfoRequest{ComponentAppID: "c", AuthorizerAppID: "a"})
			case PathAuthorizerList:
				_, err = f.client.GetAuthorizerList(context.Background(), &AuthorizerListRequest{ComponentAppID: "c", Count: 1})
			case PathQuota:
				_, err = f.client.GetQuota(context.Background(), &QuotaRequest{CGIPath: PathShareEnv})
			}
			if Classify(err) != Exhausted || f.hitsOf(path) != 2 {
				t.Errorf("error %v after %d hits, want exhausted after 2", err, f.hitsOf(path))
			}
		})
	}
}

func TestClassifyExhausted(t *testing.T) {
	exhausted := &QuotaExhaustedError{Endpoint: "batchshareenv", Err: &APIError{Code: ErrcodeDailyQuota}}
	for _, err := range []error{exhausted, errors.Join(errors.New("share"), exhausted)} {
		if Classify(err) != Exhausted {
			t.Errorf("Classify(%v) = %v", err, Classify(err))
		}
	}
	if Classify(&APIError{Code: ErrcodeDailyQuota}) != Refused {
		t.Error("a bare APIError 45009 (not from a Client) is refused")
	}
}
