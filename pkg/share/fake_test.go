package share

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"

	"github.com/envshare/envshare/pkg/wechat"
)

// fakeWeChat is a small in-memory WeChat: it keeps bindings, records every call, and lets a
// test reject pairs, ask for confirmation, or fail whole calls through hooks.
type fakeWeChat struct {
	mu      sync.Mutex
	bound   map[string][]string // appid → envs
	shares  []wechat.ShareEnvRequest
	unshare []wechat.ShareEnvRequest
	gets    []wechat.GetEnvIDRequest

	// Optional behaviour. Each hook runs under no lock and may be called concurrently.
	confirm   func(env, appid string) bool            // share needs confirmation: link, not bound
	reject    func(env, appid string) string          // non-empty: listed in err_list with this errmsg
	omitEnv   bool                                    // err_list entries without env (older answers)
	fail      func(endpoint string, env string) error // a whole-call error
	rejectGet func(appid string) string               // non-empty: in batchgetenvid err_list
	omitGet   func(appid string) bool                 // left out of batchgetenvid's answer
	onCall    func(endpoint string)                   // runs at the start of every call
}

func newFake() *fakeWeChat { return &fakeWeChat{bound: map[string][]string{}} }

var _ Upstream = (*fakeWeChat)(nil)

func (f *fakeWeChat) bind(env string, appids ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range appids {
		if !slices.Contains(f.bound[a], env) {
			f.bound[a] = append(f.bound[a], env)
		}
	}
}

func (f *fakeWeChat) isBound(env, appid string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Contains(f.bound[appid], env)
}

// counts returns the number of share, unshare and get calls so far.
func (f *fakeWeChat) counts() (shares, unshares, gets int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.shares), len(f.unshare), len(f.gets)
}

func (f *fakeWeChat) writes() int {
	s, u, _ := f.counts()
	return s + u
}

// called notes a call to api: onCall, req in its log calls, then the failure the test set for
// data, if any.
func called[R any](f *fakeWeChat, api string, calls *[]R, req R, data []wechat.EnvAppIDs) error {
	if f.onCall != nil {
		f.onCall(api)
	}
	f.mu.Lock()
	*calls = append(*calls, req)
	f.mu.Unlock()
	return f.failure(api, data)
}

func (f *fakeWeChat) ShareEnv(ctx context.Context, req *wechat.ShareEnvRequest) (*wechat.ShareEnvResponse, error) {
	if err := called(f, "batchshareenv", &f.shares, cloneShare(req), req.Data); err != nil {
		return nil, err
	}
	resp := &wechat.ShareEnvResponse{}
	resp.ErrList = f.eachPair(req, func(env, a string) {
		if f.confirm != nil && f.confirm(env, a) {
			resp.MsgInfoList = append(resp.MsgInfoList, wechat.MsgInfo{AppID: a, URL: "https://mp.weixin.qq.com/confirm/" + env + "/" + a})
		} else {
			f.bind(env, a)
		}
	})
	return resp, nil
}

func (f *fakeWeChat) UnshareEnv(ctx context.Context, req *wechat.ShareEnvRequest) (*wechat.UnshareEnvResponse, error) {
	if err := called(f, "batchunshareenv", &f.unshare, cloneShare(req), req.Data); err != nil {
		return nil, err
	}
	errList := f.eachPair(req, func(env, a string) {
		f.mu.Lock()
		f.bound[a] = slices.DeleteFunc(f.bound[a], func(e string) bool { return e == env })
		f.mu.Unlock()
	})
	return &wechat.UnshareEnvResponse{ErrList: errList}, nil
}

// eachPair answers the pairs of a share or unshare call: those the test rejects in the err_list
// it returns, the others by apply.
func (f *fakeWeChat) eachPair(req *wechat.ShareEnvRequest, apply func(env, appid string)) []wechat.EnvError {
	var errList []wechat.EnvError
	for _, d := range req.Data {
		for _, a := range d.AppIDs {
			if f.reject != nil && f.reject(d.Env, a) != "" {
				errList = append(errList, f.envError(d.Env, a, f.reject(d.Env, a)))
				continue
			}
			apply(d.Env, a)
		}
	}
	return errList
}

func (f *fakeWeChat) GetEnvID(ctx context.Context, req *wechat.GetEnvIDRequest) (*wechat.GetEnvIDResponse, error) {
	get := wechat.GetEnvIDRequest{AppIDs: slices.Clone(req.AppIDs), SourceType: req.SourceType}
	if err := called(f, "batchgetenvid", &f.gets, get, []wechat.EnvAppIDs{{}}); err != nil {
		return nil, err
	}
	resp := &wechat.GetEnvIDResponse{}
	for _, a := range req.AppIDs {
		switch {
		case f.rejectGet != nil && f.rejectGet(a) != "":
			resp.ErrList = append(resp.ErrList, wechat.AppError{AppID: a, ErrMsg: f.rejectGet(a)})
		case f.omitGet != nil && f.omitGet(a):
		default:
			f.mu.Lock()
			envs := slices.Clone(f.bound[a])
			f.mu.Unlock()
			resp.RelationData = append(resp.RelationData, wechat.Relation{AppID: a, EnvList: envs})
		}
	}
	return resp, nil
}

// failure asks fail about each env of a call (a packed call carries several): the first
// error fails the call.
func (f *fakeWeChat) failure(endpoint string, data []wechat.EnvAppIDs) error {
	if f.fail == nil {
		return nil
	}
	for _, d := range data {
		if err := f.fail(endpoint, d.Env); err != nil {
			return err
		}
	}
	return nil
}

// checkPacked fails t unless every call carries at most size appids, none of them twice.
func checkPacked(t *testing.T, calls []wechat.ShareEnvRequest, size int) {
	t.Helper()
	for _, c := range calls {
		seen := map[string]bool{}
		for _, d := range c.Data {
			for _, a := range d.AppIDs {
				if seen[a] {
					t.Fatalf("call %+v carries %s twice: its link would name two pairs", c, a)
				}
				seen[a] = true
			}
		}
		if len(seen) > size {
			t.Fatalf("call %+v carries %d appids, more than %d", c, len(seen), size)
		}
	}
}

func (f *fakeWeChat) envError(env, appid, msg string) wechat.EnvError {
	if f.omitEnv {
		env = ""
	}
	return wechat.EnvError{Env: env, AppID: appid, ErrMsg: msg}
}

func cloneShare(req *wechat.ShareEnvRequest) wechat.ShareEnvRequest {
	c := wechat.ShareEnvRequest{SourceType: req.SourceType}
	for _, d := range req.Data {
		c.Data = append(c.Data, wechat.EnvAppIDs{Env: d.Env, AppIDs: slices.Clone(d.AppIDs)})
	}
	return c
}

// appid returns the n-th test appid.
func appid(n int) string { return fmt.Sprintf("wx%016x", n) }

// appids returns the test appids from..to-1.
func appids(from, to int) []string {
	out := make([]string, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, appid(i))
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// testLogger returns a logger writing JSON lines to w (nil: discarding) at debug level.
func testLogger(w io.Writer) *slog.Logger {
	if w == nil {
		w = io.Discard
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newService returns a Service over f with a quiet logger and the given options.
func newService(t *testing.T, f Upstream, opts Options) *Service {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(nil)
	}
	return New(f, opts)
}

// manifestOf validates a manifest built in Go, as the function validates ENVSHARE_MANIFEST.
func manifestOf(t *testing.T, r Request) *Request {
	t.Helper()
	r.Action = ActionReconcile
	m, err := Check(r)
	if err != nil {
		t.Fatal(err)
	}
	return &m
}

// counts reads a summary's counts by name, as its JSON shows them.
func counts(s Summary) map[Status]int {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	var m map[Status]int
	if err := json.Unmarshal(b, &m); err != nil {
		panic(err)
	}
	return m
}

// outcomeOf finds the outcome of (env, appid) in a result.
func outcomeOf(t *testing.T, res *Result, env, appid string) Outcome {
	t.Helper()
	for _, o := range res.Results {
		if o.Env == env && o.AppID == appid {
			return o
		}
	}
	t.Fatalf("no outcome for %s/%s in %+v", env, appid, res.Results)
	return Outcome{}
}

// statuses maps "env/appid" to status for an outcome list.
func statuses(out []Outcome) map[string]Status {
	m := make(map[string]Status, len(out))
	for _, o := range out {
		m[o.Env+"/"+o.AppID] = o.Status
	}
	return m
}
