package budget

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/ledger"
	"github.com/envshare/envshare/internal/rpcinvoke"
	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/wxemu"
)

// The fleet of BenchmarkReconcileByCustomer: customers × authorizersEach Mini Programs, each
// customer with two envs; every boundEvery-th authorizer is bound to its customer's envs
// already, the others need their administrator's confirmation.
const (
	customers       = 2_000
	authorizersEach = 5
	boundEvery      = 5
)

// BenchmarkReconcileByCustomer reconciles a manifest of 2,000 customers (two envs each) whose
// 10,000 authorizers the SQLite ledger knows, against the WeChat emulator, in a fresh child
// process (testdata/ledgerfn: the core with the SQLite engine, over SCF's protocol), twice:
// the first run shares every missing pair, the second, within ENVSHARE_RELINK_AFTER, finds
// them awaiting confirmation and writes nothing. It reports each run's WeChat calls (reads:
// batchgetenvid, writes: batchshareenv), the minimum (reads ceil(10,000/100), writes
// ceil(16,000 missing pairs/100): packed calls, each appid in two of them), the child's peak
// RSS and each run's duration; it fails if a run calls more than the minimum or the summary is
// not exact.
func BenchmarkReconcileByCustomer(b *testing.B) {
	manifest, state, seed := customerFleet()
	rig := newLedgerfnRig(b, manifest, state, seed)
	emu := rig.emu
	reads := (customers*authorizersEach + share.DefaultChunkSize - 1) / share.DefaultChunkSize
	missing := 8 * customers // four in five appids of each customer, in both its envs
	writes := (missing + share.DefaultChunkSize - 1) / share.DefaultChunkSize
	var first, second []float64
	var rss, wall1, wall2 []float64
	for b.Loop() {
		b.StopTimer()
		environment := ledgerfnEnv(rig.wechatURL, rig.manifestPath, rig.reset(b), 0)
		b.StartTimer()

		proc := startLedgerfn(b, rig.binary, nil)
		for run, want := range []map[string]int{
			{"desired": 2 * customers * authorizersEach, "already_shared": 2 * customers, "pending_confirmation": 8 * customers,
				"awaiting_confirmation": 0, "failed": 0, "deferred": 0},
			{"desired": 2 * customers * authorizersEach, "already_shared": 2 * customers, "pending_confirmation": 0,
				"awaiting_confirmation": 8 * customers, "failed": 0, "deferred": 0},
		} {
			emu.ResetCalls()
			start := time.Now()
			answer, err := proc.Invoke([]byte(`{"action":"reconcile"}`), environment, fmt.Sprintf("customers-%d", run), 5*time.Minute)
			took := time.Since(start)
			if err != nil {
				proc.Close()
				b.Fatalf("run %d: %v", run+1, err)
			}
			if err := checkSummary(answer, want); err != nil {
				proc.Close()
				b.Fatalf("run %d: %v", run+1, err)
			}
			gets, shares := emu.Calls(wxemu.EndpointGetEnvID), emu.Calls(wxemu.EndpointShare)
			wantShares := writes
			if run == 1 {
				wantShares = 0 // within the relink window: no write at all
			}
			if gets != reads || shares != wantShares {
				proc.Close()
				b.Fatalf("run %d: %d reads and %d writes, want the minimum: %d and %d", run+1, gets, shares, reads, wantShares)
			}
			if run == 0 {
				first, wall1 = append(first, float64(gets+shares)), append(wall1, float64(took.Milliseconds()))
			} else {
				second, wall2 = append(second, float64(gets+shares)), append(wall2, float64(took.Milliseconds()))
			}
		}
		peak, err := peakRSS(proc.PID())
		proc.Close()
		if err != nil {
			b.Fatal(err)
		}
		rss = append(rss, peak)
	}
	b.ReportMetric(median(first), "calls_run1")
	b.ReportMetric(float64(reads+writes), "min_calls_run1")
	b.ReportMetric(median(second), "calls_run2")
	b.ReportMetric(float64(reads), "min_calls_run2")
	b.ReportMetric(median(rss), "peak_rss_MiB")
	b.ReportMetric(median(wall1), "run1_ms")
	b.ReportMetric(median(wall2), "run2_ms")
	if m := median(rss); m >= 128 {
		b.Errorf("peak RSS %.1f MiB, over the budget of 128 MiB", m)
	}
}

// checkSummary checks the counts of a reconcile's answer.
func checkSummary(answer []byte, want map[string]int) error {
	var res struct {
		Summary map[string]int `json:"summary"`
	}
	if err := json.Unmarshal(answer, &res); err != nil {
		return fmt.Errorf("answer %.300s: %w", answer, err)
	}
	for name, n := range want {
		if got := res.Summary[name]; got != n {
			return fmt.Errorf("summary %s = %d, want %d: %.400s", name, got, n, answer)
		}
	}
	return nil
}

// customerFleet returns the manifest of the customers, the emulator's world and the ledger's
// authorizers: customer c is "Customer c" with envs cust-c-a and cust-c-b and the authorizers
// appID(c*5) ... appID(c*5+4), every boundEvery-th of them bound to both envs already.
func customerFleet() (share.Request, wxemu.State, []ledger.Authorizer) {
	manifest := share.Request{Customers: make([]share.Customer, customers)}
	state := wxemu.State{Envs: map[string]wxemu.Env{}, Apps: map[string]wxemu.App{}, Bindings: map[string][]string{}}
	seed := make([]ledger.Authorizer, 0, customers*authorizersEach)
	at := time.Unix(1_700_000_000, 0).UTC()
	for c := range customers {
		principal := fmt.Sprintf("Customer %04d Co., Ltd.", c)
		envs := []string{fmt.Sprintf("cust-%04d-a", c), fmt.Sprintf("cust-%04d-b", c)}
		manifest.Customers[c] = share.Customer{Principal: principal, Envs: envs}
		for _, env := range envs {
			state.Envs[env] = wxemu.Env{Subject: principal}
		}
		for k := range authorizersEach {
			i := c*authorizersEach + k
			appid := appID(i)
			state.Apps[appid] = wxemu.App{Subject: principal}
			if i%boundEvery == 0 {
				state.Bindings[appid] = envs
			}
			seed = append(seed, ledger.Authorizer{AppID: appid, Principal: principal, Authorized: true,
				PermissionSets: []int{17, 18, 19}, MiniProgram: true, AuthorizedAt: at, InfoFetchedAt: at,
				LastEvent: "authorized", LastEventTime: at})
		}
	}
	return manifest, state, seed
}

// ledgerfnRig is what the fleet benchmarks run: testdata/ledgerfn built, the fleet's manifest
// written to a file, and an emulator (Strict, fleetToken) that is given the fleet's state.
type ledgerfnRig struct {
	binary, manifestPath, wechatURL string
	emu                             *wxemu.Emulator
	state                           wxemu.State
	seed                            []ledger.Authorizer // the ledger's authorizers
}

func newLedgerfnRig(b *testing.B, manifest share.Request, state wxemu.State, seed []ledger.Authorizer) *ledgerfnRig {
	b.Helper()
	dir := b.TempDir()
	r := &ledgerfnRig{
		binary:       buildRelease(b, "./internal/budget/testdata/ledgerfn", runtime.GOARCH, scfTags, dir, "ledgerfn"),
		manifestPath: filepath.Join(dir, "manifest.json"),
		emu:          wxemu.New(wxemu.Options{Tokens: []string{fleetToken}, Strict: true}),
		state:        state,
		seed:         seed,
	}
	r.wechatURL = r.emu.ServeTest(b)
	if err := os.WriteFile(r.manifestPath, mustJSON(b, manifest), 0o600); err != nil {
		b.Fatal(err)
	}
	return r
}

// reset gives the emulator the fleet's state again, with no call counted, and returns the path
// of a fresh SQLite ledger that holds the seed authorizers.
func (r *ledgerfnRig) reset(b *testing.B) string {
	b.Helper()
	if err := r.emu.Seed(r.state); err != nil {
		b.Fatal(err)
	}
	r.emu.ResetCalls()
	ledgerPath := filepath.Join(b.TempDir(), "ledger.db")
	if err := seedLedgerRows(ledgerPath, r.seed); err != nil {
		b.Fatal(err)
	}
	return ledgerPath
}

// ledgerfnEnv is the environment of an invocation of testdata/ledgerfn: the emulator at
// wechatURL, the manifest file, the SQLite ledger file and ENVSHARE_RATE_LIMIT (0: off).
func ledgerfnEnv(wechatURL, manifestPath, ledgerPath string, rate int) map[string]string {
	return map[string]string{
		"ENVSHARE_WECHAT_BASE_URL":        wechatURL,
		"ENVSHARE_COMPONENT_ACCESS_TOKEN": fleetToken,
		"ENVSHARE_MANIFEST":               manifestPath,
		"ENVSHARE_LEDGER":                 "sqlite:" + ledgerPath,
		"ENVSHARE_RATE_LIMIT":             strconv.Itoa(rate),
		"ENVSHARE_LOG_LEVEL":              "warn",
	}
}

// startLedgerfn starts testdata/ledgerfn's binary with the process environment env (nil: none).
func startLedgerfn(b *testing.B, binary string, env []string) *rpcinvoke.Process {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	proc, err := rpcinvoke.Start(ctx, binary, env, os.Stderr)
	if err != nil {
		b.Fatal(err)
	}
	return proc
}

// The fleet of BenchmarkPackingFiveThousandCustomers: 5,000 customers of one env and two Mini
// Programs each, none shared yet.
const (
	packCustomers = 5_000
	packAppsEach  = 2
)

// BenchmarkPackingFiveThousandCustomers reconciles the example, a platform of 5,000
// customers with one env each (10,000 missing pairs), in a fresh child process (testdata/
// ledgerfn) against the emulator, and reports its write calls beside what one env per call
// made before packing (one call per env with a missing pair: 5,000). It fails unless the
// writes are ceil(10,000/100) = 100.
func BenchmarkPackingFiveThousandCustomers(b *testing.B) {
	manifest := share.Request{Customers: make([]share.Customer, packCustomers)}
	state := wxemu.State{Envs: map[string]wxemu.Env{}, Apps: map[string]wxemu.App{}}
	var seed []ledger.Authorizer
	at := time.Unix(1_700_000_000, 0).UTC()
	for c := range packCustomers {
		principal, env := fmt.Sprintf("Customer %04d Co., Ltd.", c), fmt.Sprintf("cust-%04d", c)
		manifest.Customers[c] = share.Customer{Principal: principal, Envs: []string{env}}
		state.Envs[env] = wxemu.Env{Subject: principal}
		for k := range packAppsEach {
			appid := appID(c*packAppsEach + k)
			state.Apps[appid] = wxemu.App{Subject: principal}
			seed = append(seed, ledger.Authorizer{AppID: appid, Principal: principal, Authorized: true,
				PermissionSets: []int{18}, MiniProgram: true, AuthorizedAt: at, InfoFetchedAt: at})
		}
	}
	rig := newLedgerfnRig(b, manifest, state, seed)
	emu := rig.emu
	missing := packCustomers * packAppsEach
	packed := (missing + share.DefaultChunkSize - 1) / share.DefaultChunkSize
	var writes []float64
	for b.Loop() {
		b.StopTimer()
		ledgerPath := rig.reset(b)
		b.StartTimer()
		proc := startLedgerfn(b, rig.binary, nil)
		answer, err := proc.Invoke([]byte(`{"action":"reconcile"}`), ledgerfnEnv(rig.wechatURL, rig.manifestPath, ledgerPath, 0), "packing", 5*time.Minute)
		proc.Close()
		if err != nil {
			b.Fatal(err)
		}
		if err := checkSummary(answer, map[string]int{"desired": missing, "pending_confirmation": missing}); err != nil {
			b.Fatal(err)
		}
		if n := emu.Calls(wxemu.EndpointShare); n != packed {
			b.Fatalf("%d write calls, want ceil(%d/100) = %d", n, missing, packed)
		}
		writes = append(writes, float64(emu.Calls(wxemu.EndpointShare)))
	}
	b.ReportMetric(median(writes), "write_calls_packed")
	b.ReportMetric(packCustomers, "write_calls_one_env_per_call")
	b.Logf("\n| 5,000 customers, one env each, %d missing pairs | write calls |\n|---|---|\n"+
		"| one env per call (before packing) | %d |\n| packed (several envs per call, no appid twice) | %.0f |",
		missing, packCustomers, median(writes))
}
