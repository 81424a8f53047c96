package trigger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/config"
	"github.com/envshare/envshare/internal/fleet"
	"github.com/envshare/envshare/internal/ledger"
	"github.com/envshare/envshare/internal/ledger/sqliteledger"
	"github.com/envshare/envshare/internal/testkit"
	"github.com/envshare/envshare/internal/wxcrypt"
	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/wechat"
	"github.com/envshare/envshare/pkg/wxemu"
)

// The fleet of the ledger tests: two customers of the emulator's demo subjects.
const (
	acmeApp    = "wx00000000000000a1" // Acme, set 18
	globexApp  = "wx00000000000000b1" // Globex, set 18
	strayApp   = "wx00000000000000c1" // Hooli: no customer's
	noSetApp   = "wx00000000000000d1" // Acme, without set 18
	acmeEnv    = "prod-6gni9ity244a6ea3"
	globexEnv  = "globex-prod-3h5j7k9m2n4p6q8r"
	ledgerDemo = `{"customers":[{"principal":"` + wxemu.DemoSubject + `","envs":["` + acmeEnv + `"]},` +
		`{"principal":"` + wxemu.DemoOtherSubject + `","envs":["` + globexEnv + `"]}]}`
)

// fakeInfo answers api_get_authorizer_info from a map; fail, when set, is its error.
type fakeInfo struct {
	mu    sync.Mutex
	infos map[string]fleet.Info
	calls int
	fail  error
}

func (f *fakeInfo) Info(_ context.Context, appid string) (fleet.Info, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail != nil {
		return fleet.Info{}, f.fail
	}
	info, ok := f.infos[appid]
	if !ok {
		return fleet.Info{}, &wechat.APIError{Endpoint: "api_get_authorizer_info", Code: 61003, Msg: "component is not authorized by this account"}
	}
	return info, nil
}

func (f *fakeInfo) List(context.Context, int, int) (int, []fleet.Listed, error) {
	return 0, nil, errors.New("not listed in these tests")
}

// ledgerApp is an App wired by default with an SQLite ledger, the emulator for the shares and
// fakeInfo for the authorizer info, its notifications and retries recorded.
type ledgerApp struct {
	app     *App
	emu     *wxemu.Emulator
	info    *fakeInfo
	logs    *testkit.Buffer
	notices *receiver
	mu      sync.Mutex // guards retried
	retried []string
	now     time.Time
	core    *Core
}

func newLedgerApp(t *testing.T, env map[string]string, engines ...ledger.Engine) *ledgerApp {
	t.Helper()
	l := &ledgerApp{logs: &testkit.Buffer{}, notices: &receiver{}, now: time.Unix(1_700_000_000, 0),
		info: &fakeInfo{infos: map[string]fleet.Info{
			acmeApp:   {Principal: wxemu.DemoSubject, PermissionSets: []int{17, 18}, MiniProgram: true},
			globexApp: {Principal: wxemu.DemoOtherSubject, PermissionSets: []int{18}, MiniProgram: true},
			strayApp:  {Principal: "Hooli Holdings Ltd.", PermissionSets: []int{18}, MiniProgram: true},
			noSetApp:  {Principal: wxemu.DemoSubject, PermissionSets: []int{17}, MiniProgram: true},
		}}}
	l.emu = wxemu.New(wxemu.Options{Tokens: []string{"ledger-token"}, Strict: true})
	state := wxemu.DemoState()
	for _, a := range []string{acmeApp, noSetApp} {
		state.Apps[a] = wxemu.App{Subject: wxemu.DemoSubject}
	}
	state.Apps[globexApp] = wxemu.App{Subject: wxemu.DemoOtherSubject, AutoConfirm: true}
	state.Apps[strayApp] = wxemu.App{Subject: "Hooli Holdings Ltd."}
	if err := l.emu.Seed(state); err != nil {
		t.Fatal(err)
	}
	notify := httptest.NewServer(l.notices)
	t.Cleanup(notify.Close)
	base := map[string]string{
		"ENVSHARE_WECHAT_BASE_URL":        l.emu.ServeTest(t),
		"ENVSHARE_COMPONENT_ACCESS_TOKEN": "ledger-token",
		"ENVSHARE_COMPONENT_APPID":        "wx9f8e7d6c5b4a3921",
		"ENVSHARE_HTTP_AUTH":              "bearer",
		"ENVSHARE_HTTP_SECRET":            testSecret,
		"ENVSHARE_NOTIFY_URL":             notify.URL,
		"ENVSHARE_RATE_LIMIT":             "0",
		"ENVSHARE_MANIFEST":               ledgerDemo,
		"ENVSHARE_LEDGER":                 "sqlite:" + filepath.Join(t.TempDir(), "ledger.db"),
	}
	useEnv(t, base, env)
	if len(engines) == 0 {
		engines = []ledger.Engine{sqliteledger.Engine}
	}
	var app *App
	app = New(Options{Platform: PlatformSCF, MetricsOut: discard{}, Now: func() time.Time { return l.now },
		Logger: slog.New(slog.NewJSONHandler(l.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Cloud:  Cloud{Name: "test", Ledgers: engines, Retry: retryRecorder(&l.retried, &l.mu)},
		Build: func(ctx context.Context, cfg config.Config) (*Core, error) {
			core, err := app.wire(ctx, cfg)
			if err == nil && core.Fleet != nil {
				core.Fleet.WeChat = l.info
			}
			l.core = core
			return core, err
		}})
	l.app = app
	return l
}

// push hands the App an authenticated event, as /wechat/events does after its checks.
func (l *ledgerApp) push(t *testing.T, infoType, appid string, at time.Time) {
	t.Helper()
	inst, se := l.app.instance(t.Context())
	if se != nil {
		t.Fatal(se)
	}
	l.app.onEvent(t.Context(), inst, wxcrypt.Event{InfoType: infoType, AuthorizerAppID: appid, CreateTime: at.Unix()})
}

// last returns the last notification.
func (l *ledgerApp) last(t *testing.T) map[string]any {
	t.Helper()
	l.notices.mu.Lock()
	defer l.notices.mu.Unlock()
	if len(l.notices.bodies) == 0 {
		t.Fatal("no notification")
	}
	return l.notices.bodies[len(l.notices.bodies)-1]
}

func (l *ledgerApp) count() int {
	l.notices.mu.Lock()
	defer l.notices.mu.Unlock()
	return len(l.notices.bodies)
}

func (l *ledgerApp) authorizer(t *testing.T, appid string) ledger.Authorizer {
	t.Helper()
	a, err := l.core.Fleet.Ledger.Authorizer(t.Context(), appid)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// wantNotice checks the fields of section 8's notification.
func wantNotice(t *testing.T, n map[string]any, event, appid, principal, outcome string) {
	t.Helper()
	for k, want := range map[string]string{"action": "authorization", "event": event, "appid": appid, "principal": principal, "outcome": outcome} {
		if n[k] != want {
			t.Errorf("notification %s = %v, want %q (%v)", k, n[k], want, n)
		}
	}
}

func TestOnboardingByCustomer(t *testing.T) {
	l := newLedgerApp(t, nil)
	t0 := l.now.Add(-time.Minute)

	t.Run("a customer's Mini Program gets its customer's env, its link notified", func(t *testing.T) {
		l.push(t, wxcrypt.InfoAuthorized, acmeApp, t0)
		n := l.last(t)
		wantNotice(t, n, "authorized", acmeApp, wxemu.DemoSubject, "onboarded")
		if envs, _ := n["envs"].([]any); len(envs) != 1 || envs[0] != acmeEnv {
			t.Errorf("envs %v", n["envs"])
		}
		if l.emu.Calls(wxemu.EndpointShare) != 1 || l.info.calls != 1 {
			t.Errorf("%d share calls, %d info calls", l.emu.Calls(wxemu.EndpointShare), l.info.calls)
		}
		if a := l.authorizer(t, acmeApp); !a.Authorized || a.Principal != wxemu.DemoSubject || a.LastEvent != "authorized" {
			t.Errorf("ledger %+v", a)
		}
		p, _ := l.core.Fleet.Ledger.Pair(t.Context(), ledger.PairKey{Env: acmeEnv, AppID: acmeApp})
		if p.State != ledger.StatePending || p.ConfirmURL == "" {
			t.Errorf("pair %+v", p)
		}
	})
	t.Run("another customer's Mini Program gets its own env, not the first's", func(t *testing.T) {
		l.push(t, wxcrypt.InfoAuthorized, globexApp, t0)
		wantNotice(t, l.last(t), "authorized", globexApp, wxemu.DemoOtherSubject, "onboarded")
		if b := l.emu.State().Bindings[globexApp]; !slices.Equal(b, []string{globexEnv}) {
			t.Errorf("bindings %v", b)
		}
	})
	t.Run("no customer's principal: unknown_customer with the principal, nothing shared", func(t *testing.T) {
		shares := l.emu.Calls(wxemu.EndpointShare)
		l.push(t, wxcrypt.InfoAuthorized, strayApp, t0)
		wantNotice(t, l.last(t), "authorized", strayApp, "Hooli Holdings Ltd.", "unknown_customer")
		if l.emu.Calls(wxemu.EndpointShare) != shares || !strings.Contains(l.logs.String(), `"principal":"Hooli Holdings Ltd."`) {
			t.Error("shared, or the principal is not in the log")
		}
	})
	t.Run("without set 18: permission_missing, nothing shared", func(t *testing.T) {
		shares := l.emu.Calls(wxemu.EndpointShare)
		l.push(t, wxcrypt.InfoAuthorized, noSetApp, t0)
		wantNotice(t, l.last(t), "authorized", noSetApp, wxemu.DemoSubject, "permission_missing")
		if l.emu.Calls(wxemu.EndpointShare) != shares {
			t.Error("shared")
		}
	})
	t.Run("an updateauthorized that changed nothing is recorded", func(t *testing.T) {
		l.push(t, wxcrypt.InfoUpdateAuthorized, globexApp, t0.Add(10*time.Second))
		wantNotice(t, l.last(t), "updateauthorized", globexApp, wxemu.DemoOtherSubject, "recorded")
	})
	t.Run("an older unauthorized is ignored: nothing written, nothing notified", func(t *testing.T) {
		n := l.count()
		l.push(t, wxcrypt.InfoUnauthorized, globexApp, t0.Add(5*time.Second))
		if l.count() != n || !l.authorizer(t, globexApp).Authorized {
			t.Fatal("a late unauthorized undid a newer authorization")
		}
	})
	t.Run("a copy of the newest event moments after is collapsed; a replay after that acts again, without a second info call", func(t *testing.T) {
		shares, infos, n := l.emu.Calls(wxemu.EndpointShare), l.info.calls, l.count()
		l.push(t, wxcrypt.InfoAuthorized, acmeApp, t0)
		if l.count() != n || l.emu.Calls(wxemu.EndpointShare) != shares {
			t.Fatal("a copy of an event taken up moments ago acted again")
		}
		l.now = l.now.Add(duplicateWindow)
		l.push(t, wxcrypt.InfoAuthorized, acmeApp, t0)
		wantNotice(t, l.last(t), "authorized", acmeApp, wxemu.DemoSubject, "onboarded")
		if l.emu.Calls(wxemu.EndpointShare) != shares+1 || l.info.calls != infos {
			t.Errorf("%d share calls, %d info calls", l.emu.Calls(wxemu.EndpointShare)-shares, l.info.calls-infos)
		}
	})
	t.Run("a push from more than 5 minutes ahead is never acted on", func(t *testing.T) {
		n := l.count()
		l.push(t, wxcrypt.InfoUnauthorized, acmeApp, l.now.Add(6*time.Minute))
		if l.count() != n || !l.authorizer(t, acmeApp).Authorized {
			t.Fatal("acted on a push from the future")
		}
	})
	t.Run("unauthorized is recorded; kept shared by default", func(t *testing.T) {
		l.push(t, wxcrypt.InfoUnauthorized, acmeApp, t0.Add(time.Minute))
		wantNotice(t, l.last(t), "unauthorized", acmeApp, wxemu.DemoSubject, "recorded")
		if a := l.authorizer(t, acmeApp); a.Authorized || a.Principal != wxemu.DemoSubject {
			t.Errorf("ledger %+v", a)
		}
	})
	t.Run("the fleet view shows it all, from the ledger alone", func(t *testing.T) {
		calls := len(l.emu.CallLog())
		v, err := Answer(l.app.Message(t.Context(), []byte(`{"action":"fleet"}`)))
		if err != nil {
			t.Fatal(err)
		}
		got := string(mustJSON(t, v))
		for _, want := range []string{`"action":"fleet"`, `"authorizers":{"known":4,"authorized":3,"permission_missing":1,"unknown_customer":1}`,
			`{"principal":"` + wxemu.DemoOtherSubject + `","envs":["` + globexEnv + `"],"authorizers":1,"shared":1,"awaiting_confirmation":0,"failed":0}`,
			`"oldest_pending":[{"env":"` + acmeEnv + `","appid":"` + acmeApp + `","principal":"` + wxemu.DemoSubject + `"`} {
			if !strings.Contains(got, want) {
				t.Errorf("fleet view %s\nlacks %s", got, want)
			}
		}
		if len(l.emu.CallLog()) != calls {
			t.Error("the fleet view called WeChat")
		}
		resp := l.app.HTTP(t.Context(), HTTPRequest{Method: "GET", Path: "/release/fleet", Headers: bearer()})
		if resp.Status != 200 || resp.Body != got {
			t.Errorf("GET /fleet: %d %s", resp.Status, resp.Body)
		}
		if resp := l.app.HTTP(t.Context(), HTTPRequest{Method: "GET", Path: "/fleet", Headers: bearer(),
			Query: map[string][]string{"customer": {"x"}}}); resp.Status != 400 {
			t.Errorf("a query: %d %s", resp.Status, resp.Body)
		}
		if resp := l.app.HTTP(t.Context(), HTTPRequest{Method: "GET", Path: "/fleet"}); resp.Status != 401 {
			t.Errorf("no credentials: %d", resp.Status)
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOnboardingFallsBackToTheOnboardEnvs(t *testing.T) {
	l := newLedgerApp(t, map[string]string{"ENVSHARE_ONBOARD_ENVS": "staging-8f2k4m6n1p3q5r7t", "ENVSHARE_OFFBOARD": "unshare"})
	state := l.emu.State()
	state.Apps[strayApp] = wxemu.App{Subject: wxemu.DemoSubject} // WeChat would refuse another entity's env
	if err := l.emu.Seed(state); err != nil {
		t.Fatal(err)
	}
	l.push(t, wxcrypt.InfoAuthorized, strayApp, l.now)
	n := l.last(t)
	wantNotice(t, n, "authorized", strayApp, "Hooli Holdings Ltd.", "onboarded")
	if envs, _ := n["envs"].([]any); len(envs) != 1 || envs[0] != "staging-8f2k4m6n1p3q5r7t" {
		t.Errorf("envs %v", n["envs"])
	}
	// With ENVSHARE_OFFBOARD=unshare a revocation unshares its customer's envs and the onboard envs.
	l.push(t, wxcrypt.InfoAuthorized, acmeApp, l.now)
	l.push(t, wxcrypt.InfoUnauthorized, acmeApp, l.now.Add(time.Second))
	n = l.last(t)
	wantNotice(t, n, "unauthorized", acmeApp, wxemu.DemoSubject, "recorded")
	if off, _ := n["offboard"].(map[string]any); off == nil || fmt.Sprint(n["envs"]) != "["+acmeEnv+" staging-8f2k4m6n1p3q5r7t]" {
		t.Errorf("offboard %v, envs %v", n["offboard"], n["envs"])
	}
	if l.emu.Calls(wxemu.EndpointUnshare) != 2 {
		t.Errorf("%d unshare calls", l.emu.Calls(wxemu.EndpointUnshare))
	}
}

func TestAFailedOnboardingGoesToTheRetryAndFinishesThere(t *testing.T) {
	l := newLedgerApp(t, nil)
	l.info.fail = &wechat.UnavailableError{Endpoint: "api_get_authorizer_info", Attempts: 3, Err: errors.New("system busy")}
	l.push(t, wxcrypt.InfoAuthorized, acmeApp, l.now)
	if len(l.retried) != 1 || l.count() != 0 {
		t.Fatalf("retried %q, %d notifications", l.retried, l.count())
	}
	want := fmt.Sprintf(`{"action":"onboard","appid":"%s","event":"authorized","create_time":%d}`, acmeApp, l.now.Unix())
	if l.retried[0] != want {
		t.Fatalf("retry message %s\nwant %s", l.retried[0], want)
	}
	// The retry fails the same way: an invocation error, so that the platform retries again.
	if _, err := Answer(l.app.Message(t.Context(), []byte(l.retried[0]))); err == nil || !strings.Contains(err.Error(), "upstream_unavailable") {
		t.Fatalf("err %v", err)
	}
	l.info.fail = nil
	v, err := Answer(l.app.Message(t.Context(), []byte(l.retried[0])))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(mustJSON(t, v)); !strings.Contains(got, `"ok":true,"action":"onboard","event":"authorized"`) || !strings.Contains(got, `"outcome":"onboarded"`) {
		t.Fatalf("answer %s", got)
	}
	wantNotice(t, l.last(t), "authorized", acmeApp, wxemu.DemoSubject, "onboarded")

	for body, want := range map[string]string{
		`{"action":"onboard","appid":"wx00000000000000a1","event":"authorized"}`:                           "create_time: required",
		`{"action":"onboard","appid":"wx1","event":"authorized","create_time":1}`:                          "appid: must be an appid",
		`{"action":"onboard","appid":"wx00000000000000a1","event":"x","create_time":1,"force":true}`:       "force: unknown field",
		`{"action":"onboard","action":"onboard","appid":"wx00000000000000a1","event":"x","create_time":1}`: "action: given more than once",
	} {
		v, err := Answer(l.app.Message(t.Context(), []byte(body)))
		if err != nil || !strings.Contains(string(mustJSON(t, v)), want) {
			t.Errorf("%s: %s, %v (want %q)", body, mustJSON(t, v), err, want)
		}
	}
}

// failing is a ledger engine whose every call fails with an error that quotes its DSN, as a
// careless driver might.
type failing struct{ dsn string }

func (f failing) err() error                                           { return fmt.Errorf("dial %s: connection refused", f.dsn) }
func (f failing) Get(context.Context, ledger.Key) (ledger.Item, error) { return ledger.Item{}, f.err() }
func (f failing) Put(context.Context, ledger.Item) error               { return f.err() }
func (f failing) Close() error                                         { return nil }
func (f failing) GetMany(context.Context, []ledger.Key) ([]ledger.Item, error) {
	return nil, f.err()
}
func (f failing) Scan(context.Context, ledger.Kind, ledger.Shard, func(ledger.Item) error) error {
	return f.err()
}

func TestADatabaseErrorDuringAPushLosesNothingAndLeaksNoPassword(t *testing.T) {
	const password = "ledger-pass-0c5a9e"
	dsn := "envshare:" + password + "@tcp(10.0.0.9:3306)/envshare"
	engine := ledger.Engine{Scheme: ledger.SchemeMySQL, Open: func(_ context.Context, dsn string) (ledger.Driver, error) {
		return failing{dsn}, nil
	}}
	l := newLedgerApp(t, map[string]string{"ENVSHARE_LEDGER": "mysql:" + dsn}, engine)
	l.push(t, wxcrypt.InfoAuthorized, acmeApp, l.now)
	if len(l.retried) != 1 || !strings.Contains(l.retried[0], `"action":"onboard"`) {
		t.Fatalf("retried %q", l.retried)
	}
	_, err := Answer(l.app.Message(t.Context(), []byte(l.retried[0])))
	resp := l.app.HTTP(t.Context(), HTTPRequest{Method: "GET", Path: "/fleet", Headers: bearer()})
	for what, text := range map[string]string{"the log": l.logs.String(), "the retry message": l.retried[0],
		"the answer": fmt.Sprint(err), "the fleet view": resp.Body} {
		if strings.Contains(text, password) {
			t.Errorf("%s holds the DSN's password: %s", what, text)
		}
	}
	if err == nil || resp.Status != 500 {
		t.Errorf("retry %v, fleet view %d %s", err, resp.Status, resp.Body)
	}
}

func TestTheLedgerAtColdStart(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		want        []string
	}{
		{"a scheme the binary does not link names what it has", "dynamodb:envshare-ledger",
			[]string{"ENVSHARE_LEDGER", "no dynamodb engine", "it has: sqlite"}},
		{"an unreachable database names the variable", "sqlite:" + filepath.Join("/nonexistent-dir", "ledger.db"),
			[]string{"ENVSHARE_LEDGER=sqlite:", "cannot be reached"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLedgerApp(t, map[string]string{"ENVSHARE_LEDGER": tc.value})
			_, err := Answer(l.app.Message(t.Context(), []byte(`{"action":"fleet"}`)))
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("err %v, want %q in it", err, w)
				}
			}
		})
	}
	t.Run("customers without a ledger make the manifest unusable, nothing else", func(t *testing.T) {
		l := newLedgerApp(t, map[string]string{"ENVSHARE_LEDGER": ""})
		v, err := Answer(l.app.Message(t.Context(), []byte(`{"action":"reconcile","dry_run":true}`)))
		if got := string(mustJSON(t, v)); err != nil || !strings.Contains(got, "ENVSHARE_MANIFEST: customers: customers need ENVSHARE_LEDGER") {
			t.Errorf("reconcile: %s, %v", got, err)
		}
		v, err = Answer(l.app.Message(t.Context(), []byte(`{"action":"fleet"}`)))
		if got := string(mustJSON(t, v)); err != nil || !strings.Contains(got, "the fleet view needs ENVSHARE_LEDGER") {
			t.Errorf("fleet: %s, %v", got, err)
		}
	})
}

func TestABadManifestFailsOnlyWhatNeedsIt(t *testing.T) {
	l := newLedgerApp(t, map[string]string{"ENVSHARE_MANIFEST": `{"envs":[{"env":"Bad Env","appids":[]}]}`, "ENVSHARE_OFFBOARD": "unshare"})
	ctx := t.Context()
	isManifestError := func(t *testing.T, what string, v any, err error) {
		t.Helper()
		got := string(mustJSON(t, v))
		if err != nil || !strings.Contains(got, `"code":"invalid_request"`) || !strings.Contains(got, "ENVSHARE_MANIFEST") {
			t.Errorf("%s: %s, %v", what, got, err)
		}
	}
	v, err := Answer(l.app.Message(ctx, []byte(`{"action":"reconcile"}`)))
	isManifestError(t, "a reconcile without a manifest of its own", v, err)
	v, err = Answer(l.app.Message(ctx, []byte(`{"action":"fleet"}`)))
	isManifestError(t, "the fleet view", v, err)
	if !strings.Contains(l.logs.String(), `"level":"ERROR","msg":"ENVSHARE_MANIFEST is unusable`) {
		t.Error("no ERROR line naming ENVSHARE_MANIFEST")
	}
	// A schedule's reconcile fails loudly: nobody reads its answer.
	if _, err := Answer(l.app.Scheduled(ctx)); err == nil || !strings.Contains(err.Error(), "ENVSHARE_MANIFEST") {
		t.Errorf("scheduled: %v", err)
	}
	// Onboarding by customer records the authorizer, and fails naming the manifest.
	l.push(t, wxcrypt.InfoAuthorized, acmeApp, l.now)
	n := l.last(t)
	wantNotice(t, n, "authorized", acmeApp, wxemu.DemoSubject, "onboard_failed")
	if !strings.Contains(fmt.Sprint(n["error"]), "ENVSHARE_MANIFEST") || !l.authorizer(t, acmeApp).Authorized {
		t.Errorf("notification %v", n)
	}
	// So does an offboarding by customer: the revocation is recorded, its envs are unknown.
	l.push(t, wxcrypt.InfoUnauthorized, acmeApp, l.now.Add(time.Second))
	n = l.last(t)
	wantNotice(t, n, "unauthorized", acmeApp, wxemu.DemoSubject, "onboard_failed")
	if !strings.Contains(fmt.Sprint(n["error"]), "ENVSHARE_MANIFEST") || l.authorizer(t, acmeApp).Authorized {
		t.Errorf("notification %v", n)
	}
	// Everything else works.
	for _, body := range []string{`{"action":"share","env":"` + acmeEnv + `","appids":["wx075cf85bf347b6df"]}`,
		`{"action":"bindings","appids":["wx5fe6bb43205e9e07"]}`,
		`{"action":"reconcile","envs":[{"env":"` + acmeEnv + `","appids":["wx5fe6bb43205e9e07"]}]}`} {
		v, err := Answer(l.app.Message(ctx, []byte(body)))
		if got := string(mustJSON(t, v)); err != nil || !strings.Contains(got, `"ok":true`) {
			t.Errorf("%s: %s, %v", body, got, err)
		}
	}
}

func TestAwaitingConfirmationWithALedger(t *testing.T) {
	l := newLedgerApp(t, nil)
	l.push(t, wxcrypt.InfoAuthorized, acmeApp, l.now)
	shares := l.emu.Calls(wxemu.EndpointShare)
	v, err := Answer(l.app.Message(t.Context(), []byte(`{"action":"reconcile"}`)))
	if err != nil {
		t.Fatal(err)
	}
	res := v.(*share.Result)
	o := res.Results[0]
	if o.Status != share.StatusAwaitingConfirmation || o.ConfirmURL == "" || o.LinkIssuedAt.IsZero() ||
		*res.Summary.(*share.ReconcileSummary).AwaitingConfirmation != 1 || l.emu.Calls(wxemu.EndpointShare) != shares {
		t.Fatalf("result %s, %d share calls", mustJSON(t, res), l.emu.Calls(wxemu.EndpointShare)-shares)
	}
}

// TestTheClosedLoopByCustomer drives onboarding by customer end to end: the emulator pushes
// authorized over HTTP, the function asks it for the authorizer's info, records it in an
// SQLite ledger and shares the customer's env; then the fleet view and a backfill.
func TestTheClosedLoopByCustomer(t *testing.T) {
	l := newLoop(t, map[string]string{
		"ENVSHARE_ONBOARD_ENVS": "",
		"ENVSHARE_LEDGER":       "sqlite:" + filepath.Join(t.TempDir(), "ledger.db"),
		"ENVSHARE_MANIFEST": `{"customers":[{"principal":"` + wxemu.DemoThirdSubject + `","envs":["cust-a-7f3k2m"]},` +
			`{"principal":"` + wxemu.DemoOtherSubject + `","envs":["globex-prod-3h5j7k9m2n4p6q8r"]}]}`,
	}, false)
	ctx := t.Context()
	if _, err := l.emu.PushTicket(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := Answer(l.app.Message(ctx, []byte(`{"action":"refresh"}`))); err != nil {
		t.Fatal(err)
	}
	const newcomer = "wx3c5e7a9b1d2f4680"
	if err := l.emu.Authorize(ctx, newcomer, wxemu.App{Subject: wxemu.DemoThirdSubject}); err != nil {
		t.Fatal(err)
	}
	l.notices.mu.Lock()
	last := l.notices.bodies[len(l.notices.bodies)-1]
	l.notices.mu.Unlock()
	wantNotice(t, last, "authorized", newcomer, wxemu.DemoThirdSubject, "onboarded")
	if l.emu.Calls(wxemu.EndpointAuthorizerInfo) != 1 {
		t.Errorf("%d info calls", l.emu.Calls(wxemu.EndpointAuthorizerInfo))
	}
	st := l.emu.State()
	if !slices.ContainsFunc(st.Pending, func(p wxemu.Pending) bool { return p.AppID == newcomer && p.Env == "cust-a-7f3k2m" }) {
		t.Errorf("no pending share of cust-a-7f3k2m with the newcomer: %+v", st.Pending)
	}

	// A backfill finds the demo fleet, whose pushes were never sent, and the reconcile shares
	// each customer's env with its Mini Programs: the newcomer's link is awaited.
	v, err := Answer(l.app.Message(ctx, []byte(`{"action":"reconcile","backfill":true}`)))
	if err != nil {
		t.Fatal(err)
	}
	got := string(mustJSON(t, v))
	for _, want := range []string{`"backfill":{"listed":13,"new":12,"fetched":12,"remaining":0}`, `"awaiting_confirmation":1`,
		`"appid":"` + newcomer + `","status":"awaiting_confirmation"`} {
		if !strings.Contains(got, want) {
			t.Errorf("reconcile %s\nlacks %s", got, want)
		}
	}
	for _, secret := range []string{wxemu.RefreshTokenPrefix} {
		if strings.Contains(l.logs.String(), secret) || strings.Contains(got, secret) {
			t.Errorf("a refresh token reached the log or the answer")
		}
	}
	resp := l.app.HTTP(ctx, HTTPRequest{Method: "GET", Path: "/release/fleet", Headers: bearer()})
	if resp.Status != 200 || !strings.Contains(resp.Body, `"principal":"`+wxemu.DemoThirdSubject+`","envs":["cust-a-7f3k2m"],"authorizers":3`) {
		t.Errorf("fleet view %d %s", resp.Status, resp.Body)
	}
}
