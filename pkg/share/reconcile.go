package share

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"time"

	"github.com/envshare/envshare/pkg/wechat"
)

// ShardOf returns the shard (in [0, count)) that appid falls in: FNV-1a 32 of the appid
// modulo count, so the same appid always falls in the same shard.
func ShardOf(appid string, count int) int {
	h := fnv.New32a()
	h.Write([]byte(appid))
	return int(h.Sum32() % uint32(count))
}

// manifest returns the manifest a reconcile body asks for: the body itself when it has envs or
// customers, else Options.Manifest with the body's dry_run, prune, shard, source_type and
// backfill overriding the manifest's where present (both are validated).
func (s *Service) manifest(body *Request) (*Request, error) {
	if body.Envs != nil || body.Customers != nil {
		return body, nil
	}
	if s.opts.ManifestError != nil {
		return nil, s.opts.ManifestError
	}
	if s.opts.Manifest == nil {
		return nil, &Error{Code: CodeInvalidRequest, Message: "invalid request",
			Details: []string{"envs or customers: required: the body has neither and ENVSHARE_MANIFEST is not set"}}
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
	if m.Envs == nil && m.Customers == nil {
		s.log.Error("Options.Manifest has neither envs nor customers")
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
	if body.Backfill != nil {
		m.Backfill = body.Backfill
	}
	return &m, nil
}

// reconcile makes the bindings of the manifest's appids (of the selected shard) match it: the
// explicit envs pairs, and with a Fleet every customer's envs with every authorizer of its
// principal that may be shared with (see desired). Pairs of each source_type are reconciled
// by a run of their own, so that every call carries one source_type.
//
// A run queries the bindings of every appid in chunks and, as soon as every appid of an env
// has been read, shares that env's missing pairs; once every query has ended, it unshares
// what prune removes. All calls share one queue of at most Concurrency, queries first, so
// the shares fill the slots the last queries leave free.
func (s *Service) reconcile(ctx context.Context, body *Request) (*Result, error) {
	m, err := s.manifest(body)
	if err != nil {
		return nil, err
	}
	if err := s.needsFleet(m); err != nil {
		return nil, err
	}
	if body.Run != "" {
		if err := s.checkRun(ctx, body); err != nil {
			return nil, err
		}
	}
	var backfill *BackfillSummary
	if m.Backfill != nil && *m.Backfill {
		backfill = s.backfill(ctx)
	}
	if s.planning(body) {
		if res, err := s.plan(ctx, m, body); res != nil || err != nil {
			if res != nil {
				res.Backfill = backfill
			}
			return res, err
		}
	}
	groups, err := s.desired(ctx, m)
	if err != nil {
		return nil, err
	}
	runs := make([]*reconcileRun, len(groups))
	var calls []*callError
	dryRun := m.DryRun != nil && *m.DryRun
	q := s.newQuotaState(!dryRun) // one budget of write calls for every pass
	for i, g := range groups {
		r := &reconcileRun{s: s, ctx: ctx, sourceType: g.sourceType, fleet: s.opts.Fleet, quota: q,
			dryRun: dryRun, prune: m.Prune != nil && *m.Prune}
		if r.fleet != nil {
			r.now = r.fleet.Now()
		}
		r.plan(g.lists, m.Shard)
		if err := r.run(); err != nil {
			return nil, err
		}
		if r.fleetErr != nil {
			return nil, s.fleetFailure(ctx, r.fleetErr)
		}
		runs[i] = r
		calls = append(calls, r.queryCalls()...)
	}
	if e := s.wholeFailure(calls); e != nil {
		return nil, e
	}
	res := result(runs, s.sourceType(m), m.DryRun != nil && *m.DryRun, s.opts.Fleet != nil)
	res.Backfill = backfill
	if backfill != nil && backfill.Error != nil {
		res.OK = false
	}
	if body.Run != "" {
		res.Run = body.Run
		s.finishShard(ctx, body, res.Summary.(*ReconcileSummary))
	}
	return res, nil
}

// needsFleet refuses customers and backfill without a Fleet.
func (s *Service) needsFleet(m *Request) error {
	if s.opts.Fleet != nil {
		return nil
	}
	var p problems
	if m.Customers != nil {
		p.add("customers", "customers need ENVSHARE_LEDGER (the memory of which authorizer belongs to which customer)")
	}
	if m.Backfill != nil && *m.Backfill {
		p.add("backfill", "backfill needs ENVSHARE_LEDGER")
	}
	return p.err("invalid request")
}

// backfill asks the Fleet to find the authorizers it does not know. A failure is reported in
// the summary; the reconcile goes on with what is known.
func (s *Service) backfill(ctx context.Context) *BackfillSummary {
	sum, err := s.opts.Fleet.Backfill(ctx)
	if sum == nil {
		sum = &BackfillSummary{}
	}
	if err != nil {
		sum.Error = s.errorOf(ctx, err)
		s.log.WarnContext(ctx, "backfill stopped", "error", sum.Error.Error())
	}
	return sum
}

// errorOf keeps an *Error and turns anything else into an upstream or internal one, masked.
func (s *Service) errorOf(ctx context.Context, err error) *Error {
	if e, ok := errors.AsType[*Error](err); ok {
		return e
	}
	ce := s.classify(ctx, err)
	return &Error{Code: ce.entry.Code, Message: ce.entry.Message}
}

// fleetFailure is the answer when the Fleet could not be read: the reconcile cannot tell which
// links it issued, so it stops rather than send them again. The cause goes to the log.
func (s *Service) fleetFailure(ctx context.Context, err error) *Error {
	msg := s.opts.Redact(err.Error())
	s.log.ErrorContext(ctx, "the fleet's memory (ENVSHARE_LEDGER) could not be read", "error", msg)
	return &Error{Code: CodeInternal, Message: "the fleet's memory (ENVSHARE_LEDGER) could not be read; see the function's log"}
}

// group is the desired pairs of one source_type.
type group struct {
	sourceType int
	lists      []wechat.EnvAppIDs
}

// desired lists the desired pairs by source_type, in manifest order: the explicit envs (of
// the manifest's source_type), then each customer's envs with the appids of every authorizer
// of the shard that the Fleet knows of its principal and may be shared with (Authorizer
// CanShare). With prune, a customer's env without such an authorizer is listed with no appid:
// it is still a managed env.
func (s *Service) desired(ctx context.Context, m *Request) ([]group, error) {
	base := s.sourceType(m)
	var groups []group
	add := func(st int, l wechat.EnvAppIDs) {
		i := slices.IndexFunc(groups, func(g group) bool { return g.sourceType == st })
		if i < 0 {
			i = len(groups)
			groups = append(groups, group{sourceType: st})
		}
		groups[i].lists = append(groups[i].lists, l)
	}
	for _, l := range m.Envs {
		add(base, l)
	}
	if len(m.Customers) == 0 {
		return groups, nil
	}
	of := make(map[string]int, len(m.Customers)) // principal → customer
	for i, c := range m.Customers {
		of[c.Principal] = i
	}
	appids := make([][]string, len(m.Customers))
	var shard *Shard
	if m.Shard != nil && m.Shard.Count > 1 {
		shard = m.Shard
	}
	err := s.opts.Fleet.Authorizers(ctx, shard, func(a Authorizer) error {
		if i, ok := of[a.Principal]; ok && a.CanShare() {
			appids[i] = append(appids[i], a.AppID)
		}
		return nil
	})
	if err != nil {
		return nil, s.fleetFailure(ctx, err)
	}
	pairs := pairCount(m.Envs, MaxManifestPairs)
	prune := m.Prune != nil && *m.Prune
	for i, c := range m.Customers {
		if len(appids[i]) == 0 && !prune { // nothing desired of it here: a shard of a large fleet holds few customers
			continue
		}
		st := base
		if c.SourceType != nil {
			st = *c.SourceType
		}
		for _, env := range c.Envs {
			add(st, wechat.EnvAppIDs{Env: env, AppIDs: appids[i]})
			pairs += len(appids[i])
		}
	}
	if pairs > MaxManifestPairs {
		return nil, &Error{Code: CodeInvalidRequest, Message: "invalid request", Details: []string{fmt.Sprintf(
			"customers: their authorizers give %d desired pairs with the envs, more than the %d one reconcile takes: reconcile the fleet in shards (shard.count)",
			pairs, MaxManifestPairs)}}
	}
	return groups, nil
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
	fleet      Fleet       // nil: no memory of the fleet
	now        time.Time   // when the run started on the Fleet's clock, for RelinkAfter
	quota      *quotaState // the request's: APIs exhausted, budgets of write calls
	shares     *packer     // the missing pairs known so far, packed into share calls

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

	mu        sync.Mutex // guards the envPlans, extras, pruned, remaining and fleetErr
	remaining int        // queries not ended yet
	fleetErr  error      // the first failure to read the Fleet: the run stops
}

// envPlan is one env's desired pairs, waiting for the queries of their appids.
type envPlan struct {
	toShare []int // indices in out of the missing pairs known so far
	waiting int   // queries not ended yet
}

// pairKey is a set key of a pair of numbers (env and appid, env and query).
func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// plan lists the distinct desired pairs of lists in shard, in manifest order, numbers their
// appids, and notes which queries each env waits for. Its sets and maps are dropped when it
// returns.
func (r *reconcileRun) plan(lists []wechat.EnvAppIDs, shard *Shard) {
	n := 0
	for _, l := range lists {
		n += len(l.AppIDs)
	}
	size := r.s.opts.ChunkSize
	sharded := shard != nil && shard.Count > 1
	inShard := n // about how many pairs the shard has
	if sharded {
		inShard = n/shard.Count + 1
	}
	r.managed = make(map[string]int32, len(lists))
	r.out = make([]Outcome, 0, inShard)
	appNo := make(map[string]int32, n)       // appid → its number; -1: not in the shard
	listed := make(map[uint64]bool, inShard) // pairKey(env, appid) of the pairs listed so far
	waits := make(map[uint64]bool)           // pairKey(env, query): the env waits for the query
	app := make([]int32, 0, inShard)         // per pair in out: its appid's number
	for _, l := range lists {
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
				if !sharded || ShardOf(id, shard.Count) == shard.Index {
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
	r.shares = newNumberedPacker(app, r.apps, size)
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
			mem := r.recall(c[0], ids, states)
			r.attempts[i], r.calls[i] = r.query(ids, states)
			r.remember(r.queryEnded(q, i, states, mem))
		})
	}
	return r.s.internal(q.wait())
}

// query reads the bindings of the chunk's appids that are still to be read (not skipped by
// recall) into states, in one call; none left, no call.
func (r *reconcileRun) query(ids []string, states []appBindings) (bool, *callError) {
	sendIDs, sendStates := ids, states
	if slices.ContainsFunc(states, func(b appBindings) bool { return b.skip }) {
		sendIDs, sendStates = nil, nil
		for k, id := range ids {
			if !states[k].skip {
				sendIDs, sendStates = append(sendIDs, id), append(sendStates, appBindings{})
			}
		}
		if len(sendIDs) == 0 {
			return false, nil
		}
		defer func() {
			j := 0
			for k := range states {
				if !states[k].skip {
					states[k] = sendStates[j]
					j++
				}
			}
		}()
	}
	return r.s.queryOne(r.ctx, sendIDs, sendStates, r.sourceType, true, r.quota)
}

// queryEnded decides the pairs of the query's appids from their bindings (states) and what
// the Fleet remembers of them (mem), hands the missing pairs of every env that no longer waits
// for a query to the packer and queues the share calls it can fill; after the last query, it
// queues the calls of the pairs left and the unshares of prune. It returns the pairs seen
// bound that the Fleet does not remember as shared yet.
func (r *reconcileRun) queryEnded(q *workQueue, query int, states []appBindings, mem *memory) []Outcome {
	r.mu.Lock()
	defer r.mu.Unlock()
	first := r.queries[query][0]
	var seen []Outcome
	for k := range states {
		seen = r.decide(first+k, &states[k], mem, seen)
	}
	if r.prune {
		r.extras[query] = r.extrasOf(first, states)
	}
	for _, plan := range r.waiters[query] {
		if plan.waiting--; plan.waiting == 0 {
			slices.Sort(plan.toShare) // manifest order, whichever query ended first
			r.shares.add(plan.toShare)
			plan.toShare = nil
		}
	}
	r.queueWrites(q, ActionShare, r.out, r.shares.full())
	if r.remaining--; r.remaining == 0 {
		r.queueWrites(q, ActionShare, r.out, r.shares.rest())
		r.shares = nil // every pair is handed out: its arrays are not kept while the answer is made
		if r.prune {
			r.pruned = slices.Concat(r.extras...)
			r.extras = nil
			r.queueWrites(q, ActionUnshare, r.pruned, planCalls(r.pruned, r.s.opts.ChunkSize))
		}
	}
	return seen
}

// planCalls packs every pair of out into write calls.
func planCalls(out []Outcome, size int) [][]int {
	p := newPacker(out, size)
	p.add(allIndices(len(out)))
	return append(p.full(), p.rest()...)
}

// decide sets the status of appid k's desired pairs from its bindings b and the Fleet's memory
// of them (mem, nil without a Fleet); the missing ones join their env's shares, unless their
// link was issued less than RelinkAfter ago. Pairs recall decided already are left as they
// are. It appends to seen the pairs seen bound that the Fleet does not remember as shared.
func (r *reconcileRun) decide(k int, b *appBindings, mem *memory, seen []Outcome) []Outcome {
	for _, i := range r.pairsOf(k) {
		o := &r.out[i]
		prior := mem.pair(o.Env, o.AppID)
		switch {
		case o.Status != "": // decided by recall: a permanent failure
		case b.deferred:
			o.Status, o.Reason = StatusDeferred, b.reason
		case b.err != nil:
			e := b.err.entry
			o.Status, o.Error = StatusFailed, &e
		case slices.Contains(b.envs, o.Env):
			o.Status = StatusAlreadyShared
			if mem != nil && !r.dryRun && (prior.State != StatusShared || prior.ConfirmedAt.IsZero()) {
				seen = append(seen, *o)
			}
		case r.awaiting(prior):
			o.Status, o.ConfirmURL, o.LinkIssuedAt = StatusAwaitingConfirmation, prior.ConfirmURL, prior.LinkIssuedAt
		case r.dryRun:
			o.Status = StatusWouldShare
		default:
			plan := r.plans[r.managed[o.Env]]
			plan.toShare = append(plan.toShare, int(i))
		}
	}
	return seen
}

// awaiting reports whether a pair not bound yet still waits for its administrator: its link
// was issued less than RelinkAfter ago.
func (r *reconcileRun) awaiting(prior PairMemory) bool {
	return prior.State == StatusPendingConfirmation && prior.ConfirmURL != "" &&
		r.now.Sub(prior.LinkIssuedAt) < r.s.opts.RelinkAfter
}

// extrasOf lists the pairs prune removes among the appids numbered first, first+1, ...
// (states are their bindings): managed envs bound to one that the manifest does not pair
// with it. Appids whose bindings are unknown are left alone.
func (r *reconcileRun) extrasOf(first int, states []appBindings) []Outcome {
	var pruned []Outcome
	for k := range states {
		b := &states[k]
		if b.deferred || b.err != nil || b.skip {
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

// queueWrites queues the write calls (each a list of indices in out), unless this is a dry
// run.
func (r *reconcileRun) queueWrites(q *workQueue, action string, out []Outcome, calls [][]int) {
	if r.dryRun {
		return
	}
	for _, job := range jobsOf(action, out, calls) {
		q.add(func() {
			r.s.writeOne(r.ctx, job, r.sourceType, true, r.quota)
			r.remember(job.outcomes())
		})
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

// result merges the runs of a reconcile (one per source_type) into its answer. With a Fleet
// the summary carries awaiting_confirmation, zeros included.
func result(runs []*reconcileRun, sourceType int, dryRun, fleet bool) *Result {
	sum := &ReconcileSummary{}
	if fleet {
		sum.AwaitingConfirmation = new(int)
	}
	res := &Result{OK: true, Action: ActionReconcile, SourceType: sourceType, DryRun: dryRun, Summary: sum}
	for _, r := range runs {
		n := countStatuses(r.out)
		np := countStatuses(r.pruned)
		res.OK = res.OK && n[StatusFailed] == 0 && np[StatusFailed] == 0
		sum.Desired += len(r.out)
		sum.AlreadyShared += n[StatusAlreadyShared]
		sum.Shared += n[StatusShared]
		sum.PendingConfirmation += n[StatusPendingConfirmation]
		sum.Failed += n[StatusFailed]
		sum.Deferred += n[StatusDeferred]
		sum.WouldShare += n[StatusWouldShare]
		sum.Unshared += np[StatusUnshared]
		sum.WouldUnshare += np[StatusWouldUnshare]
		sum.UnshareFailed += np[StatusFailed]
		sum.UnshareDeferred += np[StatusDeferred]
		if fleet {
			*sum.AwaitingConfirmation += n[StatusAwaitingConfirmation]
		}
		// The entries to list, filtered in place: a second list of 200,000 outcomes would
		// double the largest thing a reconcile holds.
		kept := r.out[:0]
		for _, o := range r.out {
			if o.Status != StatusAlreadyShared {
				kept = append(kept, o)
			}
		}
		if len(runs) == 1 {
			res.Results = append(kept, r.pruned...)
		} else {
			res.Results = slices.Concat(res.Results, kept, r.pruned)
		}
	}
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
