package wechat

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// leakCalls are the calls whose errors the leak test scans: one of each kind of endpoint (a
// componenttcb call, the calls with ?component_access_token= and the quota read).
var leakCalls = map[string]func(ctx context.Context, c *Client) error{
	PathShareEnv: func(ctx context.Context, c *Client) error {
		_, err := c.ShareEnv(ctx, shareReq())
		return err
	},
	PathAuthorizerInfo: func(ctx context.Context, c *Client) error {
		_, err := c.GetAuthorizerInfo(ctx, &AuthorizerInfoRequest{ComponentAppID: "wxc", AuthorizerAppID: "wxa"})
		return err
	},
	PathAuthorizerList: func(ctx context.Context, c *Client) error {
		_, err := c.GetAuthorizerList(ctx, &AuthorizerListRequest{ComponentAppID: "wxc", Count: 500})
		return err
	},
	PathQuota: func(ctx context.Context, c *Client) error {
		_, err := c.GetQuota(ctx, &QuotaRequest{CGIPath: PathShareEnv})
		return err
	},
}

// TestTheTokenNeverLeaks runs every fault path of every kind of call with a recognisable token
// (and answers holding refresh tokens) and scans every error string and log line for them.
func TestTheTokenNeverLeaks(t *testing.T) {
	const tok, tok2 = "TOKEN-SECRET-abc123", "TOKEN-SECRET-def456"
	const refresh = "REFRESH-SECRET-ghi789"
	logs := &bytes.Buffer{} // the client logs in its caller's goroutine
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	f := setup(t, WithLogger(logger))
	f.tokens.tokens = []string{tok, tok2}
	f.client.http.Timeout = 200 * time.Millisecond
	echo := func(w http.ResponseWriter, r *http.Request) {
		reply(`{"errcode":40097,"errmsg":"bad request `+r.URL.String()+`"}`)(w, r)
	}
	release := make(chan struct{})
	defer close(release)
	hang := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
	paths := map[string]http.HandlerFunc{
		"/busy":     errcode(-1),
		"/5xx":      status(502, "<html>"+tok+"</html>"),
		"/hangup":   hangUp,
		"/html":     reply("<html>error at /x?access_token=" + tok + "</html>"),
		"/4xx":      status(403, tok),
		"/redirect": func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, r.URL.String(), http.StatusFound) },
		"/token":    errcode(40001),
		"/echo":     echo,
		"/hang":     hang,
		"/daily":    errcode(ErrcodeDailyQuota),
		"/minute":   errcode(ErrcodeMinuteQuota),
		// answers that hold a refresh token but are not what was asked
		"/refresh-number": reply(`{"total_count":1,"list":[{"authorizer_appid":"wxa","refresh_token":12345678901234567890}],` +
			`"authorization_info":{"authorizer_refresh_token":12345678901234567890}}`),
		"/refresh-incomplete": reply(`{"list":[{"authorizer_appid":"","refresh_token":"` + refresh + `"}],` +
			`"authorization_info":{"authorizer_refresh_token":"` + refresh + `"}}`),
	}
	for prefix, h := range paths {
		for path := range leakCalls {
			f.mux.HandleFunc(prefix+path, h)
		}
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	var errs []error
	ctx := context.Background()
	for path, do := range leakCalls {
		for prefix := range paths {
			if path == PathShareEnv && strings.HasPrefix(prefix, "/refresh-") {
				continue // a share answer has no field that must be there
			}
			c := *f.client
			c.baseURL = f.url + prefix
			c.minuteWaits = 0
			f.tokens.i = 0
			errs = append(errs, do(ctx, &c))
		}
		// Redirects followed by a client that does follow them end in a *url.Error.
		following := *f.client
		following.baseURL = f.url + "/redirect"
		following.http = &http.Client{}
		errs = append(errs, do(ctx, &following))

		for _, base := range []string{closed.URL, "http://127.0.0.1:1/\x7f"} {
			c := *f.client
			c.baseURL = base
			errs = append(errs, do(ctx, &c))
		}
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		hanging := *f.client
		hanging.baseURL = f.url + "/hang"
		errs = append(errs, do(short, &hanging))
		cancel()

		f.tokens.i = 0
		f.tokens.reloadErr = errors.New("cannot refresh " + tok)
		rejected := *f.client
		rejected.baseURL = f.url + "/token"
		errs = append(errs, do(ctx, &rejected))
		f.tokens.reloadErr = nil
	}

	for i, err := range errs {
		if err == nil {
			t.Errorf("fault path %d succeeded", i)
			continue
		}
		for _, secret := range []string{tok, tok2, refresh, "12345678901234567890"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error leaks a secret: %v", err)
			}
		}
		t.Log(err)
	}
	out := logs.String()
	if !strings.Contains(out, `"level":"DEBUG"`) {
		t.Fatal("no debug lines were captured")
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, tok) || strings.Contains(line, tok2) || strings.Contains(line, refresh) {
			t.Errorf("log line leaks a secret: %s", line)
		}
	}
}
