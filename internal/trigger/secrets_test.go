package trigger

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/config"
	"github.com/envshare/envshare/internal/store"
	"github.com/envshare/envshare/internal/testkit"
	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/wechat"
	"github.com/envshare/envshare/pkg/wxemu"
)

// The secret scan: every action, under every fault scenario, through the default wiring
// against the emulator, must keep every secret out of all the function outputs: its logs
// (debug level), its EMF lines, its answers and errors, and the notifications it sends.

// Recognisable secret values. '+', '/' and '=' make their URL-escaped forms differ, so a
// secret that leaks escaped (a request URL quoted in an error) is found as well.
const (
	scanToken        = "TOKEN-SCAN-7f3a9c+0b1/d2e="
	scanHTTPSecret   = "HTTPSECRET-SCAN-5e8d+2c4/a1b="
	scanNotifySecret = "NOTIFYSECRET-SCAN-3a7f+9e2/c4d="
	scanAppSecret    = "APPSECRET-SCAN-8b1c+6d3/f5a="
	scanTicket       = "TICKET-SCAN-2d9e+7a4/b6c="
	scanWebhookKey   = "WEBHOOKKEY-SCAN-6c2a+1f8/e3d=" // in the notification URL's query
	scanAppID        = "wxc0ffee0c0ffee0ab"            // the platform's appid: not a secret
)

// Token modes of the scan: a bare token in ENVSHARE_COMPONENT_ACCESS_TOKEN, or a file holding
// the platform's credentials, from which the function mints its token.
const (
	modeEnv  = "token from env"
	modeFile = "token minted from a credentials file"
)

// updateTheSecret is what an answer says when the token source still holds a rejected token.
const updateTheSecret = "the token source still holds the token WeChat rejected; update the secret"

// dropConnection makes the notification receiver close the connection without an answer.
const dropConnection = -1

// scanScenario is one way WeChat, the token source or the notification receiver misbehaves.
// Faults and the rotation apply after a warm-up invocation, so they hit a warm instance.
type scanScenario struct {
	name       string
	faults     []wxemu.Fault
	rotate     bool                  // the emulator rotates its tokens: the cached one answers 42001
	env        map[string]string     // on top of the scan's configuration
	deadlineAt bool                  // each invocation's deadline passes when WeChat receives a call; else in a minute
	wrongCreds bool                  // the emulator expects other platform credentials (file mode)
	malformed  bool                  // the token source holds a malformed value
	notify     int                   // the notification receiver's status; 0: 200
	fileOnly   bool                  // only for the token minted from a file
	healthy    bool                  // every authorised action must succeed
	envTells   string                // token from env: what every authorised answer must say
	saw        func(wxemu.Call) bool // a WeChat call the scenario must cause; nil: not checked
	logged     string                // what the function's logs must show the scenario caused
}

func scanScenarios() []scanScenario {
	status0 := func(c wxemu.Call) bool { return c.Status == 0 } // the caller gave up
	fault := func(k wxemu.FaultKind) func(wxemu.Call) bool {
		return func(c wxemu.Call) bool { return c.Fault == k }
	}
	errcode := func(code int) func(wxemu.Call) bool {
		return func(c wxemu.Call) bool { return c.ErrCode == code }
	}
	onAPIs := func(code int) []wxemu.Fault { // every call but minting answers code
		var fs []wxemu.Fault
		for _, ep := range []string{wxemu.EndpointShare, wxemu.EndpointUnshare, wxemu.EndpointGetEnvID} {
			fs = append(fs, wxemu.Fault{Endpoint: ep, Kind: wxemu.FaultErrCode, Code: code})
		}
		return fs
	}
	scenarios := []scanScenario{
		{name: "WeChat answers normally", healthy: true},
		{name: "WeChat is busy twice, then answers", faults: []wxemu.Fault{{Kind: wxemu.FaultBusy, Times: 2}}, saw: fault(wxemu.FaultBusy)},
		{name: "WeChat is busy forever", faults: []wxemu.Fault{{Kind: wxemu.FaultBusy}}, saw: fault(wxemu.FaultBusy)},
		{name: "WeChat answers HTTP 502", faults: []wxemu.Fault{{Kind: wxemu.FaultHTTP5xx, Status: 502}}, saw: fault(wxemu.FaultHTTP5xx)},
		{name: "WeChat drops the connection", faults: []wxemu.Fault{{Kind: wxemu.FaultDrop}}, saw: fault(wxemu.FaultDrop)},
		// The client gives up after 100ms: it always does (WeChat waits a minute), whether or not
		// the request reached WeChat by then on a busy machine, so the logs tell.
		{name: "WeChat answers after the HTTP timeout", faults: []wxemu.Fault{{Kind: wxemu.FaultLatency, Delay: time.Minute}},
			env: map[string]string{"ENVSHARE_HTTP_TIMEOUT": "100ms"}, logged: "Client.Timeout exceeded"},
		{name: "WeChat answers after the invocation's deadline", faults: []wxemu.Fault{{Kind: wxemu.FaultLatency, Delay: time.Minute}},
			env: map[string]string{"ENVSHARE_DEADLINE_MARGIN": "1ms"}, deadlineAt: true, saw: status0},
		{name: "WeChat rotated the token (42001)", rotate: true, saw: errcode(42001), envTells: updateTheSecret},
		{name: "minting with wrong platform credentials (40125)", wrongCreds: true, fileOnly: true,
			saw: func(c wxemu.Call) bool { return c.Endpoint == wxemu.EndpointComponentToken && c.ErrCode == 40125 }},
		{name: "the token source holds a malformed value", malformed: true},
		{name: "the notification receiver answers HTTP 500", notify: http.StatusInternalServerError, healthy: true},
		{name: "the notification receiver drops the connection", notify: dropConnection, healthy: true},
	}
	for _, code := range []int{40001, 40014, 45009, 45011, 48001, 61004, 85088} {
		sc := scanScenario{name: fmt.Sprintf("WeChat answers errcode %d", code), faults: onAPIs(code), saw: errcode(code)}
		switch code {
		case 40001, 40014: // a token error: the reload finds the same token
			sc.envTells = updateTheSecret
		case 45011: // the client waits for the next minute, on the rig's fake clock
			sc.logged = "waiting for the next minute"
		}
		scenarios = append(scenarios, sc)
	}
	return scenarios
}

// scanAction is one invocation of the function; it returns the answer as the caller sees it
// and its HTTP status (or the status of a message's error).
type scanAction struct {
	name       string
	authorised bool // carries the right credentials, so it reaches WeChat
	notifies   bool // leaves a confirmation link to notify when WeChat is healthy
	run        func(ctx context.Context, app *App) (answer string, status int)
}

var scanActions = []scanAction{
	{"POST /share", true, true, httpAction(scanPost("/share", `{"env":"prod-6gni9ity244a6ea3","appids":["wx1a2b3c4d5e6f7081","wx075cf85bf347b6df"]}`))},
	{"POST /unshare", true, false, httpAction(scanPost("/unshare", `{"env":"test-env-6gni9ity244a6ea3","appids":["wx5fe6bb43205e9e07"]}`))},
	{"GET /bindings", true, false, httpAction(scanBindings())},
	{"POST /reconcile with prune", true, true, httpAction(scanPost("/reconcile", `{"prune":true}`))},
	{"a direct share message", true, true, func(ctx context.Context, app *App) (string, int) {
		return messageAnswer(app.Message(ctx, []byte(`{"action":"share","env":"staging-8f2k4m6n1p3q5r7t","appids":["wx1a2b3c4d5e6f7081"]}`)))
	}},
	{"the scheduled reconcile", true, true, func(ctx context.Context, app *App) (string, int) {
		return messageAnswer(app.Scheduled(ctx))
	}},
	{"POST /share with a wrong bearer token", false, false, httpAction(withAuth(scanPost("/share", `{"env":"prod-6gni9ity244a6ea3","appids":["wx1a2b3c4d5e6f7081"]}`), "Bearer "+scanHTTPSecret+"x"))},
	{"POST /share with the secret as Basic credentials", false, false, httpAction(withAuth(scanPost("/share", `{"env":"prod-6gni9ity244a6ea3","appids":["wx1a2b3c4d5e6f7081"]}`), "Basic "+scanHTTPSecret))},
	{"GET /bindings without credentials", false, false, httpAction(withAuth(scanBindings(), ""))},
}

func scanPost(path, body string) HTTPRequest {
	return HTTPRequest{Method: "POST", Path: "/prod" + path, Body: body,
		Headers: map[string]string{"Authorization": "Bearer " + scanHTTPSecret}}
}

func scanBindings() HTTPRequest {
	return HTTPRequest{Method: "GET", Path: "/prod/bindings", Headers: map[string]string{"Authorization": "Bearer " + scanHTTPSecret},
		Query: map[string][]string{"appids": {"wx5fe6bb43205e9e07,wx0f1e2d3c4b5a6978"}}}
}

func withAuth(req HTTPRequest, authorization string) HTTPRequest {
	req.Headers = map[string]string{"Authorization": authorization}
	return req
}

func httpAction(req HTTPRequest) func(ctx context.Context, app *App) (string, int) {
	return func(ctx context.Context, app *App) (string, int) {
		resp := app.HTTP(ctx, req)
		return fmt.Sprintf("%d %v %s", resp.Status, resp.Headers, resp.Body), resp.Status
	}
}

// messageAnswer is what a direct invocation's caller sees: Answer's value or error, and the
// error Message returned.
func messageAnswer(res any, err error) (string, int) {
	v, answerErr := Answer(res, err)
	b, _ := json.Marshal(v)
	answer := string(b)
	for _, e := range []error{answerErr, err} {
		if e != nil {
			answer += "\n" + e.Error()
		}
	}
	var se *share.Error
	switch {
	case err == nil:
		return answer, http.StatusOK
	case errors.As(err, &se):
		return answer, statusOf(se.Code)
	default:
		return answer, http.StatusInternalServerError
	}
}

func TestNoOutputCarriesASecret(t *testing.T) {
	for _, mode := range []string{modeEnv, modeFile} {
		for _, sc := range scanScenarios() {
			if sc.fileOnly && mode != modeFile {
				continue
			}
			t.Run(mode+"/"+sc.name, func(t *testing.T) {
				// One instance and one emulator per action. The configuration is read from the
				// environment during each warm-up, one after the other; then the actions run
				// at the same time, which keeps the backoff waits of the retry scenarios short.
				rigs := make([]*scanRig, len(scanActions))
				for i := range scanActions {
					rigs[i] = newScanRig(t, mode, sc)
				}
				answers, statuses := make([]string, len(scanActions)), make([]int, len(scanActions))
				var wg sync.WaitGroup
				for i, act := range scanActions {
					wg.Go(func() {
						answers[i], statuses[i] = rigs[i].run(sc, act)
					})
				}
				wg.Wait()
				for i, act := range scanActions {
					t.Run(act.name, func(t *testing.T) {
						rigs[i].check(t, sc, act, answers[i], statuses[i])
					})
				}
			})
		}
	}
}

// scanRig is one function instance with its own emulator and notification receiver.
type scanRig struct {
	mode     string
	app      *App
	emu      *wxemu.Emulator
	servers  []*httptest.Server
	issued   *issuedTokens
	hook     *hookReceiver
	logs     *testkit.Buffer
	emf      *testkit.Buffer
	warmUp   string                                // the answer of the warm-up invocation
	rotated  string                                // the token the emulator rotated in, if it did
	deadline atomic.Pointer[testkit.DeadlineOnCue] // passes when WeChat receives a share, unshare or bindings call
}

// newScanRig starts an emulator and a notification receiver, sets the environment of the
// default wiring for them, and warms up a new App: its first invocation reads the
// configuration, so t's environment may change afterwards.
func newScanRig(t *testing.T, mode string, sc scanScenario) *scanRig {
	t.Helper()
	appSecret := scanAppSecret
	if sc.wrongCreds {
		appSecret = "APPSECRET-EXPECTED-BY-WECHAT"
	}
	opts := wxemu.Options{Strict: true, ComponentAppID: scanAppID, ComponentAppSecret: appSecret, ComponentVerifyTicket: scanTicket}
	if mode == modeEnv {
		opts.Tokens = []string{scanToken}
	}
	r := &scanRig{mode: mode, emu: wxemu.New(opts), issued: &issuedTokens{}, hook: &hookReceiver{status: sc.notify},
		logs: &testkit.Buffer{}, emf: &testkit.Buffer{}}
	if err := r.emu.Seed(wxemu.DemoState()); err != nil {
		t.Fatal(err)
	}
	emu := r.issued.record(r.emu)
	emuSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if d := r.deadline.Load(); d != nil && strings.HasPrefix(req.URL.Path, "/componenttcb/") {
			d.Pass()
		}
		emu.ServeHTTP(w, req)
	}))
	hookSrv := httptest.NewServer(r.hook)
	r.servers = []*httptest.Server{emuSrv, hookSrv}
	t.Cleanup(emuSrv.Close)
	t.Cleanup(hookSrv.Close)

	env := map[string]string{
		"ENVSHARE_WECHAT_BASE_URL": emuSrv.URL,
		"ENVSHARE_HTTP_AUTH":       "bearer",
		"ENVSHARE_HTTP_SECRET":     scanHTTPSecret,
		"ENVSHARE_NOTIFY_URL":      hookSrv.URL + "/hook?key=" + url.QueryEscape(scanWebhookKey),
		"ENVSHARE_NOTIFY_SECRET":   scanNotifySecret,
		"ENVSHARE_MANIFEST":        `{"envs":[{"env":"prod-6gni9ity244a6ea3","appids":["wx5fe6bb43205e9e07","wx1a2b3c4d5e6f7081"]}]}`,
		"ENVSHARE_ATTEMPTS":        "2",
		"ENVSHARE_RATE_LIMIT":      "0",
	}
	switch mode {
	case modeEnv:
		env["ENVSHARE_TOKEN_MODE"], env["ENVSHARE_COMPONENT_ACCESS_TOKEN"] = "env", scanToken
		if sc.malformed {
			env["ENVSHARE_COMPONENT_ACCESS_TOKEN"] = scanToken + " " + scanToken
		}
	case modeFile:
		creds := fmt.Sprintf(`{"component_appid":%q,"component_appsecret":%q,"component_verify_ticket":%q}`, scanAppID, scanAppSecret, scanTicket)
		if sc.malformed {
			creds = creds[:strings.Index(creds, scanAppSecret)+len(scanAppSecret)] // cut off after the secret
		}
		path := filepath.Join(t.TempDir(), "token.json")
		if err := os.WriteFile(path, []byte(creds+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		env["ENVSHARE_TOKEN_MODE"], env["ENVSHARE_TOKEN_FILE"] = "file", path
	}
	maps.Copy(env, sc.env)
	isolateEnv(t)
	for k, v := range env {
		t.Setenv(k, v)
	}

	// The WeChat client waits on a fake clock: backoffs and the next minute after 45011 are
	// instant, so the scan takes no real minute. The clock is a minute behind: the next minute
	// then always starts before the invocation's deadline, which is real time, however long
	// the rig took on a busy machine.
	clock := testkit.NewClock(time.Now().Add(-time.Minute))
	r.app = New(Options{
		Platform:    PlatformAWS,
		Logger:      slog.New(slog.NewJSONHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		MetricsOut:  r.emf,
		WeChatClock: clock.Now,
		WeChatWait:  clock.Wait,
	})
	r.warmUp, _ = httpAction(scanBindings())(context.Background(), r.app)
	r.emu.ResetCalls()
	return r
}

// run applies the scenario's faults, runs the action, and stops the servers, so that every
// call has been answered (and recorded) when it returns.
func (r *scanRig) run(sc scanScenario, act scanAction) (answer string, status int) {
	defer func() {
		for _, s := range r.servers {
			s.Close()
		}
	}()
	for _, f := range sc.faults {
		if err := r.emu.AddFault(f); err != nil {
			return "bad fault: " + err.Error(), 0
		}
	}
	if sc.rotate {
		r.rotated = r.emu.RotateToken()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if sc.deadlineAt { // armed after the warm-up
		d := testkit.NewDeadlineOnCue()
		r.deadline.Store(d)
		return act.run(d, r.app)
	}
	return act.run(ctx, r.app)
}

// check scans every output for every secret and checks that the scenario happened.
func (r *scanRig) check(t *testing.T, sc scanScenario, act scanAction, answer string, status int) {
	t.Helper()
	secrets := []string{scanToken, scanHTTPSecret, scanNotifySecret, scanAppSecret, scanTicket, scanWebhookKey, r.emu.Token()}
	if r.rotated != "" {
		secrets = append(secrets, r.rotated)
	}
	secrets = append(secrets, r.issued.all()...)
	assertNoSecrets(t, secrets, map[string]string{
		"the answer":         answer,
		"the warm-up answer": r.warmUp,
		"the logs":           r.logs.String(),
		"the EMF lines":      r.emf.String(),
		"the notifications":  r.hook.String(),
	})

	switch {
	case !act.authorised && status != http.StatusUnauthorized:
		t.Errorf("status %d, want 401: %s", status, answer)
	case act.authorised && sc.healthy && status != http.StatusOK:
		t.Errorf("status %d, want 200: %s", status, answer)
	}
	if act.authorised && sc.envTells != "" && r.mode == modeEnv && !strings.Contains(answer, sc.envTells) {
		t.Errorf("the answer does not say %q: %s", sc.envTells, answer)
	}
	if act.authorised && sc.healthy && act.notifies && r.hook.count() == 0 {
		t.Errorf("no notification was sent; the scan of notifications proves nothing")
	}
	if act.authorised && sc.saw != nil && !slices.ContainsFunc(r.emu.CallLog(), sc.saw) {
		t.Errorf("the scenario did not happen: calls %+v", r.emu.CallLog())
	}
	if act.authorised && sc.logged != "" && !strings.Contains(r.logs.String(), sc.logged) {
		t.Errorf("the scenario did not happen: the logs do not show %q", sc.logged)
	}
	if strings.Count(r.logs.String(), `"level":"DEBUG"`) == 0 {
		t.Errorf("no debug lines were logged; the scan of the logs proves little")
	}
}

// assertNoSecrets fails t if any output (name → text) holds a secret, as is or URL-escaped.
// It shows the offending line; the values are test values. (eventtest.CheckNoSecrets does the
// same, but eventtest imports this package.)
func assertNoSecrets(t *testing.T, secrets []string, outputs map[string]string) {
	t.Helper()
	for _, name := range slices.Sorted(maps.Keys(outputs)) {
		for _, secret := range secrets {
			if secret == "" {
				continue
			}
			forms := []string{secret}
			for _, f := range []string{url.QueryEscape(secret), url.PathEscape(secret)} {
				if !slices.Contains(forms, f) {
					forms = append(forms, f)
				}
			}
			for _, form := range forms {
				for line := range strings.Lines(outputs[name]) {
					if strings.Contains(line, form) {
						t.Errorf("secret %.12s... found in %s: %s", secret, name, strings.TrimSpace(line))
						break
					}
				}
			}
		}
	}
}

// issuedTokens notes every token the emulator mints: they are secrets too.
type issuedTokens struct {
	mu     sync.Mutex
	tokens []string
}

func (it *issuedTokens) record(emu http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != wechat.PathComponentToken {
			emu.ServeHTTP(w, r)
			return
		}
		tee := &teeWriter{ResponseWriter: w}
		emu.ServeHTTP(tee, r)
		var ans wechat.ComponentTokenResponse
		if json.Unmarshal(tee.body.Bytes(), &ans) == nil && ans.ComponentAccessToken != "" {
			it.mu.Lock()
			it.tokens = append(it.tokens, ans.ComponentAccessToken)
			it.mu.Unlock()
		}
	})
}

func (it *issuedTokens) all() []string {
	it.mu.Lock()
	defer it.mu.Unlock()
	return slices.Clone(it.tokens)
}

// teeWriter keeps a copy of the answer; it can still be hijacked (the emulator's drop fault).
type teeWriter struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (w *teeWriter) Write(p []byte) (int, error) {
	w.body.Write(p)
	return w.ResponseWriter.Write(p)
}

func (w *teeWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// hookReceiver receives notifications: it keeps their headers and bodies and answers status
// (0: 200; dropConnection: no answer at all).
type hookReceiver struct {
	status int

	mu       sync.Mutex
	received []string
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var b strings.Builder
	_ = r.Header.Write(&b)
	b.Write(body)
	h.mu.Lock()
	h.received = append(h.received, b.String())
	h.mu.Unlock()
	switch h.status {
	case 0:
		w.WriteHeader(http.StatusOK)
	case dropConnection:
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
	default:
		w.WriteHeader(h.status)
	}
}

func (h *hookReceiver) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.received)
}

func (h *hookReceiver) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(h.received, "\n")
}

// echoWeChat is an upstream that echoes everything it receives (the access token, the
// app secret, the ticket) into every text field of its answers: errmsg, err_list, msg_info_list
// URLs. refuse makes every call a request-level error echoing them.
func echoWeChat(t *testing.T, refuse bool) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		echo := fmt.Sprintf("you sent %s with access_token %s", body, r.URL.Query().Get("access_token"))
		var in struct {
			Data   []wechat.EnvAppIDs `json:"data"`
			AppIDs []string           `json:"appids"`
		}
		_ = json.Unmarshal(body, &in)
		w.Header().Set("Content-Type", "application/json")
		if refuse {
			json.NewEncoder(w).Encode(map[string]any{"errcode": 48001, "errmsg": echo})
			return
		}
		switch r.URL.Path {
		case wechat.PathComponentToken:
			json.NewEncoder(w).Encode(map[string]any{"component_access_token": "minted-echo-token-0123456789", "expires_in": 7200, "errmsg": echo})
		case wechat.PathShareEnv:
			resp := wechat.ShareEnvResponse{ErrMsg: echo}
			for _, d := range in.Data {
				for i, a := range d.AppIDs {
					if i == 0 {
						resp.ErrList = append(resp.ErrList, wechat.EnvError{Env: d.Env, AppID: a, ErrMsg: echo})
					} else {
						resp.MsgInfoList = append(resp.MsgInfoList, wechat.MsgInfo{AppID: a, URL: "https://open.weixin.qq.com/confirm?" + echo})
					}
				}
			}
			json.NewEncoder(w).Encode(resp)
		case wechat.PathGetEnvID:
			resp := wechat.GetEnvIDResponse{ErrMsg: echo}
			for _, a := range in.AppIDs {
				resp.ErrList = append(resp.ErrList, wechat.AppError{AppID: a, ErrMsg: echo})
			}
			json.NewEncoder(w).Encode(resp)
		default:
			json.NewEncoder(w).Encode(map[string]any{"errcode": 0, "errmsg": echo})
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// echoingStore is the state record's store, whose errors quote what it holds, as a careless
// secret store might.
type echoingStore struct {
	store.File
	fail bool
}

func (s *echoingStore) Get(ctx context.Context, id string) (string, error) {
	v, err := s.File.Get(ctx, id)
	if s.fail {
		return "", fmt.Errorf("store refused to read %s, which holds %s", id, v)
	}
	return v, err
}

func TestNoOutputCarriesASecretEvenWhenTheUpstreamEchoesIt(t *testing.T) {
	const (
		appSecret    = "echo-app-secret-7f3a9c"
		ticket       = "ticket@@@echo-ticket-51b2e8"
		notifySecret = "echo-notify-secret-0123"
		pageSecret   = "echo-page-secret-456789"
	)
	for _, refuse := range []bool{false, true} {
		t.Run(fmt.Sprintf("refusing=%v", refuse), func(t *testing.T) {
			dir := t.TempDir()
			creds, state := filepath.Join(dir, "creds.json"), filepath.Join(dir, "state.json")
			writeJSON(t, creds, map[string]string{"component_appid": loopAppID, "component_appsecret": appSecret,
				"component_token": loopMsgToken, "component_encoding_aes_key": loopAESKey, "component_verify_ticket": ticket})
			os.WriteFile(state, []byte("{}"), 0o600)
			notices := &receiver{}
			var noticeBodies strings.Builder
			notify := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				noticeBodies.Write(b)
				noticeBodies.WriteByte('\n')
				notices.ServeHTTP(w, r)
			}))
			defer notify.Close()
			isolateEnv(t)
			for k, v := range map[string]string{
				"ENVSHARE_WECHAT_BASE_URL": echoWeChat(t, refuse), "ENVSHARE_TOKEN_MODE": "aws-secretsmanager",
				"ENVSHARE_TOKEN_SECRET_ID": creds, "ENVSHARE_STATE_ID": state, "ENVSHARE_HTTP_AUTH": "bearer",
				"ENVSHARE_HTTP_SECRET": testSecret, "ENVSHARE_NOTIFY_URL": notify.URL, "ENVSHARE_NOTIFY_SECRET": notifySecret,
				"ENVSHARE_PAGE_SECRET": pageSecret, "ENVSHARE_PUBLIC_URL": loopPublicURL, "ENVSHARE_RATE_LIMIT": "0",
				"ENVSHARE_ATTEMPTS": "1", "ENVSHARE_LOG_LEVEL": "debug",
			} {
				t.Setenv(k, v)
			}
			stateStore := &echoingStore{}
			var logs, emf testkit.Buffer
			app := New(Options{Platform: PlatformAWS, MetricsOut: &emf,
				Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
				Cloud: Cloud{Stores: map[string]func(config.Config) (store.Store, store.Store, error){
					// The "cloud" stores are files here: what matters is what they echo.
					"aws-secretsmanager": func(config.Config) (store.Store, store.Store, error) { return store.File{}, stateStore, nil },
				}}})
			ctx := context.Background()
			var outputs []string
			keep := func(v any, err error) {
				b, _ := json.Marshal(v)
				outputs = append(outputs, string(b))
				if err != nil {
					outputs = append(outputs, err.Error())
				}
			}
			keep(Answer(app.Message(ctx, []byte(`{"action":"refresh"}`)))) // mints from the seed ticket
			token := "minted-echo-token-0123456789"
			for _, req := range []HTTPRequest{
				{Method: "POST", Path: "/share", Headers: bearer(), Body: `{"env":"prod-6gni9ity244a6ea3","appids":["wx5fe6bb43205e9e07","wx1a2b3c4d5e6f7081"]}`},
				{Method: "POST", Path: "/unshare", Headers: bearer(), Body: `{"env":"prod-6gni9ity244a6ea3","appids":["wx5fe6bb43205e9e07"]}`},
				{Method: "GET", Path: "/bindings", Headers: bearer(), Query: map[string][]string{"appids": {"wx5fe6bb43205e9e07"}}},
				{Method: "POST", Path: "/reconcile", Headers: bearer(), Body: `{"envs":[{"env":"prod-6gni9ity244a6ea3","appids":["wx5fe6bb43205e9e07"]}]}`},
			} {
				resp := app.HTTP(ctx, req)
				outputs = append(outputs, resp.Body)
			}
			stateStore.fail = true // the store's error now quotes the record, token and ticket included
			keep(Answer(app.Message(ctx, []byte(`{"action":"refresh","force":true}`))))
			all := strings.Join(outputs, "\n") + "\n" + logs.String() + "\n" + emf.String() + "\n" + noticeBodies.String()
			t.Logf("%d bytes of output, %d masks; answers: %.600s", len(all), strings.Count(all, "[redacted]"), strings.Join(outputs, " | "))
			if !strings.Contains(all, "[redacted]") {
				t.Fatal("nothing was echoed: the test proves nothing")
			}
			for name, secret := range map[string]string{"the token": token, "the app secret": appSecret, "the ticket": ticket,
				"the HTTP secret": testSecret, "the notify secret": notifySecret, "the page secret": pageSecret,
				"the message token": loopMsgToken, "the AES key": loopAESKey} {
				for line := range strings.Lines(all) {
					if strings.Contains(line, secret) {
						t.Errorf("%s leaked: %.300s", name, line)
						break
					}
				}
			}
		})
	}
}

// cloudCredentials are what AWS Lambda and Tencent SCF put in the environment (SCF with each
// invocation): the secret halves of the function role's credentials.
var cloudCredentials = map[string]string{
	"AWS_SECRET_ACCESS_KEY":     "AWSSECRET-wJalrXUtnFEMI/K7MDENG+bPxRfiCY",
	"AWS_SESSION_TOKEN":         "AWSSESSION-IQoJb3JpZ2luX2VjE+AaCXVzLWVhc3QtMSJH/MEUCIQ==",
	"TENCENTCLOUD_SECRETKEY":    "TCSECRET-Gu5t9xGARNpq86cd98joQYCN3Cozk1qA",
	"TENCENTCLOUD_SESSIONTOKEN": "TCSESSION-ekfvBbN2m/wMbK+e8lrHeFo6WQJ3vjnb==",
}

// credentialEcho is text that quotes every cloud credential, as a proxy that echoes a signed
// request's headers would.
func credentialEcho() string {
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(cloudCredentials)) {
		fmt.Fprintf(&b, " %s=%s", name, os.Getenv(name))
	}
	return b.String()
}

// credentialsEchoingStore is a state record holding a token, whose every write fails with an
// error that quotes the cloud credentials.
type credentialsEchoingStore struct{}

func (credentialsEchoingStore) Get(context.Context, string) (string, error) {
	return `{"component_access_token":"token-of-the-credentials-scan","expires_at":"2099-01-01T00:00:00Z"}`, nil
}

func (credentialsEchoingStore) Put(context.Context, string, string) error {
	return errors.New("proxy refused PutSecretValue:" + credentialEcho())
}

// Cloud credentials (issue 23 #2) reach no answer, log line or notification, even when WeChat
// (or a proxy in front of it) and a store echo them.
func TestCloudCredentialsAreMaskedEverywhere(t *testing.T) {
	isolateEnv(t)
	for k, v := range cloudCredentials {
		t.Setenv(k, v)
	}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Data []wechat.EnvAppIDs `json:"data"`
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		resp := wechat.ShareEnvResponse{}
		for _, d := range in.Data {
			resp.ErrList = append(resp.ErrList, wechat.EnvError{Env: d.Env, AppID: d.AppIDs[0], ErrMsg: "denied:" + credentialEcho()})
			for _, a := range d.AppIDs[1:] {
				resp.MsgInfoList = append(resp.MsgInfoList, wechat.MsgInfo{AppID: a,
					URL: "https://mp.weixin.qq.com/wxopen/confirm?e=" + url.QueryEscape(credentialEcho())})
			}
		}
		json.NewEncoder(w).Encode(resp)
	}))
	defer upstream.Close()
	var notices testkit.Buffer
	notify := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(&notices, r.Body)
	}))
	defer notify.Close()
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials.json")
	writeJSON(t, creds, map[string]string{"component_access_token": "token-of-the-credentials-scan"})
	for k, v := range map[string]string{"ENVSHARE_WECHAT_BASE_URL": upstream.URL, "ENVSHARE_TOKEN_MODE": "aws-secretsmanager",
		"ENVSHARE_TOKEN_SECRET_ID": creds, "ENVSHARE_STATE_ID": "envshare/state", "ENVSHARE_HTTP_AUTH": "bearer",
		"ENVSHARE_HTTP_SECRET": testSecret, "ENVSHARE_NOTIFY_URL": notify.URL, "ENVSHARE_ATTEMPTS": "1",
		"ENVSHARE_LOG_LEVEL": "debug"} {
		t.Setenv(k, v)
	}
	var logs, emf testkit.Buffer
	app := New(Options{Platform: PlatformAWS, MetricsOut: &emf,
		Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Cloud: Cloud{Stores: map[string]func(config.Config) (store.Store, store.Store, error){
			"aws-secretsmanager": func(config.Config) (store.Store, store.Store, error) {
				return store.File{}, credentialsEchoingStore{}, nil
			}}}})
	ctx := context.Background()
	var outputs []string
	resp := app.HTTP(ctx, post("/share", `{"env":"prod-6gni9ity244a6ea3","appids":["wx5fe6bb43205e9e07","wx1a2b3c4d5e6f7081"]}`))
	outputs = append(outputs, resp.Body)
	v, err := Answer(app.Message(ctx, []byte(`{"action":"refresh","force":true}`))) // the state record's store echoes too
	b, _ := json.Marshal(v)
	outputs = append(outputs, string(b), fmt.Sprint(err))
	all := strings.Join(outputs, "\n") + "\n" + logs.String() + "\n" + emf.String() + "\n" + notices.String()
	for _, echoed := range []string{"denied: AWS_SECRET_ACCESS_KEY=", "proxy refused PutSecretValue: AWS_SECRET_ACCESS_KEY=",
		"mp.weixin.qq.com/wxopen/confirm?e="} {
		if !strings.Contains(all, echoed) {
			t.Fatalf("the outputs lack %q: the test proves nothing:\n%.3000s", echoed, all)
		}
	}
	for name, value := range cloudCredentials {
		for _, form := range []string{value, url.QueryEscape(value)} {
			if strings.Contains(all, form) {
				t.Errorf("%s leaked: %.2000s", name, all)
			}
		}
	}
}

// servingInstance is a fresh instance wired as deployed with a state record (mode file) that
// holds a token: it serves without ever having minted, handled a push or refreshed. upstream
// is WeChat's base URL; state wraps the state record's store.
func servingInstance(t *testing.T, upstream string, state func(store.Store) store.Store) (*App, *testkit.Buffer) {
	t.Helper()
	dir := t.TempDir()
	creds, record := filepath.Join(dir, "credentials.json"), filepath.Join(dir, "state.json")
	writeJSON(t, creds, map[string]string{"component_appid": loopAppID, "component_appsecret": loopAppSecret,
		"component_token": loopMsgToken, "component_encoding_aes_key": loopAESKey})
	writeJSON(t, record, map[string]string{"component_access_token": servedToken, "expires_at": "2099-01-01T00:00:00Z",
		"component_verify_ticket": servedTicket, "ticket_create_time": "2026-12-01T08:00:00Z"})
	isolateEnv(t)
	for k, v := range map[string]string{"ENVSHARE_WECHAT_BASE_URL": upstream, "ENVSHARE_TOKEN_MODE": "aws-secretsmanager",
		"ENVSHARE_TOKEN_SECRET_ID": creds, "ENVSHARE_STATE_ID": record, "ENVSHARE_HTTP_AUTH": "bearer",
		"ENVSHARE_HTTP_SECRET": testSecret, "ENVSHARE_ATTEMPTS": "1", "ENVSHARE_LOG_LEVEL": "debug"} {
		t.Setenv(k, v)
	}
	logs := &testkit.Buffer{}
	app := New(Options{Platform: PlatformAWS, MetricsOut: discard{},
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Cloud: Cloud{Stores: map[string]func(config.Config) (store.Store, store.Store, error){
			"aws-secretsmanager": func(config.Config) (store.Store, store.Store, error) { return store.File{}, state(store.File{}), nil },
		}}})
	return app, logs
}

// The values of the serving instance's records.
const (
	servedToken  = "served-token-0123456789abcdef"
	servedTicket = "ticket@@@served-ticket-0123456789"
)

// failingFirstRead is a state record's store whose first read fails with an error that quotes
// the record, as a careless store might.
type failingFirstRead struct {
	store.Store
	reads atomic.Int32
}

func (s *failingFirstRead) Get(ctx context.Context, id string) (string, error) {
	v, err := s.Store.Get(ctx, id)
	if s.reads.Add(1) == 1 {
		return "", fmt.Errorf("store refused to read %s, which holds %s", id, v)
	}
	return v, err
}

// Redaction does not depend on what the instance has read (issue 23 #4): a fresh serving
// instance masks the app secret, the message token and the AES key before any push, refresh or
// event has made it read them, and a store whose first read fails quoting the record puts
// neither the token nor the ticket in an answer or a log line.
func TestRedactionDoesNotDependOnWhatTheInstanceHasRead(t *testing.T) {
	secrets := map[string]string{"the app secret": loopAppSecret, "the message token": loopMsgToken,
		"the AES key": loopAESKey, "the token": servedToken, "the ticket": servedTicket}
	echo := "echo " + loopAppSecret + " " + loopMsgToken + " " + loopAESKey
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"errcode": 48001, "errmsg": echo})
	}))
	defer upstream.Close()
	share := post("/share", `{"env":"prod-6gni9ity244a6ea3","appids":["wx5fe6bb43205e9e07"]}`)
	for _, tc := range []struct {
		name   string
		state  func(store.Store) store.Store
		echoed string // what the first answer must show, so that the test proves something
	}{
		{"WeChat echoes the credentials secret's values to a fresh serving instance",
			func(s store.Store) store.Store { return s }, "echo [redacted]"},
		{"the state record's first read fails quoting the record",
			func(s store.Store) store.Store { return &failingFirstRead{Store: s} }, "store refused to read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app, logs := servingInstance(t, upstream.URL, tc.state)
			first := app.HTTP(context.Background(), share)
			if !strings.Contains(first.Body, tc.echoed) {
				t.Fatalf("the answer %s does not show %q: the test proves nothing", first.Body, tc.echoed)
			}
			second := app.HTTP(context.Background(), share)
			all := first.Body + "\n" + second.Body + "\n" + logs.String()
			for name, secret := range secrets {
				if strings.Contains(all, secret) {
					t.Errorf("%s leaked: %.1500s", name, all)
				}
			}
		})
	}
}
