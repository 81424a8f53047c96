package trigger

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/config"
	"github.com/envshare/envshare/internal/testkit"
	"github.com/envshare/envshare/pkg/wxemu"
)

// Under load: one warm instance serves many invocations at once (the SCF RPC server does),
// sharing its configuration, token cache and HTTP client. Run with -race.

// loadRig is one App, wired by default (but counting its builds), against an emulator that
// answers after a few milliseconds, with the token in a file.
type loadRig struct {
	app       *App
	emu       *wxemu.Emulator
	gate      *rotationGate
	tokenFile string
	logs      *testkit.Buffer
	builds    atomic.Int32
}

// newLoadRig starts the emulator and configures the App. file is what the token file holds
// at first: a token, or the platform's credentials to mint one.
func newLoadRig(t *testing.T, emuOpts wxemu.Options, file string) *loadRig {
	t.Helper()
	emuOpts.Strict = true
	emuOpts.Latency = 5 * time.Millisecond
	r := &loadRig{emu: wxemu.New(emuOpts), gate: &rotationGate{}, logs: &testkit.Buffer{},
		tokenFile: filepath.Join(t.TempDir(), "token")}
	if err := r.emu.Seed(wxemu.DemoState()); err != nil {
		t.Fatal(err)
	}
	// Shares take 5 ms more: 5 to 10 ms per call.
	if err := r.emu.AddFault(wxemu.Fault{Endpoint: wxemu.EndpointShare, Kind: wxemu.FaultLatency, Delay: 5 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r.gate.wrap(r.emu))
	t.Cleanup(srv.Close)
	if err := r.writeTokenFile(file); err != nil {
		t.Fatal(err)
	}

	isolateEnv(t)
	for k, v := range map[string]string{
		"ENVSHARE_WECHAT_BASE_URL": srv.URL,
		"ENVSHARE_TOKEN_MODE":      "file",
		"ENVSHARE_TOKEN_FILE":      r.tokenFile,
		"ENVSHARE_HTTP_AUTH":       "bearer",
		"ENVSHARE_HTTP_SECRET":     testSecret,
		"ENVSHARE_MANIFEST":        `{"envs":[{"env":"prod-6gni9ity244a6ea3","appids":["wx5fe6bb43205e9e07","wx075cf85bf347b6df","wx1a2b3c4d5e6f7081"]}]}`,
		"ENVSHARE_RATE_LIMIT":      "0", // the limiter is not under test: it would only make the test slow
	} {
		t.Setenv(k, v)
	}
	log := slog.New(slog.NewJSONHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r.app = New(Options{
		Platform:   PlatformAWS,
		Logger:     log,
		MetricsOut: discard{},
		Build: func(ctx context.Context, cfg config.Config) (*Core, error) {
			r.builds.Add(1)
			return r.app.wire(ctx, cfg) // what New wires by default
		},
	})
	return r
}

// writeTokenFile replaces the token file at once, as a secret rotation tool would: a reader
// sees the old or the new file, never a half-written one.
func (r *loadRig) writeTokenFile(content string) error {
	tmp := r.tokenFile + ".new"
	if err := os.WriteFile(tmp, []byte(content+"\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, r.tokenFile)
}

// loadInvocation is the i-th invocation of a mix of HTTP routes and direct messages; it
// returns "" when it ended well, else what went wrong.
func loadInvocation(ctx context.Context, app *App, i int) string {
	auth := map[string]string{"Authorization": "Bearer " + testSecret}
	var resp HTTPResponse
	switch i % 5 {
	case 0:
		resp = app.HTTP(ctx, HTTPRequest{Method: "POST", Path: "/share", Headers: auth,
			Body: `{"env":"prod-6gni9ity244a6ea3","appids":["wx075cf85bf347b6df","wx1a2b3c4d5e6f7081"]}`})
	case 1:
		resp = app.HTTP(ctx, HTTPRequest{Method: "GET", Path: "/bindings", Headers: auth,
			Query: map[string][]string{"appids": {"wx5fe6bb43205e9e07,wx075cf85bf347b6df"}}})
	case 2:
		resp = app.HTTP(ctx, HTTPRequest{Method: "POST", Path: "/reconcile", Headers: auth, Body: `{"dry_run":true}`})
	case 3:
		if _, err := app.Message(ctx, []byte(`{"action":"share","env":"staging-8f2k4m6n1p3q5r7t","appids":["wx075cf85bf347b6df"]}`)); err != nil {
			return "direct share: " + err.Error()
		}
		return ""
	default:
		if _, err := app.Message(ctx, []byte(`{"action":"bindings","appids":["wx1a2b3c4d5e6f7081"]}`)); err != nil {
			return "direct bindings: " + err.Error()
		}
		return ""
	}
	if resp.Status != http.StatusOK {
		return fmt.Sprintf("HTTP %d %s", resp.Status, resp.Body)
	}
	return ""
}

// runConcurrently runs workers goroutines of n invocations each, all starting together, and
// calls between() once half of all invocations have ended. It returns what went wrong.
func runConcurrently(app *App, workers, n int, between func()) []string {
	var (
		mu       sync.Mutex
		failures []string
		ended    atomic.Int32
		half     = make(chan struct{})
		start    = make(chan struct{})
		wg       sync.WaitGroup
	)
	for w := range workers {
		wg.Go(func() {
			<-start
			for k := range n {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				failure := loadInvocation(ctx, app, w*n+k)
				cancel()
				if failure != "" {
					mu.Lock()
					failures = append(failures, failure)
					mu.Unlock()
				}
				if ended.Add(1) == int32(workers*n/2) {
					close(half)
				}
			}
		})
	}
	var betweenDone sync.WaitGroup
	betweenDone.Go(func() {
		<-half
		if between != nil {
			between()
		}
	})
	close(start)
	wg.Wait()
	betweenDone.Wait()
	return failures
}

func TestAWarmInstanceSharesItsTokenAcrossConcurrentInvocationsThroughARotation(t *testing.T) {
	const workers, perWorker = 64, 20
	r := newLoadRig(t, wxemu.Options{Tokens: []string{"load-token-before-rotation"}}, "load-token-before-rotation")

	failures := runConcurrently(r.app, workers, perWorker, func() {
		// WeChat revokes the token and the file gets the new one, with no call answered in
		// between; the calls in flight still carry the old token and are answered 42001.
		r.gate.rotate(func() {
			if err := r.writeTokenFile(r.emu.RotateToken()); err != nil {
				t.Error(err)
			}
		})
	})
	for i, f := range failures {
		if i == 5 {
			t.Errorf("... %d failures in all", len(failures))
			break
		}
		t.Errorf("an invocation failed: %s", f)
	}

	lines := r.logs.Lines(t)
	loads, reloads, summaries, cold, tokenReloads := 0, 0, 0, 0, 0
	for _, l := range lines {
		switch l["msg"] {
		case "token loaded":
			loads++
			if l["reload"] == true {
				reloads++
			}
		case "token load failed":
			t.Errorf("a token load failed: %v", l)
		case "invocation":
			summaries++
			if l["cold_start"] == true {
				cold++
			}
			n, _ := l["token_reloads"].(float64)
			tokenReloads += int(n)
		}
	}
	if summaries != workers*perWorker || cold != 1 {
		t.Errorf("%d summary lines (want %d), %d cold starts (want 1)", summaries, workers*perWorker, cold)
	}
	if got := r.builds.Load(); got != 1 {
		t.Errorf("the service was built %d times, want once", got)
	}
	// The file was read once at first and once after the rotation: every invocation that
	// met a 42001 took the one reload's token instead of reading the file itself.
	if loads != 2 || reloads != 1 {
		t.Errorf("the token file was read %d times, %d of them reloads; want 2 and 1", loads, reloads)
	}
	rejected := 0
	for _, c := range r.emu.CallLog() {
		if c.ErrCode == 42001 {
			rejected++
		}
	}
	// Only calls sent with the old token before the reload met a 42001: at most those of the
	// invocations in flight, about one per worker. Each caused exactly one retry.
	if rejected == 0 || rejected > 2*workers {
		t.Errorf("%d calls were answered 42001; want between 1 and %d", rejected, 2*workers)
	}
	if tokenReloads != rejected {
		t.Errorf("the invocations counted %d token reloads for %d answers 42001", tokenReloads, rejected)
	}
	t.Logf("%d invocations, %d calls, %d answered 42001, token file read %d times",
		summaries, len(r.emu.CallLog()), rejected, loads)
}

func TestConcurrentFirstInvocationsOfTheDefaultWiringBuildAndMintOnce(t *testing.T) {
	const invocations = 32
	creds := `{"component_appid":"wxc0ffee0c0ffee0ab","component_appsecret":"load-app-secret","component_verify_ticket":"load-ticket"}`
	r := newLoadRig(t, wxemu.Options{ComponentAppID: "wxc0ffee0c0ffee0ab", ComponentAppSecret: "load-app-secret",
		ComponentVerifyTicket: "load-ticket"}, creds)

	for _, f := range runConcurrently(r.app, invocations, 1, nil) {
		t.Errorf("an invocation failed: %s", f)
	}
	if got := r.builds.Load(); got != 1 {
		t.Errorf("the service was built %d times, want once", got)
	}
	if got := r.emu.Calls(wxemu.EndpointComponentToken); got != 1 {
		t.Errorf("the token was minted %d times, want once", got)
	}
	cold := 0
	for _, l := range r.logs.Lines(t) {
		if l["msg"] == "invocation" && l["cold_start"] == true {
			cold++
		}
	}
	if cold != 1 {
		t.Errorf("%d invocations said they were the cold start, want 1", cold)
	}
}

// rotationGate holds the emulator's answers while a rotation runs, so that a rotation can
// change the emulator and the token file together, as one that updates the secret before
// WeChat revokes the old token does.
type rotationGate struct{ mu sync.RWMutex }

func (g *rotationGate) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.RLock()
		defer g.mu.RUnlock()
		h.ServeHTTP(w, r)
	})
}

func (g *rotationGate) rotate(fn func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	fn()
}
