package trigger

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/config"
	"github.com/envshare/envshare/internal/testkit"
	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/wechat"
)

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
