package wxemu

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/envshare/envshare/pkg/wechat"
)

// FuzzAPI: whatever the body, every endpoint (the authorizer calls and the quota read
// included) answers HTTP 200 with a WeChat errcode.
func FuzzAPI(f *testing.F) {
	for _, body := range []string{
		`{"data":[{"env":"` + envProd + `","appids":["` + appAuto + `","` + appConfirm + `"]}],"source_type":1}`,
		`{"appids":["` + appBound + `"],"source_type":1}`,
		`{"component_appid":"a","component_appsecret":"b","component_verify_ticket":"c"}`,
		`{"component_appid":"a","authorizer_appid":"` + appAuto + `"}`,
		`{"component_appid":"a","offset":3,"count":2}`, `{"component_appid":"a","offset":9223372036854775807,"count":500}`,
		`{"cgi_path":"/componenttcb/batchshareenv"}`,
		``, `{`, `null`, `[]`, `{"data":[{"env":"","appids":null}]}`,
	} {
		for _, ep := range endpoints {
			f.Add(ep.path, body)
		}
	}
	emu := New(Options{Tokens: []string{testToken}, Strict: true, ComponentAppID: "a", ComponentAppSecret: "b", ComponentVerifyTicket: "c"})
	if err := emu.Seed(DemoState()); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, path, body string) {
		emu.ResetCalls() // the log would grow with every input
		emu.ResetQuotaUsage()
		if _, ok := pathEndpoint(path); !ok {
			return
		}
		rec := httptest.NewRecorder()
		emu.ServeHTTP(rec, httptest.NewRequest("POST", path+"?access_token="+testToken+"&component_access_token="+testToken, strings.NewReader(body)))
		var b struct {
			ErrCode *int `json:"errcode"`
		}
		if rec.Code != http.StatusOK {
			t.Fatalf("HTTP %d", rec.Code)
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || (b.ErrCode == nil && path != wechat.PathComponentToken) {
			t.Fatalf("not a WeChat answer: %s", rec.Body.Bytes())
		}
	})
}

// FuzzLoadState: any state JSON is either refused or seeds a state that reads back.
func FuzzLoadState(f *testing.F) {
	f.Add(`{"envs":{"e":{"subject":"s"}},"apps":{"wx1":{"subject":"s"}},"bindings":{"wx1":["e","e"]},"pending":[{"id":"p","env":"e","appid":"wx1"}]}`)
	f.Add(`{"faults":[{"kind":"latency","delay":"1ms"}]}`)
	f.Fuzz(func(t *testing.T, js string) {
		emu := New(Options{})
		if err := emu.LoadState(strings.NewReader(js)); err != nil {
			return
		}
		if _, err := json.Marshal(emu.State()); err != nil {
			t.Fatal(err)
		}
	})
}
