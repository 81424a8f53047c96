package trigger

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/config"
	"github.com/envshare/envshare/internal/ledger"
	"github.com/envshare/envshare/internal/page"
	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/wxemu"
)

const statusBase = "https://k7m2p9q4r1.execute-api.ap-east-1.amazonaws.com"

// statusSetup is setup with the page keys of the configuration, as the wiring makes them.
func statusSetup(t *testing.T, env map[string]string) *fixture {
	f := setup(t, env)
	f.app.build = func(_ context.Context, cfg config.Config) (*Core, error) {
		return &Core{Share: f.doer, Pages: page.KeysFrom(page.Secrets{HTTP: cfg.HTTPSecret})}, nil
	}
	return f
}

func TestStatusLink(t *testing.T) {
	f := statusSetup(t, map[string]string{"ENVSHARE_PUBLIC_URL": statusBase + "/"})
	for _, tc := range []struct {
		name, body string
		ttl        time.Duration
		details    string // a refusal's details
	}{
		{"default lifetime", `{"action":"status_link"}`, 24 * time.Hour, ""},
		{"a lifetime", `{"action":"status_link","ttl":"90m"}`, 90 * time.Minute, ""},
		{"too long", `{"action":"status_link","ttl":"169h"}`, 0, `ttl: must be a duration from 1m to 168h, such as "24h"`},
		{"not a duration", `{"action":"status_link","ttl":86400}`, 0, `ttl: must be a duration from 1m to 168h, such as "24h"`},
		{"an unknown field", `{"action":"status_link","tll":"1h"}`, 0, "tll: unknown field (a status link takes action and ttl)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := f.app.Message(t.Context(), []byte(tc.body))
			if tc.details != "" {
				var se *share.Error
				if !errors.As(err, &se) || se.Code != share.CodeInvalidRequest || strings.Join(se.Details, "; ") != tc.details {
					t.Fatalf("answer %v, %v; want invalid_request %q", res, err, tc.details)
				}
				return
			}
			link, ok := res.(*StatusLink)
			if err != nil || !ok {
				t.Fatalf("answer %#v, %v", res, err)
			}
			tok, found := strings.CutPrefix(link.StatusPage, statusBase+"/status/")
			if !found || !link.ExpiresAt.Equal(f.now.Add(tc.ttl)) || link.Action != "status_link" || !link.OK {
				t.Fatalf("link %+v, want one under %s valid for %s", link, statusBase, tc.ttl)
			}
			keys := page.KeysFrom(page.Secrets{HTTP: testSecret})
			if expires, err := keys.OpenStatus(tok, f.now); err != nil || !expires.Equal(link.ExpiresAt) {
				t.Errorf("the token opens as %v, %v", expires, err)
			}
		})
	}

	t.Run("over HTTP, authenticated", func(t *testing.T) {
		resp := f.app.HTTP(t.Context(), post("/prod/status_link", `{"ttl":"1h"}`))
		if m := decodeBody(t, resp); resp.Status != http.StatusOK || !strings.HasPrefix(m["status_page"].(string), statusBase+"/status/") {
			t.Fatalf("%d %s", resp.Status, resp.Body)
		}
		resp = f.app.HTTP(t.Context(), HTTPRequest{Method: "POST", Path: "/status_link"})
		if resp.Status != http.StatusUnauthorized {
			t.Errorf("without credentials: %d %s", resp.Status, resp.Body)
		}
		resp = f.app.HTTP(t.Context(), HTTPRequest{Method: "GET", Path: "/status_link", Headers: bearer()})
		if resp.Status != http.StatusMethodNotAllowed {
			t.Errorf("GET: %d %s", resp.Status, resp.Body)
		}
	})

	t.Run("without a public URL", func(t *testing.T) {
		f := statusSetup(t, nil)
		_, err := f.app.Message(t.Context(), []byte(`{"action":"status_link"}`))
		var se *share.Error
		if !errors.As(err, &se) || !strings.Contains(strings.Join(se.Details, ""), "ENVSHARE_PUBLIC_URL") {
			t.Errorf("answer %v, want invalid_request naming ENVSHARE_PUBLIC_URL", err)
		}
	})
}

// statusGet opens the status page of a fresh link.
func statusGet(t *testing.T, app *App) HTTPResponse {
	t.Helper()
	res, err := app.Message(t.Context(), []byte(`{"action":"status_link"}`))
	link, ok := res.(*StatusLink)
	if err != nil || !ok {
		t.Fatalf("status link: %v, %v", res, err)
	}
	tok, _ := page.StatusPathToken(link.StatusPage)
	return app.HTTP(t.Context(), HTTPRequest{Method: "GET", Path: "/prod/status/" + tok})
}

func TestStatusPageFromTheLedger(t *testing.T) {
	l := newLedgerApp(t, map[string]string{"ENVSHARE_PUBLIC_URL": statusBase})
	if _, se := l.app.instance(t.Context()); se != nil {
		t.Fatal(se)
	}
	ctx := t.Context()
	lg := l.core.Fleet.Ledger
	for _, a := range []string{acmeApp, globexApp} {
		if _, err := lg.UpdateAuthorizer(ctx, a, func(r *ledger.Authorizer) (bool, error) {
			r.Principal, r.Authorized, r.PermissionSets, r.InfoFetchedAt = l.info.infos[a].Principal, true, []int{18}, l.now
			return true, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	issued := l.now.Add(-3 * time.Hour).UTC()
	for _, p := range []ledger.Pair{
		{Env: acmeEnv, AppID: acmeApp, State: ledger.StateShared},
		{Env: globexEnv, AppID: globexApp, State: ledger.StatePending, ConfirmURL: "https://open.weixin.qq.com/confirm?t=1", LinkIssuedAt: issued},
		{Env: globexEnv, AppID: acmeApp, State: ledger.StateFailed, ErrorCode: "different_entity"},
	} {
		if _, err := lg.UpdatePair(ctx, ledger.PairKey{Env: p.Env, AppID: p.AppID}, func(r *ledger.Pair) (bool, error) {
			r.State, r.ConfirmURL, r.LinkIssuedAt, r.ErrorCode = p.State, p.ConfirmURL, p.LinkIssuedAt, p.ErrorCode
			return true, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	resp := statusGet(t, l.app)
	if resp.Status != http.StatusOK || !strings.HasPrefix(resp.Headers["Content-Security-Policy"], "default-src 'none';") {
		t.Fatalf("%d %v\n%s", resp.Status, resp.Headers, resp.Body)
	}
	for _, want := range []string{`<span class="count-shared">1</span>`, `<span class="count-failed">1</span>`,
		`<span class="count-awaiting">1</span>`, `<code class="appid">` + globexApp + `</code>`, `href="../confirm/`,
		"3 h 0 min ago", `id="quota-batchshareenv"`, "no state record: ENVSHARE_STATE_ID is not set"} {
		if !strings.Contains(resp.Body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	// The pending pair's link opens its confirmation page.
	i := strings.Index(resp.Body, `href="../confirm/`) + len(`href="../confirm/`)
	tok := resp.Body[i : i+strings.IndexByte(resp.Body[i:], '"')]
	if c := l.app.HTTP(ctx, HTTPRequest{Method: "GET", Path: "/prod/confirm/" + tok}); c.Status != http.StatusOK ||
		!strings.Contains(c.Body, "https://open.weixin.qq.com/confirm?t=1") {
		t.Errorf("the pending pair's page: %d", c.Status)
	}

	t.Run("a failing quota read shows unavailable", func(t *testing.T) {
		// 48001 (api unauthorized) is not retried: the read fails at once.
		if err := l.emu.AddFault(wxemu.Fault{Endpoint: wxemu.EndpointQuota, Kind: wxemu.FaultErrCode, Code: 48001}); err != nil {
			t.Fatal(err)
		}
		resp := statusGet(t, l.app)
		if resp.Status != http.StatusOK || !strings.Contains(resp.Body, `id="quota-unavailable"`) || !strings.Contains(resp.Body, `count-shared`) {
			t.Errorf("%d\n%s", resp.Status, resp.Body)
		}
	})

	t.Run("bad tokens answer as the confirmation pages do", func(t *testing.T) {
		keys := page.KeysFrom(page.Secrets{HTTP: testSecret})
		old, _ := keys.StatusToken(l.now.Add(-25*time.Hour), 24*time.Hour)
		confirm, _ := keys.Token(page.Link{Env: acmeEnv, AppID: acmeApp, ConfirmURL: "https://open.weixin.qq.com/x", Made: l.now}, time.Hour)
		for path, status := range map[string]int{
			"/status/" + old: http.StatusGone, "/status/" + confirm: http.StatusNotFound, "/status/AAAA": http.StatusNotFound,
		} {
			resp := l.app.HTTP(ctx, HTTPRequest{Method: "GET", Path: path})
			if resp.Status != status || !strings.HasPrefix(resp.Headers["Content-Type"], "text/html") {
				t.Errorf("GET %s: %d %s, want %d HTML", path, resp.Status, resp.Headers["Content-Type"], status)
			}
		}
	})
}

func TestStatusPageWithoutLedger(t *testing.T) {
	f := statusSetup(t, map[string]string{"ENVSHARE_PUBLIC_URL": statusBase})
	resp := statusGet(t, f.app)
	for _, want := range []string{"The fleet needs a ledger: set ENVSHARE_LEDGER", `id="quota-unavailable"`, `id="ticket-age"`} {
		if resp.Status != http.StatusOK || !strings.Contains(resp.Body, want) {
			t.Errorf("%d: the page lacks %s", resp.Status, want)
		}
	}
}
