package share

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/envshare/envshare/pkg/wechat"
)

// appBindings is what a bindings query learnt about one appid: its envs, or why they are
// unknown.
type appBindings struct {
	envs     []string   // distinct bound envs, never nil once read
	err      *callError // the query failed, WeChat rejected the appid, or left it out
	deferred bool       // the query was not started before the deadline margin, or its quota was used up
	reason   Reason     // why it was deferred ("": the deadline)
	skip     bool       // not read: every pair of the appid was decided from the Fleet's memory
}

// missingFromAnswer is an appid that a successful batchgetenvid answer did not mention.
var missingFromAnswer = &callError{entry: EntryError{Code: CodeUpstreamError, Message: "missing from WeChat's answer"}}

// queryBindings reads the bindings of appids (distinct) in chunks, at most Concurrency calls
// at a time. It returns one state per appid and the outcome of every call that was sent, in
// chunk order (nil = the call succeeded).
func (s *Service) queryBindings(ctx context.Context, appids []string, sourceType int) ([]appBindings, []*callError, error) {
	states := make([]appBindings, len(appids))
	cs := chunks(len(appids), s.opts.ChunkSize)
	calls, sent := make([]*callError, len(cs)), make([]bool, len(cs))
	q := s.newQuotaState(false)
	err := s.parallel(len(cs), func(i int) {
		lo, hi := cs[i][0], cs[i][1]
		sent[i], calls[i] = s.queryOne(ctx, appids[lo:hi], states[lo:hi], sourceType, false, q)
	})
	if err != nil {
		return nil, nil, err
	}
	return states, attempted(calls, sent), nil
}

// getEnvID is the endpoint of the bindings queries.
const getEnvID = "batchgetenvid"

// queryOne reads the bindings of one chunk of appids into states (states[k] is ids[k]'s).
// With deferOnDeadline (reconcile), a chunk too close to the deadline is not sent and its
// appids are marked deferred. Once the API answered 45009 in the request, no chunk is sent:
// a reconcile defers its appids (reason quota_exhausted), a bindings query reports them as
// errors with code quota_exhausted. It reports whether the call was attempted and why it
// failed (nil = it succeeded).
func (s *Service) queryOne(ctx context.Context, ids []string, states []appBindings, sourceType int, deferOnDeadline bool, q *quotaState) (bool, *callError) {
	defer func() {
		if !deferOnDeadline || !q.isExhausted(getEnvID) {
			return
		}
		for k := range states { // the refused call's appids, or those of a call not sent
			if states[k].err.exhausted() {
				states[k] = appBindings{deferred: true, reason: ReasonQuotaExhausted}
			}
		}
	}()
	switch {
	case deferOnDeadline && s.tooLate(ctx):
		for k := range states {
			states[k].deferred = true
		}
		return false, nil
	case q.isExhausted(getEnvID):
		skipped := quotaSkipped(q, getEnvID)
		for k := range states {
			states[k].err = skipped
		}
		return false, nil
	}
	ce := notStarted
	if ctx.Err() == nil {
		start := time.Now()
		resp, err := s.up.GetEnvID(ctx, &wechat.GetEnvIDRequest{AppIDs: ids, SourceType: sourceType})
		ce = nil
		if err != nil {
			ce = s.classify(ctx, err)
		}
		s.logCall(ctx, getEnvID, "", len(ids), start, ce)
		if ce == nil {
			s.applyBindings(resp, ids, states)
			return true, nil
		}
		if ce.exhausted() {
			q.exhaust(getEnvID, ce.retryAfter)
		}
	}
	for k := range states {
		states[k].err = ce
	}
	return true, ce
}

// applyBindings records one answer for the chunk ids (states[k] belongs to ids[k]).
// err_list wins over relation_data; an appid in neither is an upstream error, and so is one
// whose env list holds something that is no env id, or more than MaxEnvsPerAppID envs. Entries
// for appids the chunk did not ask about are ignored. WeChat's texts are masked and bounded.
func (s *Service) applyBindings(resp *wechat.GetEnvIDResponse, ids []string, states []appBindings) {
	pos := make(map[string]int, len(ids))
	for k, id := range ids {
		pos[id] = k
	}
	for _, rel := range resp.RelationData {
		k, ok := pos[rel.AppID]
		if !ok {
			continue
		}
		if states[k].envs == nil {
			states[k].envs = make([]string, 0, min(len(rel.EnvList), MaxEnvsPerAppID))
		}
		for _, env := range rel.EnvList {
			switch {
			case states[k].err != nil:
			case !ValidEnv(env):
				states[k].err = &callError{entry: EntryError{Code: CodeUpstreamError,
					Message: "WeChat's answer lists " + quote(s.opts.Redact(env)) + ", which is no env id"}}
			case slices.Contains(states[k].envs, env):
			case len(states[k].envs) == MaxEnvsPerAppID:
				states[k].err = &callError{entry: EntryError{Code: CodeUpstreamError,
					Message: fmt.Sprintf("WeChat's answer lists more than %d envs", MaxEnvsPerAppID)}}
			default:
				states[k].envs = append(states[k].envs, env)
			}
		}
	}
	for _, e := range resp.ErrList {
		k, ok := pos[e.AppID]
		if !ok || states[k].err != nil {
			continue
		}
		msg := e.ErrMsg
		if msg == "" {
			msg = "rejected by WeChat"
		}
		states[k].err = &callError{entry: EntryError{Code: rejectionCode(msg), Message: s.upstreamText(msg)}}
	}
	for k := range states {
		if states[k].envs == nil && states[k].err == nil {
			states[k].err = missingFromAnswer
		}
	}
}

// bindings carries out a bindings request.
func (s *Service) bindings(ctx context.Context, req *Request) (*Result, error) {
	appids := distinctStrings(req.AppIDs)
	st := s.sourceType(req)
	states, calls, err := s.queryBindings(ctx, appids, st)
	if err != nil {
		return nil, err
	}
	if e := s.wholeFailure(calls); e != nil {
		return nil, e
	}
	res := &Result{Action: ActionBindings, SourceType: st, Bindings: []Binding{}, Errors: []BindingError{}}
	for i, id := range appids {
		if b := states[i]; b.err != nil {
			res.Errors = append(res.Errors, BindingError{AppID: id, Error: b.err.entry})
		} else {
			res.Bindings = append(res.Bindings, Binding{AppID: id, Envs: b.envs})
		}
	}
	res.OK = len(res.Errors) == 0
	return res, nil
}
