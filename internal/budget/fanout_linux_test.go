package budget

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/ledger"
	"github.com/envshare/envshare/internal/ledger/sqliteledger"
	"github.com/envshare/envshare/internal/ledger/sqlledger"
	"github.com/envshare/envshare/internal/localqueue"
	"github.com/envshare/envshare/internal/rpcinvoke"
	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/wxemu"
)

// The fleet of BenchmarkFanOutMillionPairs: 50,000 customers of 5 envs and 4 Mini Programs
// each (200,000 authorizers, 1,000,000 desired pairs); each authorizer is bound to 4 of its
// customer's envs already, so 20 % of the pairs are missing, no appid twice.
// ENVSHARE_BENCH_CUSTOMERS runs a smaller fleet of the same shape (a quick look while working:
// the full one takes minutes); `make bench` leaves it unset.
const (
	fullFleetCustomers = 50_000
	fleetEnvsEach      = 5
	fleetAppsEach      = 4
	fleetWorkers       = 5 // the template's QueueMaximumConcurrency
	fleetRoundTrip     = 20 * time.Millisecond
	fleetRateLimit     = 50 // ENVSHARE_RATE_LIMIT's default
)

// fleetCustomers is the number of customers of the benchmark's fleet: ENVSHARE_BENCH_CUSTOMERS,
// else the full fleet.
func fleetCustomers(b *testing.B) int {
	v := os.Getenv("ENVSHARE_BENCH_CUSTOMERS")
	if v == "" {
		return fullFleetCustomers
	}
	// A fleet of no more desired pairs than ENVSHARE_SHARD_PAIRS (default 20,000) is reconciled
	// by one invocation: there would be no shards to fan out.
	least := 20_000/(fleetEnvsEach*fleetAppsEach) + 1
	n, err := strconv.Atoi(v)
	if err != nil || n < least || n > fullFleetCustomers {
		b.Fatalf("ENVSHARE_BENCH_CUSTOMERS=%q: want a number of customers from %d (fewer fit one invocation: no shards) to %d",
			v, least, fullFleetCustomers)
	}
	return n
}

// BenchmarkFanOutMillionPairs runs a reconcile of 1,000,000 desired pairs on the shard
// machinery itself: the planning invocation (a fresh ledgerfn process) hands the shards to a
// local queue (internal/localqueue, as the AWS function hands them to its SQS queue), and
// fleetWorkers worker processes drain it, each invocation the real handler, all on one SQLite
// ledger file and one token bucket of ENVSHARE_RATE_LIMIT in it, against the emulator with a
// simulated 20 ms round trip. It reports the WeChat calls beside their minimum, the
// invocations, the wall time beside calls/rate, and the peak RSS of the largest process; it
// fails if a shard's calls exceed its minimum, the run's totals are not exact, or a process
// reaches 128 MiB.
func BenchmarkFanOutMillionPairs(b *testing.B) {
	customers := fleetCustomers(b)
	manifest, state, seed := millionFleet(customers)
	rig := newLedgerfnRig(b, manifest, state, seed)
	emu := rig.emu
	var last fanOutRun
	for b.Loop() {
		b.StopTimer()
		ledgerPath := rig.reset(b)
		if err := emu.AddFault(wxemu.Fault{Kind: wxemu.FaultLatency, Delay: fleetRoundTrip}); err != nil {
			b.Fatal(err)
		}
		queueDir := b.TempDir()
		b.StartTimer()

		run, err := fanOut(rig.binary, queueDir, ledgerfnEnv(rig.wechatURL, rig.manifestPath, ledgerPath, fleetRateLimit))
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		run.customers = customers
		run.reads, run.writes, run.quotaReads = emu.Calls(wxemu.EndpointGetEnvID), emu.Calls(wxemu.EndpointShare), emu.Calls(wxemu.EndpointQuota)
		if err := run.check(ledgerPath, rig.seed); err != nil {
			b.Fatal(err)
		}
		last = run
		b.StartTimer()
	}
	b.ReportMetric(float64(last.reads+last.writes), "wechat_calls")
	b.ReportMetric(float64(last.minReads+last.minWrites), "min_calls")
	b.ReportMetric(float64(last.invocations), "invocations")
	b.ReportMetric(last.wall.Seconds(), "wall_s")
	b.ReportMetric(float64(last.reads+last.writes+last.quotaReads)/fleetRateLimit, "bound_s")
	b.ReportMetric(last.peakRSS, "peak_rss_MiB")
	b.Logf("\n%s", last.table())
	if last.peakRSS >= 128 {
		b.Errorf("peak RSS %.1f MiB, over the budget of 128 MiB", last.peakRSS)
	}
}

// fanOutRun is what one run of the fleet measured.
type fanOutRun struct {
	customers                 int
	run                       string
	shards, invocations       int
	reads, writes, quotaReads int
	minReads, minWrites       int // per shard, summed: ceil(appids/100) reads and ceil(missing/100) writes each
	wall                      time.Duration
	peakRSS                   float64 // MiB, the largest process (the planner or a worker)
}

// fanOut plans the reconcile in a fresh process, then drains the queue with fleetWorkers
// worker processes, each message a direct invocation; a failed one goes back to the queue.
func fanOut(binary, queueDir string, env map[string]string) (fanOutRun, error) {
	var run fanOutRun
	start := time.Now()
	procEnv := append(os.Environ(), "LOCAL_QUEUE_DIR="+queueDir)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	planner, err := rpcinvoke.Start(ctx, binary, procEnv, os.Stderr)
	if err != nil {
		return run, err
	}
	answer, err := planner.Invoke([]byte(`{"action":"reconcile"}`), env, "plan", 5*time.Minute)
	run.invocations++
	if err != nil {
		planner.Close()
		return run, fmt.Errorf("planning: %w", err)
	}
	var planned struct {
		Run    string `json:"run"`
		Shards int    `json:"shards"`
	}
	if err := json.Unmarshal(answer, &planned); err != nil || planned.Shards == 0 {
		planner.Close()
		return run, fmt.Errorf("planning answered %.300s: %v", answer, err)
	}
	run.run, run.shards = planned.Run, planned.Shards
	run.peakRSS, err = peakRSS(planner.PID())
	planner.Close()
	if err != nil {
		return run, err
	}

	q, err := localqueue.Open(queueDir)
	if err != nil {
		return run, err
	}
	var busy, invocations atomic.Int64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for w := range fleetWorkers {
		worker, err := rpcinvoke.Start(ctx, binary, procEnv, os.Stderr)
		if err != nil {
			return run, err
		}
		wg.Go(func() {
			defer worker.Close()
			for {
				m, ok, err := q.Receive()
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				if !ok {
					if ready, _, _, _ := q.Len(); ready == 0 && busy.Load() == 0 {
						break
					}
					time.Sleep(20 * time.Millisecond)
					continue
				}
				busy.Add(1)
				invocations.Add(1)
				_, err = worker.Invoke([]byte(m.Body), env, fmt.Sprintf("worker-%d-%d", w, invocations.Load()), 5*time.Minute)
				if err == nil {
					err = q.Delete(m)
				} else {
					fmt.Fprintf(os.Stderr, "shard failed, back to the queue: %v\n", err)
					err = q.Release(m)
				}
				busy.Add(-1)
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
			}
			rss, err := peakRSS(worker.PID())
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				firstErr = err
			}
			run.peakRSS = max(run.peakRSS, rss)
		})
	}
	wg.Wait()
	run.wall = time.Since(start)
	run.invocations += int(invocations.Load())
	if firstErr != nil {
		return run, firstErr
	}
	if ready, inflight, dead, err := q.Len(); err != nil || ready+inflight+dead != 0 {
		return run, fmt.Errorf("the queue still holds %d ready, %d in flight, %d dead letters (%v)", ready, inflight, dead, err)
	}
	return run, nil
}

// check compares the run with its fleet: the Run record's totals, and each shard's calls with
// that shard's minimum.
func (r *fanOutRun) check(ledgerPath string, seed []ledger.Authorizer) error {
	l, err := ledger.Open(context.Background(), "sqlite:"+ledgerPath, "", ledger.Options{}, sqliteledger.Engine)
	if err != nil {
		return err
	}
	defer l.Close()
	rec, err := l.Run(context.Background(), r.run)
	if err != nil {
		return err
	}
	totals := rec.Totals()
	pairs := r.customers * fleetAppsEach * fleetEnvsEach
	if rec.FinishedAt.IsZero() || len(rec.Done) != r.shards || totals["desired"] != pairs ||
		totals["already_shared"] != pairs*4/5 || totals["pending_confirmation"] != pairs/5 || totals["failed"]+totals["deferred"] != 0 {
		return fmt.Errorf("run %s: %d of %d shards done, totals %v", r.run, len(rec.Done), r.shards, totals)
	}
	perShard := make([]int, r.shards) // appids, each with one missing pair
	for _, a := range seed {
		perShard[share.ShardOf(a.AppID, r.shards)]++
	}
	for _, n := range perShard {
		r.minReads += (n + share.DefaultChunkSize - 1) / share.DefaultChunkSize
		r.minWrites += (n + share.DefaultChunkSize - 1) / share.DefaultChunkSize
	}
	if r.reads != r.minReads || r.writes != r.minWrites {
		return fmt.Errorf("%d reads and %d writes, want the shards' minimum: %d and %d", r.reads, r.writes, r.minReads, r.minWrites)
	}
	return nil
}

// table is the benchmark's result as the README quotes it.
func (r *fanOutRun) table() string {
	apps := r.customers * fleetAppsEach
	missing := apps // one missing pair per appid
	calls := r.reads + r.writes
	bound := time.Duration(float64(calls+r.quotaReads) / fleetRateLimit * float64(time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "| %d desired pairs (%d customers, %d authorizers, %d envs each, 20%% missing) | measured | bound |\n",
		apps*fleetEnvsEach, r.customers, apps, fleetEnvsEach)
	fmt.Fprintf(&b, "|---|---|---|\n")
	fmt.Fprintf(&b, "| shards (ENVSHARE_SHARD_PAIRS 20,000) | %d | |\n", r.shards)
	fmt.Fprintf(&b, "| invocations (1 planning + shards) | %d | %d |\n", r.invocations, r.shards+1)
	fmt.Fprintf(&b, "| batchgetenvid calls | %d | %d in all shards (ceil(%d/100) = %d for one invocation) |\n",
		r.reads, r.minReads, apps, (apps+99)/100)
	fmt.Fprintf(&b, "| batchshareenv calls | %d | %d in all shards (ceil(%d/100) = %d for one invocation) |\n",
		r.writes, r.minWrites, missing, (missing+99)/100)
	fmt.Fprintf(&b, "| quota/get calls (each shard's write budget) | %d | |\n", r.quotaReads)
	fmt.Fprintf(&b, "| wall time, %d workers, ENVSHARE_RATE_LIMIT %d/s, 20 ms round trip | %.1f s | %.1f s (calls / rate) |\n",
		fleetWorkers, fleetRateLimit, r.wall.Seconds(), bound.Seconds())
	fmt.Fprintf(&b, "| peak RSS of the largest process (VmHWM) | %.1f MiB | 128 MiB |\n", r.peakRSS)
	return b.String()
}

// millionFleet returns the manifest, the emulator's world and the ledger's authorizers of the
// fleet: customer c is "Customer c" with envs c<c>-e0 ... e4 and authorizers appID(c*4) ...
// appID(c*4+3); authorizer i is bound to every env of its customer but e(i%5).
func millionFleet(customers int) (share.Request, wxemu.State, []ledger.Authorizer) {
	manifest := share.Request{Customers: make([]share.Customer, customers)}
	state := wxemu.State{Envs: make(map[string]wxemu.Env, customers*fleetEnvsEach),
		Apps: make(map[string]wxemu.App, customers*fleetAppsEach), Bindings: make(map[string][]string, customers*fleetAppsEach)}
	seed := make([]ledger.Authorizer, 0, customers*fleetAppsEach)
	at := time.Unix(1_700_000_000, 0).UTC()
	for c := range customers {
		principal := fmt.Sprintf("Customer %05d Co., Ltd.", c)
		envs := make([]string, fleetEnvsEach)
		for k := range envs {
			envs[k] = fmt.Sprintf("c%05d-e%d", c, k)
			state.Envs[envs[k]] = wxemu.Env{Subject: principal}
		}
		manifest.Customers[c] = share.Customer{Principal: principal, Envs: envs}
		for k := range fleetAppsEach {
			i := c*fleetAppsEach + k
			appid := appID(i)
			state.Apps[appid] = wxemu.App{Subject: principal}
			var bound []string
			for e, env := range envs {
				if e != i%fleetEnvsEach {
					bound = append(bound, env)
				}
			}
			state.Bindings[appid] = bound
			seed = append(seed, ledger.Authorizer{AppID: appid, Principal: principal, Authorized: true,
				PermissionSets: []int{17, 18, 19}, MiniProgram: true, AuthorizedAt: at, InfoFetchedAt: at,
				LastEvent: "authorized", LastEventTime: at})
		}
	}
	return manifest, state, seed
}

// seedLedgerRows writes the authorizers into a new SQLite ledger at path directly, in one
// transaction, as the ledger stores them (version 1): the benchmark measures the reconcile,
// not 200,000 conditional writes of its set-up.
func seedLedgerRows(path string, seed []ledger.Authorizer) error {
	ctx := context.Background()
	l, err := ledger.Open(ctx, "sqlite:"+path, "", ledger.Options{}, sqliteledger.Engine) // creates the table
	if err != nil {
		return err
	}
	l.Close()
	c, err := sqliteledger.Connector(path)
	if err != nil {
		return err
	}
	db := sql.OpenDB(c)
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, "INSERT INTO "+sqlledger.Table+" (kind, id, shard, version, doc) VALUES (?, ?, ?, 1, ?)")
	if err != nil {
		return err
	}
	for _, a := range seed {
		doc, err := json.Marshal(a)
		if err != nil {
			return err
		}
		if _, err := stmt.ExecContext(ctx, string(ledger.KindAuthorizer), a.AppID, int64(ledger.ShardHash(a.AppID)), doc); err != nil {
			return err
		}
	}
	return tx.Commit()
}
