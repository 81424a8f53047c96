package wxemu

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/envshare/envshare/pkg/wechat"
)

func TestRequestLevelErrors(t *testing.T) {
	const share = `{"data":[{"env":"` + envProd + `","appids":["` + appAuto + `"]}],"source_type":1}`
	const get = `{"appids":["` + appBound + `"],"source_type":1}`
	tests := []struct {
		name   string
		opts   Options
		method string
		path   string // API path
		query  string
		body   string
		want   int
	}{
		{"a share without access_token answers 41001", Options{}, "POST", wechat.PathShareEnv, "", share, 41001},
		{"an empty access_token answers 41001", Options{}, "POST", wechat.PathGetEnvID, "?access_token=", get, 41001},
		{"an unknown access_token answers 40014", Options{}, "POST", wechat.PathShareEnv, "?access_token=nope", share, 40014},
		{"a GET answers 43002", Options{}, "GET", wechat.PathGetEnvID, "?access_token=" + testToken, "", 43002},
		{"a PUT answers 43002", Options{}, "PUT", wechat.PathUnshareEnv, "?access_token=" + testToken, share, 43002},
		{"an empty body answers 44002", Options{}, "POST", wechat.PathShareEnv, "?access_token=" + testToken, "", 44002},
		{"a blank body answers 44002", Options{}, "POST", wechat.PathGetEnvID, "?access_token=" + testToken, " \n", 44002},
		{"malformed JSON answers 47001", Options{}, "POST", wechat.PathShareEnv, "?access_token=" + testToken, `{"data":[`, 47001},
		{"a body of the wrong type answers 47001", Options{}, "POST", wechat.PathGetEnvID, "?access_token=" + testToken, `{"appids":"wx1"}`, 47001},
		{"a JSON array body answers 47001", Options{}, "POST", wechat.PathUnshareEnv, "?access_token=" + testToken, `[]`, 47001},
		{"strict and no source_type answers 40097", Options{Strict: true}, "POST", wechat.PathShareEnv, "?access_token=" + testToken, `{"data":[{"env":"` + envProd + `","appids":["` + appAuto + `"]}]}`, 40097},
		{"strict and no source_type on batchgetenvid answers 40097", Options{Strict: true}, "POST", wechat.PathGetEnvID, "?access_token=" + testToken, `{"appids":["` + appBound + `"]}`, 40097},
		{"strict and an appid under two envs of a call answers 40097", Options{Strict: true}, "POST", wechat.PathShareEnv, "?access_token=" + testToken,
			`{"data":[{"env":"` + envProd + `","appids":["` + appAuto + `"]},{"env":"` + envTest + `","appids":["` + appAuto + `"]}],"source_type":1}`, 40097},
		{"strict and two envs of distinct appids in a call is accepted", Options{Strict: true}, "POST", wechat.PathUnshareEnv, "?access_token=" + testToken,
			`{"data":[{"env":"` + envProd + `","appids":["` + appAuto + `"]},{"env":"` + envTest + `","appids":["` + appBound + `"]}],"source_type":1}`, 0},
		{"not strict and no source_type is accepted", Options{}, "POST", wechat.PathGetEnvID, "?access_token=" + testToken, `{"appids":["` + appBound + `"]}`, 0},
		{"strict with source_type is accepted", Options{Strict: true}, "POST", wechat.PathShareEnv, "?access_token=" + testToken, share, 0},
		{"no data answers 40101", Options{}, "POST", wechat.PathShareEnv, "?access_token=" + testToken, `{"source_type":1}`, 40101},
		{"empty data answers 40101", Options{}, "POST", wechat.PathUnshareEnv, "?access_token=" + testToken, `{"data":[],"source_type":1}`, 40101},
		{"an entry without env answers 40101", Options{}, "POST", wechat.PathShareEnv, "?access_token=" + testToken, `{"data":[{"appids":["` + appAuto + `"]}],"source_type":1}`, 40101},
		{"an entry without appids answers 40101", Options{}, "POST", wechat.PathShareEnv, "?access_token=" + testToken, `{"data":[{"env":"` + envProd + `","appids":[]}],"source_type":1}`, 40101},
		{"no appids answers 40101", Options{}, "POST", wechat.PathGetEnvID, "?access_token=" + testToken, `{"source_type":1}`, 40101},
		{"a null body answers 40101", Options{}, "POST", wechat.PathGetEnvID, "?access_token=" + testToken, `null`, 40101},
		{"more appids than allowed answers 40097", Options{MaxAppIDsPerCall: 1}, "POST", wechat.PathGetEnvID, "?access_token=" + testToken, `{"appids":["` + appBound + `","` + appAuto + `"],"source_type":1}`, 40097},
		{"as many appids as allowed is accepted", Options{MaxAppIDsPerCall: 1}, "POST", wechat.PathShareEnv, "?access_token=" + testToken, share, 0},
		{"the token is checked before the method", Options{}, "GET", wechat.PathGetEnvID, "", "", 41001},
		{"minting needs no access_token but POST", Options{}, "GET", wechat.PathComponentToken, "", "", 43002},
		{"minting with an empty body answers 44002", Options{}, "POST", wechat.PathComponentToken, "", "", 44002},
		{"minting with malformed JSON answers 47001", Options{}, "POST", wechat.PathComponentToken, "", "{", 47001},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := setup(t, tt.opts)
			status, ctype, raw := h.do(tt.method, tt.path+tt.query, tt.body)
			if status != http.StatusOK {
				t.Fatalf("HTTP %d, want 200 like WeChat", status)
			}
			if !strings.HasPrefix(ctype, "application/json") {
				t.Errorf("Content-Type %q", ctype)
			}
			if got := errcodeOf(t, raw); got != tt.want {
				t.Fatalf("errcode %d, want %d: %s", got, tt.want, raw)
			}
			var b struct{ ErrMsg string }
			_ = json.Unmarshal(raw, &b)
			if b.ErrMsg != errMsg(tt.want) {
				t.Errorf("errmsg %q, want %q", b.ErrMsg, errMsg(tt.want))
			}
			if h.emu.Calls(tt.path) != 1 {
				t.Errorf("calls to %s = %d, want 1", tt.path, h.emu.Calls(tt.path))
			}
		})
	}
}

func TestUnknownPathIsNotFound(t *testing.T) {
	h := setup(t, Options{})
	status, _, _ := h.do("POST", "/componenttcb/nosuchapi?access_token="+testToken, "{}")
	if status != http.StatusNotFound {
		t.Fatalf("HTTP %d, want 404", status)
	}
	if n := h.emu.Calls("*"); n != 0 {
		t.Errorf("recorded %d calls, want 0", n)
	}
}

func TestShareOutcomes(t *testing.T) {
	tests := []struct {
		name     string
		env      string
		appid    string
		wantErr  string // errmsg in err_list
		wantLink bool
		bound    bool // appears in batchgetenvid afterwards
	}{
		{"an auto-confirm app is bound at once", envProd, appAuto, "", false, true},
		{"an app needing confirmation gets a link and is not bound yet", envProd, appConfirm, "", true, false},
		{"an already bound pair succeeds without a link", envTest, appBound, "", false, true},
		{"an unknown env is refused", "prod-doesnotexist0000", appAuto, MsgEnvNotExist, false, false},
		{"an unknown appid is refused", envProd, appUnknown, MsgInvalidAppID, false, false},
		{"an app without permission set 18 is refused", envProd, appNo18, MsgNotAuthorized18, false, false},
		{"an app without cloud development is refused", envProd, appNoCloud, MsgNoCloud, false, false},
		{"an app of another subject is refused", envProd, appGlobex, MsgDifferentSubject, false, false},
		{"an env of another subject is refused", envGlobex, appAuto, MsgDifferentSubject, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := setup(t, Options{Strict: true})
			var resp wechat.ShareEnvResponse
			h.call(wechat.PathShareEnv, wechat.ShareEnvRequest{
				Data: []wechat.EnvAppIDs{{Env: tt.env, AppIDs: []string{tt.appid}}}, SourceType: sourceCloud}, &resp)
			if resp.ErrCode != 0 || resp.ErrMsg != "ok" {
				t.Fatalf("errcode %d %q", resp.ErrCode, resp.ErrMsg)
			}
			var wantErrs []wechat.EnvError
			if tt.wantErr != "" {
				wantErrs = []wechat.EnvError{{Env: tt.env, AppID: tt.appid, ErrMsg: tt.wantErr}}
			}
			if !slices.Equal(resp.ErrList, wantErrs) {
				t.Errorf("err_list %+v, want %+v", resp.ErrList, wantErrs)
			}
			if got := len(resp.MsgInfoList) == 1; got != tt.wantLink {
				t.Errorf("msg_info_list %+v, want a link: %v", resp.MsgInfoList, tt.wantLink)
			}
			if tt.wantLink {
				want := h.base + "/__emu/confirm/"
				if m := resp.MsgInfoList[0]; m.AppID != tt.appid || !strings.HasPrefix(m.URL, want) {
					t.Errorf("link %+v, want appid %s and a url under %s", m, tt.appid, want)
				}
			}
			if got := slices.Contains(h.emu.State().Bindings[tt.appid], tt.env); got != tt.bound {
				t.Errorf("bound afterwards: %v, want %v", got, tt.bound)
			}
		})
	}
}

func TestShareOfManyPairsAnswersEachInOrder(t *testing.T) {
	h := setup(t, Options{})
	var resp wechat.ShareEnvResponse
	h.call(wechat.PathShareEnv, wechat.ShareEnvRequest{Data: []wechat.EnvAppIDs{
		{Env: envProd, AppIDs: []string{appAuto, appConfirm, appNo18, appPending, appUnknown}},
	}, SourceType: 1}, &resp)
	if got := []string{resp.ErrList[0].AppID, resp.ErrList[1].AppID}; !slices.Equal(got, []string{appNo18, appUnknown}) {
		t.Errorf("err_list appids %v", got)
	}
	if got := []string{resp.MsgInfoList[0].AppID, resp.MsgInfoList[1].AppID}; !slices.Equal(got, []string{appConfirm, appPending}) {
		t.Errorf("msg_info_list appids %v", got)
	}
}

func TestConfirmationLinkFlow(t *testing.T) {
	h := setup(t, Options{})
	share := wechat.ShareEnvRequest{Data: []wechat.EnvAppIDs{{Env: envProd, AppIDs: []string{appConfirm}}}, SourceType: 1}
	var first, again wechat.ShareEnvResponse
	h.call(wechat.PathShareEnv, share, &first)
	if len(first.MsgInfoList) != 1 {
		t.Fatalf("no link: %+v", first)
	}
	link := first.MsgInfoList[0].URL
	if !strings.HasPrefix(link, h.base+"/") {
		t.Fatalf("link %s is not on the emulator %s", link, h.base)
	}
	linkPath := strings.TrimPrefix(link, h.base)

	t.Run("a pending share is not in batchgetenvid", func(t *testing.T) {
		if envs := bindingsOf(h, appConfirm); len(envs) != 0 {
			t.Fatalf("env_list %v, want none", envs)
		}
	})
	t.Run("sharing a pending pair again answers the same link", func(t *testing.T) {
		h.call(wechat.PathShareEnv, share, &again)
		if len(again.MsgInfoList) != 1 || again.MsgInfoList[0].URL != link {
			t.Fatalf("%+v, want the link %s again", again.MsgInfoList, link)
		}
	})
	t.Run("opening the link confirms the share", func(t *testing.T) {
		if status, _, _ := h.do(http.MethodGet, linkPath, ""); status != http.StatusOK {
			t.Fatalf("HTTP %d", status)
		}
		if envs := bindingsOf(h, appConfirm); !slices.Equal(envs, []string{envProd}) {
			t.Fatalf("env_list %v, want [%s]", envs, envProd)
		}
		if p := h.emu.State().Pending; slices.ContainsFunc(p, func(p Pending) bool { return p.AppID == appConfirm }) {
			t.Errorf("still pending: %+v", p)
		}
	})
	t.Run("opening the link twice answers 404", func(t *testing.T) {
		if status, _, _ := h.do(http.MethodGet, linkPath, ""); status != http.StatusNotFound {
			t.Fatalf("HTTP %d, want 404", status)
		}
	})
	t.Run("sharing a confirmed pair succeeds without a link", func(t *testing.T) {
		var resp wechat.ShareEnvResponse
		h.call(wechat.PathShareEnv, share, &resp)
		if len(resp.MsgInfoList) != 0 || len(resp.ErrList) != 0 {
			t.Fatalf("%+v", resp)
		}
	})
	t.Run("a seeded pending confirmation can be confirmed too", func(t *testing.T) {
		if env, appid, ok := h.emu.Confirm("c900001"); !ok || env != envStaging || appid != appPending {
			t.Fatalf("Confirm = %s %s %v", env, appid, ok)
		}
		if envs := bindingsOf(h, appPending); !slices.Equal(envs, []string{envStaging}) {
			t.Fatalf("env_list %v", envs)
		}
	})
}

func TestConfirmationLinksUsePublicURL(t *testing.T) {
	h := setup(t, Options{PublicURL: "http://127.0.0.1:8081"})
	var resp wechat.ShareEnvResponse
	h.call(wechat.PathShareEnv, wechat.ShareEnvRequest{Data: []wechat.EnvAppIDs{{Env: envProd, AppIDs: []string{appConfirm}}}, SourceType: 1}, &resp)
	if want := "http://127.0.0.1:8081/__emu/confirm/c000001"; resp.MsgInfoList[0].URL != want {
		t.Fatalf("url %s, want %s", resp.MsgInfoList[0].URL, want)
	}
}

func bindingsOf(h *harness, appid string) []string {
	h.t.Helper()
	var resp wechat.GetEnvIDResponse
	h.call(wechat.PathGetEnvID, wechat.GetEnvIDRequest{AppIDs: []string{appid}, SourceType: 1}, &resp)
	if len(resp.RelationData) != 1 {
		h.t.Fatalf("relation_data %+v", resp)
	}
	return resp.RelationData[0].EnvList
}

func TestUnshare(t *testing.T) {
	tests := []struct {
		name    string
		env     string
		appid   string
		wantErr string
	}{
		{"a bound pair is unbound", envTest, appBound, ""},
		{"a pending pair is dropped", envStaging, appPending, ""},
		{"a pair that is not shared is refused", envProd, appAuto, MsgEnvNotShared},
		{"an unknown env is refused", "nosuchenv-0000000000000000", appBound, MsgEnvNotExist},
		{"an unknown appid is refused", envTest, appUnknown, MsgInvalidAppID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := setup(t, Options{})
			var resp wechat.UnshareEnvResponse
			h.call(wechat.PathUnshareEnv, wechat.ShareEnvRequest{
				Data: []wechat.EnvAppIDs{{Env: tt.env, AppIDs: []string{tt.appid}}}, SourceType: 1}, &resp)
			var want []wechat.EnvError
			if tt.wantErr != "" {
				want = []wechat.EnvError{{Env: tt.env, AppID: tt.appid, ErrMsg: tt.wantErr}}
			}
			if resp.ErrCode != 0 || !slices.Equal(resp.ErrList, want) {
				t.Fatalf("%+v, want err_list %+v", resp, want)
			}
			s := h.emu.State()
			if slices.Contains(s.Bindings[tt.appid], tt.env) {
				t.Errorf("still bound")
			}
			if slices.ContainsFunc(s.Pending, func(p Pending) bool { return p.Env == tt.env && p.AppID == tt.appid }) {
				t.Errorf("still pending")
			}
		})
	}
	t.Run("the link of an unshared pending pair no longer confirms", func(t *testing.T) {
		h := setup(t, Options{})
		var resp wechat.UnshareEnvResponse
		h.call(wechat.PathUnshareEnv, wechat.ShareEnvRequest{Data: []wechat.EnvAppIDs{{Env: envStaging, AppIDs: []string{appPending}}}}, &resp)
		if status, _, _ := h.do("GET", "/__emu/confirm/c900001", ""); status != http.StatusNotFound {
			t.Fatalf("HTTP %d, want 404", status)
		}
	})
}

func TestGetEnvID(t *testing.T) {
	h := setup(t, Options{})
	status, _, raw := h.do("POST", wechat.PathGetEnvID+"?access_token="+testToken,
		`{"appids":["`+appBound+`","`+appAuto+`","`+appUnknown+`","`+appNo18+`","`+appPending+`"],"source_type":1}`)
	if status != http.StatusOK {
		t.Fatalf("HTTP %d", status)
	}
	var resp wechat.GetEnvIDResponse
	if err := json.Unmarshal(raw, &resp); err != nil {
		t.Fatal(err)
	}
	t.Run("confirmed bindings are listed", func(t *testing.T) {
		if got := resp.RelationData[0]; got.AppID != appBound || !slices.Equal(got.EnvList, []string{envTest}) {
			t.Errorf("%+v", got)
		}
	})
	t.Run("an app with no binding has an empty env_list, not null", func(t *testing.T) {
		if !strings.Contains(string(raw), `{"appid":"`+appAuto+`","env_list":[]}`) {
			t.Errorf("%s", raw)
		}
	})
	t.Run("pending shares are not listed", func(t *testing.T) {
		if got := resp.RelationData[2]; got.AppID != appPending || len(got.EnvList) != 0 {
			t.Errorf("%+v", got)
		}
	})
	t.Run("unknown and unauthorised appids land in err_list", func(t *testing.T) {
		want := []wechat.AppError{{AppID: appUnknown, ErrMsg: MsgInvalidAppID}, {AppID: appNo18, ErrMsg: MsgNotAuthorized18}}
		if !slices.Equal(resp.ErrList, want) {
			t.Errorf("%+v, want %+v", resp.ErrList, want)
		}
	})
}

func TestTokens(t *testing.T) {
	get := wechat.GetEnvIDRequest{AppIDs: []string{appBound}, SourceType: 1}
	codeWith := func(h *harness, token string) int {
		var resp wechat.GetEnvIDResponse
		h.callWith(token, wechat.PathGetEnvID, get, &resp)
		return resp.ErrCode
	}
	t.Run("a rotated-out token answers 42001 and the new one works", func(t *testing.T) {
		h := setup(t, Options{Tokens: []string{"tok-a", "tok-b"}})
		fresh := h.emu.RotateToken()
		for _, old := range []string{"tok-a", "tok-b"} {
			if code := codeWith(h, old); code != 42001 {
				t.Errorf("old token %s: errcode %d, want 42001", old, code)
			}
		}
		if code := codeWith(h, fresh); code != 0 {
			t.Errorf("new token: errcode %d", code)
		}
		if h.emu.Token() != fresh {
			t.Errorf("Token() is not the new token")
		}
	})
	t.Run("rotation through /__emu/rotate answers the new token", func(t *testing.T) {
		h := setup(t, Options{})
		status, _, raw := h.do("POST", "/__emu/rotate", "")
		var r struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal(raw, &r); err != nil || status != 200 || r.AccessToken == "" {
			t.Fatalf("HTTP %d %s", status, raw)
		}
		if codeWith(h, testToken) != 42001 || codeWith(h, r.AccessToken) != 0 {
			t.Fatal("rotation did not take")
		}
	})
	t.Run("without configured tokens one is generated", func(t *testing.T) {
		emu := New(Options{})
		if emu.Token() == "" || emu.tokenCode(emu.Token()) != 0 {
			t.Fatalf("no usable token")
		}
	})
}

func TestMinting(t *testing.T) {
	creds := wechat.ComponentTokenRequest{ComponentAppID: "wxcomponent00000001", ComponentAppSecret: "s3cret", ComponentVerifyTicket: "ticket@@@1"}
	opts := Options{ComponentAppID: creds.ComponentAppID, ComponentAppSecret: creds.ComponentAppSecret, ComponentVerifyTicket: creds.ComponentVerifyTicket}
	failures := []struct {
		name string
		opts Options
		req  wechat.ComponentTokenRequest
		want int
	}{
		{"a wrong appid answers 40013", opts, wechat.ComponentTokenRequest{ComponentAppID: "wxother", ComponentAppSecret: "s3cret", ComponentVerifyTicket: "ticket@@@1"}, 40013},
		{"a wrong secret answers 40125", opts, wechat.ComponentTokenRequest{ComponentAppID: creds.ComponentAppID, ComponentAppSecret: "nope", ComponentVerifyTicket: "ticket@@@1"}, 40125},
		{"a wrong ticket answers 61006", opts, wechat.ComponentTokenRequest{ComponentAppID: creds.ComponentAppID, ComponentAppSecret: "s3cret", ComponentVerifyTicket: "old"}, 61006},
		{"a missing field answers 40101", opts, wechat.ComponentTokenRequest{ComponentAppID: creds.ComponentAppID, ComponentAppSecret: "s3cret"}, 40101},
		{"no configured credentials answer 40013", Options{}, creds, 40013},
	}
	for _, tt := range failures {
		t.Run(tt.name, func(t *testing.T) {
			h := setup(t, tt.opts)
			var resp wechat.ComponentTokenResponse
			h.callWith("", wechat.PathComponentToken, tt.req, &resp)
			if resp.ErrCode != tt.want || resp.ComponentAccessToken != "" {
				t.Fatalf("%+v, want errcode %d", resp, tt.want)
			}
		})
	}
	t.Run("the right credentials mint a token valid for 7200 s", func(t *testing.T) {
		clk := NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
		o := opts
		o.Now = clk.Now
		h := setup(t, o)
		var resp wechat.ComponentTokenResponse
		h.callWith("", wechat.PathComponentToken, creds, &resp)
		if resp.ErrCode != 0 || resp.ExpiresIn != 7200 || resp.ComponentAccessToken == "" {
			t.Fatalf("%+v", resp)
		}
		get := wechat.GetEnvIDRequest{AppIDs: []string{appBound}, SourceType: 1}
		var got wechat.GetEnvIDResponse
		h.callWith(resp.ComponentAccessToken, wechat.PathGetEnvID, get, &got)
		if got.ErrCode != 0 {
			t.Fatalf("minted token refused: %+v", got)
		}
		clk.Advance(TokenTTL)
		h.callWith(resp.ComponentAccessToken, wechat.PathGetEnvID, get, &got)
		if got.ErrCode != 42001 {
			t.Fatalf("after 7200 s: errcode %d, want 42001", got.ErrCode)
		}
		h.callWith(testToken, wechat.PathGetEnvID, get, &got)
		if got.ErrCode != 0 {
			t.Fatalf("configured tokens do not expire: errcode %d", got.ErrCode)
		}
	})
	t.Run("credentials are never recorded", func(t *testing.T) {
		h := setup(t, opts)
		var resp wechat.ComponentTokenResponse
		h.callWith("", wechat.PathComponentToken, creds, &resp)
		_, _, raw := h.do("GET", "/__emu/calls", "")
		if strings.Contains(string(raw), "s3cret") || strings.Contains(string(raw), "ticket@@@1") {
			t.Fatalf("credentials in the call log: %s", raw)
		}
	})
}
