package share

// End-to-end tests: the Service drives the real wechat.Client against the wxemu emulator on
// 127.0.0.1.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/envshare/envshare/pkg/wechat"
	"github.com/envshare/envshare/pkg/wxemu"
)

const (
	emuToken = "emu-token-do-not-leak"
	subject  = "Acme Cloud Co., Ltd."
)

// instant makes the client's backoff waits return at once (no real sleeping in tests).
func instant(ctx context.Context, _ time.Duration) error { return ctx.Err() }

// endToEnd is a Service over the real client over an emulator seeded with state.
type endToEnd struct {
	emu  *wxemu.Emulator
	svc  *Service
	logs *syncBuffer
}

func newEndToEnd(tb testing.TB, emuOpts wxemu.Options, state wxemu.State, opts Options) *endToEnd {
	tb.Helper()
	emuOpts.Tokens = []string{emuToken}
	emuOpts.Strict = true // answers 40097 when source_type is missing
	if emuOpts.MaxAppIDsPerCall == 0 {
		emuOpts.MaxAppIDsPerCall = 100
	}
	emu := wxemu.New(emuOpts)
	if err := emu.Seed(state); err != nil {
		tb.Fatal(err)
	}
	logs := &syncBuffer{}
	logger := testLogger(nil)
	if _, ok := tb.(*testing.T); ok { // benchmarks skip the debug lines
		logger = testLogger(logs)
	}
	base := emu.ServeTest(tb)
	client := wechat.New(base, wechat.StaticToken(emuToken), wechat.WithWait(instant), wechat.WithLogger(logger))
	opts.Logger = logger
	opts.ConfirmOrigins = []string{base} // the emulator's links are http://127.0.0.1:port/...
	return &endToEnd{emu: emu, svc: New(client, opts), logs: logs}
}

// fleet returns a state with envs and apps (all of one subject; auto-confirming when auto).
func fleet(envs []string, apps []string, auto bool) wxemu.State {
	s := wxemu.State{Envs: map[string]wxemu.Env{}, Apps: map[string]wxemu.App{}, Bindings: map[string][]string{}}
	for _, e := range envs {
		s.Envs[e] = wxemu.Env{Subject: subject}
	}
	for _, a := range apps {
		s.Apps[a] = wxemu.App{Subject: subject, AutoConfirm: auto}
	}
	return s
}

func TestEndToEndShareUnshareAndBindings(t *testing.T) {
	a3, a4, unknown := appid(3), appid(4), appid(99)
	state := fleet([]string{"prod-1", "test-1"}, nil, false)
	state.Apps = map[string]wxemu.App{
		a0: {Subject: subject, AutoConfirm: true},
		a1: {Subject: subject},
		a2: {Subject: subject, MissingPermission18: true},
		a3: {Subject: "Other Co."},
		a4: {Subject: subject, AutoConfirm: true},
	}
	e := newEndToEnd(t, wxemu.Options{}, state, Options{})
	ctx := t.Context()

	res, err := e.svc.Do(ctx, Request{Action: "share", Data: []wechat.EnvAppIDs{
		{Env: "prod-1", AppIDs: []string{a0, a1, a2, a3, a0}},
		{Env: "test-1", AppIDs: []string{a4}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got := statuses(res.Results)
	want := map[string]Status{"prod-1/" + a0: StatusShared, "prod-1/" + a1: StatusPendingConfirmation,
		"prod-1/" + a2: StatusFailed, "prod-1/" + a3: StatusFailed, "test-1/" + a4: StatusShared}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("statuses %v", got)
	}
	if o := outcomeOf(t, res, "prod-1", a3); o.Error.Code != CodeDifferentEntity || o.Error.Message != "main body not same" {
		t.Fatalf("outcome %+v", o)
	}
	if n := e.emu.Calls(wxemu.EndpointShare); n != 1 {
		t.Fatalf("%d share calls, want one: the envs share no appid, so they are packed into one call", n)
	}

	// The administrator opens the link; then the binding shows.
	confirm(t, outcomeOf(t, res, "prod-1", a1).ConfirmURL)
	res, err = e.svc.Do(ctx, Request{Action: "bindings", AppIDs: []string{a0, a1, a2, unknown}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res)
	wantJSON := `{"ok":false,"action":"bindings","source_type":1,"bindings":[` +
		`{"appid":"` + a0 + `","envs":["prod-1"]},{"appid":"` + a1 + `","envs":["prod-1"]}],"errors":[` +
		`{"appid":"` + a2 + `","error":{"code":"rejected","message":"` + wxemu.MsgNotAuthorized18 + `"}},` +
		`{"appid":"` + unknown + `","error":{"code":"rejected","message":"invalid appid"}}]}`
	if string(b) != wantJSON {
		t.Fatalf("bindings\n got %s\nwant %s", b, wantJSON)
	}

	res, err = e.svc.Do(ctx, Request{Action: "unshare", Env: "prod-1", AppIDs: []string{a0, a3}})
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(res.Results); got["prod-1/"+a0] != StatusUnshared || got["prod-1/"+a3] != StatusFailed {
		t.Fatalf("unshare statuses %v", got)
	}
	assertNoToken(t, e)
}

func confirm(t *testing.T, link string) {
	t.Helper()
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("confirm: HTTP %d", resp.StatusCode)
	}
}

func TestEndToEndWholeFailures(t *testing.T) {
	state := fleet([]string{"prod-1"}, appids(0, 3), true)
	tests := []struct {
		name    string
		fault   wxemu.Fault
		code    Code
		errcode int
	}{
		{"WeChat refusing every call is an upstream_error with its errcode",
			wxemu.Fault{Kind: wxemu.FaultErrCode, Code: 48001}, CodeUpstreamError, 48001},
		{"WeChat busy on every attempt is upstream_unavailable",
			wxemu.Fault{Kind: wxemu.FaultBusy}, CodeUpstreamUnavailable, -1},
		{"HTTP 503 on every attempt is upstream_unavailable",
			wxemu.Fault{Kind: wxemu.FaultHTTP5xx}, CodeUpstreamUnavailable, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state.Faults = []wxemu.Fault{tt.fault}
			e := newEndToEnd(t, wxemu.Options{}, state, Options{ChunkSize: 2})
			for _, req := range []Request{
				{Action: "share", Env: "prod-1", AppIDs: appids(0, 3)},
				{Action: "bindings", AppIDs: appids(0, 3)},
				{Action: "reconcile", Envs: []wechat.EnvAppIDs{{Env: "prod-1", AppIDs: appids(0, 3)}}},
			} {
				_, err := e.svc.Do(t.Context(), req)
				var se *Error
				if !errors.As(err, &se) || se.Code != tt.code {
					t.Fatalf("%s: err %v, want %s", req.Action, err, tt.code)
				}
				if strings.Contains(err.Error(), emuToken) {
					t.Fatalf("the token leaked: %v", err)
				}
				if tt.errcode != 0 && (se.WechatErrcode == nil || *se.WechatErrcode != tt.errcode) {
					t.Fatalf("%s: errcode %v, want %d", req.Action, se.WechatErrcode, tt.errcode)
				}
			}
			assertNoToken(t, e)
		})
	}
	// A fault on one env's call: a result, not a whole failure; a minute limit (45011) is
	// waited out by the client (its wait is instant here) and the call sent again.
	for _, tt := range []struct {
		name                   string
		code                   int
		shared, failed, writes int
	}{
		{"a fault on one env's call answers a result", 61004, 2, 2, 2},
		{"a minute limit on one call is waited out by the client", 45011, 4, 0, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			state := fleet([]string{"prod-1", "prod-2"}, appids(0, 2), true)
			state.Faults = []wxemu.Fault{{Endpoint: wxemu.EndpointShare, Kind: wxemu.FaultErrCode, Code: tt.code, Times: 1}}
			e := newEndToEnd(t, wxemu.Options{}, state, Options{})
			res, err := e.svc.Do(t.Context(), Request{Action: "share", Data: []wechat.EnvAppIDs{
				{Env: "prod-1", AppIDs: appids(0, 2)}, {Env: "prod-2", AppIDs: appids(0, 2)}}})
			if err != nil {
				t.Fatal(err)
			}
			n := counts(res.Summary)
			if res.OK != (tt.failed == 0) || n[StatusShared] != tt.shared || n[StatusFailed] != tt.failed ||
				e.emu.Calls(wxemu.EndpointShare) != tt.writes {
				t.Fatalf("result %+v, %d calls", res, e.emu.Calls(wxemu.EndpointShare))
			}
		})
	}
}

func TestEndToEndReconcile(t *testing.T) {
	ids := appids(0, 10)
	state := fleet([]string{"prod-1", "prod-2", "unmanaged"}, ids, true)
	state.Apps[ids[9]] = wxemu.App{Subject: subject}                   // needs confirmation
	state.Apps[ids[8]] = wxemu.App{Subject: "Other Co."}               // share refused
	state.Bindings[ids[0]] = []string{"prod-1", "prod-2", "unmanaged"} // prod-2 extra, unmanaged kept
	state.Bindings[ids[1]] = []string{"prod-1"}
	manifest := manifestOf(t, Request{Envs: []wechat.EnvAppIDs{
		{Env: "prod-1", AppIDs: ids},
		{Env: "prod-2", AppIDs: ids[5:8]},
	}, Prune: ptr(true)})

	rec := &batchRecorder{}
	e := newEndToEnd(t, wxemu.Options{}, state, Options{ChunkSize: 4, Manifest: manifest, Notifier: rec})
	ctx := t.Context()

	t.Run("a dry run plans without writing", func(t *testing.T) {
		res, err := e.svc.Do(ctx, Request{Action: "reconcile", DryRun: ptr(true)})
		if err != nil {
			t.Fatal(err)
		}
		if w := e.emu.Calls(wxemu.EndpointShare) + e.emu.Calls(wxemu.EndpointUnshare); w != 0 {
			t.Fatalf("%d write calls in a dry run", w)
		}
		if counts(res.Summary)[StatusWouldShare] != 11 || counts(res.Summary)[StatusWouldUnshare] != 1 || !res.DryRun {
			t.Fatalf("summary %v", res.Summary)
		}
	})

	t.Run("a run shares the missing pairs and prunes the managed extras", func(t *testing.T) {
		e.emu.ResetCalls()
		res, err := e.svc.Do(ctx, Request{Action: "reconcile"})
		if err != nil {
			t.Fatal(err)
		}
		checkSummary(t, res.Summary, `{"desired":13,"already_shared":2,"shared":9,"pending_confirmation":1,"failed":1,"deferred":0,`+
			`"would_share":0,"unshared":1,"would_unshare":0,"unshare_failed":0,"unshare_deferred":0}`)
		bound := e.emu.State().Bindings[ids[0]]
		if fmt.Sprint(bound) != "[prod-1 unmanaged]" {
			t.Fatalf("%s is bound to %v", ids[0], bound)
		}
		// 10 appids in chunks of 4 → 3 queries; prod-1 misses 8 → 2 shares, prod-2 3 → 1; 1 unshare.
		if g, s, u := e.emu.Calls(wxemu.EndpointGetEnvID), e.emu.Calls(wxemu.EndpointShare), e.emu.Calls(wxemu.EndpointUnshare); g != 3 || s != 3 || u != 1 {
			t.Fatalf("calls: %d get, %d share, %d unshare", g, s, u)
		}
		if res.Notification == nil || !res.Notification.Sent || len(rec.batches) != 1 {
			t.Fatalf("notification %+v, batches %v", res.Notification, rec.batches)
		}
		var pending Outcome
		for _, o := range res.Results {
			if o.Status == StatusPendingConfirmation {
				pending = o
			}
		}
		if rec.batches[0][0].ConfirmURL != pending.ConfirmURL || pending.AppID != ids[9] {
			t.Fatalf("link %+v, pending %+v", rec.batches[0], pending)
		}
		confirm(t, pending.ConfirmURL)
	})

	t.Run("a run right after a successful one sends no write call", func(t *testing.T) {
		e.emu.ResetCalls()
		res, err := e.svc.Do(ctx, Request{Action: "reconcile"})
		if err != nil {
			t.Fatal(err)
		}
		if w := e.emu.Calls(wxemu.EndpointShare) + e.emu.Calls(wxemu.EndpointUnshare); w != 1 {
			t.Fatalf("%d write calls, want only the retry of the refused pair", w)
		}
		if counts(res.Summary)[StatusAlreadyShared] != 12 || counts(res.Summary)[StatusFailed] != 1 {
			t.Fatalf("summary %v", res.Summary)
		}
	})

	t.Run("a run too close to its deadline sends nothing and defers everything", func(t *testing.T) {
		e.emu.ResetCalls()
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second) // below the 3 s margin
		defer cancel()
		res, err := e.svc.Do(ctx, Request{Action: "reconcile"})
		if err != nil {
			t.Fatal(err)
		}
		if e.emu.Calls("") != 0 || counts(res.Summary)[StatusDeferred] != 13 || len(res.Results) != 13 {
			t.Fatalf("%d calls, summary %v", e.emu.Calls(""), res.Summary)
		}
	})
	assertNoToken(t, e)
}

func TestEndToEndShardsCoverTheFleetOnce(t *testing.T) {
	ids := appids(0, 200)
	e := newEndToEnd(t, wxemu.Options{}, fleet([]string{"prod-1"}, ids, true), Options{ChunkSize: 10})
	seen := map[string]int{}
	for i := range 4 {
		e.emu.ResetCalls()
		res, err := e.svc.Do(t.Context(), Request{Action: "reconcile", Envs: []wechat.EnvAppIDs{{Env: "prod-1", AppIDs: ids}},
			Shard: &Shard{Index: i, Count: 4}})
		if err != nil || !res.OK {
			t.Fatalf("shard %d: %+v, %v", i, res, err)
		}
		for _, c := range e.emu.CallLog() {
			for _, a := range c.AppIDs {
				if ShardOf(a, 4) != i {
					t.Fatalf("shard %d queried %s of shard %d", i, a, ShardOf(a, 4))
				}
			}
		}
		for _, o := range res.Results {
			seen[o.AppID]++
		}
	}
	if len(seen) != len(ids) {
		t.Fatalf("the shards shared %d of %d appids", len(seen), len(ids))
	}
	for a, n := range seen {
		if n != 1 {
			t.Fatalf("%s shared by %d shards", a, n)
		}
	}
	if b := e.emu.State().Bindings; len(b) != len(ids) {
		t.Fatalf("%d appids bound", len(b))
	}
}

// largeFleet is n appids spread over envs (n/envs each), all auto-confirming, with every
// missingEvery-th appid of each env not yet bound.
func largeFleet(n, envCount, missingEvery int) (wxemu.State, []wechat.EnvAppIDs, int) {
	ids := appids(0, n)
	envs := make([]string, envCount)
	for i := range envs {
		envs[i] = fmt.Sprintf("env-%03d", i)
	}
	state := fleet(envs, ids, true)
	manifest := make([]wechat.EnvAppIDs, envCount)
	per := n / envCount
	missing := 0
	for i, env := range envs {
		manifest[i] = wechat.EnvAppIDs{Env: env, AppIDs: ids[i*per : (i+1)*per]}
		for k, a := range manifest[i].AppIDs {
			if k%missingEvery == 0 {
				missing++
				continue
			}
			state.Bindings[a] = []string{env}
		}
	}
	return state, manifest, missing
}

func TestEndToEndReconcileOf100kAppidsOver100Envs(t *testing.T) {
	if testing.Short() {
		t.Skip("large fleet")
	}
	state, manifest, missing := largeFleet(100_000, 100, 5)
	e := newEndToEnd(t, wxemu.Options{}, state, Options{})
	start := time.Now()
	res, err := e.svc.Do(t.Context(), Request{Action: "reconcile", Envs: manifest, Prune: ptr(true)})
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK || counts(res.Summary)[StatusShared] != missing || counts(res.Summary)[StatusAlreadyShared] != 100_000-missing {
		t.Fatalf("summary %v", res.Summary)
	}
	rss, _ := peakRSS()
	t.Logf("reconciled 100,000 appids over 100 envs (%d missing) in %v: %d bindings calls, %d share calls; peak RSS of the test process (emulator included) %.0f MiB",
		missing, took.Round(time.Millisecond), e.emu.Calls(wxemu.EndpointGetEnvID), e.emu.Calls(wxemu.EndpointShare), rss/(1<<20))
}

// BenchmarkReconcile10k reconciles 10,000 appids over 20 envs with 20% of the pairs missing,
// through the real client, against the emulator with 20 ms latency per call (concurrency 8,
// chunk 100, no client rate limit). It reports wall time, calls per endpoint against the
// minimum for the chunk size, the ideal calls×latency/concurrency, and peak memory.
func BenchmarkReconcile10k(b *testing.B) {
	const (
		appCount    = 10_000
		envCount    = 20
		latency     = 20 * time.Millisecond
		concurrency = 8
		chunk       = 100
	)
	state, manifest, missing := largeFleet(appCount, envCount, 5)
	perEnvMissing := missing / envCount
	minBindings := (appCount + chunk - 1) / chunk
	minShare := envCount * ((perEnvMissing + chunk - 1) / chunk)
	req := Request{Action: "reconcile", Envs: manifest}

	e := newEndToEnd(b, wxemu.Options{Latency: latency}, state, Options{Concurrency: concurrency, ChunkSize: chunk})
	peak := &heapPeak{}
	var wall time.Duration
	var gets, shares int
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		if err := e.emu.Seed(state); err != nil {
			b.Fatal(err)
		}
		e.emu.ResetCalls()
		runtime.GC()
		b.StartTimer()

		stop := peak.sample()
		start := time.Now()
		res, err := e.svc.Do(context.Background(), req)
		wall += time.Since(start)
		stop()
		if err != nil || counts(res.Summary)[StatusShared] != missing {
			b.Fatalf("reconcile: %v, %v", err, res)
		}
		gets += e.emu.Calls(wxemu.EndpointGetEnvID)
		shares += e.emu.Calls(wxemu.EndpointShare)
	}
	n := float64(b.N)
	calls := float64(gets+shares) / n
	ideal := calls * float64(latency.Milliseconds()) / concurrency
	b.ReportMetric(float64(wall.Milliseconds())/n, "wall_ms")
	b.ReportMetric(ideal, "ideal_ms")
	b.ReportMetric(float64(wall.Milliseconds())/n/ideal, "wall/ideal")
	b.ReportMetric(float64(gets)/n, "calls_bindings")
	b.ReportMetric(float64(minBindings), "min_bindings")
	b.ReportMetric(float64(shares)/n, "calls_share")
	b.ReportMetric(float64(minShare), "min_share")
	b.ReportMetric(float64(peak.max.Load())/(1<<20), "peak_heap_MiB")
	if rss, ok := peakRSS(); ok {
		b.ReportMetric(rss/(1<<20), "peak_rss_MiB")
	}
}

// heapPeak samples the live heap (runtime/metrics, no stop-the-world) while a run goes on.
type heapPeak struct{ max atomic.Uint64 }

func (h *heapPeak) sample() (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > h.max.Load() {
				h.max.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// peakRSS reads VmHWM (the process's peak resident set) from /proc/self/status, in bytes.
func peakRSS() (float64, bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb * 1024, err == nil
		}
	}
	return 0, false
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// assertNoToken checks that the access token appears in no log line.
func assertNoToken(t *testing.T, e *endToEnd) {
	t.Helper()
	if strings.Contains(e.logs.String(), emuToken) {
		t.Fatal("the access token appears in the logs")
	}
}
