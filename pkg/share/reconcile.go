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
// else the configured ENVSHARE_MANIFEST with the body's dry_run, prune, shard and source_type
// overriding the manifest's where present (both were validated when they were decoded).
func (s *Service) manifest(body *Request) (*Request, error) {
	if body.Envs != nil {
		return body, nil
	}
	if s.opts.Manifest == nil {
		return nil, &Error{Code: CodeInvalidRequest, Message: "invalid request",
			Details: []string{"envs: required: the body has no envs and ENVSHARE_MANIFEST is not set"}}
	}
	if !s.opts.Manifest.valid || s.opts.Manifest.Envs == nil {
		s.log.Error("Options.Manifest did not come from LoadManifest")
		return nil, errInternal()
	}
	m := *s.opts.Manifest
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

// reconcileRun is the state of one reconcile.
type reconcileRun struct {
	s          *Service
	ctx        context.Context
	sourceType int
	dryRun     bool
	prune      bool

	managed  map[string]bool   // envs the manifest names
	wanted   map[pair]struct{} // the desired pairs of this shard
	appids   []string          // their distinct appids, in manifest order
	appIndex map[string]int    // appid → index in appids and states
	states   []appBindings     // what the queries learnt, per appid
	queries  [][2]int          // the chunks of appids, one query each
	out      []Outcome         // one per desired pair, in manifest order
	waiters  [][]*envPlan      // per query: the envs waiting for it
	pruned   []Outcome         // pairs prune removes (set when the last query ends)
	attempts []bool            // per query: sent
	calls    []*callError      // per query: why it failed, nil = it succeeded

	mu        sync.Mutex // guards the envPlans' counts, remaining and pruned
	remaining int        // queries not ended yet
}

// envPlan is one env's desired pairs, waiting for the queries of their appids.
type envPlan struct {
	idx     []int // indices in out
	waiting int   // queries not ended yet
}

// plan lists the desired pairs of the shard and which queries each env waits for.
func (r *reconcileRun) plan(m *Request) {
	r.managed = make(map[string]bool, len(m.Envs))
	for _, e := range m.Envs {
		r.managed[e.Env] = true
	}
	desired := distinctPairs(m.Envs)
	if m.Shard != nil && m.Shard.Count > 1 {
		desired = slices.DeleteFunc(desired, func(p pair) bool { return ShardOf(p.appid, m.Shard.Count) != m.Shard.Index })
	}
	r.wanted = make(map[pair]struct{}, len(desired))
	r.appIndex = make(map[string]int)
	for _, p := range desired {
		r.wanted[p] = struct{}{}
		if _, seen := r.appIndex[p.appid]; !seen {
			r.appIndex[p.appid] = len(r.appids)
			r.appids = append(r.appids, p.appid)
		}
	}
	size := r.s.opts.ChunkSize
	r.states = make([]appBindings, len(r.appids))
	r.queries = chunks(len(r.appids), size)
	r.attempts = make([]bool, len(r.queries))
	r.calls = make([]*callError, len(r.queries))
	r.waiters = make([][]*envPlan, len(r.queries))
	r.remaining = len(r.queries)

	r.out = make([]Outcome, len(desired))
	plans := make(map[string]*envPlan)
	type envQuery struct {
		env   string
		query int
	}
	waits := make(map[envQuery]bool)
	for i, p := range desired {
		r.out[i] = Outcome{Env: p.env, AppID: p.appid}
		plan := plans[p.env]
		if plan == nil {
			plan = &envPlan{}
			plans[p.env] = plan
		}
		plan.idx = append(plan.idx, i)
		if q := r.appIndex[p.appid] / size; !waits[envQuery{p.env, q}] {
			waits[envQuery{p.env, q}] = true
			r.waiters[q] = append(r.waiters[q], plan)
			plan.waiting++
		}
	}
}

// run makes every call and returns when all have ended.
func (r *reconcileRun) run() error {
	q := newWorkQueue(r.s.opts.Concurrency)
	for i, c := range r.queries {
		q.add(func() {
			r.attempts[i], r.calls[i] = r.s.queryOne(r.ctx, r.appids[c[0]:c[1]], r.states[c[0]:c[1]], r.sourceType, true)
			r.queryEnded(q, i)
		})
	}
	return r.s.internal(q.wait())
}

// queryEnded decides the pairs of every env that no longer waits for a query, queues their
// shares and, after the last query, the unshares of prune.
func (r *reconcileRun) queryEnded(q *workQueue, query int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, plan := range r.waiters[query] {
		if plan.waiting--; plan.waiting == 0 {
			r.queueWrites(q, ActionShare, r.out, r.decide(plan.idx))
		}
	}
	if r.remaining--; r.remaining == 0 && r.prune {
		r.pruned = r.extras()
		r.queueWrites(q, ActionUnshare, r.pruned, allIndices(len(r.pruned)))
	}
}

// decide sets the status of the desired pairs out[idx] whose bindings are known, and returns
// those to share.
func (r *reconcileRun) decide(idx []int) []int {
	var toShare []int
	for _, i := range idx {
		o := &r.out[i]
		b := &r.states[r.appIndex[o.AppID]]
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
			toShare = append(toShare, i)
		}
	}
	return toShare
}

// extras lists the pairs prune removes: managed envs bound to a manifest appid that the
// manifest does not pair with it. Appids whose bindings are unknown are left alone.
func (r *reconcileRun) extras() []Outcome {
	var pruned []Outcome
	for k, id := range r.appids {
		b := &r.states[k]
		if b.deferred || b.err != nil {
			continue
		}
		for _, env := range b.envs {
			if _, ok := r.wanted[pair{env, id}]; r.managed[env] && !ok {
				o := Outcome{Env: env, AppID: id}
				if r.dryRun {
					o.Status = StatusWouldUnshare
				}
				pruned = append(pruned, o)
			}
		}
	}
	return pruned
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
		Results: make([]Outcome, 0, len(r.out)-n[StatusAlreadyShared]+len(r.pruned)),
	}
	for _, o := range r.out {
		if o.Status != StatusAlreadyShared {
			res.Results = append(res.Results, o)
		}
	}
	res.Results = append(res.Results, r.pruned...)
	return res
}

func allIndices(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}
