package wxemu

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/envshare/envshare/pkg/wechat"
)

// Demo appids of the other customers and of no customer.
const (
	appOfficial     = "wx4f6a8c0e2b4d6f83" // Acme, an Official Account
	appGlobexManual = "wx6a0b1c2d3e4f5061"
	appThirdAuto    = "wx2b4d6f8a0c2e4f61"
	appThirdManual  = "wx8c1e3a5b7d9f0e21"
	appUnknownCust  = "wx9e1d3c5b7a9f1e32" // Hooli: no customer's
	envThird        = "cust-a-7f3k2m"
	componentAppID  = "wxc0mp0nent0000001"
)

// client is a wechat client of h's emulator.
func (h *harness) client(opts ...wechat.Option) *wechat.Client {
	return wechat.New(h.base, wechat.StaticToken(testToken), append([]wechat.Option{wechat.WithBackoff(0, 0)}, opts...)...)
}

func TestAuthorizerInfo(t *testing.T) {
	tests := []struct {
		appid     string
		principal string
		mini      bool
		sets      []int
		canShare  bool
	}{
		{appAuto, DemoSubject, true, []int{17, 18, 19, 25, 30}, true},
		{appNo18, DemoSubject, true, []int{17, 19, 25, 30}, false},
		{appOfficial, DemoSubject, false, []int{1, 2, 3, 4}, false},
		{appGlobex, DemoOtherSubject, true, []int{17, 18, 19, 25, 30}, true},
		{appThirdManual, DemoThirdSubject, true, []int{17, 18, 19, 25, 30}, true},
		{appUnknownCust, DemoUnknownSubject, true, []int{17, 18, 19, 25, 30}, true},
	}
	h := setup(t, Options{})
	for _, tt := range tests {
		t.Run(tt.appid, func(t *testing.T) {
			resp, err := h.client().GetAuthorizerInfo(t.Context(), &wechat.AuthorizerInfoRequest{ComponentAppID: componentAppID, AuthorizerAppID: tt.appid})
			if err != nil {
				t.Fatal(err)
			}
			if resp.PrincipalName() != tt.principal || resp.IsMiniProgram() != tt.mini || !slices.Equal(resp.PermissionSets(), tt.sets) || resp.CanShareEnv() != tt.canShare {
				t.Errorf("principal %q, mini %v, sets %v, can share %v", resp.PrincipalName(), resp.IsMiniProgram(), resp.PermissionSets(), resp.CanShareEnv())
			}
			if resp.AuthorizationInfo.AuthorizerAppID != tt.appid || resp.AuthorizationInfo.AuthorizerRefreshToken.Reveal() != RefreshTokenPrefix+tt.appid {
				t.Errorf("authorization_info %+v", resp.AuthorizationInfo)
			}
		})
	}
	t.Run("the call is recorded with its appid", func(t *testing.T) {
		calls := h.emu.CallLog()
		if last := calls[len(calls)-1]; last.Endpoint != EndpointAuthorizerInfo || last.AuthorizerAppID != appUnknownCust {
			t.Errorf("%+v", last)
		}
		if h.emu.Calls(wechat.PathAuthorizerInfo) != len(tests) {
			t.Errorf("%d calls", h.emu.Calls(wechat.PathAuthorizerInfo))
		}
	})
}

func TestAuthorizerCallErrors(t *testing.T) {
	info := func(appid string) string {
		return `{"component_appid":"` + componentAppID + `","authorizer_appid":"` + appid + `"}`
	}
	const list = `{"component_appid":"` + componentAppID + `","offset":0,"count":10}`
	ok := "?component_access_token=" + testToken
	tests := []struct {
		name  string
		opts  Options
		state func(*State)
		path  string
		query string
		body  string
		want  int
	}{
		{"info: access_token instead of component_access_token answers 41001", Options{}, nil, wechat.PathAuthorizerInfo, "?access_token=" + testToken, info(appAuto), 41001},
		{"list: no token answers 41001", Options{}, nil, wechat.PathAuthorizerList, "", list, 41001},
		{"info: an unknown token answers 40014", Options{}, nil, wechat.PathAuthorizerInfo, "?component_access_token=nope", info(appAuto), 40014},
		{"list: an unknown token answers 40014", Options{}, nil, wechat.PathAuthorizerList, "?component_access_token=nope", list, 40014},
		{"info: a GET answers 43002", Options{}, nil, wechat.PathAuthorizerInfo, ok, "", 43002},
		{"info: an empty body answers 44002", Options{}, nil, wechat.PathAuthorizerInfo, ok, "", 44002},
		{"list: malformed JSON answers 47001", Options{}, nil, wechat.PathAuthorizerList, ok, `{"count":`, 47001},
		{"list: count of the wrong type answers 47001", Options{}, nil, wechat.PathAuthorizerList, ok, `{"component_appid":"c","count":"10"}`, 47001},
		{"info: an unknown appid answers 61003", Options{}, nil, wechat.PathAuthorizerInfo, ok, info(appUnknown), 61003},
		{"info: a revoked app answers 61003", Options{}, func(s *State) {
			a := s.Apps[appAuto]
			a.Revoked = true
			s.Apps[appAuto] = a
		}, wechat.PathAuthorizerInfo, ok, info(appAuto), 61003},
		{"info: no authorizer_appid answers 40101", Options{}, nil, wechat.PathAuthorizerInfo, ok, `{"component_appid":"c"}`, 40101},
		{"info: no component_appid answers 40101", Options{}, nil, wechat.PathAuthorizerInfo, ok, `{"authorizer_appid":"` + appAuto + `"}`, 40101},
		{"info: another platform's component_appid answers 40013", Options{ComponentAppID: "wxplatform0000001"}, nil, wechat.PathAuthorizerInfo, ok, info(appAuto), 40013},
		{"list: no count answers 40101", Options{}, nil, wechat.PathAuthorizerList, ok, `{"component_appid":"c","offset":0}`, 40101},
		{"list: count 0 answers 40097", Options{}, nil, wechat.PathAuthorizerList, ok, `{"component_appid":"c","count":0}`, 40097},
		{"list: count 501 answers 40097", Options{}, nil, wechat.PathAuthorizerList, ok, `{"component_appid":"c","count":501}`, 40097},
		{"list: a negative offset answers 40097", Options{}, nil, wechat.PathAuthorizerList, ok, `{"component_appid":"c","offset":-1,"count":1}`, 40097},
		{"list: count 500 is accepted", Options{}, nil, wechat.PathAuthorizerList, ok, `{"component_appid":"c","count":500}`, 0},
		{"list: no offset is offset 0", Options{}, nil, wechat.PathAuthorizerList, ok, `{"component_appid":"c","count":1}`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := setup(t, tt.opts)
			if tt.state != nil {
				s := DemoState()
				tt.state(&s)
				if err := h.emu.Seed(s); err != nil {
					t.Fatal(err)
				}
			}
			method := http.MethodPost
			if strings.Contains(tt.name, "GET") {
				method = http.MethodGet
			}
			status, _, raw := h.do(method, tt.path+tt.query, tt.body)
			if status != http.StatusOK {
				t.Fatalf("HTTP %d", status)
			}
			if got := errcodeOf(t, raw); got != tt.want {
				t.Fatalf("errcode %d, want %d: %s", got, tt.want, raw)
			}
		})
	}
	t.Run("a rotated-out token answers 42001", func(t *testing.T) {
		h := setup(t, Options{})
		h.emu.RotateToken()
		status, _, raw := h.do("POST", wechat.PathAuthorizerList+"?component_access_token="+testToken, list)
		if status != http.StatusOK || errcodeOf(t, raw) != 42001 {
			t.Fatalf("%d %s", status, raw)
		}
	})
}

// fleetOf is a state of n authorised apps wx…0 to wx…n-1, authorised in reverse appid order,
// so that the list order (by authorization time) differs from the appid order.
func fleetOf(n int) State {
	s := State{Envs: map[string]Env{}, Apps: map[string]App{}}
	for i := range n {
		s.Apps[fmt.Sprintf("wx%016x", i)] = App{Subject: DemoSubject, AuthTime: int64(1_700_000_000 + n - i)}
	}
	return s
}

func TestAuthorizerListPaging(t *testing.T) {
	h := setup(t, Options{})
	if err := h.emu.Seed(fleetOf(1234)); err != nil {
		t.Fatal(err)
	}
	t.Run("every authorizer once, oldest authorization first, 500 a page", func(t *testing.T) {
		h.emu.ResetCalls()
		var got []string
		var last int64
		for e, err := range h.client().Authorizers(t.Context(), componentAppID, 0) {
			if err != nil {
				t.Fatal(err)
			}
			if e.AuthTime < last || e.RefreshToken.Reveal() != RefreshTokenPrefix+e.AuthorizerAppID {
				t.Fatalf("entry %+v after auth_time %d", e, last)
			}
			last = e.AuthTime
			got = append(got, e.AuthorizerAppID)
		}
		if len(got) != 1234 || got[0] != fmt.Sprintf("wx%016x", 1233) || len(slices.Compact(slices.Sorted(slices.Values(got)))) != 1234 {
			t.Fatalf("%d authorizers, first %s", len(got), got[0])
		}
		if n := h.emu.Calls(EndpointAuthorizerList); n != 3 {
			t.Errorf("%d calls, want 3 (500, 500, 234)", n)
		}
	})
	t.Run("total_count is every authorizer; a page past the end is empty", func(t *testing.T) {
		resp, err := h.client().GetAuthorizerList(t.Context(), &wechat.AuthorizerListRequest{ComponentAppID: componentAppID, Offset: 1230, Count: 500})
		if err != nil || resp.TotalCount != 1234 || len(resp.List) != 4 {
			t.Fatalf("%+v, %v", resp, err)
		}
		resp, err = h.client().GetAuthorizerList(t.Context(), &wechat.AuthorizerListRequest{ComponentAppID: componentAppID, Offset: 5000, Count: 500})
		if err != nil || resp.TotalCount != 1234 || len(resp.List) != 0 {
			t.Fatalf("%+v, %v", resp, err)
		}
	})
	t.Run("a huge offset is an empty page", func(t *testing.T) {
		status, _, raw := h.do("POST", wechat.PathAuthorizerList+"?component_access_token="+testToken,
			`{"component_appid":"c","offset":9223372036854775807,"count":500}`)
		if status != 200 || errcodeOf(t, raw) != 0 || !strings.Contains(string(raw), `"list":[]`) {
			t.Fatalf("%d %s", status, raw)
		}
	})
}

func TestAuthorizerListFollowsAuthorizations(t *testing.T) {
	rcv := newReceiver(t)
	h, clk := clockedSetup(t, rcv.options(mintOpts))
	list := func() []string {
		t.Helper()
		var ids []string
		for e, err := range h.client().Authorizers(t.Context(), pushAppID, 0) {
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, e.AuthorizerAppID)
		}
		return ids
	}
	before := list()
	if len(before) != len(DemoState().Apps) || before[0] != appBound || before[len(before)-1] != appUnknownCust {
		t.Fatalf("demo list %v", before)
	}
	const newApp = "wx4e3d2c1b0a998877"
	clk.Advance(1)
	if err := h.emu.Authorize(t.Context(), newApp, App{Subject: DemoThirdSubject, Permissions: []int{18}}); err != nil {
		t.Fatal(err)
	}
	if err := h.emu.Revoke(t.Context(), appAuto); err != nil {
		t.Fatal(err)
	}
	after := list()
	if after[len(after)-1] != newApp || slices.Contains(after, appAuto) || len(after) != len(before) {
		t.Fatalf("after authorizing %s and revoking %s: %v", newApp, appAuto, after)
	}
	info, err := h.client().GetAuthorizerInfo(t.Context(), &wechat.AuthorizerInfoRequest{ComponentAppID: pushAppID, AuthorizerAppID: newApp})
	if err != nil || info.PrincipalName() != DemoThirdSubject || !slices.Equal(info.PermissionSets(), []int{18}) {
		t.Fatalf("%+v %v", info, err)
	}
	if e := h.emu.State().Apps[newApp]; e.AuthTime != startTime.Unix() {
		t.Errorf("auth_time %d, want the emulator's now", e.AuthTime)
	}
}

func TestCrossEntityShareIsMainBodyNotSame(t *testing.T) {
	h := setup(t, Options{})
	resp, err := h.client().ShareEnv(t.Context(), &wechat.ShareEnvRequest{SourceType: 1, Data: []wechat.EnvAppIDs{
		{Env: envThird, AppIDs: []string{appThirdAuto, appGlobex, appAuto}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := []wechat.EnvError{{Env: envThird, AppID: appGlobex, ErrMsg: "main body not same"}, {Env: envThird, AppID: appAuto, ErrMsg: "main body not same"}}
	if !slices.Equal(resp.ErrList, want) {
		t.Fatalf("err_list %+v, want %+v", resp.ErrList, want)
	}
	if !slices.Contains(h.emu.State().Bindings[appThirdAuto], envThird) {
		t.Error("the customer's own Mini Program is not bound")
	}
}

func TestOfficialAccountsAreNoMiniPrograms(t *testing.T) {
	h := setup(t, Options{})
	share, err := h.client().ShareEnv(t.Context(), &wechat.ShareEnvRequest{SourceType: 1, Data: []wechat.EnvAppIDs{{Env: envProd, AppIDs: []string{appOfficial}}}})
	if err != nil || len(share.ErrList) != 1 || share.ErrList[0].ErrMsg != MsgNotMiniProgram {
		t.Fatalf("%+v %v", share, err)
	}
	get, err := h.client().GetEnvID(t.Context(), &wechat.GetEnvIDRequest{SourceType: 1, AppIDs: []string{appOfficial}})
	if err != nil || len(get.ErrList) != 1 || get.ErrList[0].ErrMsg != MsgNotMiniProgram {
		t.Fatalf("%+v %v", get, err)
	}
}

func TestDemoFleetHasThreeCustomers(t *testing.T) {
	s := DemoState()
	envs, apps := map[string]int{}, map[string]int{}
	for _, e := range s.Envs {
		envs[e.Subject]++
	}
	for _, a := range s.Apps {
		if !a.OfficialAccount && !a.unauthorized() {
			apps[a.Subject]++
		}
	}
	for _, subject := range []string{DemoSubject, DemoOtherSubject, DemoThirdSubject} {
		if envs[subject] == 0 || apps[subject] < 2 {
			t.Errorf("%s: %d envs, %d Mini Programs that can share", subject, envs[subject], apps[subject])
		}
	}
	if envs[DemoUnknownSubject] != 0 || apps[DemoUnknownSubject] != 1 {
		t.Errorf("the unknown customer has %d envs and %d apps", envs[DemoUnknownSubject], apps[DemoUnknownSubject])
	}
	if !s.Apps[appNo18].unauthorized() || s.Apps[appNo18].Subject != DemoSubject {
		t.Error("no customer's Mini Program lacks permission set 18")
	}
}
