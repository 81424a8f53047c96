package client_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/signature"
	"github.com/envshare/envshare/pkg/wechat"
	"github.com/envshare/envshare/pkg/wxemu"
)

const testSecret = "client-test-secret-0123456789"

// canned is an answer the fake gives instead of carrying out a request.
type canned struct {
	status int
	body   string
	header map[string]string
}

// fakeDeployment stands in for a deployed envshare's HTTP routes: the public core (pkg/share)
// over the WeChat emulator for share, unshare, bindings and reconcile; the contract's shapes for
// refresh, fleet and quota (the function does not serve those two yet). It checks credentials
// as the function does, with pkg/signature.
type fakeDeployment struct {
	URL  string
	mode string

	svc *share.Service

	mu      sync.Mutex
	calls   []string // "METHOD /route", each call that passed the credentials check
	answers []canned // given first, one per call
}

// newFakeDeployment serves a fake deployment with ENVSHARE_HTTP_AUTH=mode on 127.0.0.1.
func newFakeDeployment(mode string) (*fakeDeployment, func()) {
	emu := wxemu.New(wxemu.Options{Tokens: []string{"component-token"}, Strict: true})
	if err := emu.Seed(wxemu.DemoState()); err != nil {
		panic(err)
	}
	wx := httptest.NewServer(emu)
	manifest := &share.Request{Action: share.ActionReconcile, Envs: []wechat.EnvAppIDs{
		{Env: "prod-6gni9ity244a6ea3", AppIDs: []string{"wx5fe6bb43205e9e07", "wx075cf85bf347b6df"}}}}
	checked, err := share.Check(*manifest)
	if err != nil {
		panic(err)
	}
	f := &fakeDeployment{mode: mode, svc: share.New(wechat.New(wx.URL, wechat.StaticToken("component-token")),
		share.Options{Manifest: &checked, ConfirmOrigins: []string{wx.URL}})}
	srv := httptest.NewServer(f)
	f.URL = srv.URL + "/prod" // a stage before the routes
	return f, func() { srv.Close(); wx.Close() }
}

// answerWith queues canned answers.
func (f *fakeDeployment) answerWith(answers ...canned) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers = append(f.answers, answers...)
}

// Calls returns the calls that passed the credentials check.
func (f *fakeDeployment) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeDeployment) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	route := strings.TrimPrefix(r.URL.Path, "/prod")
	if !f.authorized(r, route, body) {
		writeJSON(w, http.StatusUnauthorized, `{"ok":false,"error":{"code":"unauthorized","message":"missing or invalid credentials"}}`)
		return
	}
	f.mu.Lock()
	f.calls = append(f.calls, r.Method+" "+route)
	var next *canned
	if len(f.answers) > 0 {
		next = &f.answers[0]
		f.answers = f.answers[1:]
	}
	f.mu.Unlock()
	if next != nil {
		for k, v := range next.header {
			w.Header().Set(k, v)
		}
		writeJSON(w, next.status, next.body)
		return
	}
	switch route {
	case "/refresh":
		writeJSON(w, 200, `{"ok":true,"action":"refresh","minted":true,"expires_at":"2026-12-07T12:00:00Z","ticket_age_s":42}`)
	case "/fleet": // contract section 8
		writeJSON(w, 200, `{"ok":true,"action":"fleet","customers":[{"principal":"深圳市示例科技有限公司","envs":["cust-a-7f3k2m"],`+
			`"authorizers":3,"shared":2,"awaiting_confirmation":1,"failed":0}],`+
			`"authorizers":{"known":4,"authorized":3,"permission_missing":1,"unknown_customer":0},`+
			`"oldest_pending":[{"env":"cust-a-7f3k2m","appid":"wx075cf85bf347b6df","principal":"深圳市示例科技有限公司","link_issued_at":"2026-12-05T08:00:00Z"}]}`)
	case "/quota": // contract section 9
		writeJSON(w, 200, `{"ok":true,"action":"quota","quotas":[{"api":"batchshareenv","daily_limit":10000,"used":120,"remain":9880},`+
			`{"api":"batchunshareenv","daily_limit":10000,"used":0,"remain":10000},{"api":"batchgetenvid","daily_limit":10000,"used":7,"remain":9993},`+
			`{"api":"api_component_token","daily_limit":10000,"used":12,"remain":9988}]}`)
	default:
		action := strings.TrimPrefix(route, "/")
		res, err := f.svc.DoJSON(r.Context(), body, action)
		if err != nil {
			se := err.(*share.Error)
			b, _ := json.Marshal(map[string]any{"ok": false, "error": se})
			writeJSON(w, statusOf(se.Code), string(b))
			return
		}
		b, _ := json.Marshal(res)
		writeJSON(w, 200, string(b))
	}
}

// authorized checks credentials as the function does (contract section 3).
func (f *fakeDeployment) authorized(r *http.Request, route string, body []byte) bool {
	switch f.mode {
	case "bearer":
		return r.Header.Get("Authorization") == "Bearer "+testSecret
	case "hmac":
		signed := signature.Request{Method: r.Method, Route: route, Query: r.URL.Query(), Body: body}
		return signature.VerifyRequest(testSecret, r.Header.Get(signature.TimestampHeader),
			r.Header.Get(signature.SignatureHeader), signed, time.Now()) == nil
	}
	return true
}

func statusOf(code share.Code) int {
	switch code {
	case share.CodeInvalidRequest:
		return 400
	case share.CodeUpstreamError:
		return 502
	case share.CodeUpstreamUnavailable:
		return 503
	case share.CodeDeadlineExceeded:
		return 504
	}
	return 500
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	io.WriteString(w, body)
}
