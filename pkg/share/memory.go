package share

import (
	"context"
	"fmt"
	"slices"
)

// memory is what the Fleet remembers of one query chunk's appids and pairs; a reconcile holds
// it for the chunk's query only, never for the fleet. A nil memory (no Fleet) knows nothing.
type memory struct {
	pairs map[PairKey]PairMemory // the pairs the Fleet knows
}

// pair returns what is remembered of (env, appid): State "" when nothing.
func (m *memory) pair(env, appid string) PairMemory {
	if m == nil {
		return PairMemory{}
	}
	return m.pairs[PairKey{Env: env, AppID: appid}]
}

// recall reads what the Fleet remembers of the chunk's appids (numbered first, first+1, ...)
// and their pairs, and fails for good, without a call, the pairs that cannot succeed: an
// authorizer known to lack permission set 18 (permission_missing), a pair that failed
// different_entity while the authorizer's principal stayed the same. An appid with no pair
// left is marked skip: its bindings need not be read. Without a Fleet it does nothing; when
// the Fleet cannot be read, the run stops (every later chunk is deferred).
func (r *reconcileRun) recall(first int, ids []string, states []appBindings) *memory {
	if r.fleet == nil {
		return nil
	}
	if r.fleetFailed(nil) {
		for k := range states {
			states[k].deferred = true
		}
		return nil
	}
	var keys []PairKey
	for k, id := range ids {
		for _, i := range r.pairsOf(first + k) {
			keys = append(keys, PairKey{Env: r.out[i].Env, AppID: id})
		}
	}
	auths, pairs, err := r.fleet.Recall(r.ctx, ids, keys)
	if err == nil && (len(auths) != len(ids) || len(pairs) != len(keys)) {
		err = fmt.Errorf("the fleet answered %d authorizers and %d pairs for %d and %d", len(auths), len(pairs), len(ids), len(keys))
	}
	if err != nil {
		r.fleetFailed(err)
		for k := range states {
			states[k].deferred = true
		}
		return nil
	}
	mem := &memory{pairs: make(map[PairKey]PairMemory, len(keys))}
	for j, p := range pairs {
		if p.State != "" {
			mem.pairs[keys[j]] = p
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range ids {
		left := 0
		for _, i := range r.pairsOf(first + k) {
			o := &r.out[i]
			if e := permanentFailure(auths[k], mem.pair(o.Env, o.AppID)); e != nil {
				o.Status, o.Error = StatusFailed, e
			} else {
				left++
			}
		}
		states[k].skip = left == 0
	}
	return mem
}

// permanentFailure is why a pair cannot succeed, from what the Fleet knows: nil when it may.
func permanentFailure(a Authorizer, prior PairMemory) *EntryError {
	switch {
	case a.Known && !slices.Contains(a.PermissionSets, PermissionSetShare):
		return &EntryError{Code: CodePermissionMissing, Message: fmt.Sprintf(
			"the authorizer has not granted the platform permission set %d (开发管理与数据分析): its administrator must authorize the platform again with it",
			PermissionSetShare)}
	case prior.State == StatusFailed && prior.Error != nil && prior.Error.Code == CodeDifferentEntity && prior.Principal == a.Principal:
		e := *prior.Error
		return &e
	}
	return nil
}

// fleetFailed records err as the run's Fleet failure (the first one wins) and reports whether
// the run has one.
func (r *reconcileRun) fleetFailed(err error) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil && r.fleetErr == nil {
		r.fleetErr = err
	}
	return r.fleetErr != nil
}

// remember hands what calls found out to the Fleet; a dry run writes nothing. A failure is
// logged, not fatal: the calls were made, and the next run sees the pairs as they are.
func (r *reconcileRun) remember(outcomes []Outcome) {
	if r.fleet == nil || r.dryRun {
		return
	}
	r.s.remember(r.ctx, outcomes)
}

// remember hands outcomes to the Fleet, when there is one; a failure is logged.
func (s *Service) remember(ctx context.Context, outcomes []Outcome) {
	if s.opts.Fleet == nil || len(outcomes) == 0 {
		return
	}
	if err := s.opts.Fleet.Remember(ctx, outcomes); err != nil {
		s.log.ErrorContext(ctx, "the fleet's memory (ENVSHARE_LEDGER) could not record the outcomes of a call; "+
			"the next reconcile sees the pairs as WeChat has them", "pairs", len(outcomes), "error", s.opts.Redact(err.Error()))
	}
}
