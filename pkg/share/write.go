package share

import (
	"context"
	"time"

	"github.com/envshare/envshare/pkg/wechat"
)

// writeJob is one batchshareenv or batchunshareenv call: one env, at most ChunkSize appids.
// Its entries are out[idx[0]], out[idx[1]], ...; the call writes their status.
type writeJob struct {
	action string // ActionShare or ActionUnshare
	env    string
	out    []Outcome
	idx    []int
}

// planWrites groups out[indices] by env, in order of first appearance, and chunks each env's
// appids into calls of at most size.
func planWrites(action string, out []Outcome, indices []int, size int) []writeJob {
	byEnv := make(map[string][]int)
	var envs []string
	for _, i := range indices {
		env := out[i].Env
		if _, seen := byEnv[env]; !seen {
			envs = append(envs, env)
		}
		byEnv[env] = append(byEnv[env], i)
	}
	var jobs []writeJob
	for _, env := range envs {
		idx := byEnv[env]
		for _, c := range chunks(len(idx), size) {
			jobs = append(jobs, writeJob{action: action, env: env, out: out, idx: idx[c[0]:c[1]]})
		}
	}
	return jobs
}

// writeOne runs one write job. With deferOnDeadline (reconcile), a job too close to the
// deadline is not sent and leaves its entries deferred. It reports whether the call was
// attempted and why it failed (nil = it succeeded). A call not sent because the context
// ended fails its entries with deadline_exceeded.
func (s *Service) writeOne(ctx context.Context, job writeJob, sourceType int, deferOnDeadline bool) (bool, *callError) {
	if deferOnDeadline && s.tooLate(ctx) {
		job.setAll(StatusDeferred, nil)
		return false, nil
	}
	if ctx.Err() != nil {
		job.setAll(StatusFailed, notStarted)
		return true, notStarted
	}
	return true, s.send(ctx, job, sourceType)
}

// send makes one write call and records its entries' outcomes.
func (s *Service) send(ctx context.Context, job writeJob, sourceType int) *callError {
	appids := make([]string, len(job.idx))
	for k, i := range job.idx {
		appids[k] = job.out[i].AppID
	}
	req := &wechat.ShareEnvRequest{Data: []wechat.EnvAppIDs{{Env: job.env, AppIDs: appids}}, SourceType: sourceType}
	start := time.Now()
	endpoint, err := "batchshareenv", error(nil)
	if job.action == ActionShare {
		var resp *wechat.ShareEnvResponse
		if resp, err = s.up.ShareEnv(ctx, req); err == nil {
			job.applyAnswer(resp.ErrList, resp.MsgInfoList, s)
		}
	} else {
		endpoint = "batchunshareenv"
		var resp *wechat.UnshareEnvResponse
		if resp, err = s.up.UnshareEnv(ctx, req); err == nil {
			job.applyAnswer(resp.ErrList, nil, s)
		}
	}
	var ce *callError
	if err != nil {
		ce = s.classify(ctx, err)
	}
	s.logCall(ctx, endpoint, job.env, len(appids), start, ce)
	if ce != nil {
		job.setAll(StatusFailed, ce)
	}
	return ce
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

// applyAnswer sets each entry from a successful answer: listed in err_list (matched by env and
// appid, or by appid alone when an older answer omits env) → failed "rejected", or
// "different_entity" when its errmsg says the entities differ; listed in msg_info_list →
// pending_confirmation, or failed upstream_error when the link is not one to deliver
// (Service.confirmLink); otherwise shared (unshared for an unshare). WeChat's texts are
// masked, in case they echo a secret, and bounded (texts.go).
func (job writeJob) applyAnswer(errList []wechat.EnvError, links []wechat.MsgInfo, s *Service) {
	var rejected map[string]string
	for _, e := range errList {
		if e.Env != "" && e.Env != job.env {
			continue
		}
		if rejected == nil {
			rejected = make(map[string]string, len(errList))
		}
		if _, dup := rejected[e.AppID]; !dup {
			rejected[e.AppID] = e.ErrMsg
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
		if msg, ok := rejected[o.AppID]; ok {
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
	indices := make([]int, len(pairs))
	for i, p := range pairs {
		out[i] = Outcome{Env: p.env, AppID: p.appid}
		indices[i] = i
	}
	st := s.sourceType(req)
	// The calls, at most Concurrency at a time, in order; calls[i] is how job i failed (nil: it
	// succeeded).
	jobs := planWrites(req.Action, out, indices, s.opts.ChunkSize)
	calls := make([]*callError, len(jobs))
	if err := s.parallel(len(jobs), func(i int) {
		_, calls[i] = s.writeOne(ctx, jobs[i], st, false)
	}); err != nil {
		return nil, err
	}
	s.remember(ctx, out) // what became of each pair, even when the whole request failed
	if e := s.wholeFailure(calls); e != nil {
		return nil, e
	}
	n := countStatuses(out)
	res := &Result{OK: n[StatusFailed] == 0, Action: req.Action, SourceType: st, Results: out}
	if req.Action == ActionShare {
		res.Summary = &ShareSummary{Requested: len(out), Shared: n[StatusShared],
			PendingConfirmation: n[StatusPendingConfirmation], Failed: n[StatusFailed]}
	} else {
		res.Summary = &UnshareSummary{Requested: len(out), Unshared: n[StatusUnshared], Failed: n[StatusFailed]}
	}
	return res, nil
}
