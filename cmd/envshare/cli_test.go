package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/envshare/envshare/pkg/share"
)

// TestAgainstTheLocalDeployment runs each command against `make serve`'s deployment (the real
// handler, bearer by default, and the WeChat emulator's demo fleet), as an operator would.
func TestAgainstTheLocalDeployment(t *testing.T) {
	d := serve(t, nil)
	env := map[string]string{"ENVSHARE_URL": d.URL, "ENVSHARE_HTTP_AUTH": "bearer", "ENVSHARE_HTTP_SECRET": localSecret}

	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		stdout []string // each in stdout
		stderr []string // each in stderr
	}{
		{name: "a share with a failed entry exits 1 with a table",
			args: []string{"share", acmeEnv, "wx075cf85bf347b6df", "wx1a2b3c4d5e6f7081", "wx7e57d0c0ffee1234"}, code: 1,
			stdout: []string{"share: requested 3, shared 1, pending_confirmation 1, failed 1",
				"ENV                    APPID               STATUS                DETAIL",
				acmeEnv + "  wx1a2b3c4d5e6f7081  pending_confirmation  page " + d.URL + "/confirm/",
				acmeEnv + "  wx7e57d0c0ffee1234  failed                different_entity: "}},
		{name: "bindings", args: []string{"bindings", "wx075cf85bf347b6df", "wx0f1e2d3c4b5a6978"}, code: 1,
			stdout: []string{"APPID               ENVS", "wx075cf85bf347b6df  " + acmeEnv, "wx0f1e2d3c4b5a6978  error rejected: "}},
		{name: "reconcile dry run", args: []string{"reconcile", "--dry-run"}, code: 0,
			stdout: []string{"reconcile (dry run): desired ", "would_share"}},
		{name: "refresh", args: []string{"refresh"}, code: 0, stdout: []string{"minted", "expires at"}},
		{name: "unshare", args: []string{"unshare", acmeEnv, "wx075cf85bf347b6df"}, code: 0,
			stdout: []string{"unshare: requested 1, unshared 1, failed 0"}},
		// The local deployment keeps a ledger (SQLite) and three customers.
		{name: "fleet", args: []string{"fleet"}, code: 0,
			stdout: []string{"CUSTOMER", "AUTHORIZERS", "authorizers: known "}},
		{name: "status-link", args: []string{"status-link", "--ttl", "2h"}, code: 0,
			stdout: []string{d.URL + "/status/", "valid until "}},
		{name: "status-link with a lifetime too long", args: []string{"status-link", "--ttl", "200h"}, code: 2,
			stderr: []string{`ttl: must be a duration from 1m to 168h`}},
		{name: "a malformed appid, before any call", args: []string{"bindings", "wx075CF85BF347B6DF"}, code: 2,
			stderr: []string{`appids[0]: "wx075CF85BF347B6DF" is not an appid`}},
		{name: "no URL", env: map[string]string{}, args: []string{"quota"}, code: 2,
			stderr: []string{"no deployment: set ENVSHARE_URL"}},
		{name: "no secret", env: map[string]string{"ENVSHARE_URL": d.URL, "ENVSHARE_HTTP_AUTH": "bearer"}, args: []string{"quota"}, code: 2,
			stderr: []string{"ENVSHARE_HTTP_SECRET is empty"}},
		{name: "a wrong secret", env: map[string]string{"ENVSHARE_URL": d.URL, "ENVSHARE_HTTP_AUTH": "bearer", "ENVSHARE_HTTP_SECRET": "another-secret-of-16"},
			args: []string{"bindings", "wx075cf85bf347b6df"}, code: 3,
			stderr: []string{"unauthorized (HTTP 401)", "check that ENVSHARE_HTTP_AUTH (here bearer) is the deployment's", "the same on both sides"}},
		{name: "the wrong mode", env: map[string]string{"ENVSHARE_URL": d.URL, "ENVSHARE_HTTP_AUTH": "hmac", "ENVSHARE_HTTP_SECRET": localSecret},
			args: []string{"bindings", "wx075cf85bf347b6df"}, code: 3,
			stderr: []string{"unauthorized (HTTP 401)", "(here hmac)", "clock"}},
		{name: "an unknown command", args: []string{"shares"}, code: 2, stderr: []string{`unknown command "shares"`}},
		{name: "an unknown flag", args: []string{"share", "--dryrun"}, code: 2, stderr: []string{"flag provided but not defined: -dryrun"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := env
			if tc.env != nil {
				e = tc.env
			}
			r := cli(t, e, tc.args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tc.code, r.stdout, r.stderr)
			}
			for _, s := range tc.stdout {
				if !strings.Contains(r.stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, r.stdout)
				}
			}
			for _, s := range tc.stderr {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
				}
			}
			if strings.Contains(r.stdout+r.stderr, "another-secret-of-16") || strings.Contains(r.stdout+r.stderr, localSecret) {
				t.Error("a secret is printed")
			}
		})
	}

	t.Run("--json is the answer, and the error object", func(t *testing.T) {
		r := cli(t, env, "share", "--json", acmeEnv, "wx1a2b3c4d5e6f7081")
		var res share.Result
		if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || r.code != 0 || res.Action != "share" || len(res.Results) != 1 {
			t.Errorf("exit %d: %s %v", r.code, r.stdout, err)
		}
		r = cli(t, env, "quota", "--json") // the local deployment has /quota (contract section 9)
		var quotas struct {
			OK     bool
			Action string
			Quotas []struct{ API string }
		}
		if err := json.Unmarshal([]byte(r.stdout), &quotas); err != nil || r.code != 0 || !quotas.OK || quotas.Action != "quota" || len(quotas.Quotas) != 4 {
			t.Errorf("exit %d: %s %v", r.code, r.stdout, err)
		}
		wrongSecret := map[string]string{"ENVSHARE_URL": d.URL, "ENVSHARE_HTTP_AUTH": "bearer", "ENVSHARE_HTTP_SECRET": "another-secret-of-16"}
		r = cli(t, wrongSecret, "quota", "--json")
		var obj struct {
			OK    bool
			Error struct {
				Code   string
				Status int
			}
		}
		if err := json.Unmarshal([]byte(r.stdout), &obj); err != nil || r.code != 3 || obj.Error.Code != "unauthorized" || obj.Error.Status != 401 {
			t.Errorf("exit %d: %s %v", r.code, r.stdout, err)
		}
	})
}

// The headers sign prints are accepted by an hmac deployment, for a POST and a GET with a query.
func TestSignMakesHeadersTheDeploymentAccepts(t *testing.T) {
	d := serve(t, map[string]string{"ENVSHARE_HTTP_AUTH": "hmac"})
	env := map[string]string{"ENVSHARE_HTTP_AUTH": "hmac", "ENVSHARE_HTTP_SECRET": localSecret}
	body := `{"env":"` + acmeEnv + `","appids":["wx075cf85bf347b6df"]}`
	for _, tc := range []struct {
		method, target string
		args           []string
		body           string
	}{
		{"POST", "/share", []string{"sign", "POST", "/share", "--body", body}, body},
		{"GET", "/bindings?appids=wx075cf85bf347b6df%2Cwx5fe6bb43205e9e07", []string{"sign", "GET", "/bindings", "--query", "appids=wx075cf85bf347b6df,wx5fe6bb43205e9e07"}, ""},
		{"GET", "/bindings?appids=wx075cf85bf347b6df", []string{"sign", "GET", d.URL + "/bindings?appids=wx075cf85bf347b6df"}, ""},
	} {
		r := cli(t, env, tc.args...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d %s", tc.args, r.code, r.stderr)
		}
		req, err := http.NewRequest(tc.method, d.URL+tc.target, strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.Lines(r.stdout) {
			name, value, _ := strings.Cut(strings.TrimSpace(line), ": ")
			req.Header.Set(name, value)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s %s with %q: HTTP %d", tc.method, tc.target, r.stdout, resp.StatusCode)
		}
	}
	// And the client signs as the deployment checks.
	hmac := map[string]string{"ENVSHARE_URL": d.URL, "ENVSHARE_HTTP_AUTH": "hmac", "ENVSHARE_HTTP_SECRET": localSecret}
	if r := cli(t, hmac, "bindings", "wx075cf85bf347b6df"); r.code != 0 {
		t.Errorf("bindings over hmac: exit %d %s", r.code, r.stderr)
	}
	if r := cli(t, map[string]string{"ENVSHARE_HTTP_AUTH": "bearer", "ENVSHARE_HTTP_SECRET": localSecret}, "sign", "POST", "/share"); r.code != 2 ||
		!strings.Contains(r.stderr, "sign makes hmac headers, but ENVSHARE_HTTP_AUTH is bearer") {
		t.Errorf("sign under bearer: exit %d %s", r.code, r.stderr)
	}
}
