package share

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/envshare/envshare/pkg/wechat"
)

// quotaFake is the fake WeChat with quota/get: each path's quota, or an error.
type quotaFake struct {
	*fakeWeChat
	mu     sync.Mutex
	quotas map[string]wechat.Quota // by cgi_path
	err    error
	reads  []string
}

func (f *quotaFake) GetQuota(_ context.Context, req *wechat.QuotaRequest) (*wechat.QuotaResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads = append(f.reads, req.CGIPath)
	if f.err != nil {
		return nil, f.err
	}
	return &wechat.QuotaResponse{Quota: f.quotas[req.CGIPath]}, nil
}

// resetAt is when the fake's 45009 says the quota comes back.
var resetAt = time.Date(2026, 12, 8, 0, 0, 0, 0, time.FixedZone("Asia/Shanghai", 8*3600))

func exhaustedError(endpoint string) error {
	return &wechat.QuotaExhaustedError{Endpoint: endpoint, RetryAfter: resetAt,
		Err: &wechat.APIError{Endpoint: endpoint, Code: wechat.ErrcodeDailyQuota, Msg: "reach max api daily quota limit"}}
}

// exhaustAfter makes the fake answer 45009 to every call of endpoint after its first n.
func exhaustAfter(f *fakeWeChat, endpoint string, n int) {
	var mu sync.Mutex
	calls := 0
	f.fail = func(ep, _ string) error {
		if ep != endpoint {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		if calls++; calls > n {
			return exhaustedError(endpoint)
		}
		return nil
	}
}

func TestShareDefersWhatADailyQuotaStops(t *testing.T) {
	f := newFake()
	exhaustAfter(f, "batchshareenv", 1)
	s := newService(t, f, Options{ChunkSize: 2, Concurrency: 1})
	res, err := s.Do(t.Context(), Request{Action: "share", Env: "e", AppIDs: appids(0, 7)})
	if err != nil {
		t.Fatal(err)
	}
	// The first call shares two pairs; the second answers 45009; the two calls not yet sent
	// are not sent.
	if n := len(f.shares); n != 2 {
		t.Fatalf("%d share calls, want 2: none after the 45009", n)
	}
	if got := summaryJSON(t, res.Summary); got != `{"requested":7,"shared":2,"pending_confirmation":0,"failed":0,"deferred":5}` {
		t.Fatalf("summary %s", got)
	}
	if res.OK {
		t.Fatal("ok with deferred entries")
	}
	for _, o := range res.Results {
		if o.Status == StatusDeferred && (o.Reason != ReasonQuotaExhausted || o.Error != nil) {
			t.Fatalf("deferred entry %+v, want reason quota_exhausted and no error", o)
		}
	}
}

func TestAWholeRequestStoppedByADailyQuotaIsQuotaExhausted(t *testing.T) {
	t.Run("share", func(t *testing.T) {
		f := newFake()
		exhaustAfter(f, "batchshareenv", 0)
		_, err := newService(t, f, Options{ChunkSize: 2, Concurrency: 1}).Do(t.Context(), Request{Action: "share", Env: "e", AppIDs: appids(0, 5)})
		checkExhausted(t, err)
		if len(f.shares) != 1 {
			t.Fatalf("%d calls, want 1", len(f.shares))
		}
	})
	t.Run("bindings", func(t *testing.T) {
		f := newFake()
		exhaustAfter(f, "batchgetenvid", 0)
		_, err := newService(t, f, Options{ChunkSize: 2, Concurrency: 1}).Do(t.Context(), Request{Action: "bindings", AppIDs: appids(0, 5)})
		checkExhausted(t, err)
	})
	t.Run("reconcile", func(t *testing.T) {
		f := newFake()
		exhaustAfter(f, "batchgetenvid", 0)
		_, err := newService(t, f, Options{ChunkSize: 2, Concurrency: 1}).Do(t.Context(),
			manifestReq(wechat.EnvAppIDs{Env: "e", AppIDs: appids(0, 5)}))
		checkExhausted(t, err)
		if _, _, gets := f.counts(); gets != 1 {
			t.Fatalf("%d reads, want 1", gets)
		}
	})
}

func checkExhausted(t *testing.T, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeQuotaExhausted || !e.RetryAfter.Equal(resetAt) || e.WechatErrcode == nil || *e.WechatErrcode != 45009 {
		t.Fatalf("error %v, want quota_exhausted with retry_after %v and errcode 45009", err, resetAt)
	}
}

func TestBindingsAfterADailyQuotaAreErrors(t *testing.T) {
	f := newFake()
	exhaustAfter(f, "batchgetenvid", 1)
	res, err := newService(t, f, Options{ChunkSize: 2, Concurrency: 1}).Do(t.Context(), Request{Action: "bindings", AppIDs: appids(0, 5)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Bindings) != 2 || len(res.Errors) != 3 || res.OK {
		t.Fatalf("bindings %v errors %v", res.Bindings, res.Errors)
	}
	for _, e := range res.Errors {
		if e.Error.Code != CodeQuotaExhausted {
			t.Fatalf("error %+v, want quota_exhausted", e)
		}
	}
	if _, _, gets := f.counts(); gets != 2 {
		t.Fatalf("%d reads, want 2: none after the 45009", gets)
	}
}

func TestReconcileDefersWhatADailyQuotaStops(t *testing.T) {
	for _, tt := range []struct {
		name, api         string
		pairs, shareCalls int // the manifest's pairs (chunks of 2), the share calls made
	}{
		{"reads", "batchgetenvid", 5, 1},
		{"writes", "batchshareenv", 6, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			exhaustAfter(f, tt.api, 1)
			res, err := newService(t, f, Options{ChunkSize: 2, Concurrency: 1}).Do(t.Context(),
				manifestReq(wechat.EnvAppIDs{Env: "e", AppIDs: appids(0, tt.pairs)}))
			if err != nil {
				t.Fatal(err)
			}
			if c := counts(res.Summary); c["shared"] != 2 || c["deferred"] != tt.pairs-2 {
				t.Fatalf("summary %v", c)
			}
			for _, o := range res.Results {
				if o.Status == StatusDeferred && o.Reason != ReasonQuotaExhausted {
					t.Fatalf("entry %+v", o)
				}
			}
			if s, _, _ := f.counts(); s != tt.shareCalls {
				t.Fatalf("%d share calls, want %d", s, tt.shareCalls)
			}
		})
	}
}

func TestReconcileKeepsTheQuotaReserve(t *testing.T) {
	tests := []struct {
		name    string
		quota   wechat.Quota
		reserve *Reserve
		calls   int // write calls made of the 10 needed
	}{
		{"the default 10% of 100 leaves 3 of 13", wechat.Quota{DailyLimit: 100, Used: 87, Remain: 13}, nil, 3},
		{"a number of calls", wechat.Quota{DailyLimit: 100, Used: 50, Remain: 50}, &Reserve{Calls: 45}, 5},
		{"nothing left above the reserve", wechat.Quota{DailyLimit: 100, Used: 95, Remain: 5}, &Reserve{Percent: 10}, 0},
		{"plenty", wechat.Quota{DailyLimit: 1000, Remain: 1000}, nil, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &quotaFake{fakeWeChat: newFake(), quotas: map[string]wechat.Quota{wechat.PathShareEnv: tt.quota}}
			var published []APIQuota
			s := newService(t, f, Options{ChunkSize: 2, QuotaReserve: tt.reserve,
				OnQuota: func(_ context.Context, q APIQuota) { published = append(published, q) }})
			res, err := s.Do(t.Context(), manifestReq(wechat.EnvAppIDs{Env: "e", AppIDs: appids(0, 20)}))
			if err != nil {
				t.Fatal(err)
			}
			if shares, _, _ := f.counts(); shares != tt.calls {
				t.Fatalf("%d write calls, want %d", shares, tt.calls)
			}
			c := counts(res.Summary)
			if c["shared"] != 2*tt.calls || c["deferred"] != 20-2*tt.calls {
				t.Fatalf("summary %v", c)
			}
			for _, o := range res.Results {
				if o.Status == StatusDeferred && o.Reason != ReasonQuotaReserve {
					t.Fatalf("entry %+v", o)
				}
			}
			if !reflect.DeepEqual(f.reads, []string{wechat.PathShareEnv}) || len(published) != 1 || published[0].Remain != int(tt.quota.Remain) {
				t.Fatalf("quota reads %v, published %v: want one read of batchshareenv, published", f.reads, published)
			}
		})
	}
	t.Run("a dry run and a reconcile with nothing to write read no quota", func(t *testing.T) {
		f := &quotaFake{fakeWeChat: newFake(), quotas: map[string]wechat.Quota{}}
		f.bind("e", a0)
		for _, dry := range []bool{true, false} {
			req := manifestReq(wechat.EnvAppIDs{Env: "e", AppIDs: []string{a0, a1}})
			if !dry {
				req.Envs[0].AppIDs = []string{a0}
			}
			req.DryRun = &dry
			if _, err := newService(t, f, Options{}).Do(t.Context(), req); err != nil {
				t.Fatal(err)
			}
		}
		if len(f.reads) != 0 {
			t.Fatalf("quota reads %v", f.reads)
		}
	})
	t.Run("an unreadable quota leaves the writes unbudgeted", func(t *testing.T) {
		f := &quotaFake{fakeWeChat: newFake(), err: &wechat.ResponseError{Endpoint: "quota/get", StatusCode: 200, Err: errors.New("no quota")}}
		res, err := newService(t, f, Options{ChunkSize: 2}).Do(t.Context(), manifestReq(wechat.EnvAppIDs{Env: "e", AppIDs: appids(0, 6)}))
		if err != nil || counts(res.Summary)["shared"] != 6 {
			t.Fatalf("%v %v", res, err)
		}
	})
	t.Run("share requests are not budgeted: the reserve is theirs", func(t *testing.T) {
		f := &quotaFake{fakeWeChat: newFake(), quotas: map[string]wechat.Quota{wechat.PathShareEnv: {DailyLimit: 100, Remain: 1}}}
		if _, err := newService(t, f, Options{ChunkSize: 2}).Do(t.Context(), Request{Action: "share", Env: "e", AppIDs: appids(0, 6)}); err != nil {
			t.Fatal(err)
		}
		if shares, _, _ := f.counts(); shares != 3 || len(f.reads) != 0 {
			t.Fatalf("%d calls, quota reads %v", shares, f.reads)
		}
	})
}

func TestParseReserve(t *testing.T) {
	for in, want := range map[string]Reserve{"10%": {Percent: 10}, "2.5%": {Percent: 2.5}, "500": {Calls: 500}, "0": {}, " 7 ": {Calls: 7}} {
		if got, err := ParseReserve(in); err != nil || got != want {
			t.Errorf("ParseReserve(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1", "101%", "x%", "10 calls", "NaN%"} {
		if _, err := ParseReserve(bad); err == nil {
			t.Errorf("ParseReserve(%q) accepted", bad)
		}
	}
	if n := (Reserve{Percent: 10}).Of(10_000); n != 1000 {
		t.Errorf("10%% of 10,000 = %d", n)
	}
	if n := (Reserve{Percent: 2.5}).Of(101); n != 3 {
		t.Errorf("2.5%% of 101 = %d, want 3 (rounded up)", n)
	}
}

func TestQuotaView(t *testing.T) {
	quotas := map[string]wechat.Quota{}
	for i, a := range QuotaAPIs {
		quotas[a.Path] = wechat.Quota{DailyLimit: int64(1000 * (i + 1)), Used: int64(i), Remain: int64(1000*(i+1) - i)}
	}
	f := &quotaFake{fakeWeChat: newFake(), quotas: quotas}
	var published []string
	var mu sync.Mutex
	s := newService(t, f, Options{OnQuota: func(_ context.Context, q APIQuota) {
		mu.Lock()
		published = append(published, q.API)
		mu.Unlock()
	}})
	rep, err := s.Quota(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := &QuotaReport{OK: true, Action: "quota", Quotas: []APIQuota{
		{API: "batchshareenv", DailyLimit: 1000, Used: 0, Remain: 1000},
		{API: "batchunshareenv", DailyLimit: 2000, Used: 1, Remain: 1999},
		{API: "batchgetenvid", DailyLimit: 3000, Used: 2, Remain: 2998},
		{API: "api_component_token", DailyLimit: 4000, Used: 3, Remain: 3997},
	}}
	if !reflect.DeepEqual(rep, want) {
		t.Fatalf("report %+v", rep)
	}
	slices.Sort(published)
	if !reflect.DeepEqual(published, []string{"api_component_token", "batchgetenvid", "batchshareenv", "batchunshareenv"}) {
		t.Fatalf("published %v", published)
	}

	t.Run("an answer without the quota's fields is upstream_error", func(t *testing.T) {
		f.err = &wechat.ResponseError{Endpoint: "quota/get", StatusCode: 200, Err: errors.New("answer has no quota.daily_limit, quota.used and quota.remain")}
		_, err := s.Quota(t.Context())
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeUpstreamError {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("an upstream without quota/get is internal", func(t *testing.T) {
		_, err := newService(t, newFake(), Options{}).Quota(t.Context())
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeInternal {
			t.Fatalf("error %v", err)
		}
	})
}
