package main

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/envshare/envshare/internal/store/storetest"
)

const bindingsAnswer = `{"ok":true,"action":"bindings","source_type":1,"bindings":[{"appid":"wx075cf85bf347b6df","envs":["prod-6gni9ity244a6ea3"]}],"errors":[]}`

// --invoke aws: the AWS SDK's configuration from the environment, a SigV4-signed Invoke of the
// named function and qualifier; a function error exits 3 with its code.
func TestInvokeAWS(t *testing.T) {
	var mu sync.Mutex
	var paths, events []string
	lambda := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		paths, events = append(paths, r.URL.Path+"?"+r.URL.RawQuery), append(events, string(body))
		mu.Unlock()
		if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIAFORTESTS/") {
			http.Error(w, `{"message":"unsigned"}`, http.StatusForbidden)
			return
		}
		if strings.Contains(string(body), `"refresh"`) {
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			io.WriteString(w, `{"errorMessage":"internal: refresh failed: no component_verify_ticket","errorType":"Error"}`)
			return
		}
		io.WriteString(w, bindingsAnswer)
	}))
	defer lambda.Close()
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "AKIAFORTESTS", "AWS_SECRET_ACCESS_KEY": "secret-key-for-tests",
		"AWS_REGION": "ap-east-1", "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_PROFILE": "", "AWS_SESSION_TOKEN": ""} {
		t.Setenv(k, v)
	}
	env := map[string]string{"ENVSHARE_FUNCTION": "envshare", "ENVSHARE_INVOKE": "aws"}

	r := cli(t, env, "bindings", "wx075cf85bf347b6df", "--endpoint", lambda.URL, "--qualifier", "live")
	if r.code != 0 || !strings.Contains(r.stdout, "wx075cf85bf347b6df  prod-6gni9ity244a6ea3") {
		t.Errorf("bindings: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = cli(t, env, "refresh", "--endpoint", lambda.URL)
	if r.code != 3 || !strings.Contains(r.stderr, "internal (function error): refresh failed") {
		t.Errorf("refresh: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(paths) != 2 || paths[0] != "/2015-03-31/functions/envshare/invocations?Qualifier=live" ||
		events[0] != `{"action":"bindings","appids":["wx075cf85bf347b6df"]}` {
		t.Errorf("invocations %q %q", paths, events)
	}
	if r := cli(t, map[string]string{"ENVSHARE_FUNCTION": "envshare"}, "quota"); r.code != 2 || !strings.Contains(r.stderr, "--invoke aws or --invoke scf") {
		t.Errorf("no --invoke: exit %d %s", r.code, r.stderr)
	}
}

// --invoke scf: TC3 with the TENCENTCLOUD_* credentials, against storetest's fake of the API.
func TestInvokeSCF(t *testing.T) {
	scf := storetest.NewTencent(t)
	scf.AddFunction("default", "envshare")
	scf.Run = func(event string) (string, error) {
		if strings.Contains(event, `"quota"`) {
			return "", errors.New("upstream_unavailable: WeChat is busy")
		}
		return bindingsAnswer, nil
	}
	env := map[string]string{"ENVSHARE_FUNCTION": "envshare", "ENVSHARE_INVOKE": "scf", "TENCENTCLOUD_REGION": storetest.TencentRegion,
		"TENCENTCLOUD_SECRET_ID": storetest.TencentSecretID, "TENCENTCLOUD_SECRET_KEY": storetest.TencentSecretKey,
		"TENCENTCLOUD_SESSION_TOKEN": storetest.TencentSessionToken}
	r := cli(t, env, "bindings", "--endpoint", scf.URL, "wx075cf85bf347b6df")
	if r.code != 0 || !strings.Contains(r.stdout, "wx075cf85bf347b6df  prod-6gni9ity244a6ea3") {
		t.Errorf("bindings: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = cli(t, env, "quota", "--endpoint", scf.URL, "--attempts", "2")
	if r.code != 3 || !strings.Contains(r.stderr, "upstream_unavailable (function error): WeChat is busy") {
		t.Errorf("quota: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if n := len(scf.Invocations()); n != 3 { // bindings, then quota twice (transient)
		t.Errorf("%d invocations", n)
	}
	delete(env, "TENCENTCLOUD_REGION")
	if r := cli(t, env, "quota", "--endpoint", scf.URL); r.code != 2 || !strings.Contains(r.stderr, "TENCENTCLOUD_REGION") {
		t.Errorf("no region: exit %d %s", r.code, r.stderr)
	}
}
