package trigger

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/config"
	"github.com/envshare/envshare/internal/ledger"
	"github.com/envshare/envshare/internal/ledger/sqliteledger"
	"github.com/envshare/envshare/internal/page"
	"github.com/envshare/envshare/internal/testkit"
	"github.com/envshare/envshare/internal/wxcrypt"
	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/signature"
	"github.com/envshare/envshare/pkg/wxemu"
)

// The platform of the closed-loop tests.
const (
	loopAppID     = "wxc0ffee0c0ffee0ab"
	loopAppSecret = "loop-app-secret-0123456789"
	loopMsgToken  = "loop-message-token"
	loopAESKey    = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	loopPublicURL = "https://k7m2p9q4r1.execute-api.ap-east-1.amazonaws.com/"
	newApp        = "wx0123456789abcdef" // the Mini Program that authorizes the platform
)

// loop is the function wired as deployed with a state record (mode file), behind a
// 127.0.0.1 listener, and an emulator that mints and pushes to it.
type loop struct {
	app      *App
	emu      *wxemu.Emulator
	url      string // the function's base URL
	logs     *testkit.Buffer
	emf      *testkit.Buffer // the EMF lines
	state    string          // path of the state record
	notices  *receiver
	retried  *[]string
	retryErr error
}

// receiver records the notifications POSTed to ENVSHARE_NOTIFY_URL.
type receiver struct {
	mu     sync.Mutex
	bodies []map[string]any
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	r.mu.Lock()
	r.bodies = append(r.bodies, m)
	r.mu.Unlock()
}

func (r *receiver) actions() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, b := range r.bodies {
		out = append(out, b["action"].(string))
	}
	return out
}

// newLoop wires the closed loop; env adds to (or, with "", removes from) its configuration.
func newLoop(t *testing.T, env map[string]string, withRetry bool) *loop {
	t.Helper()
	dir := t.TempDir()
	l := &loop{logs: &testkit.Buffer{}, emf: &testkit.Buffer{}, notices: &receiver{}, retried: new([]string), state: filepath.Join(dir, "state.json")}
	var handler http.Handler = http.NotFoundHandler()
	fn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(fn.Close)
	l.url = fn.URL
	notify := httptest.NewServer(l.notices)
	t.Cleanup(notify.Close)

	l.emu = wxemu.New(wxemu.Options{Strict: true, ComponentAppID: loopAppID, ComponentAppSecret: loopAppSecret,
		PushURL: fn.URL + "/release/wechat/events", MessageToken: loopMsgToken, EncodingAESKey: loopAESKey})
	if err := l.emu.Seed(wxemu.DemoState()); err != nil {
		t.Fatal(err)
	}
	creds := filepath.Join(dir, "credentials.json")
	writeJSON(t, creds, map[string]string{"component_appid": loopAppID, "component_appsecret": loopAppSecret,
		"component_token": loopMsgToken, "component_encoding_aes_key": loopAESKey})
	if err := os.WriteFile(l.state, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := map[string]string{
		"ENVSHARE_WECHAT_BASE_URL": l.emu.ServeTest(t),
		"ENVSHARE_TOKEN_MODE":      "file",
		"ENVSHARE_TOKEN_FILE":      creds,
		"ENVSHARE_STATE_ID":        l.state,
		"ENVSHARE_HTTP_AUTH":       "bearer",
		"ENVSHARE_HTTP_SECRET":     testSecret,
		"ENVSHARE_ONBOARD_ENVS":    "prod-6gni9ity244a6ea3",
		"ENVSHARE_PUBLIC_URL":      loopPublicURL,
		"ENVSHARE_NOTIFY_URL":      notify.URL,
		"ENVSHARE_RATE_LIMIT":      "0",
	}
	useEnv(t, base, env)
	opts := Options{Platform: PlatformAWS, MetricsOut: l.emf, Cloud: Cloud{Ledgers: []ledger.Engine{sqliteledger.Engine}},
		Logger: slog.New(slog.NewJSONHandler(l.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if withRetry {
		opts.Cloud.Retry = func(config.Config) (Retry, error) {
			return func(_ context.Context, message string) error {
				*l.retried = append(*l.retried, message)
				return l.retryErr
			}, nil
		}
	}
	l.app = New(opts)
	handler = httpHandler(l.app)
	return l
}

// httpHandler serves the App over net/http, as the local runner does.
func httpHandler(app *App) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		headers := map[string]string{}
		for k, v := range r.Header {
			headers[k] = strings.Join(v, ",")
		}
		resp := app.HTTP(r.Context(), HTTPRequest{Method: r.Method, Path: r.URL.Path, Headers: headers,
			Query: r.URL.Query(), Body: string(body)})
		for k, v := range resp.Headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(resp.Status)
		io.WriteString(w, resp.Body)
	})
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// record reads the state record.
func (l *loop) record(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(l.state)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestTheClosedLoop(t *testing.T) {
	l := newLoop(t, nil, false)
	ctx := context.Background()

	t.Run("a refresh before any ticket fails loudly, naming the cause", func(t *testing.T) {
		_, err := Answer(l.app.Message(ctx, []byte(`{"action":"refresh"}`)))
		if err == nil || !strings.Contains(err.Error(), "component_verify_ticket") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("WeChat pushes a ticket; it is stored in the state record", func(t *testing.T) {
		ticket, err := l.emu.PushTicket(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := l.record(t)["component_verify_ticket"]; got != ticket {
			t.Fatalf("state record ticket = %v", got)
		}
		if p := l.emu.Pushes(); len(p) != 1 || !p[0].Success {
			t.Fatalf("pushes %+v", p)
		}
	})
	t.Run("a serving instance with no token yet answers upstream_unavailable, naming the cause", func(t *testing.T) {
		_, err := Answer(l.app.Message(ctx, []byte(`{"action":"bindings","appids":["wx5fe6bb43205e9e07"]}`)))
		if err == nil || !strings.Contains(err.Error(), "upstream_unavailable") || !strings.Contains(err.Error(), "no component access token yet") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("refresh mints once and stores the token, never answering it", func(t *testing.T) {
		v, err := Answer(l.app.Message(ctx, []byte(`{"action":"refresh"}`)))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(v)
		rec := l.record(t)
		tok, _ := rec["component_access_token"].(string)
		if tok == "" || strings.Contains(string(b), tok) || !strings.Contains(string(b), `"minted":true`) {
			t.Fatalf("answer %s, record %v", b, rec)
		}
		if rec["component_verify_ticket"] == nil {
			t.Fatal("the minter dropped the ticket")
		}
		if l.emu.Mints() != 1 {
			t.Fatalf("%d mints", l.emu.Mints())
		}
		v, _ = Answer(l.app.Message(ctx, []byte(`{"action":"refresh"}`)))
		if b, _ := json.Marshal(v); !strings.Contains(string(b), `"minted":false`) || l.emu.Mints() != 1 {
			t.Fatalf("a second refresh within the token's life minted: %s", b)
		}
	})
	t.Run("POST /refresh with force mints again, under the HTTP auth", func(t *testing.T) {
		resp := l.app.HTTP(ctx, HTTPRequest{Method: "POST", Path: "/refresh", Headers: bearer(), Body: `{"force":true}`})
		if resp.Status != 200 || !strings.Contains(resp.Body, `"minted":true`) || l.emu.Mints() != 2 {
			t.Fatalf("%d %s, %d mints", resp.Status, resp.Body, l.emu.Mints())
		}
		if resp := l.app.HTTP(ctx, HTTPRequest{Method: "POST", Path: "/refresh", Body: `{"force":true}`}); resp.Status != 401 {
			t.Fatalf("no credentials: %d", resp.Status)
		}
	})
	t.Run("a Mini Program authorizes: the onboard env is shared with it, its link notified with a page", func(t *testing.T) {
		if err := l.emu.Authorize(ctx, newApp, wxemu.App{}); err != nil {
			t.Fatal(err)
		}
		notices := l.notices.actions()
		if len(notices) < 2 || notices[len(notices)-2] != "share" || notices[len(notices)-1] != "authorization" {
			t.Fatalf("notifications %v", notices)
		}
		l.notices.mu.Lock()
		links := l.notices.bodies[len(l.notices.bodies)-2]["links"].([]any)
		event := l.notices.bodies[len(l.notices.bodies)-1]
		l.notices.mu.Unlock()
		link := links[0].(map[string]any)
		if link["appid"] != newApp || !strings.HasPrefix(link["confirm_page"].(string), loopPublicURL+"confirm/") {
			t.Fatalf("link %v", link)
		}
		if event["onboard"].(map[string]any)["status"] != "done" {
			t.Fatalf("event notice %v", event)
		}

		// The administrator scans the page's code (the page shows the link) and confirms.
		page := strings.TrimPrefix(link["confirm_page"].(string), loopPublicURL)
		resp := l.app.HTTP(ctx, HTTPRequest{Method: "GET", Path: "/release/" + page})
		if resp.Status != 200 || !strings.Contains(resp.Body, "data:image/png;base64,") || resp.Headers["Content-Security-Policy"] == "" {
			t.Fatalf("page %d %v", resp.Status, resp.Headers)
		}
		get, err := http.Get(link["confirm_url"].(string))
		if err != nil || get.StatusCode != 200 {
			t.Fatalf("confirm: %v %v", get, err)
		}
		get.Body.Close()
		resp = l.app.HTTP(ctx, HTTPRequest{Method: "GET", Path: "/bindings", Headers: bearer(), Query: map[string][]string{"appids": {newApp}}})
		if !strings.Contains(resp.Body, `"envs":["prod-6gni9ity244a6ea3"]`) {
			t.Fatalf("bindings %s", resp.Body)
		}
	})
	t.Run("a Mini Program revokes: logged and notified; with keep nothing is unshared", func(t *testing.T) {
		if err := l.emu.Revoke(ctx, newApp); err != nil {
			t.Fatal(err)
		}
		if a := l.notices.actions(); a[len(a)-1] != "authorization" || l.emu.Calls(wxemu.EndpointUnshare) != 0 {
			t.Fatalf("notifications %v, %d unshares", a, l.emu.Calls(wxemu.EndpointUnshare))
		}
	})
	t.Run("no secret reached the log", func(t *testing.T) {
		rec := l.record(t)
		for _, s := range []string{loopAppSecret, loopMsgToken, loopAESKey, rec["component_access_token"].(string), rec["component_verify_ticket"].(string)} {
			if strings.Contains(l.logs.String(), s) {
				t.Errorf("the log holds a secret (%.8s...)", s)
			}
		}
	})
}

// push seals an event for the loop's platform and POSTs it to the function.
func (l *loop) push(t *testing.T, ev wxcrypt.Event, mutate func(q map[string][]string, body *string)) HTTPResponse {
	t.Helper()
	sealer, err := wxemu.NewSealer(loopMsgToken, loopAESKey, loopAppID)
	if err != nil {
		t.Fatal(err)
	}
	if ev.CreateTime == 0 {
		ev.CreateTime = 1700000000
	}
	msg := "<xml><AppId><![CDATA[" + loopAppID + "]]></AppId><CreateTime>" + strconv.FormatInt(ev.CreateTime, 10) + "</CreateTime><InfoType><![CDATA[" +
		ev.InfoType + "]]></InfoType><ComponentVerifyTicket><![CDATA[" + ev.ComponentVerifyTicket +
		"]]></ComponentVerifyTicket><AuthorizerAppid><![CDATA[" + ev.AuthorizerAppID + "]]></AuthorizerAppid></xml>"
	body, sig := sealer.Seal([]byte(msg), "1700000000", "nonce1")
	q := map[string][]string{"timestamp": {"1700000000"}, "nonce": {"nonce1"}, "msg_signature": {sig}, "encrypt_type": {"aes"}}
	b := string(body)
	if mutate != nil {
		mutate(q, &b)
	}
	return l.app.HTTP(context.Background(), HTTPRequest{Method: "POST", Path: "/wechat/events", Query: q, Body: b})
}

func TestWeChatEventsRoute(t *testing.T) {
	ticket := wxcrypt.Event{InfoType: wxcrypt.InfoComponentVerifyTicket, ComponentVerifyTicket: "ticket@@@route-test-value"}
	tests := []struct {
		name   string
		env    map[string]string
		mutate func(q map[string][]string, body *string)
		status int
		body   string
		stored bool
	}{
		{"a signed push is answered success in plain text", nil, nil, 200, "success", true},
		{"a bad signature is 401, whatever HTTP auth says", nil, func(q map[string][]string, _ *string) { q["msg_signature"] = []string{strings.Repeat("0", 40)} }, 401, "invalid signature", false},
		{"an ambiguous signature is 401", nil, func(q map[string][]string, _ *string) { q["msg_signature"] = append(q["msg_signature"], "x") }, 401, "invalid signature", false},
		{"a body that is no push is 400", nil, func(q map[string][]string, b *string) {
			*b = "<xml><Encrypt>AAAA</Encrypt></xml>"
			q["msg_signature"] = []string{wxcrypt.Signature(loopMsgToken, "1700000000", "nonce1", "AAAA")}
		}, 400, "malformed message", false},
		{"without the platform's message settings the route does not exist", map[string]string{"ENVSHARE_TOKEN_FILE": "", "ENVSHARE_TOKEN_MODE": "env",
			"ENVSHARE_STATE_ID": "", "ENVSHARE_COMPONENT_ACCESS_TOKEN": "some-token-value"}, nil, 404, `"code":"not_found"`, false},
		{"without HTTP auth the route still works", map[string]string{"ENVSHARE_HTTP_AUTH": "", "ENVSHARE_HTTP_SECRET": ""}, nil, 200, "success", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLoop(t, tt.env, false)
			resp := l.push(t, ticket, tt.mutate)
			if resp.Status != tt.status || !strings.Contains(resp.Body, tt.body) {
				t.Fatalf("%d %q", resp.Status, resp.Body)
			}
			if tt.status == 200 && resp.Headers["Content-Type"] != "text/plain; charset=utf-8" {
				t.Fatalf("content type %q", resp.Headers["Content-Type"])
			}
			stored := false
			if _, err := os.Stat(l.state); err == nil {
				stored = l.record(t)["component_verify_ticket"] == ticket.ComponentVerifyTicket
			}
			if stored != tt.stored {
				t.Fatalf("stored = %v", stored)
			}
		})
	}
	t.Run("a replayed older ticket never replaces a newer one; tickets are stored at most hourly", func(t *testing.T) {
		l := newLoop(t, nil, false)
		const t0 = 1_700_000_000
		steps := []struct {
			ticket string
			at     int64
			stored string // the ticket in the record afterwards
		}{
			{"ticket@@@first-of-the-hour", t0, "ticket@@@first-of-the-hour"},
			{"ticket@@@ten-minutes-later", t0 + 600, "ticket@@@first-of-the-hour"}, // within the hour
			{"ticket@@@one-hour-later", t0 + 3600, "ticket@@@one-hour-later"},
			{"ticket@@@first-of-the-hour", t0, "ticket@@@one-hour-later"}, // a replay of an older push
		}
		for _, s := range steps {
			ev := wxcrypt.Event{InfoType: wxcrypt.InfoComponentVerifyTicket, ComponentVerifyTicket: s.ticket, CreateTime: s.at}
			if resp := l.push(t, ev, nil); resp.Status != 200 {
				t.Fatal(resp.Body)
			}
			if got := l.record(t)["component_verify_ticket"]; got != s.stored {
				t.Fatalf("after %s at %d the record holds %v, want %s", s.ticket, s.at, got, s.stored)
			}
		}
	})
}

func TestOnboardingIsNeverLostSilently(t *testing.T) {
	authorized := wxcrypt.Event{InfoType: wxcrypt.InfoAuthorized, AuthorizerAppID: newApp}
	t.Run("WeChat busy: the share goes to the platform's retry", func(t *testing.T) {
		l := newLoop(t, nil, true)
		mintWithApp(t, l, newApp)
		l.emu.AddFault(wxemu.Fault{Endpoint: wxemu.EndpointShare, Kind: wxemu.FaultBusy})
		if resp := l.push(t, authorized, nil); resp.Status != 200 || resp.Body != "success" {
			t.Fatalf("%d %s", resp.Status, resp.Body)
		}
		if len(*l.retried) != 1 {
			t.Fatalf("retried %v", *l.retried)
		}
		req, err := share.Decode([]byte((*l.retried)[0]), "")
		if err != nil || req.Action != share.ActionShare || req.Data[0].AppIDs[0] != newApp {
			t.Fatalf("the retry message %s: %v", (*l.retried)[0], err)
		}
		if a := l.notices.actions(); a[len(a)-1] != "authorization" {
			t.Fatalf("notifications %v", a)
		}
	})
	t.Run("WeChat busy and no retry: onboard_failed in the log and the notification", func(t *testing.T) {
		l := newLoop(t, nil, false)
		mintWithApp(t, l, newApp)
		l.emu.AddFault(wxemu.Fault{Endpoint: wxemu.EndpointShare, Kind: wxemu.FaultBusy})
		if resp := l.push(t, authorized, nil); resp.Status != 200 {
			t.Fatalf("%d %s", resp.Status, resp.Body)
		}
		if a := l.notices.actions(); a[len(a)-1] != "onboard_failed" || !strings.Contains(l.logs.String(), `"msg":"onboard_failed"`) {
			t.Fatalf("notifications %v", a)
		}
	})
	t.Run("an appid of another subject: onboard_failed with the rejected entry", func(t *testing.T) {
		l := newLoop(t, nil, true)
		mintWithApp(t, l, "wx7e57d0c0ffee1234")
		resp := l.push(t, wxcrypt.Event{InfoType: wxcrypt.InfoAuthorized, AuthorizerAppID: "wx7e57d0c0ffee1234"}, nil)
		if resp.Status != 200 || len(*l.retried) != 0 {
			t.Fatalf("%d, retried %v", resp.Status, *l.retried)
		}
		if a := l.notices.actions(); a[len(a)-1] != "onboard_failed" {
			t.Fatalf("notifications %v", a)
		}
	})
	t.Run("offboarding with ENVSHARE_OFFBOARD=unshare unshares the onboard envs", func(t *testing.T) {
		l := newLoop(t, map[string]string{"ENVSHARE_OFFBOARD": "unshare"}, true)
		mint(t, l)
		resp := l.push(t, wxcrypt.Event{InfoType: wxcrypt.InfoUnauthorized, AuthorizerAppID: "wx5fe6bb43205e9e07"}, nil)
		if resp.Status != 200 || l.emu.Calls(wxemu.EndpointUnshare) != 1 {
			t.Fatalf("%d, %d unshares", resp.Status, l.emu.Calls(wxemu.EndpointUnshare))
		}
	})
}

// mint pushes a ticket and runs refresh, so the loop's instance has a token.
func mint(t *testing.T, l *loop) {
	t.Helper()
	if _, err := l.emu.PushTicket(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := Answer(l.app.Message(context.Background(), []byte(`{"action":"refresh"}`))); err != nil {
		t.Fatal(err)
	}
}

// mintWithApp mints the loop's token and gives the emulator withApp(appid).
func mintWithApp(t *testing.T, l *loop, appid string) {
	t.Helper()
	mint(t, l)
	if err := l.emu.Seed(withApp(appid)); err != nil {
		t.Fatal(err)
	}
}

// withApp is the demo fleet plus one authorized app of the demo subject.
func withApp(appid string) wxemu.State {
	s := wxemu.DemoState()
	if _, ok := s.Apps[appid]; !ok {
		s.Apps[appid] = wxemu.App{Subject: wxemu.DemoSubject}
	}
	return s
}

func TestConfirmationPages(t *testing.T) {
	l := newLoop(t, nil, false)
	mint(t, l)
	share := func(headers map[string]string) map[string]any {
		resp := l.app.HTTP(context.Background(), HTTPRequest{Method: "POST", Path: "/share", Headers: headers,
			Body: `{"env":"prod-6gni9ity244a6ea3","appids":["wx1a2b3c4d5e6f7081"]}`})
		if resp.Status != 200 {
			t.Fatalf("%d %s", resp.Status, resp.Body)
		}
		var m map[string]any
		json.Unmarshal([]byte(resp.Body), &m)
		return m["results"].([]any)[0].(map[string]any)
	}
	t.Run("a pending entry carries its page, from ENVSHARE_PUBLIC_URL, never from the request's Host", func(t *testing.T) {
		h := bearer()
		h["Host"] = "attacker.example"
		h["X-Forwarded-Host"] = "attacker.example"
		o := share(h)
		page, _ := o["confirm_page"].(string)
		if !strings.HasPrefix(page, loopPublicURL+"confirm/") || strings.Contains(page, "attacker") || len(page) > 2000 {
			t.Fatalf("entry %v", o)
		}
		resp := l.app.HTTP(context.Background(), HTTPRequest{Method: "GET", Path: "/prod/" + strings.TrimPrefix(page, loopPublicURL)})
		if resp.Status != 200 || !strings.Contains(resp.Body, "wx1a2b3c4d5e6f7081") || !strings.Contains(resp.Body, "prod-6gni9ity244a6ea3") {
			t.Fatalf("page %d", resp.Status)
		}
	})
	t.Run("a tampered token is a plain 404 page, an expired one 410", func(t *testing.T) {
		page := share(bearer())["confirm_page"].(string)
		tok := page[strings.LastIndex(page, "/")+1:]
		// One character in the middle changed (the last one may only carry padding bits).
		i, c := len(tok)/2, byte('A')
		if tok[len(tok)/2] == 'A' {
			c = 'B'
		}
		bad := tok[:i] + string(c) + tok[i+1:]
		if resp := l.app.HTTP(context.Background(), HTTPRequest{Method: "GET", Path: "/confirm/" + bad}); resp.Status != 404 || !strings.HasPrefix(resp.Headers["Content-Type"], "text/html") {
			t.Fatalf("tampered: %d %v", resp.Status, resp.Headers)
		}
		later := New(Options{Logger: discardLogger(), MetricsOut: discard{}, Now: func() time.Time { return time.Now().Add(169 * time.Hour) }})
		if resp := later.HTTP(context.Background(), HTTPRequest{Method: "GET", Path: "/confirm/" + tok}); resp.Status != 410 {
			t.Fatalf("expired: %d", resp.Status)
		}
	})
	t.Run("without any page key there are no pages and the route does not exist", func(t *testing.T) {
		l := newLoop(t, map[string]string{"ENVSHARE_HTTP_AUTH": "", "ENVSHARE_HTTP_SECRET": ""}, false)
		mint(t, l)
		v, err := Answer(l.app.Message(context.Background(), []byte(`{"action":"share","env":"prod-6gni9ity244a6ea3","appids":["wx1a2b3c4d5e6f7081"]}`)))
		if b, _ := json.Marshal(v); err != nil || strings.Contains(string(b), "confirm_page") {
			t.Fatalf("%s %v", b, err)
		}
		if resp := l.app.HTTP(context.Background(), HTTPRequest{Method: "GET", Path: "/confirm/abc"}); resp.Status != 404 {
			t.Fatalf("%d", resp.Status)
		}
	})
}

func TestRefreshBodies(t *testing.T) {
	tests := []struct {
		body  string
		route bool
		force bool
		want  string // a detail, "" when valid
	}{
		{`{"action":"refresh"}`, false, false, ""},
		{`{"action":"refresh","force":true}`, false, true, ""},
		{``, true, false, ""},
		{`{"force":true}`, true, true, ""},
		{`{"force":true}`, false, false, "action: required"},
		{`{"action":"refresh","force":"yes"}`, false, false, "force: must be true or false"},
		{`{"action":"refresh","forse":true}`, false, false, "forse: unknown field"},
		{`{"action":"refresh","action":"refresh"}`, false, false, "action: given more than once"},
		{`[]`, true, false, "body: must be a JSON object"},
	}
	for _, tt := range tests {
		force, se := decodeRefresh([]byte(tt.body), tt.route)
		switch {
		case tt.want == "" && (se != nil || force != tt.force):
			t.Errorf("%s: %v %v", tt.body, force, se)
		case tt.want != "" && (se == nil || !strings.Contains(se.Error(), tt.want)):
			t.Errorf("%s: %v, want %q", tt.body, se, tt.want)
		}
	}
	t.Run("refresh without a state record is invalid, and an invocation error", func(t *testing.T) {
		f := setup(t, nil)
		_, err := Answer(f.app.Message(context.Background(), []byte(`{"action":"refresh"}`)))
		if err == nil || !strings.Contains(err.Error(), "ENVSHARE_STATE_ID") {
			t.Fatalf("err = %v", err)
		}
	})
	_ = signature.TimestampHeader
}

// pageApp is an App wired as deployed (mode env) with env on top, at now.
func pageApp(t *testing.T, now time.Time, env map[string]string) *App {
	t.Helper()
	isolateEnv(t)
	for k, v := range map[string]string{"ENVSHARE_COMPONENT_ACCESS_TOKEN": "tok-never-printed", "ENVSHARE_HTTP_AUTH": "bearer"} {
		t.Setenv(k, v)
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	return New(Options{Platform: PlatformAWS, Logger: discardLogger(), MetricsOut: discard{}, Now: func() time.Time { return now }})
}

// Pages signed with the key derived from ENVSHARE_HTTP_SECRET survive a rotation of that
// secret (ENVSHARE_HTTP_SECRET_PREVIOUS) and the move to ENVSHARE_PAGE_SECRET (issue 23 #8).
func TestPagesSurviveAChangeOfTheirDerivedKey(t *testing.T) {
	const (
		oldHTTP = "old-http-secret-0123456789"
		newHTTP = "new-http-secret-0123456789"
		pageKey = "page-secret-0123456789abcdef"
	)
	now := time.Unix(1_700_000_000, 0)
	link := page.Link{Env: "prod-6gni9ity244a6ea3", AppID: "wx0123456789abcdef",
		ConfirmURL: "https://mp.weixin.qq.com/wxopen/confirm?id=1", Made: now.Add(-6 * 24 * time.Hour)}
	tok, err := page.Keys{Current: page.DeriveKey([]byte(oldHTTP))}.Token(link, 7*24*time.Hour) // sent last week
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		env    map[string]string
		status int
	}{
		{"the HTTP secret rotated, the old one kept as previous", map[string]string{"ENVSHARE_HTTP_SECRET": newHTTP,
			"ENVSHARE_HTTP_SECRET_PREVIOUS": oldHTTP}, 200},
		{"a page secret set beside the HTTP secret the pages were derived from", map[string]string{"ENVSHARE_HTTP_SECRET": oldHTTP,
			"ENVSHARE_PAGE_SECRET": pageKey}, 200},
		{"a page secret set and the HTTP secret rotated, the old one kept as previous", map[string]string{"ENVSHARE_HTTP_SECRET": newHTTP,
			"ENVSHARE_HTTP_SECRET_PREVIOUS": oldHTTP, "ENVSHARE_PAGE_SECRET": pageKey}, 200},
		{"the HTTP secret rotated without the old one", map[string]string{"ENVSHARE_HTTP_SECRET": newHTTP}, 404},
		{"a previous page secret given: the derived key is no longer accepted", map[string]string{"ENVSHARE_HTTP_SECRET": oldHTTP,
			"ENVSHARE_PAGE_SECRET": pageKey, "ENVSHARE_PAGE_SECRET_PREVIOUS": "older-page-secret-0123456789"}, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := pageApp(t, now, tc.env)
			resp := app.HTTP(context.Background(), HTTPRequest{Method: "GET", Path: "/prod/confirm/" + tok})
			if resp.Status != tc.status {
				t.Errorf("GET /confirm/<last week's token> = %d, want %d", resp.Status, tc.status)
			}
		})
	}
}
