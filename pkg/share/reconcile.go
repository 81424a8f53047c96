package share

import (
	"context"
	"hash/fnv"
	"slices"
	"sync"
)

// ShardOf returns the shard (in [0, count)) that appid falls in: FNV-1a 32 of the appid
// modulo count, so the same appid always falls in the same shard.
func ShardOf(appid string, count int) int {
	h := fnv.New32a()
	h.Write([]byte(appid))
	return int(h.Sum32() % uint32(count))
}

// manifest returns the manifest a reconcile body asks for: the body itself when it has envs,
// else Options.Manifest with the body's dry_run, prune, shard and source_type overriding the
// manifest's where present (both are validated).
func (s *Service) manifest(body *Request) (*Request, error) {
	if body.Envs != nil {
		return body, nil
	}
	if s.opts.Manifest == nil {
		return nil, &Error{Code: CodeInvalidRequest, Message: "invalid request",
			Details: []string{"envs: required: the body has no envs and ENVSHARE_MANIFEST is not set"}}
	}
	m := *s.opts.Manifest
	if !m.valid {
		m.Action = ActionReconcile
		var err error
		if m, err = Check(m); err != nil {
			s.log.Error("Options.Manifest is not a valid manifest", "error", err)
			return nil, errInternal()
		}
	}
	if m.Envs == nil {
		s.log.Error("Options.Manifest has no envs")
		return nil, errInternal()
	}
	m.Action = ActionReconcile
	if body.SourceType != nil {
		m.SourceType = body.SourceType
	}
	if body.Prune != nil {
		m.Prune = body.Prune
	}
	if body.DryRun != nil {
		m.DryRun = body.DryRun
	}
	if body.Shard != nil {
		m.Shard = body.Shard
	}
	return &m, nil
}

// reconcile makes the bindings of the manifest's appids (of the selected shard) match it.
//
// It queries the bindings of every appid in chunks and, as soon as every appid of an env has
// been read, shares that env's missing pairs; once every query has ended, it unshares what
// prune removes. All calls share one queue of at most Concurrency, queries first, so the
// shares fill the slots the last queries leave free.
func (s *Service) reconcile(ctx context.Context, body *Request) (*Result, error) {
	m, err := s.manifest(body)
	if err != nil {
		return nil, err
	}
	r := &reconcileRun{s: s, ctx: ctx, sourceType: s.sourceType(m),
		dryRun: m.DryRun != nil && *m.DryRun, prune: m.Prune != nil && *m.Prune}
	r.plan(m)
	if err := r.run(); err != nil {
		return nil, err
	}
	if e := s.wholeFailure(r.queryCalls()); e != nil {
		return nil, e
	}
	return r.result(), nil
}

// reconcileRun is the state of one reconcile. A manifest may hold 200,000 pairs, so what it
// keeps per pair is small: one Outcome, whose strings are the manifest's own, and an int32 or
// two. The bindings a query reads are used when it ends, then dropped.
type reconcileRun struct {
	s          *Service
	ctx        context.Context
	sourceType int
	dryRun     bool
	prune      bool

	managed  map[string]int32 // the envs the manifest names → their index in plans
	plans    []*envPlan       // per managed env
	out      []Outcome        // one per desired pair, in manifest order
	apps     int              // the distinct appids of the shard, numbered in manifest order
	byApp    []int32          // indices in out: appid k's pairs are byApp[appStart[k]:appStart[k+1]]
	appStart []int32
	queries  [][2]int     // the chunks of appid numbers, one query each
	waiters  [][]*envPlan // per query: the envs waiting for it
	extras   [][]Outcome  // with prune, per query: the pairs prune removes among its appids
	pruned   []Outcome    // pairs prune removes, in appid order (set when the last query ends)
	attempts []bool       // per query: sent
	calls    []*callError // per query: why it failed, nil = it succeeded

	mu        sync.Mutex // guards the envPlans, extras, pruned and remaining
	remaining int        // queries not ended yet
}

// envPlan is one env's desired pairs, waiting for the queries of their appids.
type envPlan struct {
	toShare []int // indices in out of the missing pairs known so far
	waiting int   // queries not ended yet
}

// pairKey is a set key of a pair of numbers (env and appid, env and query).
func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// plan lists the distinct desired pairs of the shard, in manifest order, numbers their
// appids, and notes which queries each env waits for. Its sets and maps are dropped when it
// returns.
func (r *reconcileRun) plan(m *Request) {
	n := 0
	for _, l := range m.Envs {
		n += len(l.AppIDs)
	}
	size := r.s.opts.ChunkSize
	sharded := m.Shard != nil && m.Shard.Count > 1
	inShard := n // about how many pairs the shard has
	if sharded {
		inShard = n/m.Shard.Count + 1
	}
	r.managed = make(map[string]int32, len(m.Envs))
	r.out = make([]Outcome, 0, inShard)
	appNo := make(map[string]int32, n)       // appid → its number; -1: not in the shard
	listed := make(map[uint64]bool, inShard) // pairKey(env, appid) of the pairs listed so far
	waits := make(map[uint64]bool)           // pairKey(env, query): the env waits for the query
	app := make([]int32, 0, inShard)         // per pair in out: its appid's number
	for _, l := range m.Envs {
		e, ok := r.managed[l.Env]
		if !ok {
			e = int32(len(r.plans))
			r.managed[l.Env] = e
			r.plans = append(r.plans, &envPlan{})
		}
		for _, id := range l.AppIDs {
			a, ok := appNo[id]
			if !ok {
				a = -1
				if !sharded || ShardOf(id, m.Shard.Count) == m.Shard.Index {
					a = int32(r.apps)
					r.apps++
				}
				appNo[id] = a
			}
			if a < 0 || listed[pairKey(e, a)] {
				continue
			}
			listed[pairKey(e, a)] = true
			r.out = append(r.out, Outcome{Env: l.Env, AppID: id})
			app = append(app, a)
			if q := int(a) / size; !waits[pairKey(e, int32(q))] {
				waits[pairKey(e, int32(q))] = true
				for len(r.waiters) <= q {
					r.waiters = append(r.waiters, nil)
				}
				r.waiters[q] = append(r.waiters[q], r.plans[e])
				r.plans[e].waiting++
			}
		}
	}
	r.indexByApp(app)
	r.queries = chunks(r.apps, size)
	r.attempts = make([]bool, len(r.queries))
	r.calls = make([]*callError, len(r.queries))
	if r.prune {
		r.extras = make([][]Outcome, len(r.queries))
	}
	r.remaining = len(r.queries)
}

// indexByApp groups the pairs by appid (a counting sort of app, each pair's appid number), so
// that the end of a query finds the pairs of its appids.
func (r *reconcileRun) indexByApp(app []int32) {
	r.appStart = make([]int32, r.apps+1)
	for _, a := range app {
		r.appStart[a+1]++
	}
	for k := range r.apps {
		r.appStart[k+1] += r.appStart[k]
	}
	next := slices.Clone(r.appStart[:r.apps])
	r.byApp = make([]int32, len(app))
	for i, a := range app {
		r.byApp[next[a]] = int32(i)
		next[a]++
	}
}

// pairsOf returns the indices in out of appid k's pairs, in manifest order.
func (r *reconcileRun) pairsOf(k int) []int32 { return r.byApp[r.appStart[k]:r.appStart[k+1]] }

// appID returns the appid numbered k: that of its first pair.
func (r *reconcileRun) appID(k int) string { return r.out[r.pairsOf(k)[0]].AppID }

// run makes every call and returns when all have ended.
func (r *reconcileRun) run() error {
	q := newWorkQueue(r.s.opts.Concurrency)
	for i, c := range r.queries {
		q.add(func() {
			ids := make([]string, 0, c[1]-c[0])
			for k := c[0]; k < c[1]; k++ {
				ids = append(ids, r.appID(k))
			}
			states := make([]appBindings, len(ids))
			r.attempts[i], r.calls[i] = r.s.queryOne(r.ctx, ids, states, r.sourceType, true)
			r.queryEnded(q, i, states)
		})
	}
	return r.s.internal(q.wait())
}

// queryEnded decides the pairs of the query's appids from their bindings (states), queues the
// shares of every env that no longer waits for a query and, after the last query, the
// unshares of prune.
func (r *reconcileRun) queryEnded(q *workQueue, query int, states []appBindings) {
	r.mu.Lock()
	defer r.mu.Unlock()
	first := r.queries[query][0]
	for k := range states {
		r.decide(first+k, &states[k])
	}
	if r.prune {
		r.extras[query] = r.extrasOf(first, states)
	}
	for _, plan := range r.waiters[query] {
		if plan.waiting--; plan.waiting == 0 {
			slices.Sort(plan.toShare) // manifest order, whichever query ended first
			r.queueWrites(q, ActionShare, r.out, plan.toShare)
			plan.toShare = nil
		}
	}
	if r.remaining--; r.remaining == 0 && r.prune {
		r.pruned = slices.Concat(r.extras...)
		r.extras = nil
		r.queueWrites(q, ActionUnshare, r.pruned, allIndices(len(r.pruned)))
	}
}

// decide sets the status of appid k's desired pairs from its bindings b; the missing ones join
// their env's shares.
func (r *reconcileRun) decide(k int, b *appBindings) {
	for _, i := range r.pairsOf(k) {
		o := &r.out[i]
		switch {
		case b.deferred:
			o.Status = StatusDeferred
		case b.err != nil:
			e := b.err.entry
			o.Status, o.Error = StatusFailed, &e
		case slices.Contains(b.envs, o.Env):
			o.Status = StatusAlreadyShared
		case r.dryRun:
			o.Status = StatusWouldShare
		default:
			plan := r.plans[r.managed[o.Env]]
			plan.toShare = append(plan.toShare, int(i))
		}
	}
}

// extrasOf lists the pairs prune removes among the appids numbered first, first+1, ...
// (states are their bindings): managed envs bound to one that the manifest does not pair
// with it. Appids whose bindings are unknown are left alone.
func (r *reconcileRun) extrasOf(first int, states []appBindings) []Outcome {
	var pruned []Outcome
	for k := range states {
		b := &states[k]
		if b.deferred || b.err != nil {
			continue
		}
		for _, env := range b.envs {
			if _, managed := r.managed[env]; managed && !r.wants(first+k, env) {
				o := Outcome{Env: env, AppID: r.appID(first + k)}
				if r.dryRun {
					o.Status = StatusWouldUnshare
				}
				pruned = append(pruned, o)
			}
		}
	}
	return pruned
}

// wants reports whether the manifest pairs appid k with env.
func (r *reconcileRun) wants(k int, env string) bool {
	for _, i := range r.pairsOf(k) {
		if r.out[i].Env == env {
			return true
		}
	}
	return false
}

// queueWrites queues the write calls for out[idx], unless this is a dry run.
func (r *reconcileRun) queueWrites(q *workQueue, action string, out []Outcome, idx []int) {
	if r.dryRun || len(idx) == 0 {
		return
	}
	for _, job := range planWrites(action, out, idx, r.s.opts.ChunkSize) {
		q.add(func() { r.s.writeOne(r.ctx, job, r.sourceType, true) })
	}
}

// queryCalls returns the outcome of every query that was sent.
func (r *reconcileRun) queryCalls() []*callError {
	var sent []*callError
	for i, c := range r.calls {
		if r.attempts[i] {
			sent = append(sent, c)
		}
	}
	return sent
}

func (r *reconcileRun) result() *Result {
	n := countStatuses(r.out)
	np := countStatuses(r.pruned)
	res := &Result{
		OK:         n[StatusFailed] == 0 && np[StatusFailed] == 0,
		Action:     ActionReconcile,
		SourceType: r.sourceType,
		DryRun:     r.dryRun,
		Summary: &ReconcileSummary{
			Desired:             len(r.out),
			AlreadyShared:       n[StatusAlreadyShared],
			Shared:              n[StatusShared],
			PendingConfirmation: n[StatusPendingConfirmation],
			Failed:              n[StatusFailed],
			Deferred:            n[StatusDeferred],
			WouldShare:          n[StatusWouldShare],
			Unshared:            np[StatusUnshared],
			WouldUnshare:        np[StatusWouldUnshare],
			UnshareFailed:       np[StatusFailed],
			UnshareDeferred:     np[StatusDeferred],
		},
	}
	// The entries to list, filtered in place: a second list of 200,000 outcomes would double
	// the largest thing a reconcile holds.
	kept := r.out[:0]
	for _, o := range r.out {
		if o.Status != StatusAlreadyShared {
			kept = append(kept, o)
		}
	}
	res.Results = append(kept, r.pruned...)
	if res.Results == nil { // nothing desired in this shard: still "results": []
		res.Results = []Outcome{}
	}
	return res
}

func allIndices(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}
