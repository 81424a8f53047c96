package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// infoAnswer is api_get_authorizer_info's answer as WeChat documents it, fields envshare does
// not read included.
const infoAnswer = `{
  "authorizer_info": {
    "nick_name": "Acme Shop", "head_img": "http://wx.qlogo.cn/x", "service_type_info": {"id": 0},
    "verify_type_info": {"id": -1}, "user_name": "gh_eb5e3a772040", "principal_name": "Acme Cloud Co., Ltd.",
    "business_info": {"open_store": 0}, "qrcode_url": "http://mmbiz.qpic.cn/x",
    "MiniProgramInfo": {"network": {"RequestDomain": ["https://a.example"]}, "categories": [{"first": "工具", "second": "效率"}], "visit_status": 0}
  },
  "authorization_info": {
    "authorizer_appid": "wx5fe6bb43205e9e07",
    "authorizer_refresh_token": "REFRESH-SECRET-info",
    "func_info": [{"funcscope_category": {"id": 17}}, {"funcscope_category": {"id": 18}, "confirm_info": {"need_confirm": 0}},
      {"funcscope_category": {"id": 17}}, {"funcscope_category": {"id": 5}}]
  }
}`

func TestGetAuthorizerInfoSendsTheComponentTokenAndDecodes(t *testing.T) {
	f := setup(t)
	var query map[string][]string
	var body map[string]any
	f.mux.HandleFunc(PathAuthorizerInfo, func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.Query()
		_ = json.NewDecoder(r.Body).Decode(&body)
		_, _ = io.WriteString(w, infoAnswer)
	})
	resp, err := f.client.GetAuthorizerInfo(context.Background(), &AuthorizerInfoRequest{ComponentAppID: "wxcomponent", AuthorizerAppID: "wx5fe6bb43205e9e07"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(query, map[string][]string{"component_access_token": {"tok-1"}}) {
		t.Errorf("query %v, want component_access_token only", query)
	}
	if want := map[string]any{"component_appid": "wxcomponent", "authorizer_appid": "wx5fe6bb43205e9e07"}; !reflect.DeepEqual(body, want) {
		t.Errorf("body %v", body)
	}
	if resp.PrincipalName() != "Acme Cloud Co., Ltd." || !resp.IsMiniProgram() || resp.AuthorizerInfo.UserName != "gh_eb5e3a772040" {
		t.Errorf("authorizer_info %+v", resp.AuthorizerInfo)
	}
	if got := resp.PermissionSets(); !slices.Equal(got, []int{5, 17, 18}) {
		t.Errorf("permission sets %v, want sorted and distinct", got)
	}
	if !resp.HasPermissionSet(PermissionSetDevelopment) || resp.HasPermissionSet(19) || !resp.CanShareEnv() {
		t.Error("set 18 is granted, 19 is not")
	}
	if resp.AuthorizationInfo.AuthorizerRefreshToken.Reveal() != "REFRESH-SECRET-info" {
		t.Error("the refresh token is not decoded")
	}
}

func TestAuthorizerInfoHelpers(t *testing.T) {
	tests := []struct {
		name      string
		answer    string
		mini      bool
		sets      []int
		canShare  bool
		principal string
	}{
		{"a Mini Program with set 18", `{"authorizer_info":{"principal_name":"P","MiniProgramInfo":{}},"authorization_info":{"func_info":[{"funcscope_category":{"id":18}}]}}`,
			true, []int{18}, true, "P"},
		{"a Mini Program without set 18", `{"authorizer_info":{"principal_name":"P","MiniProgramInfo":{"visit_status":0}},"authorization_info":{"func_info":[{"funcscope_category":{"id":17}}]}}`,
			true, []int{17}, false, "P"},
		{"an Official Account (no MiniProgramInfo) cannot share, set 18 or not", `{"authorizer_info":{"principal_name":"P"},"authorization_info":{"func_info":[{"funcscope_category":{"id":18}}]}}`,
			false, []int{18}, false, "P"},
		{"MiniProgramInfo null is no Mini Program", `{"authorizer_info":{"principal_name":"P","MiniProgramInfo":null},"authorization_info":{}}`,
			false, []int{}, false, "P"},
		{"no func_info: no sets", `{"authorizer_info":{"principal_name":"","MiniProgramInfo":{}},"authorization_info":{}}`,
			true, []int{}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t)
			f.mux.HandleFunc(PathAuthorizerInfo, reply(tt.answer))
			resp, err := f.client.GetAuthorizerInfo(context.Background(), &AuthorizerInfoRequest{ComponentAppID: "c", AuthorizerAppID: "a"})
			if err != nil {
				t.Fatal(err)
			}
			if resp.IsMiniProgram() != tt.mini || !slices.Equal(resp.PermissionSets(), tt.sets) || resp.CanShareEnv() != tt.canShare || resp.PrincipalName() != tt.principal {
				t.Errorf("mini %v, sets %v, can share %v, principal %q", resp.IsMiniProgram(), resp.PermissionSets(), resp.CanShareEnv(), resp.PrincipalName())
			}
		})
	}
}

func TestGetAuthorizerListSendsTheComponentTokenAndDecodes(t *testing.T) {
	f := setup(t)
	var got received
	f.mux.HandleFunc(PathAuthorizerList, func(w http.ResponseWriter, r *http.Request) {
		got.token = r.URL.Query().Get("component_access_token")
		got.hasToken = r.URL.Query().Has("access_token")
		_ = json.NewDecoder(r.Body).Decode(&got.body)
		_, _ = io.WriteString(w, `{"total_count":7,"list":[{"authorizer_appid":"wx1","refresh_token":"REFRESH-1","auth_time":1700000000},`+
			`{"authorizer_appid":"wx2","auth_time":1700000100}]}`)
	})
	resp, err := f.client.GetAuthorizerList(context.Background(), &AuthorizerListRequest{ComponentAppID: "wxc", Offset: 5, Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got.token != "tok-1" || got.hasToken {
		t.Errorf("component_access_token %q, access_token sent %v", got.token, got.hasToken)
	}
	if want := map[string]any{"component_appid": "wxc", "offset": 5.0, "count": 2.0}; !reflect.DeepEqual(got.body, want) {
		t.Errorf("body %v", got.body)
	}
	if resp.TotalCount != 7 || !slices.Equal(resp.AppIDs(), []string{"wx1", "wx2"}) {
		t.Errorf("answer %+v", resp)
	}
	if e := resp.List[0]; e.RefreshToken.Reveal() != "REFRESH-1" || e.AuthorizedAt().Unix() != 1700000000 {
		t.Errorf("entry %+v", e)
	}
	if !resp.List[1].RefreshToken.IsZero() {
		t.Error("a missing refresh_token is not zero")
	}
}

func TestRequestsAreCheckedBeforeTheyAreSent(t *testing.T) {
	list := func(r *AuthorizerListRequest) func(*Client) error {
		return func(c *Client) error { _, err := c.GetAuthorizerList(t.Context(), r); return err }
	}
	info := func(r *AuthorizerInfoRequest) func(*Client) error {
		return func(c *Client) error { _, err := c.GetAuthorizerInfo(t.Context(), r); return err }
	}
	quota := func(r *QuotaRequest) func(*Client) error {
		return func(c *Client) error { _, err := c.GetQuota(t.Context(), r); return err }
	}
	tests := []struct {
		name string
		call func(c *Client) error
		want string // in the error
	}{
		{"count 0", list(&AuthorizerListRequest{ComponentAppID: "c", Count: 0}), "count 0 is not between 1 and 500"},
		{"count 501", list(&AuthorizerListRequest{ComponentAppID: "c", Count: 501}), "count 501"},
		{"a negative offset", list(&AuthorizerListRequest{ComponentAppID: "c", Offset: -1, Count: 1}), "offset -1"},
		{"a list without component_appid", list(&AuthorizerListRequest{Count: 1}), "component_appid"},
		{"an info request without authorizer_appid", info(&AuthorizerInfoRequest{ComponentAppID: "c"}), "authorizer_appid"},
		{"an info request without component_appid", info(&AuthorizerInfoRequest{AuthorizerAppID: "a"}), "component_appid"},
		{"a quota read without cgi_path", quota(&QuotaRequest{}), "cgi_path"},
		{"a nil info request", info(nil), "nil request"},
		{"a nil list request", list(nil), "nil request"},
		{"a nil quota request", quota(nil), "nil request"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused unsent", func(t *testing.T) {
			f := setup(t)
			err := tt.call(f.client)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one naming %q", err, tt.want)
			}
			if Classify(err) != Refused {
				t.Errorf("Classify = %v, want refused", Classify(err))
			}
			if n := f.hitsOf(PathAuthorizerList) + f.hitsOf(PathAuthorizerInfo) + f.hitsOf(PathQuota); n != 0 {
				t.Errorf("%d requests sent", n)
			}
		})
	}
}

func TestAnswersWithoutTheirFieldsAreProtocolErrors(t *testing.T) {
	info := func(c *Client) error {
		_, err := c.GetAuthorizerInfo(context.Background(), &AuthorizerInfoRequest{ComponentAppID: "c", AuthorizerAppID: "a"})
		return err
	}
	list := func(c *Client) error {
		_, err := c.GetAuthorizerList(context.Background(), &AuthorizerListRequest{ComponentAppID: "c", Count: 10})
		return err
	}
	quota := func(c *Client) error {
		_, err := c.GetQuota(context.Background(), &QuotaRequest{CGIPath: PathShareEnv})
		return err
	}
	tests := []struct {
		name   string
		path   string
		call   func(*Client) error
		answer string
	}{
		{"info: an empty object", PathAuthorizerInfo, info, `{}`},
		{"info: errcode 0 only", PathAuthorizerInfo, info, `{"errcode":0,"errmsg":"ok"}`},
		{"info: no principal_name", PathAuthorizerInfo, info, `{"authorizer_info":{"nick_name":"x"},"authorization_info":{}}`},
		{"info: no authorization_info", PathAuthorizerInfo, info, `{"authorizer_info":{"principal_name":"P"}}`},
		{"info: authorizer_info is a string", PathAuthorizerInfo, info, `{"authorizer_info":"P","authorization_info":{}}`},
		{"info: a permission id is a string", PathAuthorizerInfo, info, `{"authorizer_info":{"principal_name":"P"},"authorization_info":{"func_info":[{"funcscope_category":{"id":"18"}}]}}`},
		{"list: no total_count", PathAuthorizerList, list, `{"list":[]}`},
		{"list: an entry without authorizer_appid", PathAuthorizerList, list, `{"total_count":1,"list":[{"auth_time":1}]}`},
		{"list: list is an object", PathAuthorizerList, list, `{"total_count":1,"list":{}}`},
		{"list: a refresh_token that is no string", PathAuthorizerList, list, `{"total_count":1,"list":[{"authorizer_appid":"wx1","refresh_token":{"x":1}}]}`},
		{"quota: no quota", PathQuota, quota, `{"errcode":0,"errmsg":"ok"}`},
		{"quota: quota null", PathQuota, quota, `{"quota":null}`},
		{"quota: no remain", PathQuota, quota, `{"quota":{"daily_limit":100,"used":1}}`},
		{"quota: no daily_limit", PathQuota, quota, `{"quota":{"used":1,"remain":99}}`},
		{"quota: remain is a string", PathQuota, quota, `{"quota":{"daily_limit":100,"used":1,"remain":"99"}}`},
		{"quota: not JSON", PathQuota, quota, `quota: 100`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t)
			f.mux.HandleFunc(tt.path, reply(tt.answer))
			err := tt.call(f.client)
			var respErr *ResponseError
			if !errors.As(err, &respErr) || respErr.StatusCode != http.StatusOK || respErr.Transient() {
				t.Fatalf("error %v (%T), want a permanent *ResponseError", err, err)
			}
			if Classify(err) != Refused {
				t.Errorf("Classify = %v", Classify(err))
			}
			if n := f.hitsOf(tt.path); n != 1 {
				t.Errorf("hits %d, want 1: a protocol error is not retried", n)
			}
		})
	}
}

// listFake serves api_get_authorizer_list over n authorizers wx000…, paging by offset and count,
// and records every request's offset and count.
type listFake struct {
	n     int
	pages [][2]int
	fail  int // answer errcode 40097 to the request with this offset (-1: never)
}

func (l *listFake) handler(w http.ResponseWriter, r *http.Request) {
	var req AuthorizerListRequest
	_ = json.NewDecoder(r.Body).Decode(&req)
	l.pages = append(l.pages, [2]int{req.Offset, req.Count})
	if req.Offset == l.fail {
		errcode(ErrcodeInvalidArgs)(w, r)
		return
	}
	resp := struct {
		TotalCount int              `json:"total_count"`
		List       []map[string]any `json:"list"`
	}{TotalCount: l.n, List: []map[string]any{}}
	for i := req.Offset; i < min(l.n, req.Offset+req.Count); i++ {
		resp.List = append(resp.List, map[string]any{"authorizer_appid": fmt.Sprintf("wx%016d", i), "refresh_token": "R" + strconv.Itoa(i), "auth_time": i})
	}
	_ = json.NewEncoder(w).Encode(resp)
}

func TestAuthorizersPagesThroughTheList(t *testing.T) {
	tests := []struct {
		name     string
		n        int
		pageSize int
		stopAt   int // break after this many entries (0: never)
		wantN    int
		pages    [][2]int
	}{
		{"1234 authorizers in pages of 500", 1234, 0, 0, 1234, [][2]int{{0, 500}, {500, 500}, {1000, 500}}},
		{"exactly two full pages stop at total_count", 1000, 500, 0, 1000, [][2]int{{0, 500}, {500, 500}}},
		{"a page size above 500 is 500", 600, 5000, 0, 600, [][2]int{{0, 500}, {500, 500}}},
		{"no authorizers: one call", 0, 100, 0, 0, [][2]int{{0, 100}}},
		{"a small page size", 5, 2, 0, 5, [][2]int{{0, 2}, {2, 2}, {4, 2}}},
		{"breaking the loop stops the paging", 1234, 100, 150, 150, [][2]int{{0, 100}, {100, 100}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t)
			fake := &listFake{n: tt.n, fail: -1}
			f.mux.HandleFunc(PathAuthorizerList, fake.handler)
			var got []string
			for e, err := range f.client.Authorizers(context.Background(), "wxc", tt.pageSize) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, e.AuthorizerAppID)
				if len(got) == tt.stopAt {
					break
				}
			}
			if len(got) != tt.wantN || len(slices.Compact(slices.Clone(got))) != len(got) {
				t.Fatalf("%d authorizers (%d distinct), want %d", len(got), len(slices.Compact(slices.Clone(got))), tt.wantN)
			}
			if !reflect.DeepEqual(fake.pages, tt.pages) {
				t.Errorf("pages (offset, count) %v, want %v", fake.pages, tt.pages)
			}
		})
	}
	t.Run("an error ends the paging and is yielded once", func(t *testing.T) {
		f := setup(t)
		fake := &listFake{n: 1234, fail: 500}
		f.mux.HandleFunc(PathAuthorizerList, fake.handler)
		var n, errs int
		for _, err := range f.client.Authorizers(context.Background(), "wxc", 0) {
			if err != nil {
				errs++
				if asAPIError(t, err).Code != ErrcodeInvalidArgs {
					t.Errorf("error %v", err)
				}
				continue
			}
			n++
		}
		if n != 500 || errs != 1 || len(fake.pages) != 2 {
			t.Errorf("%d entries, %d errors, %d pages", n, errs, len(fake.pages))
		}
	})
}

// TestRefreshTokensNeverPrint: however a list answer or an entry is printed, logged or
// encoded, the refresh token shows as [redacted]; only Reveal gives it.
func TestRefreshTokensNeverPrint(t *testing.T) {
	const refresh = "REFRESH-SECRET-zyx987"
	f := setup(t)
	f.mux.HandleFunc(PathAuthorizerList, reply(`{"total_count":1,"list":[{"authorizer_appid":"wx1","refresh_token":"`+refresh+`","auth_time":1}]}`))
	f.mux.HandleFunc(PathAuthorizerInfo, reply(strings.ReplaceAll(infoAnswer, "REFRESH-SECRET-info", refresh)))
	list, err := f.client.GetAuthorizerList(context.Background(), &AuthorizerListRequest{ComponentAppID: "c", Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	info, err := f.client.GetAuthorizerInfo(context.Background(), &AuthorizerInfoRequest{ComponentAppID: "c", AuthorizerAppID: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if list.List[0].RefreshToken.Reveal() != refresh || info.AuthorizationInfo.AuthorizerRefreshToken.Reveal() != refresh {
		t.Fatal("Reveal does not give the value")
	}

	var outputs []string
	for _, v := range []any{list, *list, list.List, list.List[0], list.List[0].RefreshToken, &list.List[0].RefreshToken, info, info.AuthorizationInfo} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s"} {
			outputs = append(outputs, fmt.Sprintf(verb, v))
		}
		outputs = append(outputs, fmt.Sprint(v), fmt.Sprintln(v))
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		outputs = append(outputs, string(b))
		if x, err := xml.Marshal(v); err == nil {
			outputs = append(outputs, string(x))
		}
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	logger.Info("page", "list", list, "entry", list.List[0], "token", list.List[0].RefreshToken, "info", info)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("page", "list", list, "token", list.List[0].RefreshToken)
	outputs = append(outputs, logs.String())
	for _, out := range outputs {
		if strings.Contains(out, refresh) || strings.Contains(out, fmt.Sprintf("%x", refresh)) {
			t.Errorf("the refresh token is shown: %s", out)
		}
	}
	if b, _ := json.Marshal(list.List[0]); !strings.Contains(string(b), `"refresh_token":"[redacted]"`) {
		t.Errorf("JSON %s, want the token masked", b)
	}
	if b, _ := json.Marshal(AuthorizerListEntry{AuthorizerAppID: "wx1"}); strings.Contains(string(b), "refresh_token") {
		t.Errorf("JSON %s: an absent token is left out", b)
	}
	if got := fmt.Sprintf("%q", NewSecret(refresh)); got != `"[redacted]"` {
		t.Errorf("%%q = %s", got)
	}
}

func TestSecretDecodingErrorsNeverQuoteTheInput(t *testing.T) {
	for _, in := range []string{`12345678901234567890`, `{"v":"REFRESH-SECRET-1"}`, `["REFRESH-SECRET-1"]`, `"unterminated`} {
		var s Secret
		err := s.UnmarshalJSON([]byte(in))
		if err == nil || strings.Contains(err.Error(), "REFRESH") || strings.Contains(err.Error(), "1234567890") {
			t.Errorf("%s: error %v", in, err)
		}
	}
	var s Secret
	if err := json.Unmarshal([]byte(`null`), &s); err != nil || !s.IsZero() {
		t.Errorf("null: %v %v", err, s.IsZero())
	}
}
