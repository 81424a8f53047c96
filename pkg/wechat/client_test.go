package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// received is what the fake saw of one request.
type received struct {
	method, contentType, token string
	hasToken                   bool
	body                       map[string]any
}

func record(t *testing.T, got *received, answer string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		got.method = r.Method
		got.contentType = r.Header.Get("Content-Type")
		got.token = r.URL.Query().Get("access_token")
		got.hasToken = r.URL.Query().Has("access_token")
		if err := json.NewDecoder(r.Body).Decode(&got.body); err != nil {
			t.Errorf("request body is not JSON: %v", err)
		}
		w.Header().Set("Content-Type", "text/plain") // WeChat often labels JSON as text/plain
		_, _ = io.WriteString(w, answer)
	}
}

func checkRequest(t *testing.T, got received, wantToken bool, wantBody string) {
	t.Helper()
	if got.method != http.MethodPost {
		t.Errorf("method = %s, want POST", got.method)
	}
	if got.contentType != "application/json" {
		t.Errorf("Content-Type = %q", got.contentType)
	}
	if wantToken && got.token != "tok-1" {
		t.Errorf("access_token = %q, want tok-1", got.token)
	}
	if !wantToken && got.hasToken {
		t.Errorf("access_token sent to a call that needs none")
	}
	var want map[string]any
	if err := json.Unmarshal([]byte(wantBody), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.body, want) {
		t.Errorf("body = %v, want %v", got.body, want)
	}
}

func TestShareEnvDecodesEveryField(t *testing.T) {
	f := setup(t)
	var got received
	f.mux.HandleFunc(PathShareEnv, record(t, &got, `{"errcode":0,"errmsg":"ok",
		"err_list":[{"env":"e1","appid":"wx0000000000000002","errmsg":"invalid appid"}],
		"msg_info_list":[{"appid":"wx0000000000000001","url":"https://confirm.example/1"}]}`))

	req := &ShareEnvRequest{Data: []EnvAppIDs{{Env: "e1", AppIDs: []string{"wx0000000000000001", "wx0000000000000002"}}}, SourceType: 1}
	resp, err := f.client.ShareEnv(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	want := &ShareEnvResponse{ErrCode: 0, ErrMsg: "ok",
		ErrList:     []EnvError{{Env: "e1", AppID: "wx0000000000000002", ErrMsg: "invalid appid"}},
		MsgInfoList: []MsgInfo{{AppID: "wx0000000000000001", URL: "https://confirm.example/1"}}}
	if !reflect.DeepEqual(resp, want) {
		t.Errorf("response = %+v, want %+v", resp, want)
	}
	checkRequest(t, got, true, `{"data":[{"env":"e1","appids":["wx0000000000000001","wx0000000000000002"]}],"source_type":1}`)
}

func TestUnshareEnvDecodesEveryField(t *testing.T) {
	f := setup(t)
	var got received
	f.mux.HandleFunc(PathUnshareEnv, record(t, &got, `{"errcode":0,"errmsg":"ok",
		"err_list":[{"env":"e1","appid":"wx0000000000000002","errmsg":"not shared"}]}`))

	req := &ShareEnvRequest{Data: []EnvAppIDs{{Env: "e1", AppIDs: []string{"wx0000000000000002"}}}, SourceType: 2}
	resp, err := f.client.UnshareEnv(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	want := &UnshareEnvResponse{ErrMsg: "ok", ErrList: []EnvError{{Env: "e1", AppID: "wx0000000000000002", ErrMsg: "not shared"}}}
	if !reflect.DeepEqual(resp, want) {
		t.Errorf("response = %+v, want %+v", resp, want)
	}
	checkRequest(t, got, true, `{"data":[{"env":"e1","appids":["wx0000000000000002"]}],"source_type":2}`)
}

func TestGetEnvIDDecodesEveryField(t *testing.T) {
	f := setup(t)
	var got received
	f.mux.HandleFunc(PathGetEnvID, record(t, &got, `{"errcode":0,"errmsg":"ok",
		"relation_data":[{"appid":"wx0000000000000001","env_list":["e1","e2"]}],
		"err_list":[{"appid":"wx0000000000000002","errmsg":"not authorized"}]}`))

	req := &GetEnvIDRequest{AppIDs: []string{"wx0000000000000001", "wx0000000000000002"}, SourceType: 1}
	resp, err := f.client.GetEnvID(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	want := &GetEnvIDResponse{ErrMsg: "ok",
		RelationData: []Relation{{AppID: "wx0000000000000001", EnvList: []string{"e1", "e2"}}},
		ErrList:      []AppError{{AppID: "wx0000000000000002", ErrMsg: "not authorized"}}}
	if !reflect.DeepEqual(resp, want) {
		t.Errorf("response = %+v, want %+v", resp, want)
	}
	checkRequest(t, got, true, `{"appids":["wx0000000000000001","wx0000000000000002"],"source_type":1}`)
}

func TestComponentTokenNeedsNoAccessToken(t *testing.T) {
	f := setup(t)
	var got received
	f.mux.HandleFunc(PathComponentToken, record(t, &got, `{"component_access_token":"minted","expires_in":7200}`))

	c := New(f.url, nil, WithWait(f.waits.wait))
	req := &ComponentTokenRequest{ComponentAppID: "wxc", ComponentAppSecret: "s3cret", ComponentVerifyTicket: "ticket"}
	resp, err := c.ComponentToken(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ComponentAccessToken != "minted" || resp.ExpiresIn != 7200 {
		t.Errorf("response = %+v", resp)
	}
	checkRequest(t, got, false, `{"component_appid":"wxc","component_appsecret":"s3cret","component_verify_ticket":"ticket"}`)

	t.Run("an answer without a token is a protocol error", func(t *testing.T) {
		f.mux.HandleFunc("/empty"+PathComponentToken, reply(`{"expires_in":7200}`))
		_, err := New(f.url+"/empty", nil).ComponentToken(context.Background(), req)
		var respErr *ResponseError
		if !errors.As(err, &respErr) {
			t.Fatalf("error = %v, want *ResponseError", err)
		}
	})
	t.Run("a token error code is not a reload of our token", func(t *testing.T) {
		f.mux.HandleFunc("/bad"+PathComponentToken, errcode(40001))
		_, err := New(f.url+"/bad", nil).ComponentToken(context.Background(), req)
		if apiErr := asAPIError(t, err); apiErr.Endpoint != "api_component_token" || errors.Is(err, ErrTokenRejected) {
			t.Errorf("error = %v", err)
		}
	})
}

func TestRequestBodiesAlwaysCarrySourceType(t *testing.T) {
	f := setup(t)
	bodies := make(chan string, 3)
	capture := func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies <- string(b)
		_, _ = io.WriteString(w, `{"errcode":0}`)
	}
	for _, p := range []string{PathShareEnv, PathUnshareEnv, PathGetEnvID} {
		f.mux.HandleFunc(p, capture)
	}
	ctx := context.Background()
	zero := &ShareEnvRequest{Data: []EnvAppIDs{{Env: "e1", AppIDs: []string{"wx0000000000000001"}}}} // SourceType 0
	if _, err := f.client.ShareEnv(ctx, zero); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.UnshareEnv(ctx, zero); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.GetEnvID(ctx, &GetEnvIDRequest{AppIDs: []string{"wx0000000000000001"}}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if b := <-bodies; !strings.Contains(b, `"source_type":`) {
			t.Errorf("body %s has no source_type", b)
		}
	}
}

func TestAnswersDecodeTolerantly(t *testing.T) {
	tests := []struct {
		name, answer string
		want         *GetEnvIDResponse
	}{
		{"an answer with only errcode decodes to empty lists", `{"errcode":0,"errmsg":"ok"}`, &GetEnvIDResponse{ErrMsg: "ok"}},
		{"an answer without errcode is a success", `{"relation_data":[{"appid":"wx1","env_list":["e1"]}]}`,
			&GetEnvIDResponse{RelationData: []Relation{{AppID: "wx1", EnvList: []string{"e1"}}}}},
		{"unknown fields are ignored", `{"errcode":0,"source_type":1,"relation_data":[{"appid":"wx1","env_list":[],"source_type":1,"extra":{"a":[1]}}],"new_field":true}`,
			&GetEnvIDResponse{RelationData: []Relation{{AppID: "wx1", EnvList: []string{}}}}},
		{"null lists decode as empty", `{"errcode":0,"relation_data":null,"err_list":null}`, &GetEnvIDResponse{}},
		{"leading whitespace is fine", " \n{\"errcode\":0}", &GetEnvIDResponse{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t)
			f.mux.HandleFunc(PathGetEnvID, reply(tt.answer))
			got, err := f.client.GetEnvID(context.Background(), &GetEnvIDRequest{AppIDs: []string{"wx1"}, SourceType: 1})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestPermanentAndQuotaCodesAreNeverRetried(t *testing.T) {
	codes := []int{99999} // unknown codes are permanent
	for _, code := range KnownErrcodes() {
		// 45011 waits for the next minute instead (quota_test.go).
		if c := ClassOf(code); (c == ClassPermanent || c == ClassQuota) && code != ErrcodeMinuteQuota {
			codes = append(codes, code)
		}
	}
	for _, code := range codes {
		t.Run("errcode "+itoa(code)+" fails at once", func(t *testing.T) {
			f := setup(t)
			f.mux.HandleFunc(PathShareEnv, errcode(code))
			_, err := f.client.ShareEnv(context.Background(), shareReq())
			apiErr := asAPIError(t, err)
			if apiErr.Code != code || apiErr.Endpoint != "batchshareenv" || apiErr.Msg != "fake error" {
				t.Errorf("APIError = %+v", apiErr)
			}
			if apiErr.Class() != ClassOf(code) {
				t.Errorf("class = %v, want %v", apiErr.Class(), ClassOf(code))
			}
			var unavailable *UnavailableError
			if errors.As(err, &unavailable) {
				t.Errorf("a permanent code is reported as unavailable: %v", err)
			}
			if n := f.hitsOf(PathShareEnv); n != 1 {
				t.Errorf("hits = %d, want 1", n)
			}
			if len(f.waits.all()) != 0 {
				t.Errorf("waited %v", f.waits.all())
			}
		})
	}
}

func TestTransientFailuresAreRetriedThenSucceed(t *testing.T) {
	tests := []struct {
		name  string
		first http.HandlerFunc
	}{
		{"busy -1", errcode(-1)},
		{"HTTP 500", status(500, "oops")},
		{"HTTP 502", status(502, "<html>bad gateway</html>")},
		{"HTTP 503", status(503, "")},
		{"a dropped connection", hangUp},
	}
	for _, tt := range tests {
		t.Run("after "+tt.name, func(t *testing.T) {
			f := setup(t)
			f.mux.HandleFunc(PathGetEnvID, sequence(tt.first, ok))
			m := &counts{}
			if _, err := f.client.GetEnvID(m.context(), &GetEnvIDRequest{AppIDs: []string{"wx1"}, SourceType: 1}); err != nil {
				t.Fatal(err)
			}
			if n := f.hitsOf(PathGetEnvID); n != 2 {
				t.Errorf("hits = %d, want 2", n)
			}
			if got := len(f.waits.all()); got != 1 {
				t.Errorf("backoff waits = %d, want 1", got)
			}
			if calls, retries, reloads := m.get(); calls != 2 || retries != 1 || reloads != 0 {
				t.Errorf("trace: calls %d, retries %d, reloads %d", calls, retries, reloads)
			}
		})
	}
}

func TestOtherAnswersArePermanentProtocolErrors(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		status  int
	}{
		{"HTTP 404", status(404, "not found"), 404},
		{"HTTP 429", status(429, "slow down"), 429},
		{"HTTP 302", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/elsewhere", http.StatusFound) }, 302},
		{"an HTML page with HTTP 200", reply("<html>proxy error</html>"), 200},
		{"an empty HTTP 200", reply(""), 200},
		{"a JSON array", reply(`[{"errcode":0}]`), 200},
		{"truncated JSON", reply(`{"errcode":0,"err_list":[`), 200},
		{"a wrongly typed field", reply(`{"errcode":"zero"}`), 200},
		{"an answer over 4 MiB", reply(`{"errmsg":"` + strings.Repeat("x", MaxAnswerBytes) + `"}`), 200},
	}
	for _, tt := range tests {
		t.Run(tt.name+" fails at once", func(t *testing.T) {
			f := setup(t)
			f.mux.HandleFunc(PathShareEnv, tt.handler)
			_, err := f.client.ShareEnv(context.Background(), shareReq())
			var respErr *ResponseError
			if !errors.As(err, &respErr) {
				t.Fatalf("error = %v (%T), want *ResponseError", err, err)
			}
			if respErr.StatusCode != tt.status || respErr.Endpoint != "batchshareenv" || respErr.Transient() {
				t.Errorf("ResponseError = %+v", respErr)
			}
			if n := f.hitsOf(PathShareEnv); n != 1 {
				t.Errorf("hits = %d, want 1", n)
			}
		})
	}
}

func TestAttemptsAreBounded(t *testing.T) {
	tests := []struct {
		name     string
		attempts int
		handler  http.HandlerFunc
		wantErr  func(t *testing.T, err error)
	}{
		{"busy every time", 3, errcode(-1), func(t *testing.T, err error) {
			if apiErr := asAPIError(t, err); apiErr.Code != -1 {
				t.Errorf("last cause = %v", apiErr)
			}
		}},
		{"HTTP 503 every time", 5, status(503, ""), func(t *testing.T, err error) {
			var respErr *ResponseError
			if !errors.As(err, &respErr) || respErr.StatusCode != 503 {
				t.Errorf("last cause = %v", err)
			}
		}},
		{"a dropped connection every time", 2, hangUp, func(t *testing.T, err error) {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("last cause = %v", err)
			}
		}},
		{"busy with a single attempt", 1, errcode(-1), func(t *testing.T, err error) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" gives up after the attempts", func(t *testing.T) {
			f := setup(t, WithAttempts(tt.attempts))
			f.mux.HandleFunc(PathUnshareEnv, tt.handler)
			m := &counts{}
			_, err := f.client.UnshareEnv(m.context(), shareReq())
			var unavailable *UnavailableError
			if !errors.As(err, &unavailable) {
				t.Fatalf("error = %v (%T), want *UnavailableError", err, err)
			}
			if unavailable.Attempts != tt.attempts || unavailable.Endpoint != "batchunshareenv" {
				t.Errorf("UnavailableError = %+v", unavailable)
			}
			tt.wantErr(t, err)
			if n := f.hitsOf(PathUnshareEnv); n != tt.attempts {
				t.Errorf("hits = %d, want %d", n, tt.attempts)
			}
			if got := len(f.waits.all()); got != tt.attempts-1 {
				t.Errorf("waits = %d, want %d", got, tt.attempts-1)
			}
			if _, retries, _ := m.get(); retries != tt.attempts-1 {
				t.Errorf("retries counted = %d", retries)
			}
		})
	}
}

func TestDefaultAttemptsAreThree(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc(PathShareEnv, errcode(-1))
	_, _ = f.client.ShareEnv(context.Background(), shareReq())
	if n := f.hitsOf(PathShareEnv); n != 3 {
		t.Errorf("hits = %d, want 3", n)
	}
}

func TestTheDefaultBackoffIs200msDoublingTo5s(t *testing.T) {
	c := New("http://127.0.0.1", nil)
	c.retry.Jitter = maxJitter
	if c.retry.Backoff(1) != 200*time.Millisecond || c.retry.Backoff(2) != 400*time.Millisecond || c.retry.Backoff(10) != 5*time.Second {
		t.Errorf("backoffs %v %v %v", c.retry.Backoff(1), c.retry.Backoff(2), c.retry.Backoff(10))
	}
}

func TestRetriesWaitTheJitteredBackoff(t *testing.T) {
	f := setup(t, WithAttempts(4), WithBackoff(10*time.Millisecond, 25*time.Millisecond))
	f.client.retry.Jitter = maxJitter
	f.mux.HandleFunc(PathShareEnv, errcode(-1))
	_, _ = f.client.ShareEnv(context.Background(), shareReq())
	want := []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 25 * time.Millisecond}
	if got := f.waits.all(); !reflect.DeepEqual(got, want) {
		t.Errorf("waits = %v, want %v", got, want)
	}
}

func TestTokenErrorsReloadOnceAndRetryOnce(t *testing.T) {
	for _, code := range []int{40001, 40014, 42001} {
		t.Run("errcode "+itoa(code)+" then success uses the reloaded token", func(t *testing.T) {
			f := setup(t)
			var mu sync.Mutex
			var seen []string
			f.mux.HandleFunc(PathShareEnv, func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				seen = append(seen, r.URL.Query().Get("access_token"))
				n := len(seen)
				mu.Unlock()
				if n == 1 {
					errcode(code)(w, r)
					return
				}
				ok(w, r)
			})
			m := &counts{}
			if _, err := f.client.ShareEnv(m.context(), shareReq()); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(seen, []string{"tok-1", "tok-2"}) {
				t.Errorf("tokens sent = %v", seen)
			}
			if got := f.tokens.reloads(); !reflect.DeepEqual(got, []string{"tok-1"}) {
				t.Errorf("Reload calls = %v, want one with the rejected token", got)
			}
			if calls, retries, reloads := m.get(); reloads != 1 || retries != 1 || calls != 2 || m.tokenRejected() != 0 {
				t.Errorf("trace: reloads %d, retries %d, calls %d, rejected %d", reloads, retries, calls, m.tokenRejected())
			}
			if len(f.waits.all()) != 0 {
				t.Errorf("a token retry waited %v", f.waits.all())
			}
		})
		t.Run("errcode "+itoa(code)+" twice is ErrTokenRejected", func(t *testing.T) {
			f := setup(t)
			f.mux.HandleFunc(PathGetEnvID, errcode(code))
			m := &counts{}
			_, err := f.client.GetEnvID(m.context(), &GetEnvIDRequest{AppIDs: []string{"wx1"}, SourceType: 1})
			if !errors.Is(err, ErrTokenRejected) {
				t.Fatalf("error = %v, want ErrTokenRejected", err)
			}
			if m.tokenRejected() != 1 {
				t.Errorf("trace: TokenRejected called %d times, want 1", m.tokenRejected())
			}
			if apiErr := asAPIError(t, err); apiErr.Code != code {
				t.Errorf("APIError = %+v", apiErr)
			}
			if n := f.hitsOf(PathGetEnvID); n != 2 {
				t.Errorf("hits = %d, want 2", n)
			}
			if got := len(f.tokens.reloads()); got != 1 {
				t.Errorf("reloads = %d, want 1", got)
			}
		})
	}
	t.Run("the retry after a reload does not use up a transient attempt", func(t *testing.T) {
		f := setup(t)
		f.mux.HandleFunc(PathShareEnv, sequence(errcode(40001), errcode(-1), errcode(-1), ok))
		if _, err := f.client.ShareEnv(context.Background(), shareReq()); err != nil {
			t.Fatal(err)
		}
		if n := f.hitsOf(PathShareEnv); n != 4 {
			t.Errorf("hits = %d, want 4", n)
		}
	})
}

func TestTokenSourceFailures(t *testing.T) {
	boom := errors.New("secret store down")
	t.Run("a failing Token sends nothing", func(t *testing.T) {
		f := setup(t)
		f.tokens.tokenErr = boom
		_, err := f.client.ShareEnv(context.Background(), shareReq())
		var tsErr *TokenSourceError
		if !errors.As(err, &tsErr) || !errors.Is(err, boom) {
			t.Fatalf("error = %v, want *TokenSourceError wrapping the cause", err)
		}
		if n := f.hitsOf(PathShareEnv); n != 0 {
			t.Errorf("hits = %d, want 0", n)
		}
	})
	t.Run("a failing Reload stops after the rejected attempt", func(t *testing.T) {
		f := setup(t)
		f.tokens.reloadErr = boom
		f.mux.HandleFunc(PathShareEnv, errcode(42001))
		m := &counts{}
		_, err := f.client.ShareEnv(m.context(), shareReq())
		var tsErr *TokenSourceError
		if !errors.As(err, &tsErr) || !errors.Is(err, boom) {
			t.Fatalf("error = %v, want *TokenSourceError", err)
		}
		if m.tokenRejected() != 1 {
			t.Errorf("trace: TokenRejected called %d times, want 1", m.tokenRejected())
		}
		if n := f.hitsOf(PathShareEnv); n != 1 {
			t.Errorf("hits = %d, want 1", n)
		}
	})
	t.Run("a client without a token source refuses token calls", func(t *testing.T) {
		f := setup(t)
		c := New(f.url, nil)
		_, err := c.GetEnvID(context.Background(), &GetEnvIDRequest{AppIDs: []string{"wx1"}})
		var tsErr *TokenSourceError
		if !errors.As(err, &tsErr) {
			t.Fatalf("error = %v, want *TokenSourceError", err)
		}
	})
}

func TestNilRequestsAreRefused(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	if _, err := f.client.ShareEnv(ctx, nil); err == nil {
		t.Error("ShareEnv(nil) succeeded")
	}
	if _, err := f.client.UnshareEnv(ctx, nil); err == nil {
		t.Error("UnshareEnv(nil) succeeded")
	}
	if _, err := f.client.GetEnvID(ctx, nil); err == nil {
		t.Error("GetEnvID(nil) succeeded")
	}
	if _, err := f.client.ComponentToken(ctx, nil); err == nil {
		t.Error("ComponentToken(nil) succeeded")
	}
}

func TestConnectionsAreReused(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc(PathShareEnv, sequence(errcode(-1), status(503, strings.Repeat("x", 10000)), ok, errcode(40097), ok))
	for range 5 {
		_, _ = f.client.ShareEnv(context.Background(), shareReq())
	}
	if n := f.hitsOf(PathShareEnv); n != 7 {
		t.Fatalf("hits = %d, want 7", n)
	}
	if n := f.conns(); n != 1 {
		t.Errorf("connections opened = %d, want 1 (bodies drained and reused)", n)
	}
}

func TestNewHTTPClientSetsExplicitTimeouts(t *testing.T) {
	hc := NewHTTPClient(7 * time.Second)
	tr, isTransport := hc.Transport.(*http.Transport)
	if !isTransport {
		t.Fatalf("transport is %T", hc.Transport)
	}
	if hc.Timeout != 7*time.Second || tr.ResponseHeaderTimeout != 7*time.Second || tr.TLSHandshakeTimeout != 5*time.Second {
		t.Errorf("timeouts: overall %v, header %v, TLS %v", hc.Timeout, tr.ResponseHeaderTimeout, tr.TLSHandshakeTimeout)
	}
	if tr.MaxIdleConnsPerHost != 64 || tr.IdleConnTimeout == 0 || tr.DisableKeepAlives {
		t.Errorf("keep-alive: per host %d, idle %v, disabled %v", tr.MaxIdleConnsPerHost, tr.IdleConnTimeout, tr.DisableKeepAlives)
	}
	if hc.CheckRedirect == nil {
		t.Error("redirects are followed")
	}
	if NewHTTPClient(0).Timeout != DefaultHTTPTimeout {
		t.Error("a zero timeout does not take the default")
	}
}

func TestRetryableIsAPureDecision(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"busy is retried", &APIError{Code: -1}, true},
		{"a token code is left to the reload", &APIError{Code: 40001}, false},
		{"a minute quota is not retried", &APIError{Code: 45011}, false},
		{"a permanent code is not retried", &APIError{Code: 40097}, false},
		{"HTTP 500 is retried", &ResponseError{StatusCode: 500}, true},
		{"HTTP 503 is retried", &ResponseError{StatusCode: 503}, true},
		{"HTTP 400 is not", &ResponseError{StatusCode: 400}, false},
		{"a malformed 200 is not", &ResponseError{StatusCode: 200, Err: errors.New("x")}, false},
		{"EOF is retried", wrapURL(io.EOF), true},
		{"an unexpected EOF is retried", io.ErrUnexpectedEOF, true},
		{"a reset is retried", wrapURL(resetErr()), true},
		{"a timeout is retried", wrapURL(timeoutErr{}), true},
		{"a cancel is not", wrapURL(context.Canceled), false},
		{"the rate limiter's stop is not", stopError{context.DeadlineExceeded}, false},
		{"an unknown error is not", errors.New("tls: bad certificate"), false},
		{"success is not", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := retryable(tt.err); got != tt.want {
				t.Errorf("retryable = %v, want %v", got, tt.want)
			}
		})
	}
}

func wrapURL(err error) error {
	return &url.Error{Op: "Post", URL: "http://127.0.0.1/x", Err: err}
}

func resetErr() error {
	return &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
