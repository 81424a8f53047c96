package trigger

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/fleet"
	"github.com/envshare/envshare/internal/ledger"
	"github.com/envshare/envshare/internal/ledger/sqliteledger"
	"github.com/envshare/envshare/internal/testkit"
	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/wxemu"
)

// fanRig is an instance with an SQLite ledger whose platform retry (the queue or the
// asynchronous self-invocation) is a list of messages, against the emulator.
type fanRig struct {
	app  *App
	logs *testkit.Buffer

	mu   sync.Mutex
	sent []string
}

// fanManifest is envs env-0..env-(envs-1), each with the same 100 appids of the emulator's
// subject, whose shares are confirmed at once.
func fanManifest(envs int) (string, wxemu.State) {
	state := wxemu.State{Envs: map[string]wxemu.Env{}, Apps: map[string]wxemu.App{}}
	var ids []string
	for a := range 100 {
		id := fmt.Sprintf("wx%016x", 0xfa0000+a)
		ids = append(ids, id)
		state.Apps[id] = wxemu.App{Subject: wxemu.DemoSubject, AutoConfirm: true}
	}
	var lists []string
	for e := range envs {
		env := fmt.Sprintf("env-%d", e)
		state.Envs[env] = wxemu.Env{Subject: wxemu.DemoSubject}
		b, _ := json.Marshal(map[string]any{"env": env, "appids": ids})
		lists = append(lists, string(b))
	}
	return `{"envs":[` + strings.Join(lists, ",") + `]}`, state
}

func newFanRig(t *testing.T, emuURL, manifest, ledgerPath string) *fanRig {
	t.Helper()
	r := &fanRig{logs: &testkit.Buffer{}}
	useEnv(t, map[string]string{
		"ENVSHARE_WECHAT_BASE_URL":        emuURL,
		"ENVSHARE_COMPONENT_ACCESS_TOKEN": "fan-token",
		"ENVSHARE_HTTP_AUTH":              "bearer",
		"ENVSHARE_HTTP_SECRET":            testSecret,
		"ENVSHARE_RATE_LIMIT":             "0",
		"ENVSHARE_MANIFEST":               manifest,
		"ENVSHARE_SHARD_PAIRS":            "100",
		"ENVSHARE_LEDGER":                 "sqlite:" + ledgerPath,
	}, nil)
	r.app = New(Options{Platform: PlatformAWS, MetricsOut: discard{},
		Logger: slog.New(slog.NewJSONHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Cloud:  Cloud{Name: "test", Ledgers: []ledger.Engine{sqliteledger.Engine}, Retry: retryRecorder(&r.sent, &r.mu)}})
	if _, se := r.app.instance(t.Context()); se != nil { // reads the configuration now
		t.Fatal(se)
	}
	return r
}

// message invokes the instance with a message and returns the answer as its caller sees it.
func (r *fanRig) message(t *testing.T, body string) map[string]any {
	t.Helper()
	v, err := Answer(r.app.Message(t.Context(), []byte(body)))
	if err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	b, _ := json.Marshal(v)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestALargeReconcileIsHandedOutAsShardsOfARun(t *testing.T) {
	manifest, state := fanManifest(3) // 300 pairs, 100 a shard at most
	emu := wxemu.New(wxemu.Options{Tokens: []string{"fan-token"}, Strict: true})
	if err := emu.Seed(state); err != nil {
		t.Fatal(err)
	}
	emuURL := emu.ServeTest(t)
	ledgerPath := filepath.Join(t.TempDir(), "ledger.db")
	r := newFanRig(t, emuURL, manifest, ledgerPath)

	planned := r.message(t, `{"action":"reconcile"}`)
	run, _ := planned["run"].(string)
	shards := int(planned["shards"].(float64))
	if len(planned) != 4 || planned["ok"] != true || planned["action"] != "reconcile" || run == "" || shards < 3 {
		t.Fatalf("planning answer %v, want exactly ok, action, run and shards", planned)
	}
	if emu.Calls("") != 0 {
		t.Fatal("the planning invocation called WeChat")
	}
	if len(r.sent) != shards {
		t.Fatalf("%d messages handed out for %d shards", len(r.sent), shards)
	}
	desired := 0
	for i, msg := range r.sent {
		if want := fmt.Sprintf(`{"action":"reconcile","shard":{"index":%d,"count":%d},"run":%q}`, i, shards, run); msg != want {
			t.Fatalf("message %s, want %s", msg, want)
		}
		before := len(r.logs.Lines(t))
		res := r.message(t, msg)
		if res["ok"] != true || res["run"] != run {
			t.Fatalf("shard %d: %v", i, res)
		}
		desired += int(res["summary"].(map[string]any)["desired"].(float64))
		for _, line := range r.logs.Lines(t)[before:] { // the run in every line of the shard
			if line["run"] != run {
				t.Fatalf("a line of shard %d without its run: %v", i, line)
			}
		}
	}
	if desired != 300 || emu.Calls(wxemu.EndpointShare) == 0 {
		t.Fatalf("the shards desired %d pairs in all, shared in %d calls", desired, emu.Calls(wxemu.EndpointShare))
	}
	r.message(t, r.sent[0]) // a redelivered shard replaces its own counts
	if n := r.logs.Count(`"msg":"run finished"`); n != 1 {
		t.Fatalf("%d lines say the run finished, want 1 (its last shard)", n)
	}

	view := r.message(t, `{"action":"fleet"}`)
	var runs []fleet.RunView
	b, _ := json.Marshal(view["runs"])
	if err := json.Unmarshal(b, &runs); err != nil || len(runs) != 1 {
		t.Fatalf("fleet view runs %s: %v", b, err)
	}
	if got := runs[0]; got.Run != run || got.Shards != shards || got.ShardsDone != shards || got.FinishedAt.IsZero() ||
		got.Totals["desired"] != 300 || got.Totals["already_shared"]+got.Totals["shared"] != 300 {
		t.Fatalf("run %+v", got)
	}

	t.Run("a shard of a run planned from another manifest is refused, naming the run", func(t *testing.T) {
		other, _ := fanManifest(4)
		r2 := newFanRig(t, emuURL, other, ledgerPath)
		res := r2.message(t, r.sent[1])
		if e, _ := res["error"].(map[string]any); res["ok"] != false || e["code"] != "invalid_request" || !strings.Contains(fmt.Sprint(e["details"]), run) {
			t.Fatalf("answer %v", res)
		}
	})
	t.Run("a shard of a run the ledger does not know is refused", func(t *testing.T) {
		forged := run[:len(run)-6] + "000000"
		res := r.message(t, strings.Replace(r.sent[0], run, forged, 1))
		if e, _ := res["error"].(map[string]any); e["code"] != "invalid_request" || !strings.Contains(fmt.Sprint(e["details"]), "unknown to the ledger") {
			t.Fatalf("answer %v", res)
		}
	})
}

func TestTheQuotaView(t *testing.T) {
	emu := wxemu.New(wxemu.Options{Tokens: []string{"quota-token"}, Strict: true,
		Quotas: map[string]wxemu.QuotaLimit{"batchshareenv": {DailyLimit: 5000}}})
	if _, err := emu.ChangeQuota(wxemu.QuotaChange{API: "batchshareenv", Used: new(1200)}); err != nil {
		t.Fatal(err)
	}
	emf := &testkit.Buffer{}
	useQuotaEnv(t, emu.ServeTest(t))
	logs := &testkit.Buffer{}
	app := New(Options{Platform: PlatformAWS, MetricsOut: emf, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	want := `{"ok":true,"action":"quota","quotas":[{"api":"batchshareenv","daily_limit":5000,"used":1200,"remain":3800},` +
		`{"api":"batchunshareenv","daily_limit":1000000,"used":0,"remain":1000000},` +
		`{"api":"batchgetenvid","daily_limit":1000000,"used":0,"remain":1000000},` +
		`{"api":"api_component_token","daily_limit":10000,"used":0,"remain":10000}]}`

	resp := app.HTTP(t.Context(), HTTPRequest{Method: "GET", Path: "/prod/quota", Headers: bearer()})
	if resp.Status != 200 || resp.Body != want {
		t.Fatalf("GET /quota: %d %s", resp.Status, resp.Body)
	}
	v, err := Answer(app.Message(t.Context(), []byte(`{"action":"quota"}`)))
	if b, _ := json.Marshal(v); err != nil || string(b) != want {
		t.Fatalf(`{"action":"quota"}: %s %v`, b, err)
	}
	if n := emf.Count(`"QuotaRemaining":`); n != 8 || !strings.Contains(emf.String(), `"Api":"batchshareenv","QuotaRemaining":3800`) {
		t.Fatalf("EMF lines:\n%s", emf)
	}
	if n := logs.Count(`"msg":"WeChat quota read"`); n != 8 {
		t.Fatalf("%d quota reads logged, want 8", n)
	}

	for name, tc := range map[string]struct {
		req    HTTPRequest
		status int
	}{
		"a query":        {HTTPRequest{Method: "GET", Path: "/quota", Headers: bearer(), Query: map[string][]string{"api": {"x"}}}, 400},
		"POST":           {HTTPRequest{Method: "POST", Path: "/quota", Headers: bearer()}, 405},
		"no credentials": {HTTPRequest{Method: "GET", Path: "/quota"}, 401},
	} {
		if resp := app.HTTP(t.Context(), tc.req); resp.Status != tc.status {
			t.Errorf("%s: %d %s, want %d", name, resp.Status, resp.Body, tc.status)
		}
	}
	v, _ = Answer(app.Message(t.Context(), []byte(`{"action":"quota","api":"batchshareenv"}`)))
	if eb, ok := v.(ErrorBody); !ok || eb.Error.Code != share.CodeInvalidRequest || !strings.Contains(eb.Error.Error(), "api: unknown field") {
		t.Fatalf("a quota message with a parameter: %+v", v)
	}
}

func TestAQuotaAnswerWithoutItsFieldsIsAnUpstreamError(t *testing.T) {
	// quota/get answers errcode 0 without "quota": a broken proxy, or an API that changed.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"errcode":0,"errmsg":"ok"}`))
	}))
	t.Cleanup(srv.Close)
	useQuotaEnv(t, srv.URL)
	app := New(Options{Platform: PlatformSCF, MetricsOut: discard{}, Logger: discardLogger()})
	resp := app.HTTP(t.Context(), HTTPRequest{Method: "GET", Path: "/quota", Headers: bearer()})
	if resp.Status != 502 || errorCode(t, resp) != share.CodeUpstreamError {
		t.Fatalf("%d %s", resp.Status, resp.Body)
	}
}

func TestADailyQuotaUsedUpAnswers429WithRetryAfter(t *testing.T) {
	clock := testkit.NewClock(time.Date(2026, 12, 7, 15, 30, 0, 0, time.UTC)) // 23:30 in Shanghai
	emu := wxemu.New(wxemu.Options{Tokens: []string{"quota-token"}})
	if err := emu.Seed(wxemu.DemoState()); err != nil {
		t.Fatal(err)
	}
	if err := emu.ExhaustQuota("batchshareenv"); err != nil {
		t.Fatal(err)
	}
	useQuotaEnv(t, emu.ServeTest(t))
	app := New(Options{Platform: PlatformAWS, MetricsOut: discard{}, Logger: discardLogger(), WeChatClock: clock.Now, WeChatWait: clock.Wait})
	resp := app.HTTP(t.Context(), post("/share", `{"env":"prod-6gni9ity244a6ea3","appids":["wx1a2b3c4d5e6f7081"]}`))
	m := decodeBody(t, resp)
	e, _ := m["error"].(map[string]any)
	if resp.Status != 429 || e["code"] != "quota_exhausted" || e["retry_after"] != "2026-12-08T00:00:00+08:00" || e["wechat_errcode"] != 45009.0 {
		t.Fatalf("%d %s", resp.Status, resp.Body)
	}
	// A message fails the invocation: the platform's retry and dead-letter queue apply.
	if _, err := Answer(app.Message(t.Context(), []byte(`{"action":"share","env":"prod-6gni9ity244a6ea3","appids":["wx1a2b3c4d5e6f7081"]}`))); err == nil ||
		!strings.HasPrefix(err.Error(), "quota_exhausted: ") || !strings.Contains(err.Error(), "retry after 2026-12-08T00:00:00+08:00") {
		t.Fatalf("message error %v", err)
	}
}

// useQuotaEnv configures the quota tests: the token "quota-token" against WeChat at baseURL,
// bearer auth.
func useQuotaEnv(t *testing.T, baseURL string) {
	t.Helper()
	useEnv(t, map[string]string{
		"ENVSHARE_WECHAT_BASE_URL":        baseURL,
		"ENVSHARE_COMPONENT_ACCESS_TOKEN": "quota-token",
		"ENVSHARE_HTTP_AUTH":              "bearer",
		"ENVSHARE_HTTP_SECRET":            testSecret,
	}, nil)
}
