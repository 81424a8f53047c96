package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/config"
	"github.com/envshare/envshare/internal/eventtest"
	"github.com/envshare/envshare/internal/testkit"
)

func TestMain(m *testing.M) { testkit.MainOrTests(m, main) }

// isolateEnv makes env the only ENVSHARE_* settings for the test, and restores the caller's
// exactly afterwards, including the variables the tools set while it ran.
func isolateEnv(t *testing.T, env map[string]string) {
	t.Helper()
	for _, name := range config.Variables() {
		t.Setenv(name, "") // restored (or unset again) at cleanup
		os.Unsetenv(name)
	}
	eventtest.SetEnv(t, env)
}

// The demo is what `make run` shows a newcomer: every step must really happen. By default it
// runs with an SQLite ledger and customers; with ENVSHARE_LEDGER exported empty, as before.
func TestTheDemoShowsTheClosedLoopAndEveryAction(t *testing.T) {
	common := []string{
		// the closed loop
		"component_verify_ticket  [redacted]", "ticket_create_time",
		"WeChat calls: share 0, unshare 0, getenvid 0, token 1", "minted        true",
		`notification "share" (signature ok): 1 confirmation link(s)`,
		"prod-6gni9ity244a6ea3  " + newApp + "  page http://127.0.0.1:",
		"page  http://127.0.0.1:", "/confirm/", "▀▄", "shows the link: true", "-> confirmed",
		newApp + "  bound to  [prod-6gni9ity244a6ea3]",
		// the actions
		"-> HTTP 200, ok=false; WeChat calls: share 1", // the mixed share: one call for one env
		"pending_confirmation", "rejected: ", "bound to",
		"prune: true", "staging-8f2k4m6n1p3q5r7t   wx075cf85bf347b6df", // the manifest
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"with the ledger", nil, []string{
			`ENVSHARE_LEDGER +sqlite:/\S+/ledger.db +local default`,
			`notification "authorization" \(signature ok\): authorized by ` + newApp + ` \(Acme Cloud Co., Ltd.\): onboarded prod-6gni9ity244a6ea3`,
			// onboarding by customer: two customers' Mini Programs, each to its own env, and the two reports
			`authorized by wx2b4d6f8a0c2e4f61 \(深圳市示例科技有限公司\): onboarded cust-a-7f3k2m`,
			`authorized by wx6a0b1c2d3e4f5061 \(Globex Trading Ltd.\): onboarded globex-prod-3h5j7k9m2n4p6q8r`,
			`authorized by wx9e1d3c5b7a9f1e32 \(Hooli Holdings Ltd.\): unknown_customer`,
			`authorized by wx0f1e2d3c4b5a6978 \(Acme Cloud Co., Ltd.\): permission_missing`,
			`WeChat calls: api_get_authorizer_info 4, share 2`,
			`would_share +3`, `would_unshare +1`,
			// the backfill finds the rest of the demo fleet
			`listed +13\n +new +8\n +fetched +8`, `unshared +1`,
			// the rerun awaits the links it sent, and sends no new one
			`WeChat calls: share 1, unshare 0, getenvid 1, token 0, authorizer info 0, list 0\n   summary\n     desired +12\n     already_shared +8\n     failed +1\n     awaiting_confirmation +3`,
			`wx6a0b1c2d3e4f5061  awaiting_confirmation  link issued `,
			// the fleet view
			`GET /fleet\n   -> HTTP 200, ok=true; WeChat calls: share 0, unshare 0, getenvid 0, token 0, authorizer info 0, list 0`,
			`cust-a-7f3k2m +2 +1 +1 +0 +深圳市示例科技有限公司`, `unknown_customer +1`, `oldest pending links`,
		}},
		{"without a ledger, as before", map[string]string{"ENVSHARE_LEDGER": ""}, []string{
			`ENVSHARE_LEDGER +"" +exported`,
			`notification "authorization" \(signature ok\): authorized by ` + newApp + `, onboarding prod-6gni9ity244a6ea3: done`,
			`would_share +3`, `would_unshare +1`, `unshared +1`,
			`-> HTTP 200, ok=true; WeChat calls: share 0, unshare 0, getenvid 1, token 0`, // the idempotent rerun
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isolateEnv(t, tc.env) // the demo sets its own configuration; restore the caller's after
			var out bytes.Buffer
			if err := demo(context.Background(), &out, nil); err != nil {
				t.Fatalf("demo: %v\n%s", err, out.String())
			}
			got := out.String()
			for _, re := range append([]string{`ENVSHARE_TOKEN_MODE +file +local default`, `ENVSHARE_STATE_ID +/\S+/state.json +local default`,
				`ENVSHARE_HTTP_SECRET +\[redacted\] +local default`, `ENVSHARE_PAGE_SECRET +\[redacted\]`}, tc.want...) {
				if !regexp.MustCompile(re).MatchString(got) {
					t.Errorf("the demo's output lacks %s", re)
				}
			}
			for _, want := range common {
				if !strings.Contains(got, want) {
					t.Errorf("the demo's output lacks %q", want)
				}
			}
			for _, secret := range []string{localSecret, localPageSecret, "HTTP 5", "SIGNATURE INVALID", `"summary"`} {
				if strings.Contains(got, secret) {
					t.Errorf("the demo printed %q", secret)
				}
			}
			if t.Failed() {
				t.Log(got)
			}
		})
	}
}

// startDeployment starts a local deployment for one test, with exactly env's ENVSHARE_*
// variables exported, and primes it as serve does.
func startDeployment(t *testing.T, env map[string]string) (*deployment, string) {
	t.Helper()
	isolateEnv(t, env)
	var out bytes.Buffer
	d, err := deploy(&out, deployOptions{Addr: "127.0.0.1:0", EmulatorAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatalf("deploy: %v\n%s", err, out.String())
	}
	t.Cleanup(d.Close)
	if err := d.prime(context.Background()); err != nil {
		t.Fatal(err)
	}
	return d, out.String()
}

func TestExportedSettingsWinOverTheLocalDefaults(t *testing.T) {
	d, printed := startDeployment(t, map[string]string{"ENVSHARE_HTTP_AUTH": "hmac", "ENVSHARE_LOG_LEVEL": "debug"})
	for _, re := range []string{`ENVSHARE_HTTP_AUTH +hmac +exported`, `ENVSHARE_LOG_LEVEL +debug +exported`} {
		if !regexp.MustCompile(re).MatchString(printed) {
			t.Errorf("the configuration lacks %s:\n%s", re, printed)
		}
	}
	if d.Settings.cfg.HTTPAuth != "hmac" {
		t.Fatalf("HTTPAuth = %q, want the exported hmac", d.Settings.cfg.HTTPAuth)
	}
	// A bearer client is refused; the tools sign as the configuration asks.
	req, _ := http.NewRequest(http.MethodGet, d.URL+"/bindings?appids=wx5fe6bb43205e9e07", nil)
	req.Header.Set("Authorization", "Bearer "+localSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a bearer request under hmac answered %d, want 401", resp.StatusCode)
	}
	status, body, err := d.call(context.Background(), http.MethodGet, "/bindings?appids=wx5fe6bb43205e9e07,wx075cf85bf347b6df", "")
	if err != nil || status != http.StatusOK {
		t.Errorf("a signed GET answered %d %s, %v", status, body, err)
	}
	status, body, err = d.call(context.Background(), http.MethodPost, "/share", `{"env":"prod-6gni9ity244a6ea3","appids":["wx075cf85bf347b6df"]}`)
	if err != nil || status != http.StatusOK {
		t.Errorf("a signed POST answered %d %s, %v", status, body, err)
	}
}

func TestInvalidSettingsFailWithTheDeployedMessage(t *testing.T) {
	for _, env := range []map[string]string{
		{"ENVSHARE_TOKEN_MODE": "foo"},
		{"ENVSHARE_HTTP_AUTH": "hmac", "ENVSHARE_HTTP_SECRET": "short"},
		{"ENVSHARE_HTTP_TIMEOUT": "soon"},
	} {
		isolateEnv(t, env)
		var out bytes.Buffer
		d, err := deploy(&out, deployOptions{Addr: "127.0.0.1:0", EmulatorAddr: "127.0.0.1:0"})
		if err == nil {
			d.Close()
			t.Errorf("%v: deploy succeeded", env)
			continue
		}
		// config.Load with the same variables is what a deployed function reports.
		_, want := config.Load()
		if want == nil || err.Error() != want.Error() {
			t.Errorf("%v: error %q, want the deployed function's %v", env, err, want)
		}
		if !strings.Contains(out.String(), "Configuration (") {
			t.Errorf("%v: the configuration was not printed before the error:\n%s", env, out.String())
		}
	}
}

func TestABadManifestIsShownAtStartWithItsOwnMessage(t *testing.T) {
	d, printed := startDeployment(t, map[string]string{"ENVSHARE_MANIFEST": `{"envs":[{"env":"Bad Env","appids":[]}]}`})
	for _, want := range []string{"PROBLEM: ENVSHARE_MANIFEST is not a valid manifest",
		`ENVSHARE_MANIFEST: envs[0].env: "Bad Env" is not an env id`, "pushes, shares, unshares, bindings, refresh and pages work"} {
		if !strings.Contains(printed, want) {
			t.Errorf("the start lacks %q:\n%s", want, printed)
		}
	}
	// What does not need the manifest works: WeChat's push is acknowledged, and refresh mints.
	if err := d.prime(context.Background()); err != nil {
		t.Fatalf("the ticket push and refresh: %v", err)
	}
}

func TestTheConfigurationMasksEverySecret(t *testing.T) {
	env := map[string]string{"ENVSHARE_TOKEN_MODE": "env", "ENVSHARE_NOTIFY_URL": "https://hooks.example.com/x?k=notify-secret-value-0001",
		"ENVSHARE_TYPO_SETTING": "1"}
	secrets := config.SecretVariables()
	for i, name := range secrets {
		if !strings.HasPrefix(name, "ENVSHARE_") {
			t.Fatalf("config.SecretVariables lists %q, not a variable", name)
		}
		env[name] = "secret-value-of-" + name
		if strings.Contains(name, "AES_KEY") {
			env[name] = strings.Repeat(string(rune('a'+i)), 43)
		}
		if name == "ENVSHARE_COMPONENT_TOKEN" { // WeChat's message tokens are at most 32 characters
			env[name] = "secret-value-of-message-token"
		}
	}
	env["ENVSHARE_NOTIFY_SECRET"] = "notify-secret-value-0001"
	env["ENVSHARE_COMPONENT_APPID"] = localAppID
	_, printed := startDeployment(t, env)
	for _, name := range secrets {
		if strings.Contains(printed, env[name]) {
			t.Errorf("the configuration shows the value of %s:\n%s", name, printed)
		}
	}
	for _, want := range []string{"k=[redacted]", "note: ENVSHARE_TYPO_SETTING is exported but is not a setting"} {
		if !strings.Contains(printed, want) {
			t.Errorf("the configuration lacks %q:\n%s", want, printed)
		}
	}
}

func TestTheLocalAdapterServesTheRealRoutes(t *testing.T) {
	d, _ := startDeployment(t, nil)
	tests := []struct {
		name, method, path string
		auth               []string
		status             int
		body               string
	}{
		{"healthz needs no auth", "GET", "/healthz", nil, 200, `{"ok":true}`},
		{"a query with an encoded comma reaches the route", "GET", "/bindings?appids=wx5fe6bb43205e9e07%2Cwx075cf85bf347b6df",
			[]string{"Bearer " + localSecret}, 200, `"appid":"wx075cf85bf347b6df"`},
		{"a wrong secret is refused", "GET", "/bindings?appids=wx5fe6bb43205e9e07", []string{"Bearer nope"}, 401, `"unauthorized"`},
		{"a header sent twice with different values counts as absent", "GET", "/bindings?appids=wx5fe6bb43205e9e07",
			[]string{"Bearer " + localSecret, "Bearer nope"}, 401, `"unauthorized"`},
		{"the confirmation route exists", "GET", "/confirm/not-a-token", nil, 404, "<!doctype html>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, d.URL+tt.path, nil)
			for _, a := range tt.auth {
				req.Header.Add("Authorization", a)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || !strings.Contains(strings.ToLower(string(b)), strings.ToLower(tt.body)) {
				t.Errorf("%d %.200s, want %d with %s", resp.StatusCode, b, tt.status, tt.body)
			}
		})
	}
}

// A share that needs confirmation sends its link to the notification receiver, signed, with
// the page that serve lets a person open.
func TestServeDeliversLinksWithTheirPages(t *testing.T) {
	d, _ := startDeployment(t, nil)
	status, body, err := d.call(context.Background(), http.MethodPost, "/share", `{"env":"prod-6gni9ity244a6ea3","appids":["wx1a2b3c4d5e6f7081"]}`)
	if err != nil || status != http.StatusOK {
		t.Fatalf("share: %d %s %v", status, body, err)
	}
	select {
	case n := <-d.Notices:
		if !n.Signed || len(n.Links) != 1 || !strings.HasPrefix(n.Links[0].ConfirmPage, d.URL+"/confirm/") {
			t.Errorf("notification %+v, want one signed link with a page on %s", n, d.URL)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no notification")
	}
	var out bytes.Buffer
	printExamples(&out, d)
	if !strings.Contains(out.String(), "Authorization: Bearer "+localSecret) || !strings.Contains(out.String(), "/__emu/authorize") {
		t.Errorf("examples:\n%s", out.String())
	}
}

func TestHMACExamplesReferToTheExportedSecret(t *testing.T) {
	d, _ := startDeployment(t, map[string]string{"ENVSHARE_HTTP_AUTH": "hmac", "ENVSHARE_HTTP_SECRET": "my-own-http-secret-1234"})
	var out bytes.Buffer
	printExamples(&out, d)
	got := out.String()
	if strings.Contains(got, "my-own-http-secret-1234") || !strings.Contains(got, `-hmac "$ENVSHARE_HTTP_SECRET"`) {
		t.Errorf("examples:\n%s", got)
	}
}

func TestOnlyLoopbackAddressesAreServed(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:8080": true, "localhost:8080": true, "[::1]:8080": true,
		"0.0.0.0:8080": false, ":8080": false, "10.0.0.1:8080": false, "nonsense": false,
	} {
		if err := loopbackOnly(addr); (err == nil) != ok {
			t.Errorf("loopbackOnly(%q) = %v, want ok=%v", addr, err, ok)
		}
	}
}

func TestObjectFieldsKeepTheAnswersOrder(t *testing.T) {
	got, ok := objectFields([]byte(`{"requested":3,"shared":1,"pending_confirmation":0,"failed":2}`))
	want := [][2]string{{"requested", "3"}, {"shared", "1"}, {"pending_confirmation", "0"}, {"failed", "2"}}
	if b1, _ := json.Marshal(got); !ok || string(b1) != mustJSON(want) {
		t.Errorf("objectFields = %v, %v", got, ok)
	}
	var out bytes.Buffer
	printCounts(&out, got)
	if want := "     requested  3\n     shared     1\n     failed     2\n     (0: pending_confirmation)\n"; out.String() != want {
		t.Errorf("printCounts:\n%q\nwant\n%q", out.String(), want)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
