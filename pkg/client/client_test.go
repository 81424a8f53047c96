package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envshare/envshare/pkg/client"
	"github.com/envshare/envshare/pkg/retry"
	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/wechat"
)

// now is the tests' clock: no test depends on the wall clock's pace.
var now = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

// waits records the pauses a Client asked for, and returns at once.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) wait(_ context.Context, d time.Duration) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.d = append(w.d, d)
	return nil
}

func (w *waits) all() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.d)
}

// testClient is a Client of f whose pauses are recorded, not waited.
func testClient(t *testing.T, f *fakeDeployment, mode client.AuthMode, maxWait time.Duration) (*client.Client, *waits) {
	t.Helper()
	w := &waits{}
	c, err := client.NewHTTPClient(f.URL, client.Auth{Mode: mode, Secret: testSecret}, client.Options{
		Retry: retry.Policy{Attempts: 3, Base: time.Second, Max: 4 * time.Second, Wait: w.wait,
			Jitter: func(ceiling time.Duration) time.Duration { return ceiling }, Now: func() time.Time { return now }},
		MaxWait: maxWait,
		Now:     func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, w
}

func TestEveryActionOverBothAuthModes(t *testing.T) {
	for _, mode := range []client.AuthMode{client.AuthBearer, client.AuthHMAC} {
		t.Run(string(mode), func(t *testing.T) {
			f, stop := newFakeDeployment(string(mode))
			defer stop()
			c, _ := testClient(t, f, mode, 0)
			ctx := context.Background()

			res, err := c.Share(ctx, "prod-6gni9ity244a6ea3", []string{"wx075cf85bf347b6df", "wx1a2b3c4d5e6f7081"})
			if err != nil {
				t.Fatal(err)
			}
			if s, ok := res.Summary.(*share.ShareSummary); !ok || s.Requested != 2 || s.Shared != 1 || s.PendingConfirmation != 1 {
				t.Errorf("share: %+v", res)
			}
			for _, o := range res.Results {
				if o.Status == share.StatusPendingConfirmation && o.ConfirmURL == "" {
					t.Errorf("pending without a confirm_url: %+v", o)
				}
			}
			res, err = c.Bindings(ctx, []string{"wx075cf85bf347b6df"})
			if err != nil || len(res.Bindings) != 1 || !slices.Contains(res.Bindings[0].Envs, "prod-6gni9ity244a6ea3") {
				t.Errorf("bindings: %+v, %v", res, err)
			}
			res, err = c.Unshare(ctx, "prod-6gni9ity244a6ea3", []string{"wx075cf85bf347b6df"})
			if s, ok := res.Summary.(*share.UnshareSummary); err != nil || !ok || s.Unshared != 1 {
				t.Errorf("unshare: %+v, %v", res, err)
			}
			res, err = c.Reconcile(ctx, nil, share.ReconcileOptions{DryRun: true})
			if s, ok := res.Summary.(*share.ReconcileSummary); err != nil || !ok || !res.DryRun || s.Desired != 2 || s.WouldShare == 0 {
				t.Errorf("reconcile: %+v, %v", res, err)
			}
			ref, err := c.Refresh(ctx, true)
			if err != nil || !ref.Minted || ref.TicketAgeS != 42 || ref.ExpiresAt.IsZero() {
				t.Errorf("refresh: %+v, %v", ref, err)
			}
			want := []string{"POST /share", "POST /bindings", "POST /unshare", "POST /reconcile", "POST /refresh"}
			if got := f.Calls(); !slices.Equal(got, want) {
				t.Errorf("calls %v, want %v", got, want)
			}
		})
	}
}

// /fleet and /quota are not served by the function yet: the contract's shapes decode.
func TestFleetAndQuotaDecodeTheContractsShapes(t *testing.T) {
	f, stop := newFakeDeployment("hmac")
	defer stop()
	c, _ := testClient(t, f, client.AuthHMAC, 0)
	fleet, err := c.Fleet(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(fleet.Customers) != 1 || fleet.Customers[0].AwaitingConfirmation != 1 || fleet.Customers[0].Envs[0] != "cust-a-7f3k2m" ||
		fleet.Authorizers.PermissionMissing != 1 || len(fleet.OldestPending) != 1 ||
		!fleet.OldestPending[0].LinkIssuedAt.Equal(time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("fleet: %+v", fleet)
	}
	quota, err := c.Quota(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(quota.Quotas) != 4 || quota.Quotas[0] != (client.APIQuota{API: "batchshareenv", DailyLimit: 10000, Used: 120, Remain: 9880}) {
		t.Errorf("quota: %+v", quota)
	}
	if got := f.Calls(); !slices.Equal(got, []string{"GET /fleet", "GET /quota"}) {
		t.Errorf("calls %v", got)
	}
}

func TestInvalidInputIsRefusedBeforeAnyCall(t *testing.T) {
	f, stop := newFakeDeployment("bearer")
	defer stop()
	c, _ := testClient(t, f, client.AuthBearer, 0)
	_, err := c.Share(context.Background(), "Prod!", []string{"wx12", "wx075cf85bf347b6df"})
	var e *client.Error
	if !errors.As(err, &e) || e.Code != share.CodeInvalidRequest || len(e.Details) != 2 ||
		!strings.Contains(e.Details[0], "env") || !strings.Contains(e.Details[1], "appids[0]") {
		t.Fatalf("got %#v", err)
	}
	if len(f.Calls()) != 0 {
		t.Errorf("calls were made: %v", f.Calls())
	}
}

func TestErrorsCarryTheContractsCode(t *testing.T) {
	errcode := 48001
	tests := []struct {
		name     string
		answers  []canned
		code     share.Code
		status   int
		attempts int
		pauses   []time.Duration
		check    func(t *testing.T, e *client.Error)
	}{
		{name: "upstream_error is not retried and carries wechat_errcode",
			answers: []canned{{status: 502, body: `{"ok":false,"error":{"code":"upstream_error","message":"WeChat refused","wechat_errcode":48001,"wechat_errmsg":"api unauthorized"}}`}},
			code:    share.CodeUpstreamError, status: 502, attempts: 1,
			check: func(t *testing.T, e *client.Error) {
				if e.WechatErrcode == nil || *e.WechatErrcode != errcode || e.WechatErrmsg != "api unauthorized" {
					t.Errorf("wechat fields: %+v", e)
				}
			}},
		{name: "upstream_unavailable is retried until the attempts are used up",
			answers: []canned{
				{status: 503, body: `{"ok":false,"error":{"code":"upstream_unavailable","message":"busy"}}`},
				{status: 503, body: `{"ok":false,"error":{"code":"upstream_unavailable","message":"busy"}}`},
				{status: 504, body: `{"ok":false,"error":{"code":"deadline_exceeded","message":"late"}}`}},
			code: share.CodeDeadlineExceeded, status: 504, attempts: 3, pauses: []time.Duration{time.Second, 2 * time.Second}},
		{name: "a daily quota is returned at once by default",
			answers: []canned{{status: 429, body: `{"ok":false,"error":{"code":"quota_exhausted","message":"daily quota","wechat_errcode":45009,"retry_after":"2026-12-07T16:00:00Z"}}`}},
			code:    client.CodeQuotaExhausted, status: 429, attempts: 1,
			check: func(t *testing.T, e *client.Error) {
				if !e.RetryAfter.Equal(time.Date(2026, 12, 7, 16, 0, 0, 0, time.UTC)) {
					t.Errorf("RetryAfter %v", e.RetryAfter)
				}
			}},
		{name: "a gateway's 429 with Retry-After is waited for",
			answers: []canned{{status: 429, body: `{"message":"Too Many Requests"}`, header: map[string]string{"Retry-After": "7"}},
				{status: 502, body: `<html>Bad Gateway</html>`, header: map[string]string{"Content-Type": "text/html"}}},
			status: 502, attempts: 2, pauses: []time.Duration{time.Second, 7 * time.Second}},
		{name: "unauthorized is not retried",
			answers: []canned{{status: 401, body: `{"ok":false,"error":{"code":"unauthorized","message":"missing or invalid credentials"}}`}},
			code:    client.CodeUnauthorized, status: 401, attempts: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, stop := newFakeDeployment("bearer")
			defer stop()
			f.answerWith(tc.answers...)
			c, w := testClient(t, f, client.AuthBearer, 0)
			_, err := c.Bindings(context.Background(), []string{"wx075cf85bf347b6df"})
			var e *client.Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want an *Error", err)
			}
			if e.Code != tc.code || e.Status != tc.status || client.CodeOf(err) != tc.code {
				t.Errorf("code %q status %d, want %q %d: %v", e.Code, e.Status, tc.code, tc.status, err)
			}
			if n := len(f.Calls()); n != tc.attempts {
				t.Errorf("%d attempts, want %d", n, tc.attempts)
			}
			if got := w.all(); !slices.Equal(got, tc.pauses) {
				t.Errorf("pauses %v, want %v", got, tc.pauses)
			}
			if tc.check != nil {
				tc.check(t, e)
			}
		})
	}
}

func TestAQuotaWithinMaxWaitIsWaitedForThenRetried(t *testing.T) {
	f, stop := newFakeDeployment("bearer")
	defer stop()
	f.answerWith(canned{status: 429, body: `{"ok":false,"error":{"code":"quota_exhausted","message":"daily quota","retry_after":"2026-12-07T16:00:00Z"}}`})
	c, w := testClient(t, f, client.AuthBearer, 7*time.Hour)
	res, err := c.Bindings(context.Background(), []string{"wx075cf85bf347b6df"})
	if err != nil || !res.OK {
		t.Fatalf("%+v, %v", res, err)
	}
	// The backoff's pause, then the rest of the wait until retry_after.
	if got := w.all(); len(got) != 2 || got[1] != 6*time.Hour {
		t.Errorf("pauses %v, want [1s 6h]", got)
	}
}

func TestAWaitPastTheDeadlineIsNotStarted(t *testing.T) {
	f, stop := newFakeDeployment("bearer")
	defer stop()
	// The context's deadline is real (the HTTP call honours it): the clock is the real one here.
	start := time.Now()
	f.answerWith(canned{status: 429, body: `{"ok":false,"error":{"code":"quota_exhausted","message":"daily quota","retry_after":"` +
		start.Add(6*time.Hour).UTC().Format(time.RFC3339) + `"}}`})
	c, err := client.NewHTTPClient(f.URL, client.Auth{Mode: client.AuthBearer, Secret: testSecret},
		client.Options{MaxWait: 7 * time.Hour, Retry: retry.Policy{Attempts: 3, Wait: (&waits{}).wait}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithDeadline(context.Background(), start.Add(time.Hour))
	defer cancel()
	_, err = c.Bindings(ctx, []string{"wx075cf85bf347b6df"})
	if client.CodeOf(err) != client.CodeQuotaExhausted || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	if n := len(f.Calls()); n != 1 {
		t.Errorf("%d calls", n)
	}
}

func TestWrongCredentialsAnswerUnauthorized(t *testing.T) {
	for _, tc := range []struct{ deployment, client client.AuthMode }{
		{client.AuthHMAC, client.AuthBearer}, {client.AuthBearer, client.AuthHMAC},
	} {
		f, stop := newFakeDeployment(string(tc.deployment))
		c, _ := testClient(t, f, tc.client, 0)
		_, err := c.Bindings(context.Background(), []string{"wx075cf85bf347b6df"})
		stop()
		if client.CodeOf(err) != client.CodeUnauthorized {
			t.Errorf("%s against %s: %v", tc.client, tc.deployment, err)
		}
	}
}

func TestNoAnswerIsReturnedAsItIs(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens
	c, err := client.NewHTTPClient(url, client.Auth{Mode: client.AuthNone}, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Quota(context.Background())
	var e *client.Error
	if err == nil || errors.As(err, &e) || !strings.Contains(err.Error(), "GET /quota") {
		t.Fatalf("got %v", err)
	}
}

func TestSettingsMistakesAreNamed(t *testing.T) {
	tests := []struct {
		url  string
		auth client.Auth
		want string
	}{
		{"", client.Auth{Mode: client.AuthNone}, "ENVSHARE_URL"},
		{"ftp://example.com", client.Auth{Mode: client.AuthNone}, "not an http(s) URL"},
		{"https://example.com/prod", client.Auth{}, "ENVSHARE_HTTP_AUTH is not set"},
		{"https://example.com/prod", client.Auth{Mode: "basic"}, `"basic" is not one of hmac, bearer, none`},
		{"https://example.com/prod", client.Auth{Mode: client.AuthHMAC}, "ENVSHARE_HTTP_SECRET is empty"},
		{"https://example.com/prod", client.Auth{Mode: client.AuthBearer, Secret: "a-secret-value-1234\n"}, "white space"},
	}
	for _, tc := range tests {
		_, err := client.NewHTTP(tc.url, tc.auth, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q %+v: %v, want %q", tc.url, tc.auth.Mode, err, tc.want)
		}
		if err != nil && tc.auth.Secret != "" && strings.Contains(err.Error(), tc.auth.Secret) {
			t.Errorf("the error quotes the secret")
		}
	}
}

// fakeInvoke is an Invoke transport that answers as a function does: a value, or a failed
// invocation's message.
type fakeInvoke struct {
	answers []client.Answer
	calls   []client.Call
}

func (f *fakeInvoke) RoundTrip(_ context.Context, call client.Call) (client.Answer, error) {
	f.calls = append(f.calls, call)
	a := f.answers[0]
	f.answers = f.answers[1:]
	return a, nil
}

func TestInvocationAnswers(t *testing.T) {
	inv := &fakeInvoke{answers: []client.Answer{
		{FunctionError: "upstream_unavailable: WeChat is busy"}, // transient: retried
		{Body: []byte(`{"ok":false,"error":{"code":"invalid_request","message":"invalid request","details":["appids: required"]}}`)},
	}}
	w := &waits{}
	c := client.New(inv, client.Options{Retry: retry.Policy{Attempts: 3, Wait: w.wait}})
	_, err := c.Bindings(context.Background(), []string{"wx075cf85bf347b6df"})
	var e *client.Error
	if !errors.As(err, &e) || e.Code != share.CodeInvalidRequest || e.Status != 0 || e.FunctionError || len(e.Details) != 1 {
		t.Fatalf("got %#v", err)
	}
	if len(inv.calls) != 2 || string(inv.calls[0].Body) != `{"action":"bindings","appids":["wx075cf85bf347b6df"]}` {
		t.Errorf("calls %+v", inv.calls)
	}

	inv = &fakeInvoke{answers: []client.Answer{{FunctionError: "internal error; see the function's log"}}}
	_, err = client.New(inv, client.Options{}).Refresh(context.Background(), false)
	if !errors.As(err, &e) || e.Code != "" || !e.FunctionError || len(inv.calls) != 1 {
		t.Errorf("got %#v", err)
	}

	inv = &fakeInvoke{answers: []client.Answer{{Body: []byte(`{"ok":true,"action":"bindings","source_type":1,"bindings":[{"appid":"wx075cf85bf347b6df","envs":["e1"]}],"errors":[]}`)}}}
	res, err := client.New(inv, client.Options{}).Bindings(context.Background(), []string{"wx075cf85bf347b6df"})
	if err != nil || !res.OK || res.Bindings[0].Envs[0] != "e1" {
		t.Errorf("%+v %v", res, err)
	}
}

func TestErrorText(t *testing.T) {
	code := 45009
	e := &client.Error{Code: client.CodeQuotaExhausted, Status: 429, Message: "daily quota", WechatErrcode: &code,
		WechatErrmsg: "reach max api daily quota limit", RetryAfter: time.Date(2026, 12, 7, 16, 0, 0, 0, time.UTC)}
	want := "envshare: quota_exhausted (HTTP 429): daily quota (WeChat errcode 45009: reach max api daily quota limit); retry after 2026-12-07T16:00:00Z"
	if e.Error() != want {
		t.Errorf("%s\nwant %s", e.Error(), want)
	}
}

// Reconcile's envs and switches reach the deployment as a manifest.
func TestReconcileSendsTheManifest(t *testing.T) {
	inv := &fakeInvoke{answers: []client.Answer{{Body: []byte(`{"ok":true,"action":"reconcile","source_type":1,"dry_run":true,"summary":{"desired":1},"results":[]}`)}}}
	_, err := client.New(inv, client.Options{}).Reconcile(context.Background(),
		[]wechat.EnvAppIDs{{Env: "e1", AppIDs: []string{"wx075cf85bf347b6df"}}}, share.ReconcileOptions{DryRun: true, Shard: &share.Shard{Index: 1, Count: 2}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"action":"reconcile","envs":[{"env":"e1","appids":["wx075cf85bf347b6df"]}],"prune":false,"dry_run":true,"shard":{"index":1,"count":2}}`
	if got := string(inv.calls[0].Body); got != want {
		t.Errorf("body %s\nwant %s", got, want)
	}
}
