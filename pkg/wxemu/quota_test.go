package wxemu

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/envshare/envshare/pkg/wechat"
)

// quotaRead reads an API's quota through quota/get, as a client would.
func (h *harness) quotaRead(cgiPath string) *wechat.QuotaResponse {
	h.t.Helper()
	resp, err := h.client().GetQuota(h.t.Context(), &wechat.QuotaRequest{CGIPath: cgiPath})
	if err != nil {
		h.t.Fatal(err)
	}
	return resp
}

// getEnvIDCode makes one batchgetenvid call and returns its errcode.
func (h *harness) getEnvIDCode() int {
	h.t.Helper()
	var resp wechat.GetEnvIDResponse
	h.call(wechat.PathGetEnvID, wechat.GetEnvIDRequest{AppIDs: []string{appBound}, SourceType: 1}, &resp)
	return resp.ErrCode
}

func TestQuotaDefaults(t *testing.T) {
	h := setup(t, Options{})
	want := []QuotaUsage{
		{API: EndpointShare, CGIPath: wechat.PathShareEnv, DailyLimit: DefaultDailyLimit, Remain: DefaultDailyLimit},
		{API: EndpointUnshare, CGIPath: wechat.PathUnshareEnv, DailyLimit: DefaultDailyLimit, Remain: DefaultDailyLimit},
		{API: EndpointGetEnvID, CGIPath: wechat.PathGetEnvID, DailyLimit: DefaultDailyLimit, Remain: DefaultDailyLimit},
		{API: EndpointComponentToken, CGIPath: wechat.PathComponentToken, DailyLimit: 10_000, Remain: 10_000},
		{API: EndpointAuthorizerInfo, CGIPath: wechat.PathAuthorizerInfo, DailyLimit: DefaultDailyLimit, Remain: DefaultDailyLimit},
		{API: EndpointAuthorizerList, CGIPath: wechat.PathAuthorizerList, DailyLimit: DefaultDailyLimit, Remain: DefaultDailyLimit},
	}
	if got := h.emu.Quotas(); !reflect.DeepEqual(got, want) {
		t.Fatalf("quotas %+v\nwant %+v", got, want)
	}
	if q := h.quotaRead(wechat.PathComponentToken); q.Quota != (wechat.Quota{DailyLimit: 10_000, Used: 0, Remain: 10_000}) || q.RateLimit != nil {
		t.Errorf("api_component_token %+v", q)
	}
	h.getEnvIDCode()
	h.getEnvIDCode()
	if q := h.quotaRead(wechat.PathGetEnvID); q.Quota.Used != 2 || q.Quota.Remain != DefaultDailyLimit-2 {
		t.Errorf("batchgetenvid after two calls: %+v", q.Quota)
	}
	if q := h.quotaRead(wechat.PathGetEnvID); q.Quota.Used != 2 {
		t.Errorf("quota/get is not metered, yet it counted: %+v", q.Quota)
	}
}

func TestMinuteLimit(t *testing.T) {
	clk := NewClock(time.Date(2026, 12, 7, 4, 0, 30, 0, time.UTC))
	h := setup(t, Options{Now: clk.Now, Quotas: map[string]QuotaLimit{wechat.PathGetEnvID: {DailyLimit: 100, MinuteLimit: 2}}})
	for i, want := range []int{0, 0, 45011, 45011} {
		if got := h.getEnvIDCode(); got != want {
			t.Fatalf("call %d: errcode %d, want %d", i+1, got, want)
		}
	}
	q := h.quotaRead(wechat.PathGetEnvID)
	if q.Quota != (wechat.Quota{DailyLimit: 100, Used: 2, Remain: 98}) || q.RateLimit == nil || *q.RateLimit != (wechat.RateLimit{CallCount: 2, RefreshSecond: 60}) {
		t.Errorf("refused calls count: %+v %+v", q.Quota, q.RateLimit)
	}
	clk.Advance(29 * time.Second) // 04:00:59: the same minute
	if got := h.getEnvIDCode(); got != 45011 {
		t.Fatalf("errcode %d in the same minute", got)
	}
	clk.Advance(time.Second) // 04:01:00
	if got := h.getEnvIDCode(); got != 0 {
		t.Fatalf("errcode %d in the next minute", got)
	}
	if got := h.emu.Calls(EndpointGetEnvID); got != 6 {
		t.Errorf("%d calls recorded, refused ones included: want 6", got)
	}
}

func TestDailyLimitAndDayRollover(t *testing.T) {
	// 23:59:00 in Shanghai.
	clk := NewClock(time.Date(2026, 12, 7, 15, 59, 0, 0, time.UTC))
	h := setup(t, Options{Now: clk.Now, Quotas: map[string]QuotaLimit{EndpointGetEnvID: {DailyLimit: 2}}})
	for i, want := range []int{0, 0, 45009} {
		if got := h.getEnvIDCode(); got != want {
			t.Fatalf("call %d: errcode %d, want %d", i+1, got, want)
		}
	}
	if q := h.quotaRead(wechat.PathGetEnvID); q.Quota != (wechat.Quota{DailyLimit: 2, Used: 2, Remain: 0}) {
		t.Errorf("%+v", q.Quota)
	}
	clk.Advance(59 * time.Second) // 23:59:59
	if got := h.getEnvIDCode(); got != 45009 {
		t.Fatalf("errcode %d before midnight", got)
	}
	clk.Advance(time.Second) // 00:00 in Shanghai, 16:00 UTC
	if q := h.quotaRead(wechat.PathGetEnvID); q.Quota.Used != 0 || q.Quota.Remain != 2 {
		t.Errorf("a new day: %+v", q.Quota)
	}
	if got := h.getEnvIDCode(); got != 0 {
		t.Fatalf("errcode %d after midnight in Shanghai", got)
	}
	t.Run("other APIs are not affected", func(t *testing.T) {
		var resp wechat.UnshareEnvResponse
		h.call(wechat.PathUnshareEnv, wechat.ShareEnvRequest{Data: []wechat.EnvAppIDs{{Env: envTest, AppIDs: []string{appBound}}}, SourceType: 1}, &resp)
		if resp.ErrCode != 0 {
			t.Fatal(resp.ErrCode)
		}
	})
}

func TestExhaustQuota(t *testing.T) {
	clk := NewClock(time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)) // 11:00 in Shanghai
	h := setup(t, Options{Now: clk.Now})
	if err := h.emu.ExhaustQuota(wechat.PathShareEnv); err != nil {
		t.Fatal(err)
	}
	_, err := h.client(wechat.WithClock(clk.Now)).ShareEnv(t.Context(), &wechat.ShareEnvRequest{SourceType: 1,
		Data: []wechat.EnvAppIDs{{Env: envProd, AppIDs: []string{appAuto}}}})
	var exhausted *wechat.QuotaExhaustedError
	if !errors.As(err, &exhausted) || !exhausted.RetryAfter.Equal(time.Date(2026, 12, 7, 16, 0, 0, 0, time.UTC)) {
		t.Fatalf("error %v, want 45009 until 00:00 Shanghai", err)
	}
	if h.getEnvIDCode() != 0 {
		t.Error("exhausting batchshareenv exhausted batchgetenvid")
	}
	if q := h.quotaRead(wechat.PathShareEnv); q.Quota.Remain != 0 || q.Quota.Used != DefaultDailyLimit {
		t.Errorf("%+v", q.Quota)
	}
	clk.Advance(13 * time.Hour) // past midnight in Shanghai
	if _, err := h.client().ShareEnv(t.Context(), &wechat.ShareEnvRequest{SourceType: 1,
		Data: []wechat.EnvAppIDs{{Env: envProd, AppIDs: []string{appAuto}}}}); err != nil {
		t.Fatalf("the next day: %v", err)
	}
	t.Run("an exhausted api_component_token refuses minting first", func(t *testing.T) {
		h := setup(t, mintOpts)
		if err := h.emu.ExhaustQuota(EndpointComponentToken); err != nil {
			t.Fatal(err)
		}
		if resp := h.mintWith(mintCreds.ComponentVerifyTicket); resp.ErrCode != 45009 || h.emu.Mints() != 0 {
			t.Fatalf("%+v, %d mints", resp, h.emu.Mints())
		}
	})
	t.Run("quota/get and unknown APIs cannot be exhausted", func(t *testing.T) {
		for _, api := range []string{EndpointQuota, wechat.PathQuota, "batchsomething", ""} {
			if err := h.emu.ExhaustQuota(api); err == nil {
				t.Errorf("%q: no error", api)
			}
		}
	})
}

func TestQuotaControlEndpoint(t *testing.T) {
	h := setup(t, Options{})
	tests := []struct {
		name, method, body string
		status             int
		want               string // in the answer
	}{
		{"set limits", "POST", `{"api":"batchshareenv","daily_limit":50,"minute_limit":5}`, 200, `"daily_limit":50,"minute_limit":5,"used":0,"remain":50`},
		{"set used", "POST", `{"api":"/componenttcb/batchshareenv","used":45}`, 200, `"used":45,"remain":5`},
		{"exhaust", "POST", `{"api":"batchshareenv","exhaust":true}`, 200, `"used":50,"remain":0`},
		{"an unknown API", "POST", `{"api":"nosuchapi","exhaust":true}`, 400, `not a metered API`},
		{"quota/get itself", "POST", `{"api":"quota/get","daily_limit":5}`, 400, `not a metered API`},
		{"a daily limit of 0", "POST", `{"api":"batchshareenv","daily_limit":0}`, 400, `daily_limit 0`},
		{"a negative minute limit", "POST", `{"api":"batchshareenv","minute_limit":-1}`, 400, `minute_limit -1`},
		{"negative used", "POST", `{"api":"batchshareenv","used":-1}`, 400, `used -1`},
		{"an unknown field", "POST", `{"api":"batchshareenv","exhausted":true}`, 400, `unknown field`},
		{"GET lists every metered API", "GET", ``, 200, `"api":"batchshareenv","cgi_path":"/componenttcb/batchshareenv","daily_limit":50,"minute_limit":5,"used":50,"remain":0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, raw := h.do(tt.method, "/__emu/quota", tt.body)
			if status != tt.status || !strings.Contains(string(raw), tt.want) {
				t.Fatalf("HTTP %d %s, want %d with %s", status, raw, tt.status, tt.want)
			}
		})
	}
	t.Run("the limits set are in the state", func(t *testing.T) {
		if got := h.emu.State().Quotas; !reflect.DeepEqual(got, map[string]QuotaLimit{EndpointShare: {DailyLimit: 50, MinuteLimit: 5}}) {
			t.Errorf("%+v", got)
		}
	})
	t.Run("DELETE forgets the usage and keeps the limits", func(t *testing.T) {
		if status, _, raw := h.do("DELETE", "/__emu/quota", ""); status != 200 {
			t.Fatalf("%d %s", status, raw)
		}
		if q := h.quotaRead(wechat.PathShareEnv); q.Quota != (wechat.Quota{DailyLimit: 50, Used: 0, Remain: 50}) {
			t.Errorf("%+v", q.Quota)
		}
	})
}

func TestQuotaRead(t *testing.T) {
	h := setup(t, Options{})
	tests := []struct {
		name, query, body string
		want              int
	}{
		{"a known path", "?access_token=" + testToken, `{"cgi_path":"/componenttcb/batchunshareenv"}`, 0},
		{"an unknown path answers 76021", "?access_token=" + testToken, `{"cgi_path":"/componenttcb/nosuchapi"}`, 76021},
		{"quota/get itself answers 76021", "?access_token=" + testToken, `{"cgi_path":"/cgi-bin/openapi/quota/get"}`, 76021},
		{"an endpoint name is no path: 76021", "?access_token=" + testToken, `{"cgi_path":"batchshareenv"}`, 76021},
		{"no cgi_path answers 40101", "?access_token=" + testToken, `{}`, 40101},
		{"no access_token answers 41001", "?component_access_token=" + testToken, `{"cgi_path":"/componenttcb/batchshareenv"}`, 41001},
		{"an unknown token answers 40014", "?access_token=nope", `{"cgi_path":"/componenttcb/batchshareenv"}`, 40014},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, raw := h.do("POST", wechat.PathQuota+tt.query, tt.body)
			if got := errcodeOf(t, raw); status != 200 || got != tt.want {
				t.Fatalf("HTTP %d errcode %d, want %d: %s", status, got, tt.want, raw)
			}
		})
	}
}

func TestQuotasInTheState(t *testing.T) {
	t.Run("seeded by name or path, round trip by name", func(t *testing.T) {
		emu := New(Options{})
		js := `{"envs":{},"apps":{},"quotas":{"/componenttcb/batchshareenv":{"daily_limit":3},"api_component_token":{"daily_limit":5,"minute_limit":1}}}`
		if err := emu.LoadState(strings.NewReader(js)); err != nil {
			t.Fatal(err)
		}
		want := map[string]QuotaLimit{EndpointShare: {DailyLimit: 3}, EndpointComponentToken: {DailyLimit: 5, MinuteLimit: 1}}
		if got := emu.State().Quotas; !reflect.DeepEqual(got, want) {
			t.Fatalf("%+v", got)
		}
		b, _ := json.Marshal(emu.State())
		again := New(Options{})
		if err := again.LoadState(strings.NewReader(string(b))); err != nil || !reflect.DeepEqual(again.State(), emu.State()) {
			t.Fatalf("round trip: %v %s", err, b)
		}
	})
	t.Run("the state's limits win over Options', which win over the defaults; seeding keeps the usage", func(t *testing.T) {
		emu := New(Options{Quotas: map[string]QuotaLimit{EndpointShare: {DailyLimit: 7}, EndpointUnshare: {DailyLimit: 8}}})
		if err := emu.Seed(State{Quotas: map[string]QuotaLimit{EndpointShare: {DailyLimit: 9}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := emu.ChangeQuota(QuotaChange{API: EndpointUnshare, Used: ptr(4)}); err != nil {
			t.Fatal(err)
		}
		if err := emu.Seed(emu.State()); err != nil {
			t.Fatal(err)
		}
		limits := map[string]QuotaUsage{}
		for _, q := range emu.Quotas() {
			limits[q.API] = q
		}
		if limits[EndpointShare].DailyLimit != 9 || limits[EndpointUnshare].DailyLimit != 8 || limits[EndpointGetEnvID].DailyLimit != DefaultDailyLimit {
			t.Errorf("%+v", limits)
		}
		if limits[EndpointUnshare].Used != 4 {
			t.Errorf("seeding forgot the usage: %+v", limits[EndpointUnshare])
		}
	})
	for _, tt := range []struct{ name, js string }{
		{"an unknown API", `{"quotas":{"batchsomething":{"daily_limit":1}}}`},
		{"quota/get", `{"quotas":{"quota/get":{"daily_limit":1}}}`},
		{"a daily limit of 0", `{"quotas":{"batchshareenv":{"daily_limit":0}}}`},
		{"a negative minute limit", `{"quotas":{"batchshareenv":{"daily_limit":1,"minute_limit":-1}}}`},
		{"one API by name and by path", `{"quotas":{"batchshareenv":{"daily_limit":1},"/componenttcb/batchshareenv":{"daily_limit":2}}}`},
		{"an unknown field", `{"quotas":{"batchshareenv":{"daily":1}}}`},
	} {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			if err := New(Options{}).LoadState(strings.NewReader(tt.js)); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	t.Run("an invalid Options.Quotas entry makes New panic", func(t *testing.T) {
		defer func() {
			if r := recover(); r == nil || !strings.Contains(r.(string), "Options.Quotas") {
				t.Fatalf("recovered %v", r)
			}
		}()
		New(Options{Quotas: map[string]QuotaLimit{"nope": {DailyLimit: 1}}})
	})
}

func ptr[T any](v T) *T { return &v }

// TestTheClientWaitsForTheEmulatorsNextMinute runs pkg/wechat's 45011 wait against the
// emulator's per-minute limit on one fake clock: no real waiting.
func TestTheClientWaitsForTheEmulatorsNextMinute(t *testing.T) {
	clk := NewClock(time.Date(2026, 12, 7, 4, 0, 45, 0, time.UTC))
	h := setup(t, Options{Now: clk.Now, Quotas: map[string]QuotaLimit{EndpointGetEnvID: {DailyLimit: 100, MinuteLimit: 1}}})
	var waited []time.Duration
	client := h.client(wechat.WithClock(clk.Now), wechat.WithWait(func(ctx context.Context, d time.Duration) error {
		waited = append(waited, d)
		clk.Advance(d)
		return ctx.Err()
	}))
	for range 3 {
		if _, err := client.GetEnvID(t.Context(), &wechat.GetEnvIDRequest{AppIDs: []string{appBound}, SourceType: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if want := []time.Duration{15 * time.Second, time.Minute}; !reflect.DeepEqual(waited, want) {
		t.Errorf("waits %v, want %v", waited, want)
	}
	if n := h.emu.Calls(EndpointGetEnvID); n != 5 {
		t.Errorf("%d calls, want 5 (two answered 45011)", n)
	}
}
