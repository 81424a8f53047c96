package share

import (
	"context"
	"time"

	"github.com/envshare/envshare/pkg/wechat"
)

// writeJob is one batchshareenv or batchunshareenv call: at most ChunkSize appids, of one or
// more envs, never one appid twice (packer). Its entries are out[idx[0]], out[idx[1]], ...; the
// call writes their status.
type writeJob struct {
	action string // ActionShare or ActionUnshare
	out    []Outcome
	idx    []int
}

// packer groups the pairs to write into calls, as few as the rule allows: at most size appids
// a call, of any number of envs, but never one appid twice in a call, so that each link of
// msg_info_list (which names an appid, not an env) belongs to exactly one pair. Pairs are
// added as they become known (add); full hands out every call that can be filled already,
// rest the calls of what is left at the end.
//
// A reconcile may hold 200,000 pairs waiting at once, so the packer keeps int32s, not a map
// of appids: appids are numbered (app), and an appid's waiting pairs are a chain through next.
type packer struct {
	size  int
	app   []int32 // per pair in out: its appid's number
	apps  int     // how many appids app numbers
	queue []int32 // appids (numbers) with pairs waiting, oldest first
	first []int32 // per appid: its oldest waiting pair (index in out), -1 none
	last  []int32 // per appid: its newest waiting pair
	next  []int32 // per pair: the next waiting pair of its appid, -1 none
}

// newPacker packs pairs of out, numbering its appids itself.
func newPacker(out []Outcome, size int) *packer {
	numbers := make(map[string]int32)
	app := make([]int32, len(out))
	for i, o := range out {
		a, ok := numbers[o.AppID]
		if !ok {
			a = int32(len(numbers))
			numbers[o.AppID] = a
		}
		app[i] = a
	}
	return newNumberedPacker(app, len(numbers), size)
}

// newNumberedPacker packs pairs whose appids are numbered already: app[i] < apps is the
// number of pair i's appid.
func newNumberedPacker(app []int32, apps, size int) *packer {
	return &packer{size: size, app: app, apps: apps}
}

// add queues the pairs idx (indices in out).
func (p *packer) add(idx []int) {
	if p.first == nil && len(idx) > 0 { // made on first need: a reconcile adds its pairs late
		p.first, p.last, p.next = make([]int32, p.apps), make([]int32, p.apps), make([]int32, len(p.app))
		for a := range p.first {
			p.first[a] = -1
		}
	}
	for _, i := range idx {
		a := p.app[i]
		p.next[i] = -1
		if p.first[a] < 0 {
			p.queue = append(p.queue, a)
			p.first[a] = int32(i)
		} else {
			p.next[p.last[a]] = int32(i)
		}
		p.last[a] = int32(i)
	}
}

// full takes the calls that can be filled now: one pair of each of the size appids that have
// waited longest, as long as size appids wait. An appid with more pairs keeps its place, so
// that it is not left with several pairs (several calls) at the end.
func (p *packer) full() [][]int {
	var calls [][]int
	for len(p.queue) >= p.size {
		call := make([]int, 0, p.size)
		head := p.queue[:p.size]
		keep := 0
		for _, a := range head {
			i := p.first[a]
			call = append(call, int(i))
			if p.first[a] = p.next[i]; p.first[a] >= 0 {
				head[keep] = a
				keep++
			}
		}
		copy(p.queue[p.size-keep:p.size], head[:keep])
		p.queue = p.queue[p.size-keep:]
		calls = append(calls, call)
	}
	return calls
}

// rest takes the calls of every pair still waiting, as few as possible: with no appid twice,
// consecutive chunks of size; else max(ceil(n/size), most pairs of one appid) calls, pair j of
// the pairs listed appid by appid going to call j modulo that number, so that the pairs of an
// appid land in different calls.
func (p *packer) rest() [][]int {
	var pairs []int
	most := 0
	for _, a := range p.queue {
		n := 0
		for i := p.first[a]; i >= 0; i = p.next[i] {
			pairs = append(pairs, int(i))
			n++
		}
		p.first[a] = -1
		most = max(most, n)
	}
	p.queue = nil
	if len(pairs) == 0 {
		return nil
	}
	n := max((len(pairs)+p.size-1)/p.size, most)
	if most == 1 {
		var calls [][]int
		for _, c := range chunks(len(pairs), p.size) {
			calls = append(calls, pairs[c[0]:c[1]])
		}
		return calls
	}
	calls := make([][]int, n)
	for j, i := range pairs {
		calls[j%n] = append(calls[j%n], i)
	}
	return calls
}

// jobsOf makes the write jobs of calls (each a list of indices in out).
func jobsOf(action string, out []Outcome, calls [][]int) []writeJob {
	jobs := make([]writeJob, len(calls))
	for i, idx := range calls {
		jobs[i] = writeJob{action: action, out: out, idx: idx}
	}
	return jobs
}

// writeOne runs one write job. With deferOnDeadline (reconcile), a job too close to the
// deadline is not sent and leaves its entries deferred. A job whose API answered 45009 earlier
// in the request (or, in a reconcile, whose budget of write calls is spent) is not sent: its
// entries are deferred with the reason. It reports whether the call was attempted and why it
// failed (nil = it succeeded). A call not sent because the context ended fails its entries
// with deadline_exceeded.
func (s *Service) writeOne(ctx context.Context, job writeJob, sourceType int, deferOnDeadline bool, q *quotaState) (bool, *callError) {
	if deferOnDeadline && s.tooLate(ctx) {
		job.setDeferred("")
		return false, nil
	}
	if ctx.Err() != nil {
		job.setAll(StatusFailed, notStarted)
		return true, notStarted
	}
	if reason := q.take(ctx, endpointOf(job.action)); reason != "" {
		job.setDeferred(reason)
		return false, nil
	}
	return true, s.send(ctx, job, sourceType, q)
}

// send makes one write call and records its entries' outcomes. A call that found the API's
// daily quota used up (45009) defers its entries, and the request makes no further call of
// the API.
func (s *Service) send(ctx context.Context, job writeJob, sourceType int, q *quotaState) *callError {
	req := &wechat.ShareEnvRequest{Data: job.data(), SourceType: sourceType}
	start := time.Now()
	endpoint, err := endpointOf(job.action), error(nil)
	if job.action == ActionShare {
		var resp *wechat.ShareEnvResponse
		if resp, err = s.up.ShareEnv(ctx, req); err == nil {
			job.applyAnswer(resp.ErrList, resp.MsgInfoList, s)
		}
	} else {
		var resp *wechat.UnshareEnvResponse
		if resp, err = s.up.UnshareEnv(ctx, req); err == nil {
			job.applyAnswer(resp.ErrList, nil, s)
		}
	}
	var ce *callError
	if err != nil {
		ce = s.classify(ctx, err)
	}
	s.logCall(ctx, endpoint, job.envs(req.Data), len(job.idx), start, ce)
	switch {
	case ce.exhausted():
		q.exhaust(endpoint, ce.retryAfter)
		job.setDeferred(ReasonQuotaExhausted)
	case ce != nil:
		job.setAll(StatusFailed, ce)
	}
	return ce
}

// data lists the job's appids by env, envs in order of first appearance.
func (job writeJob) data() []wechat.EnvAppIDs {
	var data []wechat.EnvAppIDs
	at := make(map[string]int, 1)
	for _, i := range job.idx {
		o := job.out[i]
		k, ok := at[o.Env]
		if !ok {
			k = len(data)
			at[o.Env] = k
			data = append(data, wechat.EnvAppIDs{Env: o.Env})
		}
		data[k].AppIDs = append(data[k].AppIDs, o.AppID)
	}
	return data
}

// envs names the envs of a call for its log line: the env, or how many when several.
func (job writeJob) envs(data []wechat.EnvAppIDs) string {
	if len(data) == 1 {
		return data[0].Env
	}
	return ""
}

// outcomes copies the job's entries (for the Fleet).
func (job writeJob) outcomes() []Outcome {
	out := make([]Outcome, len(job.idx))
	for k, i := range job.idx {
		out[k] = job.out[i]
	}
	return out
}

func (job writeJob) setAll(status Status, ce *callError) {
	for _, i := range job.idx {
		o := &job.out[i]
		o.Status = status
		if ce != nil {
			e := ce.entry
			o.Error = &e
		}
	}
}

// setDeferred defers the job's entries, with the reason ("" for the deadline).
func (job writeJob) setDeferred(reason Reason) {
	for _, i := range job.idx {
		job.out[i].Status, job.out[i].Reason = StatusDeferred, reason
	}
}

// applyAnswer sets each entry from a successful answer: listed in err_list (matched by env and
// appid, or by appid alone when an older answer omits env: an appid is in a call once) →
// failed "rejected", or "different_entity" when its errmsg says the entities differ; listed
// in msg_info_list → pending_confirmation, or failed upstream_error when the link is not one
// to deliver (Service.confirmLink); otherwise shared (unshared for an unshare). WeChat's texts
// are masked, in case they echo a secret, and bounded (texts.go).
func (job writeJob) applyAnswer(errList []wechat.EnvError, links []wechat.MsgInfo, s *Service) {
	var rejected map[PairKey]string // by env and appid; Env "" for entries without env
	for _, e := range errList {
		if rejected == nil {
			rejected = make(map[PairKey]string, len(errList))
		}
		k := PairKey{Env: e.Env, AppID: e.AppID}
		if _, dup := rejected[k]; !dup {
			rejected[k] = e.ErrMsg
		}
	}
	var urls map[string]string
	for _, m := range links {
		if urls == nil {
			urls = make(map[string]string, len(links))
		}
		if _, dup := urls[m.AppID]; !dup {
			urls[m.AppID] = m.URL
		}
	}
	done := StatusShared
	if job.action == ActionUnshare {
		done = StatusUnshared
	}
	for _, i := range job.idx {
		o := &job.out[i]
		msg, ok := rejected[PairKey{Env: o.Env, AppID: o.AppID}]
		if !ok {
			msg, ok = rejected[PairKey{AppID: o.AppID}]
		}
		if ok {
			if msg == "" {
				msg = "rejected by WeChat"
			}
			o.Status, o.Error = StatusFailed, &EntryError{Code: rejectionCode(msg), Message: s.upstreamText(msg)}
		} else if url, ok := urls[o.AppID]; ok {
			if link, e := s.confirmLink(url); e != nil {
				o.Status, o.Error = StatusFailed, e
			} else {
				o.Status, o.ConfirmURL = StatusPendingConfirmation, link
			}
		} else {
			o.Status = done
		}
	}
}

// write carries out a share or unshare request.
func (s *Service) write(ctx context.Context, req *Request) (*Result, error) {
	pairs := distinctPairs(req.pairsInput())
	out := make([]Outcome, len(pairs))
	for i, p := range pairs {
		out[i] = Outcome{Env: p.env, AppID: p.appid}
	}
	st := s.sourceType(req)
	// The calls, at most Concurrency at a time, in order; calls[i] is how job i failed (nil: it
	// succeeded), sent[i] whether it was sent.
	jobs := jobsOf(req.Action, out, planCalls(out, s.opts.ChunkSize))
	q := s.newQuotaState(false)
	calls, sent := make([]*callError, len(jobs)), make([]bool, len(jobs))
	if err := s.parallel(len(jobs), func(i int) {
		sent[i], calls[i] = s.writeOne(ctx, jobs[i], st, false, q)
	}); err != nil {
		return nil, err
	}
	s.remember(ctx, out) // what became of each pair, even when the whole request failed
	if e := s.wholeFailure(attempted(calls, sent)); e != nil {
		return nil, e
	}
	n := countStatuses(out)
	res := &Result{OK: n[StatusFailed] == 0 && n[StatusDeferred] == 0, Action: req.Action, SourceType: st, Results: out}
	if req.Action == ActionShare {
		res.Summary = &ShareSummary{Requested: len(out), Shared: n[StatusShared],
			PendingConfirmation: n[StatusPendingConfirmation], Failed: n[StatusFailed], Deferred: n[StatusDeferred]}
	} else {
		res.Summary = &UnshareSummary{Requested: len(out), Unshared: n[StatusUnshared], Failed: n[StatusFailed],
			Deferred: n[StatusDeferred]}
	}
	return res, nil
}

// attempted keeps the outcomes of the calls that were sent.
func attempted(calls []*callError, sent []bool) []*callError {
	var out []*callError
	for i, c := range calls {
		if sent[i] {
			out = append(out, c)
		}
	}
	return out
}
