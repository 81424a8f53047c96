package share

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/envshare/envshare/pkg/wechat"
)

func shareReq(action string, data ...wechat.EnvAppIDs) Request {
	return Request{Action: action, Data: data}
}

func TestShareReportsEachStatus(t *testing.T) {
	f := newFake()
	f.confirm = func(env, a string) bool { return a == a1 }
	f.reject = func(env, a string) string {
		if a == a2 {
			return "invalid appid"
		}
		return ""
	}
	s := newService(t, f, Options{})
	res, err := s.Do(t.Context(), shareReq("share", wechat.EnvAppIDs{Env: "e1", AppIDs: []string{a0, a1, a2}}))
	if err != nil {
		t.Fatal(err)
	}
	want := []Outcome{ // attention first: failed, then pending, then the rest
		{Env: "e1", AppID: a2, Status: StatusFailed, Error: &EntryError{Code: CodeRejected, Message: "invalid appid"}},
		{Env: "e1", AppID: a1, Status: StatusPendingConfirmation, ConfirmURL: "https://mp.weixin.qq.com/confirm/e1/" + a1},
		{Env: "e1", AppID: a0, Status: StatusShared},
	}
	if !reflect.DeepEqual(res.Results, want) {
		t.Fatalf("results %+v", res.Results)
	}
	if res.OK || res.Action != "share" || res.SourceType != 1 {
		t.Fatalf("result %+v", res)
	}
	got, _ := json.Marshal(res)
	wantJSON := `{"ok":false,"action":"share","source_type":1,` +
		`"summary":{"requested":3,"shared":1,"pending_confirmation":1,"failed":1},"results":[` +
		`{"env":"e1","appid":"` + a2 + `","status":"failed","error":{"code":"rejected","message":"invalid appid"}},` +
		`{"env":"e1","appid":"` + a1 + `","status":"pending_confirmation","confirm_url":"https://mp.weixin.qq.com/confirm/e1/` + a1 + `"},` +
		`{"env":"e1","appid":"` + a0 + `","status":"shared"}]}`
	if string(got) != wantJSON {
		t.Fatalf("JSON\n got %s\nwant %s", got, wantJSON)
	}
}

func TestUnshareReportsEachStatus(t *testing.T) {
	f := newFake()
	f.bind("e1", a0, a1)
	f.reject = func(env, a string) string {
		if a == a1 {
			return "not shared"
		}
		return ""
	}
	s := newService(t, f, Options{})
	res, err := s.Do(t.Context(), Request{Action: "unshare", Env: "e1", AppIDs: []string{a0, a1}, SourceType: ptr(0)})
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(res.Results); got["e1/"+a0] != StatusUnshared || got["e1/"+a1] != StatusFailed {
		t.Fatalf("statuses %v", got)
	}
	b, _ := json.Marshal(res.Summary)
	if string(b) != `{"requested":2,"unshared":1,"failed":1}` || res.OK || res.SourceType != 0 {
		t.Fatalf("summary %s, result %+v", b, res)
	}
	if f.isBound("e1", a0) || f.unshare[0].SourceType != 0 {
		t.Fatal("the unshare should have been sent with source_type 0")
	}
}

func TestShareSummaryCarriesZeros(t *testing.T) {
	s := newService(t, newFake(), Options{})
	res, err := s.Do(t.Context(), Request{Action: "share", Env: "e", AppIDs: []string{a0}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res.Summary)
	if string(b) != `{"requested":1,"shared":1,"pending_confirmation":0,"failed":0}` || !res.OK {
		t.Fatalf("summary %s", b)
	}
}

func TestShareChunksEachEnv(t *testing.T) {
	tests := []struct {
		appids int
		calls  int
	}{{1, 1}, {5, 1}, {6, 2}, {11, 3}}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d appids with chunk size 5 take %d call(s)", tt.appids, tt.calls), func(t *testing.T) {
			f := newFake()
			s := newService(t, f, Options{ChunkSize: 5})
			res, err := s.Do(t.Context(), Request{Action: "share", Env: "e", AppIDs: appids(0, tt.appids)})
			if err != nil {
				t.Fatal(err)
			}
			if len(f.shares) != tt.calls || len(res.Results) != tt.appids {
				t.Fatalf("%d calls, %d results", len(f.shares), len(res.Results))
			}
			var sent []string
			for _, c := range f.shares {
				if len(c.Data[0].AppIDs) > 5 {
					t.Fatalf("a call carried %d appids", len(c.Data[0].AppIDs))
				}
				sent = append(sent, c.Data[0].AppIDs...)
			}
			slices.Sort(sent)
			if !reflect.DeepEqual(sent, appids(0, tt.appids)) {
				t.Fatal("every appid should be sent exactly once")
			}
		})
	}
	t.Run("the default chunk size is 100", func(t *testing.T) {
		f := newFake()
		s := newService(t, f, Options{})
		if _, err := s.Do(t.Context(), Request{Action: "unshare", Env: "e", AppIDs: appids(0, 201)}); err != nil {
			t.Fatal(err)
		}
		var sizes []int
		for _, c := range f.unshare {
			sizes = append(sizes, len(c.Data[0].AppIDs))
		}
		slices.Sort(sizes)
		if !reflect.DeepEqual(sizes, []int{1, 100, 100}) {
			t.Fatalf("call sizes %v", sizes)
		}
	})
}

func TestSharePacksEnvsAndCollapsesDuplicates(t *testing.T) {
	f := newFake()
	s := newService(t, f, Options{SourceType: 3})
	res, err := s.Do(t.Context(), shareReq("share",
		wechat.EnvAppIDs{Env: "a", AppIDs: []string{a0, a1, a0}},
		wechat.EnvAppIDs{Env: "b", AppIDs: []string{a1}},
		wechat.EnvAppIDs{Env: "a", AppIDs: []string{a2, a1}},
	))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range res.Results {
		got = append(got, o.Env+"/"+o.AppID)
	}
	want := []string{"a/" + a0, "a/" + a1, "b/" + a1, "a/" + a2}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("results %v, want %v", got, want)
	}
	if counts(res.Summary)["requested"] != 4 {
		t.Fatalf("summary %v", res.Summary)
	}
	// a1 is under a and b: two calls, the fewest that never carry an appid twice.
	checkPacked(t, f.shares, DefaultChunkSize)
	if len(f.shares) != 2 {
		t.Fatalf("calls %+v, want 2", f.shares)
	}
	for _, c := range f.shares {
		if c.SourceType != 3 {
			t.Fatalf("call %+v: want source_type 3", c)
		}
	}
}

func TestShareMatchesErrListWithAndWithoutEnv(t *testing.T) {
	for _, omitEnv := range []bool{false, true} {
		t.Run(fmt.Sprintf("err_list entries with env omitted=%v", omitEnv), func(t *testing.T) {
			f := newFake()
			f.omitEnv = omitEnv
			f.reject = func(env, a string) string {
				if env == "b" && a == a0 {
					return "different subject"
				}
				return ""
			}
			s := newService(t, f, Options{})
			res, _ := s.Do(t.Context(), shareReq("share",
				wechat.EnvAppIDs{Env: "a", AppIDs: []string{a0}}, wechat.EnvAppIDs{Env: "b", AppIDs: []string{a0}}))
			if got := statuses(res.Results); got["a/"+a0] != StatusShared || got["b/"+a0] != StatusFailed {
				t.Fatalf("statuses %v", got)
			}
		})
	}
	t.Run("an err_list entry for another env does not match", func(t *testing.T) {
		up := &funcUpstream{share: func(req *wechat.ShareEnvRequest) (*wechat.ShareEnvResponse, error) {
			return &wechat.ShareEnvResponse{ErrList: []wechat.EnvError{{Env: "zzz", AppID: a0, ErrMsg: "x"}}}, nil
		}}
		res, err := newService(t, up, Options{}).Do(t.Context(), Request{Action: "share", Env: "a", AppIDs: []string{a0}})
		if err != nil || res.Results[0].Status != StatusShared {
			t.Fatalf("%+v %v", res, err)
		}
	})
}

// funcUpstream answers each call with a function (nil: an empty success).
type funcUpstream struct {
	share   func(*wechat.ShareEnvRequest) (*wechat.ShareEnvResponse, error)
	unshare func(*wechat.ShareEnvRequest) (*wechat.UnshareEnvResponse, error)
	get     func(*wechat.GetEnvIDRequest) (*wechat.GetEnvIDResponse, error)
}

func (u *funcUpstream) ShareEnv(_ context.Context, r *wechat.ShareEnvRequest) (*wechat.ShareEnvResponse, error) {
	if u.share == nil {
		return &wechat.ShareEnvResponse{}, nil
	}
	return u.share(r)
}

func (u *funcUpstream) UnshareEnv(_ context.Context, r *wechat.ShareEnvRequest) (*wechat.UnshareEnvResponse, error) {
	if u.unshare == nil {
		return &wechat.UnshareEnvResponse{}, nil
	}
	return u.unshare(r)
}

func (u *funcUpstream) GetEnvID(_ context.Context, r *wechat.GetEnvIDRequest) (*wechat.GetEnvIDResponse, error) {
	if u.get == nil {
		return &wechat.GetEnvIDResponse{}, nil
	}
	return u.get(r)
}

// Errors of each class the wechat client returns.
var (
	errAPI       = &wechat.APIError{Endpoint: "batchshareenv", Code: 48001, Msg: "api unauthorized"}
	errAPI2      = &wechat.APIError{Endpoint: "batchshareenv", Code: 40097, Msg: "invalid args"}
	errBusy      = &wechat.UnavailableError{Endpoint: "batchshareenv", Attempts: 3, Err: &wechat.APIError{Endpoint: "batchshareenv", Code: -1, Msg: "system busy"}}
	errToken     = &wechat.TokenSourceError{Err: errors.New("secret store unreachable")}
	errDeadline  = fmt.Errorf("wechat batchshareenv: %w", context.DeadlineExceeded)
	errCanceled  = fmt.Errorf("wechat batchshareenv: %w", context.Canceled)
	errProtocol  = &wechat.ResponseError{Endpoint: "batchshareenv", StatusCode: 404}
	errURLLeaker = &url.Error{Op: "Post", URL: "https://api.weixin.qq.com/componenttcb/batchshareenv?access_token=SECRET-TOKEN", Err: errors.New("boom")}
)

func TestChunkErrorsAreMappedToEntryCodes(t *testing.T) {
	tests := []struct {
		name string
		err  error
		code Code
		msg  string
	}{
		{"an API error", errAPI, CodeUpstreamError, "WeChat batchshareenv answered errcode 48001: api unauthorized"},
		{"WeChat busy after every attempt", errBusy, CodeUpstreamUnavailable, "wechat batchshareenv unavailable after 3 attempt(s)"},
		{"no token", errToken, CodeUpstreamUnavailable, "component access token unavailable"},
		{"a deadline", errDeadline, CodeDeadlineExceeded, "deadline passed"},
		{"a cancellation", errCanceled, CodeDeadlineExceeded, "canceled"},
		{"a protocol error", errProtocol, CodeUpstreamError, "unexpected HTTP status 404"},
		{"a foreign error carrying the token", errURLLeaker, CodeUpstreamError, "access_token=[redacted]"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" fails its chunk with "+string(tt.code), func(t *testing.T) {
			f := newFake()
			f.fail = func(endpoint, env string) error {
				if env == "bad" {
					return tt.err
				}
				return nil
			}
			s := newService(t, f, Options{ChunkSize: 2})
			res, err := s.Do(t.Context(), shareReq("share", // two calls: bad's two appids, then ok's
				wechat.EnvAppIDs{Env: "bad", AppIDs: []string{a0, a1}},
				wechat.EnvAppIDs{Env: "ok", AppIDs: []string{a2, appid(3)}}))
			if err != nil {
				t.Fatal(err)
			}
			if res.OK || counts(res.Summary)[StatusFailed] != 2 || counts(res.Summary)[StatusShared] != 2 {
				t.Fatalf("summary %v", res.Summary)
			}
			for _, o := range res.Results[:2] { // the failed ones come first
				if o.Error == nil || o.Error.Code != tt.code || !strings.Contains(o.Error.Message, tt.msg) {
					t.Fatalf("outcome %+v, want code %s with %q", o, tt.code, tt.msg)
				}
				if strings.Contains(o.Error.Message, "SECRET-TOKEN") {
					t.Fatal("the token leaked")
				}
			}
		})
	}
}

func TestWholeFailureRule(t *testing.T) {
	two := shareReq("share", wechat.EnvAppIDs{Env: "a", AppIDs: []string{a0}}, wechat.EnvAppIDs{Env: "b", AppIDs: []string{a0}})
	// failAB fails the call of env a with errA and the call of env b with errB (nil: it succeeds).
	failAB := func(errA, errB error) func(string, string) error {
		return func(_, env string) error {
			if env == "a" {
				return errA
			}
			return errB
		}
	}
	t.Run("every call failing with the same code fails the request with the first errcode", func(t *testing.T) {
		f := newFake()
		f.fail = failAB(errAPI, errAPI2)
		_, err := newService(t, f, Options{Concurrency: 1}).Do(t.Context(), two)
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeUpstreamError {
			t.Fatalf("err %v", err)
		}
		if e.WechatErrcode == nil || *e.WechatErrcode != 48001 || e.WechatErrmsg != "api unauthorized" {
			t.Fatalf("errcode %v %q", e.WechatErrcode, e.WechatErrmsg)
		}
	})
	t.Run("the first call is the first in request order, not in time", func(t *testing.T) {
		f := newFake()
		f.fail = failAB(errAPI2, errAPI)
		_, err := newService(t, f, Options{Concurrency: 8}).Do(t.Context(), two)
		var e *Error
		if !errors.As(err, &e) || *e.WechatErrcode != 40097 {
			t.Fatalf("err %v", err)
		}
	})
	for _, tt := range []struct {
		name   string
		fake   func(*fakeWeChat)
		status Status
		count  int
	}{
		{"calls failing with different codes answer a result", func(f *fakeWeChat) { f.fail = failAB(errAPI, errBusy) }, StatusFailed, 2},
		{"one successful call answers a result", func(f *fakeWeChat) { f.fail = failAB(errAPI, nil) }, StatusShared, 1},
		{"a call whose entries were all rejected was processed", func(f *fakeWeChat) {
			f.reject = func(string, string) string { return "no" }
		}, StatusFailed, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			tt.fake(f)
			res, err := newService(t, f, Options{}).Do(t.Context(), two)
			if err != nil || res.OK || counts(res.Summary)[tt.status] != tt.count {
				t.Fatalf("res %+v, err %v", res, err)
			}
		})
	}
	t.Run("unavailable everywhere is a transient error", func(t *testing.T) {
		f := newFake()
		f.fail = func(string, string) error { return errBusy }
		_, err := newService(t, f, Options{}).Do(t.Context(), two)
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeUpstreamUnavailable || !e.Transient() || *e.WechatErrcode != -1 {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("an expired context fails the request without calling WeChat", func(t *testing.T) {
		f := newFake()
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := newService(t, f, Options{}).Do(ctx, two)
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeDeadlineExceeded || e.WechatErrcode != nil {
			t.Fatalf("err %v", err)
		}
		if f.writes() != 0 {
			t.Fatal("no call should be sent after the context ended")
		}
	})
}

func TestBindings(t *testing.T) {
	a3, a4 := appid(3), appid(4)
	f := newFake()
	f.bind("e1", a0)
	f.bind("e2", a0)
	f.rejectGet = func(a string) string {
		if a == a2 {
			return "invalid appid"
		}
		return ""
	}
	f.omitGet = func(a string) bool { return a == a3 }
	f.fail = func(string, string) error { // a4 is in the second chunk, which fails
		if len(f.gets) == 2 {
			return errBusy
		}
		return nil
	}
	s := newService(t, f, Options{ChunkSize: 4, Concurrency: 1})
	res, err := s.Do(t.Context(), Request{Action: "bindings", AppIDs: []string{a0, a1, a0, a2, a3, a4}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(res)
	want := `{"ok":false,"action":"bindings","source_type":1,` +
		`"bindings":[{"appid":"` + a0 + `","envs":["e1","e2"]},{"appid":"` + a1 + `","envs":[]}],` +
		`"errors":[{"appid":"` + a2 + `","error":{"code":"rejected","message":"invalid appid"}},` +
		`{"appid":"` + a3 + `","error":{"code":"upstream_error","message":"missing from WeChat's answer"}},` +
		`{"appid":"` + a4 + `","error":{"code":"upstream_unavailable","message":"` + errBusy.Error() + `"}}]}`
	if string(got) != want {
		t.Fatalf("JSON\n got %s\nwant %s", got, want)
	}
	if len(f.gets) != 2 || len(f.gets[0].AppIDs) != 4 || f.gets[0].SourceType != 1 {
		t.Fatalf("calls %+v", f.gets)
	}
}

func TestBindingsAlwaysCarryBothArrays(t *testing.T) {
	s := newService(t, newFake(), Options{})
	res, err := s.Do(t.Context(), Request{Action: "bindings", AppIDs: []string{a0}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(res)
	if want := `{"ok":true,"action":"bindings","source_type":1,"bindings":[{"appid":"` + a0 + `","envs":[]}],"errors":[]}`; string(got) != want {
		t.Fatalf("got %s", got)
	}
}

func TestBindingsWholeFailure(t *testing.T) {
	f := newFake()
	f.fail = func(string, string) error {
		return &wechat.APIError{Endpoint: "batchgetenvid", Code: 61004, Msg: "ip not whitelisted"}
	}
	_, err := newService(t, f, Options{ChunkSize: 1}).Do(t.Context(), Request{Action: "bindings", AppIDs: []string{a0, a1}})
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeUpstreamError || *e.WechatErrcode != 61004 {
		t.Fatalf("err %v", err)
	}
	// 61004 names its cause and the settings that give the fixed IP to whitelist.
	for _, want := range []string{"caller IP not whitelisted", "EgressIp", "EnableFixedEgressIp", "eip: true"} {
		if !strings.Contains(e.Message, want) {
			t.Errorf("message %q lacks %q", e.Message, want)
		}
	}
}

func TestDoLogsOneLinePerCallAndASummary(t *testing.T) {
	var buf bytes.Buffer
	f := newFake()
	s := newService(t, f, Options{ChunkSize: 1, Logger: testLogger(&buf)})
	if _, err := s.Do(t.Context(), Request{Action: "share", Env: "e", AppIDs: []string{a0, a1}}); err != nil {
		t.Fatal(err)
	}
	var calls, done int
	for line := range strings.Lines(buf.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		switch m["msg"] {
		case "upstream call":
			calls++
		case "action done":
			done++
			sum, _ := m["summary"].(map[string]any)
			if sum["shared"] != 2.0 {
				t.Fatalf("summary line %s", line)
			}
		}
	}
	if calls != 2 || done != 1 {
		t.Fatalf("%d call lines, %d summary lines:\n%s", calls, done, buf.String())
	}
}

// panicky panics in every call.
type panicky struct{ funcUpstream }

func (*panicky) GetEnvID(context.Context, *wechat.GetEnvIDRequest) (*wechat.GetEnvIDResponse, error) {
	panic("boom")
}

func TestAPanicInAGoroutineOfTheServiceBecomesAnInternalError(t *testing.T) {
	s := newService(t, &panicky{}, Options{ChunkSize: 1})
	_, err := s.Do(t.Context(), Request{Action: "bindings", AppIDs: []string{a0, a1}}) // two calls at once
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeInternal {
		t.Fatalf("err %v", err)
	}
}

func TestAPanicOfTheCallersGoroutineIsLeftToItsBoundary(t *testing.T) {
	defer func() {
		if p := recover(); p != "boom" {
			t.Fatalf("recovered %v, want the panic", p)
		}
	}()
	_, _ = newService(t, &panicky{}, Options{}).Do(t.Context(), Request{Action: "bindings", AppIDs: []string{a0}})
	t.Fatal("no panic")
}

// TestEntriesOfDifferentEntitiesAreDifferentEntity: an err_list entry whose errmsg says the
// env's and the appid's entities differ gets different_entity, in every action; any other
// errmsg stays rejected.
func TestEntriesOfDifferentEntitiesAreDifferentEntity(t *testing.T) {
	messages := []struct {
		errmsg string
		want   Code
	}{
		{"main body not same", CodeDifferentEntity},
		{"Main Body Not Same", CodeDifferentEntity},
		{"env and appid belong to different subjects", CodeDifferentEntity},
		{"appid and env belong to different principals", CodeDifferentEntity},
		{"different subject", CodeDifferentEntity},
		{"环境与小程序主体不一致", CodeDifferentEntity},
		{"主体不同", CodeDifferentEntity},
		{"api unauthorized", CodeRejected},
		{"invalid appid", CodeRejected},
		{"", CodeRejected},
	}
	for _, m := range messages {
		up := &funcUpstream{
			share: func(r *wechat.ShareEnvRequest) (*wechat.ShareEnvResponse, error) {
				return &wechat.ShareEnvResponse{ErrList: []wechat.EnvError{{Env: "e1", AppID: a0, ErrMsg: m.errmsg}}}, nil
			},
			unshare: func(r *wechat.ShareEnvRequest) (*wechat.UnshareEnvResponse, error) {
				return &wechat.UnshareEnvResponse{ErrList: []wechat.EnvError{{Env: "e1", AppID: a0, ErrMsg: m.errmsg}}}, nil
			},
			get: func(r *wechat.GetEnvIDRequest) (*wechat.GetEnvIDResponse, error) {
				return &wechat.GetEnvIDResponse{ErrList: []wechat.AppError{{AppID: a0, ErrMsg: m.errmsg}}}, nil
			},
		}
		s := newService(t, up, Options{})
		for _, action := range []string{ActionShare, ActionUnshare} {
			t.Run(action+" "+m.errmsg, func(t *testing.T) {
				res, err := s.Do(t.Context(), shareReq(action, wechat.EnvAppIDs{Env: "e1", AppIDs: []string{a0}}))
				if err != nil {
					t.Fatal(err)
				}
				if o := outcomeOf(t, res, "e1", a0); o.Status != StatusFailed || o.Error == nil || o.Error.Code != m.want {
					t.Errorf("outcome %+v %+v, want %s", o, o.Error, m.want)
				}
			})
		}
		t.Run("bindings "+m.errmsg, func(t *testing.T) {
			res, err := s.Do(t.Context(), Request{Action: ActionBindings, AppIDs: []string{a0}})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Errors) != 1 || res.Errors[0].Error.Code != m.want {
				t.Errorf("errors %+v, want %s", res.Errors, m.want)
			}
		})
	}
}
