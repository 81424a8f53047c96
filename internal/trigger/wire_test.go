package trigger

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/config"
	"github.com/envshare/envshare/internal/notify"
	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/signature"
	"github.com/envshare/envshare/pkg/wxemu"
)

// wiredConfig is a valid configuration against an emulator seeded with its demo state.
func wiredConfig(t *testing.T) (config.Config, *wxemu.Emulator) {
	t.Helper()
	emu := wxemu.New(wxemu.Options{Tokens: []string{"wire-token"}, Strict: true})
	if err := emu.Seed(wxemu.DemoState()); err != nil {
		t.Fatal(err)
	}
	isolateEnv(t)
	t.Setenv("ENVSHARE_WECHAT_BASE_URL", emu.ServeTest(t))
	t.Setenv("ENVSHARE_COMPONENT_ACCESS_TOKEN", "wire-token")
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	return cfg, emu
}

// wireFor runs the default wiring of an App for cfg.
func wireFor(cfg config.Config) (Doer, error) {
	core, err := New(Options{Logger: discardLogger(), MetricsOut: discard{}}).wire(context.Background(), cfg)
	if err != nil {
		return nil, err
	}
	return core.Share, nil
}

// decoded is req as Decode makes it.
func decoded(t *testing.T, body, action string) share.Request {
	t.Helper()
	req, err := share.Decode([]byte(body), action)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestBuildWiresTheServiceToWeChat(t *testing.T) {
	cfg, emu := wiredConfig(t)
	cfg.Manifest = `{"envs":[{"env":"test-env-6gni9ity244a6ea3","appids":["wx5fe6bb43205e9e07"]}]}`
	doer, err := wireFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := doer.DoJSON(context.Background(), nil, share.ActionReconcile)
	if err != nil || !res.OK || res.Summary.(*share.ReconcileSummary).AlreadyShared != 1 {
		t.Fatalf("reconcile of the configured manifest: %+v, %v", res, err)
	}
	if emu.Calls(wxemu.EndpointGetEnvID) != 1 || emu.Calls(wxemu.EndpointShare) != 0 {
		t.Errorf("calls: %v", emu.CallLog())
	}
}

func TestBuildKeepsABadManifestForWhatNeedsIt(t *testing.T) {
	cfg, _ := wiredConfig(t)
	cfg.Manifest = `{"envs":[{"env":"Bad Env","appids":[]}]}`
	doer, err := wireFor(cfg)
	if err != nil {
		t.Fatalf("a bad manifest fails the whole instance: %v", err)
	}
	_, err = doer.DoJSON(context.Background(), nil, share.ActionReconcile)
	if e, ok := err.(*share.Error); !ok || e.Code != share.CodeInvalidRequest || !strings.Contains(e.Error(), "ENVSHARE_MANIFEST: envs[0].env") {
		t.Fatalf("err = %v", err)
	}
}

func TestBuildSendsSignedNotifications(t *testing.T) {
	cfg, _ := wiredConfig(t)
	var mu sync.Mutex
	var got []*http.Request
	var bodies [][]byte
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, bodies = append(got, r), append(bodies, b)
		mu.Unlock()
	}))
	defer hook.Close()
	cfg.NotifyURL, cfg.HTTPSecret = hook.URL, "notify-key"
	doer, err := wireFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := doer.DoJSON(context.Background(), []byte(`{"env":"prod-6gni9ity244a6ea3","appids":["wx1a2b3c4d5e6f7081"]}`), share.ActionShare)
	if err != nil || res.Notification == nil || !res.Notification.Sent {
		t.Fatalf("share: %+v, %v", res, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("%d notifications", len(got))
	}
	err = signature.Verify("notify-key", got[0].Header.Get(signature.TimestampHeader), got[0].Header.Get(signature.SignatureHeader), bodies[0], time.Now())
	var body notify.NotificationBody
	if err != nil || json.Unmarshal(bodies[0], &body) != nil || len(body.Links) != 1 {
		t.Errorf("notification %s: %v", bodies[0], err)
	}
}

// TestTheDefaultWiringRunsEndToEnd drives an App built by default (no Build option) over HTTP.
func TestTheDefaultWiringRunsEndToEnd(t *testing.T) {
	wiredConfig(t)
	t.Setenv("ENVSHARE_HTTP_AUTH", "bearer")
	t.Setenv("ENVSHARE_HTTP_SECRET", testSecret)
	app := New(Options{Platform: PlatformSCF, Logger: discardLogger()})
	resp := app.HTTP(context.Background(), HTTPRequest{Method: "GET", Path: "/bindings", Headers: bearer(),
		Query: map[string][]string{"appids": {"wx5fe6bb43205e9e07"}}})
	if resp.Status != 200 || !strings.Contains(resp.Body, `"envs":["test-env-6gni9ity244a6ea3"]`) {
		t.Fatalf("got %d %s", resp.Status, resp.Body)
	}
}
