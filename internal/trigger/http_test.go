package trigger

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/config"
	"github.com/envshare/envshare/internal/testkit"
	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/signature"
	"github.com/envshare/envshare/pkg/wechat"
)

const shareBody = `{"env":"test-env","appids":["wx0123456789abcdef"]}`

func TestRoutes(t *testing.T) {
	tests := []struct {
		name       string
		req        HTTPRequest
		wantStatus int
		wantCode   share.Code // error code, "" for success
		wantAllow  string
		wantAction string // action the Doer saw, "" for none
	}{
		{"healthz answers ok", HTTPRequest{Method: "GET", Path: "/healthz"}, 200, "", "", ""},
		{"healthz behind a stage and a trailing slash answers ok", HTTPRequest{Method: "GET", Path: "/prod/healthz/"}, 200, "", "", ""},
		{"share is routed under a base path", post("/prod/api/share", shareBody), 200, "", "", share.ActionShare},
		{"unshare is not mistaken for share", post("/unshare", shareBody), 200, "", "", share.ActionUnshare},
		{"bindings accepts POST", post("/bindings", `{"appids":["wx0123456789abcdef"]}`), 200, "", "", share.ActionBindings},
		{"reconcile accepts an empty body", post("/reconcile", ""), 200, "", "", share.ActionReconcile},
		{"the method name is case-insensitive", HTTPRequest{Method: "post", Path: "/share", Headers: bearer(), Body: shareBody}, 200, "", "", share.ActionShare},
		{"an unknown path is not found", post("/shares", shareBody), 404, share.CodeNotFound, "", ""},
		{"the root path is not found", HTTPRequest{Method: "GET", Path: "/"}, 404, share.CodeNotFound, "", ""},
		{"routes are case-sensitive", post("/Share", shareBody), 404, share.CodeNotFound, "", ""},
		{"GET share is not allowed", HTTPRequest{Method: "GET", Path: "/share", Headers: bearer()}, 405, share.CodeMethodNotAllowed, "POST", ""},
		{"DELETE bindings is not allowed", HTTPRequest{Method: "DELETE", Path: "/bindings", Headers: bearer()}, 405, share.CodeMethodNotAllowed, "GET, POST", ""},
		{"POST healthz is not allowed", HTTPRequest{Method: "POST", Path: "/healthz"}, 405, share.CodeMethodNotAllowed, "GET", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, nil)
			resp := f.app.HTTP(context.Background(), tt.req)
			if resp.Status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", resp.Status, tt.wantStatus, resp.Body)
			}
			if resp.Headers["Content-Type"] != "application/json" {
				t.Errorf("Content-Type = %q", resp.Headers["Content-Type"])
			}
			if tt.wantCode != "" && errorCode(t, resp) != tt.wantCode {
				t.Errorf("error code = %q, want %q", errorCode(t, resp), tt.wantCode)
			}
			if resp.Headers["Allow"] != tt.wantAllow {
				t.Errorf("Allow = %q, want %q", resp.Headers["Allow"], tt.wantAllow)
			}
			reqs := f.doer.requests()
			switch {
			case tt.wantAction == "" && len(reqs) > 0:
				t.Errorf("the Doer was called: %+v", reqs)
			case tt.wantAction != "" && (len(reqs) != 1 || reqs[0].Action != tt.wantAction):
				t.Errorf("the Doer saw %+v, want one %s", reqs, tt.wantAction)
			}
		})
	}
}

func TestHealthzNeedsNeitherConfigurationNorUpstream(t *testing.T) {
	f := setup(t, map[string]string{"ENVSHARE_TOKEN_MODE": "bogus", "ENVSHARE_HTTP_AUTH": ""})
	resp := f.app.HTTP(context.Background(), HTTPRequest{Method: "GET", Path: "/healthz"})
	if resp.Status != 200 || resp.Body != `{"ok":true}` {
		t.Fatalf("got %d %s", resp.Status, resp.Body)
	}
	if *f.builds != 0 {
		t.Errorf("healthz built the service")
	}
}

func TestUnsetAuthRefusesEveryRouteButHealthz(t *testing.T) {
	f := setup(t, map[string]string{"ENVSHARE_HTTP_AUTH": "", "ENVSHARE_HTTP_SECRET": ""})
	for _, path := range []string{"/share", "/unshare", "/bindings", "/reconcile"} {
		resp := f.app.HTTP(context.Background(), post(path, shareBody))
		if resp.Status != 500 || errorCode(t, resp) != share.CodeAuthNotConfigured {
			t.Errorf("%s: got %d %s", path, resp.Status, resp.Body)
		}
	}
	if len(f.doer.requests()) != 0 {
		t.Errorf("the Doer was called")
	}
	res, err := f.app.Message(context.Background(), []byte(`{"action":"share",`+shareBody[1:]))
	if err != nil || !res.(*share.Result).OK {
		t.Errorf("a direct message must still work without HTTP auth: %v %v", res, err)
	}
}

func TestBearerAuth(t *testing.T) {
	tests := []struct {
		name    string
		headers map[string]string
		multi   map[string][]string
		want    int
		reason  string // logged, never answered
	}{
		{"the exact header is accepted", map[string]string{"Authorization": "Bearer " + testSecret}, nil, 200, ""},
		{"a lowercase header name is accepted", map[string]string{"authorization": "Bearer " + testSecret}, nil, 200, ""},
		{"the scheme is case-insensitive", map[string]string{"Authorization": "bEARER " + testSecret}, nil, 200, ""},
		{"surrounding spaces are ignored", map[string]string{"Authorization": "  Bearer   " + testSecret + " "}, nil, 200, ""},
		{"a multi-value header with one value is accepted", nil, map[string][]string{"authorization": {"Bearer " + testSecret}}, 200, ""},
		{"a wrong secret is refused", map[string]string{"Authorization": "Bearer nope"}, nil, 401, "bad_token"},
		{"a longer secret is refused", map[string]string{"Authorization": "Bearer " + testSecret + "x"}, nil, 401, "bad_token"},
		{"another scheme is refused", map[string]string{"Authorization": "Basic " + testSecret}, nil, 401, "wrong_scheme"},
		{"the secret alone is refused", map[string]string{"Authorization": testSecret}, nil, 401, "wrong_scheme"},
		{"no header is refused", nil, nil, 401, "missing_header"},
		{"conflicting multi-value headers are refused", nil, map[string][]string{"Authorization": {"Bearer " + testSecret, "Bearer nope"}}, 401, "ambiguous_header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, nil)
			resp := f.app.HTTP(context.Background(), HTTPRequest{Method: "POST", Path: "/share", Headers: tt.headers, MultiValueHeaders: tt.multi, Body: shareBody})
			if resp.Status != tt.want {
				t.Fatalf("status = %d, want %d: %s", resp.Status, tt.want, resp.Body)
			}
			if tt.want == 401 {
				if resp.Body != `{"ok":false,"error":{"code":"unauthorized","message":"missing or invalid credentials"}}` {
					t.Errorf("401 body tells too much or too little: %s", resp.Body)
				}
				if len(f.doer.requests()) != 0 {
					t.Errorf("the Doer was called")
				}
			}
			wantAuthReason(t, f, tt.reason)
		})
	}
}

// wantAuthReason checks the log line of a refused authentication: its reason class, and
// neither the secret nor a signature.
func wantAuthReason(t *testing.T, f *fixture, reason string) {
	t.Helper()
	logs := f.logs.String()
	if reason == "" {
		if strings.Contains(logs, "HTTP authentication failed") {
			t.Errorf("an accepted request logged a failure: %s", logs)
		}
		return
	}
	if !strings.Contains(logs, `"level":"WARN","msg":"HTTP authentication failed"`) || !strings.Contains(logs, `"reason":"`+reason+`"`) {
		t.Errorf("no WARN line with reason %s: %s", reason, logs)
	}
	if strings.Contains(logs, testSecret) || strings.Contains(logs, "sha256=") {
		t.Errorf("the log shows a secret or a signature: %s", logs)
	}
}

func TestHMACAuth(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	sign := func(ts int64, body string) map[string]string {
		return map[string]string{
			"x-envshare-timestamp": strconv.FormatInt(ts, 10),
			"X-Envshare-Signature": signature.SignRequest(testSecret, ts, signature.Request{Method: "POST", Route: "/share", Body: []byte(body)}),
		}
	}
	b64 := base64.StdEncoding.EncodeToString([]byte(shareBody))
	tests := []struct {
		name    string
		headers map[string]string
		body    string
		base64  bool
		want    int
		reason  string // logged, never answered
	}{
		{"a fresh signature is accepted", sign(now.Unix(), shareBody), shareBody, false, 200, ""},
		{"a signature 299 s old is accepted", sign(now.Unix()-299, shareBody), shareBody, false, 200, ""},
		{"a base64 body is verified over its decoded bytes", sign(now.Unix(), shareBody), b64, true, 200, ""},
		{"a signature over the base64 text is refused", sign(now.Unix(), b64), b64, true, 401, "bad_signature"},
		{"a stale timestamp is refused", sign(now.Unix()-301, shareBody), shareBody, false, 401, "expired_timestamp"},
		{"a future timestamp is refused", sign(now.Unix()+301, shareBody), shareBody, false, 401, "expired_timestamp"},
		{"a signature of another body is refused", sign(now.Unix(), `{}`), shareBody, false, 401, "bad_signature"},
		{"a missing signature is refused", map[string]string{"X-Envshare-Timestamp": strconv.FormatInt(now.Unix(), 10)}, shareBody, false, 401, "missing_header"},
		{"a bearer token is refused", bearer(), shareBody, false, 401, "missing_header"},
		{"a timestamp sent twice is refused", func() map[string]string {
			h := sign(now.Unix(), shareBody)
			h["X-Envshare-Timestamp"] = "1"
			return h
		}(), shareBody, false, 401, "ambiguous_header"},
		{"upper-case hex is refused", map[string]string{"X-Envshare-Timestamp": strconv.FormatInt(now.Unix(), 10),
			"X-Envshare-Signature": strings.ToUpper(sign(now.Unix(), shareBody)["X-Envshare-Signature"])}, shareBody, false, 401, "malformed_signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, map[string]string{"ENVSHARE_HTTP_AUTH": "hmac"})
			f.now = now
			resp := f.app.HTTP(context.Background(), HTTPRequest{Method: "POST", Path: "/share", Headers: tt.headers, Body: tt.body, IsBase64Encoded: tt.base64})
			if resp.Status != tt.want {
				t.Fatalf("status = %d, want %d: %s", resp.Status, tt.want, resp.Body)
			}
			wantAuthReason(t, f, tt.reason)
		})
	}
}

func TestNoneAuthNeedsNoCredentials(t *testing.T) {
	f := setup(t, map[string]string{"ENVSHARE_HTTP_AUTH": "none", "ENVSHARE_HTTP_SECRET": ""})
	resp := f.app.HTTP(context.Background(), HTTPRequest{Method: "POST", Path: "/share", Body: shareBody})
	if resp.Status != 200 {
		t.Fatalf("status = %d: %s", resp.Status, resp.Body)
	}
}

func TestBodies(t *testing.T) {
	big := `{"env":"test-env","appids":["` + strings.Repeat("a", 2100) + `"]}`
	tests := []struct {
		name     string
		body     string
		base64   bool
		want     int
		wantCode share.Code
	}{
		{"a base64 body is decoded", base64.StdEncoding.EncodeToString([]byte(shareBody)), true, 200, ""},
		{"a body over the limit is too large", big, false, 413, share.CodePayloadTooLarge},
		{"a base64 body over the limit once decoded is too large", base64.StdEncoding.EncodeToString([]byte(big)), true, 413, share.CodePayloadTooLarge},
		{"a base64 body under the limit once decoded is accepted although its text is longer", base64.StdEncoding.EncodeToString([]byte(shareBody + strings.Repeat(" ", 1500))), true, 200, ""},
		{"invalid base64 is a bad request", "not base64!", true, 400, share.CodeInvalidRequest},
		{"a typo field is a bad request", `{"env":"test-env","appids":["wx0123456789abcdef"],"dryrun":true}`, false, 400, share.CodeInvalidRequest},
		{"malformed JSON is a bad request", `{"env":`, false, 400, share.CodeInvalidRequest},
		{"a malformed appid is a bad request", `{"env":"test-env","appids":["wxBAD"]}`, false, 400, share.CodeInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, nil)
			resp := f.app.HTTP(context.Background(), HTTPRequest{Method: "POST", Path: "/share", Headers: bearer(), Body: tt.body, IsBase64Encoded: tt.base64})
			if resp.Status != tt.want {
				t.Fatalf("status = %d, want %d: %s", resp.Status, tt.want, resp.Body)
			}
			if tt.wantCode != "" {
				if got := errorCode(t, resp); got != tt.wantCode {
					t.Errorf("code = %q, want %q", got, tt.wantCode)
				}
				if len(f.doer.requests()) != 0 {
					t.Errorf("nothing may be sent upstream for a refused body")
				}
			}
		})
	}
}

func TestInvalidRequestsListDetails(t *testing.T) {
	f := setup(t, nil)
	resp := f.app.HTTP(context.Background(), post("/share", `{"env":"test-env","appids":["wxBAD"],"dryrun":true}`))
	m := decodeBody(t, resp)
	details, _ := m["error"].(map[string]any)["details"].([]any)
	if resp.Status != 400 || len(details) < 2 {
		t.Fatalf("want 400 with every problem in details, got %d %s", resp.Status, resp.Body)
	}
}

func TestGetBindingsQuery(t *testing.T) {
	const a, b = "wx0123456789abcdef", "wxfedcba9876543210"
	one := 1
	tests := []struct {
		name       string
		query      map[string][]string
		wantAppIDs []string
		wantSource *int
		wantStatus int
	}{
		{"a comma-separated list is split", map[string][]string{"appids": {a + "," + b}}, []string{a, b}, nil, 200},
		// Query values arrive decoded: a %2C left in one is a comma the client encoded twice
		// (?appids=wxA%252CwxB), part of one value, never a separator.
		{"a %2C in a decoded value is no comma", map[string][]string{"appids": {a + "%2C" + b}}, nil, nil, 400},
		{"a %2c in a decoded value is no comma", map[string][]string{"appids": {a + "%2c" + b}}, nil, nil, 400},
		{"repeated parameters are joined", map[string][]string{"appids": {a, b}}, []string{a, b}, nil, 200},
		{"source_type is taken from the query", map[string][]string{"appids": {a}, "source_type": {"1"}}, []string{a}, &one, 200},
		{"a non-integer source_type is a bad request", map[string][]string{"appids": {a}, "source_type": {"x"}}, nil, nil, 400},
		{"an unknown parameter is a bad request", map[string][]string{"appids": {a}, "appid": {a}}, nil, nil, 400},
		{"no appids is a bad request", nil, nil, nil, 400},
		{"an empty item is a bad request", map[string][]string{"appids": {a + ",,"}}, nil, nil, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, nil)
			resp := f.app.HTTP(context.Background(), HTTPRequest{Method: "GET", Path: "/v1/bindings", Headers: bearer(), Query: tt.query})
			if resp.Status != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", resp.Status, tt.wantStatus, resp.Body)
			}
			if tt.wantStatus != 200 {
				return
			}
			reqs := f.doer.requests()
			if len(reqs) != 1 || reqs[0].Action != share.ActionBindings || !slices.Equal(reqs[0].AppIDs, tt.wantAppIDs) {
				t.Fatalf("the Doer saw %+v, want appids %v", reqs, tt.wantAppIDs)
			}
			if (reqs[0].SourceType == nil) != (tt.wantSource == nil) || (tt.wantSource != nil && *reqs[0].SourceType != *tt.wantSource) {
				t.Errorf("source_type = %v, want %v", reqs[0].SourceType, tt.wantSource)
			}
		})
	}
}

func TestServiceErrorsMapToStatuses(t *testing.T) {
	code := 48001
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   share.Code
	}{
		{"an upstream error is a bad gateway", &share.Error{Code: share.CodeUpstreamError, Message: "refused", WechatErrcode: &code, WechatErrmsg: "api unauthorized"}, 502, share.CodeUpstreamError},
		{"an unavailable upstream is 503", &share.Error{Code: share.CodeUpstreamUnavailable, Message: "busy"}, 503, share.CodeUpstreamUnavailable},
		{"a passed deadline is 504", &share.Error{Code: share.CodeDeadlineExceeded, Message: "late"}, 504, share.CodeDeadlineExceeded},
		{"a bare context deadline is 504", fmt.Errorf("wrapped: %w", context.DeadlineExceeded), 504, share.CodeDeadlineExceeded},
		{"any other error is a generic internal error", errors.New("boom " + testSecret + " https://x/?access_token=tok-never-printed"), 500, share.CodeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, nil)
			f.doer.answer = func(context.Context, share.Request) (*share.Result, error) { return nil, tt.err }
			resp := f.app.HTTP(context.Background(), post("/share", shareBody))
			if resp.Status != tt.wantStatus || errorCode(t, resp) != tt.wantCode {
				t.Fatalf("got %d %s, want %d %s", resp.Status, resp.Body, tt.wantStatus, tt.wantCode)
			}
			for _, secret := range []string{testSecret, "tok-never-printed"} {
				if strings.Contains(resp.Body, secret) || strings.Contains(f.logs.String(), secret) {
					t.Errorf("a secret leaked: body %s logs %s", resp.Body, f.logs.String())
				}
			}
		})
	}
}

func TestPartialFailureAnswers200(t *testing.T) {
	f := setup(t, nil)
	f.doer.answer = func(context.Context, share.Request) (*share.Result, error) {
		return &share.Result{OK: false, Action: share.ActionShare, SourceType: 1}, nil
	}
	resp := f.app.HTTP(context.Background(), post("/share", shareBody))
	if resp.Status != 200 || decodeBody(t, resp)["ok"] != false {
		t.Fatalf("got %d %s", resp.Status, resp.Body)
	}
}

func TestConfigurationFailuresAreAnsweredAndRetried(t *testing.T) {
	f := setup(t, map[string]string{"ENVSHARE_CHUNK_SIZE": "0"})
	resp := f.app.HTTP(context.Background(), post("/share", shareBody))
	if resp.Status != 500 || errorCode(t, resp) != share.CodeInternal || !strings.Contains(resp.Body, "ENVSHARE_CHUNK_SIZE") {
		t.Fatalf("got %d %s", resp.Status, resp.Body)
	}
	if _, err := f.app.Message(context.Background(), []byte(`{"action":"bindings","appids":["wx0123456789abcdef"]}`)); err == nil || !strings.Contains(err.Error(), "ENVSHARE_CHUNK_SIZE") {
		t.Fatalf("a message must fail with the configuration error, got %v", err)
	}
	t.Setenv("ENVSHARE_CHUNK_SIZE", "100")
	if resp := f.app.HTTP(context.Background(), post("/share", shareBody)); resp.Status != 200 {
		t.Fatalf("a fixed configuration must be read again: %d %s", resp.Status, resp.Body)
	}
}

func TestBuildFailuresAreNotCached(t *testing.T) {
	f := setup(t, nil)
	calls := 0
	f.app.build = func(ctx context.Context, cfg config.Config) (*Core, error) {
		calls++
		if calls == 1 {
			return nil, errors.New("manifest unreadable near " + testSecret)
		}
		return &Core{Share: f.doer}, nil
	}
	resp := f.app.HTTP(context.Background(), post("/share", shareBody))
	if resp.Status != 500 || strings.Contains(resp.Body, testSecret) {
		t.Fatalf("got %d %s", resp.Status, resp.Body)
	}
	if resp := f.app.HTTP(context.Background(), post("/share", shareBody)); resp.Status != 200 || calls != 2 {
		t.Fatalf("second attempt: %d %s after %d builds", resp.Status, resp.Body, calls)
	}
	f.app.HTTP(context.Background(), post("/share", shareBody))
	if calls != 2 {
		t.Errorf("a successful build must be kept, built %d times", calls)
	}
}

func TestConcurrentFirstInvocationsBuildOnce(t *testing.T) {
	f := setup(t, nil)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if resp := f.app.HTTP(context.Background(), post("/share", shareBody)); resp.Status != http.StatusOK {
				t.Errorf("status %d", resp.Status)
			}
		})
	}
	wg.Wait()
	if *f.builds != 1 {
		t.Errorf("built %d times", *f.builds)
	}
}

// FuzzHTTP: whatever a caller sends (method, path, body, base64 flag, credentials, query and
// headers of any names and values), the function answers, and with the class the input
// deserves: the configuration is valid and the core never fails here, so every answer is a
// success or a client error (4xx), never a 5xx. A GET /bindings that succeeds asked for exactly
// the comma-separated items of its appids values: nothing else (a %2C) separates them.
func FuzzHTTP(f *testing.F) {
	f.Add("POST", "/share", shareBody, false, "Bearer "+testSecret, "appids", "wx0123456789abcdef", "X-Envshare-Timestamp", "1")
	f.Add("GET", "/bindings", "", false, "Bearer "+testSecret, "source_type", "", "authorization", "Bearer x")
	f.Add("POST", "/reconcile", "e30=", true, "bearer "+testSecret, "appids", "a,b,%2C", "", "")
	f.Add("PUT", "/x/healthz", "{", false, "", "", "", "", "")
	f.Add("POST", "/wechat/events", "<xml><Encrypt>AA</Encrypt></xml>", false, "", "msg_signature", "00", "", "")
	f.Add("GET", "/confirm/AAAA", "", false, "", "", "", "", "")
	f.Add("POST", "/refresh", `{"force":true}`, false, "Bearer "+testSecret, "", "", "", "")
	f.Add("POST", "/share", `{"action":"share","action":"unshare"}`, false, "Bearer "+testSecret, "", "", "", "")
	fx := setupFuzz(f)
	f.Fuzz(func(t *testing.T, method, path, body string, b64 bool, auth, qname, qvalue, hname, hvalue string) {
		req := HTTPRequest{Method: method, Path: path, Body: body, IsBase64Encoded: b64,
			Headers: map[string]string{"Authorization": auth}, Query: map[string][]string{"appids": {body}}}
		if qname != "" {
			req.Query[qname] = append(req.Query[qname], qvalue)
			if qvalue == "" {
				req.Query[qname] = nil // a parameter without a value list
			}
		}
		if hname != "" {
			req.Headers[hname] = hvalue
		}
		before := len(fx.doer.requests())
		resp := fx.app.HTTP(context.Background(), req)
		switch resp.Status {
		case 200, 400, 401, 404, 405, 413:
		default:
			t.Fatalf("%s %s: status %d: %s", method, path, resp.Status, resp.Body)
		}
		if reqs := fx.doer.requests(); resp.Status == 200 && strings.ToUpper(method) == "GET" && len(reqs) > before &&
			reqs[len(reqs)-1].Action == share.ActionBindings {
			var items []string
			for _, v := range req.Query["appids"] {
				items = append(items, strings.Split(v, ",")...)
			}
			if got := reqs[len(reqs)-1].AppIDs; len(got) > len(items) {
				t.Fatalf("GET /bindings?appids=%q asked for %q: more appids than comma-separated items", req.Query["appids"], got)
			}
		}
		switch ct := resp.Headers["Content-Type"]; {
		case ct == "application/json":
			decodeBody(t, resp)
		case ct == "text/plain; charset=utf-8" && strings.HasSuffix(strings.TrimRight(path, "/"), "/wechat/events"):
		case ct == "text/html; charset=utf-8" && strings.Contains(path, "/confirm/"):
		default:
			t.Fatalf("%s %s: content type %q", method, path, ct)
		}
	})
}

// setupFuzz is setup for a fuzz target (t.Setenv is per test, so set the variables for f).
func setupFuzz(f *testing.F) *fixture {
	f.Setenv("ENVSHARE_COMPONENT_ACCESS_TOKEN", "tok")
	f.Setenv("ENVSHARE_HTTP_AUTH", "bearer")
	f.Setenv("ENVSHARE_HTTP_SECRET", testSecret)
	doer := &fakeDoer{}
	return &fixture{doer: doer, app: New(Options{
		Logger:     discardLogger(),
		MetricsOut: &testkit.Buffer{},
		Build:      func(context.Context, config.Config) (*Core, error) { return &Core{Share: doer}, nil },
	})}
}

func BenchmarkHTTPShare(b *testing.B) {
	b.Setenv("ENVSHARE_COMPONENT_ACCESS_TOKEN", "tok")
	b.Setenv("ENVSHARE_HTTP_AUTH", "hmac")
	b.Setenv("ENVSHARE_HTTP_SECRET", testSecret)
	doer := &fakeDoer{answer: func(context.Context, share.Request) (*share.Result, error) { return okResult(share.ActionShare), nil }}
	now := time.Unix(1_700_000_000, 0)
	app := New(Options{Platform: PlatformAWS, Logger: discardLogger(), MetricsOut: discard{}, Now: func() time.Time { return now },
		Build: func(context.Context, config.Config) (*Core, error) { return &Core{Share: doer}, nil }})
	req := HTTPRequest{Method: "POST", Path: "/prod/share", Body: shareBody, Headers: map[string]string{
		"x-envshare-timestamp": strconv.FormatInt(now.Unix(), 10),
		"x-envshare-signature": signature.SignRequest(testSecret, now.Unix(), signature.Request{Method: "POST", Route: "/share", Body: []byte(shareBody)}),
	}}
	b.ReportAllocs()
	for b.Loop() {
		doer.reqs = doer.reqs[:0]
		if resp := app.HTTP(context.Background(), req); resp.Status != 200 {
			b.Fatal(resp.Body)
		}
	}
}

// The fixture of the HTTP tests (and of most others of the package): an App over a fake Doer.

const testSecret = "s3cret-http-key-of-24b"

// fakeDoer decodes every body as the service does, records the request and answers with
// answer (a successful share by default).
type fakeDoer struct {
	mu     sync.Mutex
	reqs   []share.Request
	answer func(ctx context.Context, req share.Request) (*share.Result, error)
}

func (f *fakeDoer) DoJSON(ctx context.Context, body []byte, action string) (*share.Result, error) {
	req, err := share.Decode(body, action)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	if trace := wechat.ContextClientTrace(ctx); trace != nil { // one upstream call, as counted
		trace.AttemptStart(wechat.AttemptStartInfo{Endpoint: "batchshareenv", Attempt: 1})
	}
	if f.answer != nil {
		return f.answer(ctx, req)
	}
	return okResult(req.Action), nil
}

func (f *fakeDoer) requests() []share.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]share.Request(nil), f.reqs...)
}

func okResult(action string) *share.Result {
	return &share.Result{OK: true, Action: action, SourceType: 1,
		Summary: &share.ShareSummary{Requested: 1, Shared: 1},
		Results: []share.Outcome{{Env: "test-env", AppID: "wx0123456789abcdef", Status: share.StatusShared}}}
}

type fixture struct {
	app    *App
	doer   *fakeDoer
	logs   *testkit.Buffer
	emf    *testkit.Buffer
	builds *int
	now    time.Time
}

// setup returns an App on platform aws wired to a fake Doer, with the given environment on top
// of a valid bearer-auth configuration. An env value "" unsets the variable.
func setup(t *testing.T, env map[string]string) *fixture {
	t.Helper()
	base := map[string]string{
		"ENVSHARE_COMPONENT_ACCESS_TOKEN": "tok-never-printed",
		"ENVSHARE_HTTP_AUTH":              "bearer",
		"ENVSHARE_HTTP_SECRET":            testSecret,
		"ENVSHARE_TOKEN_MODE":             "env",
		"ENVSHARE_MAX_BODY_BYTES":         "2048",
	}
	for k, v := range env {
		base[k] = v
	}
	isolateEnv(t)
	for k, v := range base {
		t.Setenv(k, v)
	}
	f := &fixture{doer: &fakeDoer{}, logs: &testkit.Buffer{}, emf: &testkit.Buffer{}, builds: new(int),
		now: time.Unix(1_700_000_000, 0)}
	var mu sync.Mutex
	f.app = New(Options{
		Platform:   PlatformAWS,
		Logger:     slog.New(slog.NewJSONHandler(f.logs, nil)),
		Now:        func() time.Time { return f.now },
		MetricsOut: f.emf,
		Build: func(ctx context.Context, cfg config.Config) (*Core, error) {
			mu.Lock()
			defer mu.Unlock()
			*f.builds++
			return &Core{Share: f.doer}, nil
		},
	})
	return f
}

func bearer() map[string]string { return map[string]string{"Authorization": "Bearer " + testSecret} }

func post(path, body string) HTTPRequest {
	return HTTPRequest{Method: "POST", Path: path, Headers: bearer(), Body: body}
}

// decodeBody decodes a response body into a map.
func decodeBody(t *testing.T, resp HTTPResponse) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &m); err != nil {
		t.Fatalf("body is not JSON: %q: %v", resp.Body, err)
	}
	return m
}

func errorCode(t *testing.T, resp HTTPResponse) share.Code {
	t.Helper()
	m := decodeBody(t, resp)
	e, _ := m["error"].(map[string]any)
	code, _ := e["code"].(string)
	return share.Code(code)
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// isolateEnv unsets every ENVSHARE_* variable of the caller's environment for the test, so that
// a developer's shell cannot change the results.
func isolateEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "ENVSHARE_") {
			t.Setenv(k, "") // restored at cleanup
			os.Unsetenv(k)
		}
	}
}

// useEnv makes base, with env on top, the test's only ENVSHARE_* variables; a value "" leaves
// the variable unset.
func useEnv(t *testing.T, base, env map[string]string) {
	t.Helper()
	for k, v := range env {
		base[k] = v
	}
	isolateEnv(t)
	for k, v := range base {
		if v != "" {
			t.Setenv(k, v)
		}
	}
}
