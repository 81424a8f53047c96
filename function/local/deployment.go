package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/envshare/envshare/internal/ledger"
	"github.com/envshare/envshare/internal/ledger/sqliteledger"
	"github.com/envshare/envshare/internal/notify"
	"github.com/envshare/envshare/internal/trigger"
	"github.com/envshare/envshare/pkg/signature"
	"github.com/envshare/envshare/pkg/wxemu"
)

// Local values. They guard nothing (everything listens on 127.0.0.1 only), so the printed
// examples may show them.
const (
	localToken      = "local-component-access-token" // the emulator's fixed token (ENVSHARE_TOKEN_MODE=env)
	localSecret     = "local-http-secret"
	localPageSecret = "local-confirmation-page-key"
	localAppID      = "wx9f8e7d6c5b4a3921" // the platform's component_appid
	onboardEnv      = "prod-6gni9ity244a6ea3"
)

// demoEnvs are the explicit pairs the demo reconciles: Acme's envs and Mini Programs.
const demoEnvs = `"envs":[
 {"env":"prod-6gni9ity244a6ea3","appids":["wx5fe6bb43205e9e07","wx075cf85bf347b6df","wx1a2b3c4d5e6f7081"]},
 {"env":"staging-8f2k4m6n1p3q5r7t","appids":["wx075cf85bf347b6df"]},
 {"env":"test-env-6gni9ity244a6ea3","appids":["wx075cf85bf347b6df"]}]`

// demoManifest is the desired state the demo reconciles (ENVSHARE_MANIFEST by default): the
// demo fleet's three customers, each with its own env, and Acme's explicit pairs.
const demoManifest = `{"source_type":1,"prune":true,"customers":[
 {"principal":"Acme Cloud Co., Ltd.","envs":["prod-6gni9ity244a6ea3"]},
 {"principal":"Globex Trading Ltd.","envs":["globex-prod-3h5j7k9m2n4p6q8r"]},
 {"principal":"深圳市示例科技有限公司","envs":["cust-a-7f3k2m"]}],
 ` + demoEnvs + `}`

// demoManifestWithoutLedger is the manifest when ENVSHARE_LEDGER is exported empty: customers
// need a ledger.
const demoManifestWithoutLedger = `{"source_type":1,"prune":true,` + demoEnvs + `}`

// credentials is the platform's credentials secret as the function reads it (mode file).
// Made up afresh for each run; the emulator gets the same, as WeChat and the operator share
// them.
type credentials struct {
	AppID     string `json:"component_appid"`
	AppSecret string `json:"component_appsecret"`
	Token     string `json:"component_token"`            // message verification token
	AESKey    string `json:"component_encoding_aes_key"` // 43 characters
}

func newCredentials() credentials {
	key := make([]byte, 32)
	rand.Read(key)
	return credentials{AppID: localAppID, AppSecret: rand.Text(), Token: rand.Text(),
		AESKey: base64.RawStdEncoding.EncodeToString(key)}
}

// deployOptions say where a local deployment listens and what it logs.
type deployOptions struct {
	Addr         string    // the function's loopback address; port 0: any free port
	EmulatorAddr string    // the emulator's
	State        string    // the emulator's state JSON; "": the demo fleet
	LogJSON      io.Writer // the function's JSON log lines; nil: not written
	LogHuman     io.Writer // the same records, one short line each for a person; nil: not written
}

// deployment is envshare deployed on this machine: the real handler (trigger.App, which both
// platform adapters call) behind an HTTP listener, configured like a deployment with one
// minter (a credentials file, a state record, onboarding, confirmation pages, notifications);
// the WeChat emulator with the same platform credentials, pushing its events to the
// function's /wechat/events; and a receiver standing in for the operator's ENVSHARE_NOTIFY_URL.
type deployment struct {
	URL         string // the function, e.g. http://127.0.0.1:8080
	EmulatorURL string
	Emu         *wxemu.Emulator
	App         *trigger.App
	Settings    settings
	Notices     <-chan notice // what arrived at the notification receiver
	close       []func()
}

// deploy starts a local deployment and prints its configuration to out. Close stops it.
func deploy(out io.Writer, opts deployOptions) (_ *deployment, err error) {
	d := &deployment{}
	defer func() {
		if err != nil {
			d.Close() // what was started so far
		}
	}()
	fnLn, err := listen(opts.Addr)
	if err != nil {
		return nil, err
	}
	d.close = append(d.close, func() { fnLn.Close() })
	emuLn, err := listen(opts.EmulatorAddr)
	if err != nil {
		return nil, err
	}
	d.close = append(d.close, func() { emuLn.Close() })
	notifyLn, err := listen("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	d.close = append(d.close, func() { notifyLn.Close() })
	d.URL, d.EmulatorURL = "http://"+fnLn.Addr().String(), "http://"+emuLn.Addr().String()

	dir, err := os.MkdirTemp("", "envshare-local-")
	if err != nil {
		return nil, err
	}
	d.close = append(d.close, func() { os.RemoveAll(dir) })
	creds := newCredentials()
	if err := writeJSON(filepath.Join(dir, "credentials.json"), creds); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "state.json"), []byte("{}\n"), 0o600); err != nil {
		return nil, err
	}

	d.Emu = wxemu.New(wxemu.Options{Tokens: []string{localToken}, Strict: true,
		ComponentAppID: creds.AppID, ComponentAppSecret: creds.AppSecret,
		PushURL: d.URL + "/wechat/events", MessageToken: creds.Token, EncodingAESKey: creds.AESKey})
	if err := seed(d.Emu, opts.State, wxemu.DemoState()); err != nil {
		return nil, fmt.Errorf("seed the emulator: %w", err)
	}

	d.Settings, err = resolve(localDefaults(d.URL, d.EmulatorURL, "http://"+notifyLn.Addr().String(), dir, creds), fromLocal)
	d.Settings.print(out)
	if err != nil {
		return nil, err
	}
	d.App = trigger.New(trigger.Options{Platform: "local", Cloud: trigger.Cloud{Name: "local", Ledgers: []ledger.Engine{sqliteledger.Engine}},
		Logger: logger(opts.LogJSON, opts.LogHuman, d.Settings.cfg.LogLevel)})

	// Everything is set up: serve.
	notices := make(chan notice, 256)
	d.Notices = notices
	d.serve(fnLn, httpAdapter(d.App))
	d.serve(notifyLn, receiver(d.Settings.cfg.NotifyKey(), notices))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		wxemu.Serve(ctx, emuLn, d.Emu) // its error, after Close, is of no interest
	}()
	d.close = append(d.close, func() { cancel(); <-done })
	return d, nil
}

// seed seeds emu with the state JSON file, or with def when file is "".
func seed(emu *wxemu.Emulator, file string, def wxemu.State) error {
	if file != "" {
		return emu.SeedFile(file)
	}
	return emu.Seed(def)
}

// localDefaults is the local configuration. The token settings follow ENVSHARE_TOKEN_MODE
// when it is exported: mode env gets the emulator's fixed token and the platform's values as
// variables; mode file (the default) a credentials file and a state record, like a deployment.
// The fleet ledger is an SQLite file beside them, and the manifest names the demo fleet's
// customers; with ENVSHARE_LEDGER exported empty, there is no ledger, and every Mini Program
// that authorizes gets ENVSHARE_ONBOARD_ENVS instead.
func localDefaults(fnURL, emuURL, notifyURL, dir string, creds credentials) map[string]string {
	d := map[string]string{
		"ENVSHARE_WECHAT_BASE_URL": emuURL,
		"ENVSHARE_HTTP_AUTH":       "bearer",
		"ENVSHARE_HTTP_SECRET":     localSecret,
		"ENVSHARE_MANIFEST":        demoManifest,
		"ENVSHARE_LEDGER":          "sqlite:" + filepath.Join(dir, "ledger.db"),
		"ENVSHARE_PUBLIC_URL":      fnURL,
		"ENVSHARE_PAGE_SECRET":     localPageSecret,
		"ENVSHARE_NOTIFY_URL":      notifyURL,
	}
	if v, ok := os.LookupEnv("ENVSHARE_LEDGER"); ok && v == "" {
		d["ENVSHARE_MANIFEST"], d["ENVSHARE_ONBOARD_ENVS"] = demoManifestWithoutLedger, onboardEnv
	}
	switch os.Getenv("ENVSHARE_TOKEN_MODE") {
	case "", "file":
		d["ENVSHARE_TOKEN_MODE"] = "file"
		d["ENVSHARE_TOKEN_FILE"] = filepath.Join(dir, "credentials.json")
		d["ENVSHARE_STATE_ID"] = filepath.Join(dir, "state.json")
	case "env":
		d["ENVSHARE_COMPONENT_ACCESS_TOKEN"] = localToken
		d["ENVSHARE_COMPONENT_APPID"] = creds.AppID
		d["ENVSHARE_COMPONENT_TOKEN"] = creds.Token
		d["ENVSHARE_COMPONENT_AES_KEY"] = creds.AESKey
	}
	return d
}

// serve serves h on ln until Close, which waits up to 5 s for requests in flight.
func (d *deployment) serve(ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	d.close = append(d.close, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
}

// Close stops everything deploy started, the last started first, and removes the files.
func (d *deployment) Close() {
	for i := len(d.close) - 1; i >= 0; i-- {
		d.close[i]()
	}
	d.close = nil
}

// prime does what WeChat and the refresh schedule have done before a deployment's first
// request: push a ticket, which the function stores, and refresh, which mints a token from it.
// Without a state record (mode env) there is nothing to do.
func (d *deployment) prime(ctx context.Context) error {
	if d.Settings.cfg.StateID == "" {
		return nil
	}
	if _, err := d.Emu.PushTicket(ctx); err != nil {
		return fmt.Errorf("the emulator's ticket push to %s/wechat/events: %w", d.URL, err)
	}
	if _, err := d.App.Message(ctx, []byte(`{"action":"refresh"}`)); err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	return nil
}

// call sends an HTTP request to the function with the credentials its configuration asks for
// (ENVSHARE_HTTP_AUTH), as a client would. target is a route with its query, such as
// "/bindings?appids=wx1".
func (d *deployment) call(ctx context.Context, method, target, body string) (status int, answer []byte, err error) {
	u, err := url.Parse(target)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, d.URL+target, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	cfg := d.Settings.cfg
	switch cfg.HTTPAuth {
	case "bearer":
		req.Header.Set("Authorization", "Bearer "+cfg.HTTPSecret)
	case "hmac":
		ts := time.Now().Unix()
		signed := signature.Request{Method: method, Route: u.Path, Query: u.Query()}
		if method != http.MethodGet {
			signed.Body = []byte(body)
		}
		req.Header.Set(signature.TimestampHeader, strconv.FormatInt(ts, 10))
		req.Header.Set(signature.SignatureHeader, signature.SignRequest(cfg.HTTPSecret, ts, signed))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	answer, err = io.ReadAll(resp.Body)
	return resp.StatusCode, answer, err
}

// notice is one notification the function sent to ENVSHARE_NOTIFY_URL: confirmation links
// (action share, unshare, reconcile) or an authorization event: without a ledger its event is
// an object, with one its kind, beside the appid, principal and outcome (contract section 8).
type notice struct {
	Signed    bool            `json:"-"` // the signature checked out with the notification key
	Action    string          `json:"action"`
	Links     []notify.Link   `json:"links"`
	Event     json.RawMessage `json:"event"`
	AppID     string          `json:"appid"`
	Principal string          `json:"principal"`
	Outcome   string          `json:"outcome"`
	Envs      []string        `json:"envs"`
	Onboard   *struct {
		Envs   []string `json:"envs"`
		Status string   `json:"status"`
	} `json:"onboard"`
}

// noticeEvent is the event of a notification without a ledger.
type noticeEvent struct {
	InfoType        string `json:"info_type"`
	AuthorizerAppID string `json:"authorizer_appid"`
}

// receiver stands in for the operator's notification endpoint: it checks each POST's
// signature and hands the notification on. A full channel holds the sender until its
// request is cancelled, which never happens to a reader that keeps up.
func receiver(key string, notices chan<- notice) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
		var n notice
		if err == nil {
			err = json.Unmarshal(body, &n)
		}
		if err != nil {
			http.Error(w, "not a notification", http.StatusBadRequest)
			return
		}
		n.Signed = signature.Verify(key, r.Header.Get(signature.TimestampHeader),
			r.Header.Get(signature.SignatureHeader), body, time.Now()) == nil
		select {
		case notices <- n:
		case <-r.Context().Done():
		}
	})
}

// describe is a notification in one line per link, for a person.
func (n notice) describe() []string {
	check := "signature ok"
	if !n.Signed {
		check = "SIGNATURE INVALID"
	}
	var lines []string
	var ev noticeEvent
	var kind string
	switch {
	case n.Outcome != "" && json.Unmarshal(n.Event, &kind) == nil:
		line := fmt.Sprintf("notification %q (%s): %s by %s (%s): %s", n.Action, check, kind, n.AppID, n.Principal, n.Outcome)
		if len(n.Envs) > 0 {
			line += " " + strings.Join(n.Envs, ", ")
		}
		lines = append(lines, line)
	case json.Unmarshal(n.Event, &ev) == nil && ev.InfoType != "":
		line := fmt.Sprintf("notification %q (%s): %s by %s", n.Action, check, ev.InfoType, ev.AuthorizerAppID)
		if n.Onboard != nil {
			line += fmt.Sprintf(", onboarding %s: %s", strings.Join(n.Onboard.Envs, ", "), n.Onboard.Status)
		}
		lines = append(lines, line)
	default:
		lines = append(lines, fmt.Sprintf("notification %q (%s): %d confirmation link(s)", n.Action, check, len(n.Links)))
		for _, l := range n.Links {
			lines = append(lines, fmt.Sprintf("  %s  %s  page %s", l.Env, l.AppID, orNone(l.ConfirmPage)))
		}
	}
	return lines
}

func orNone(s string) string {
	if s == "" {
		return "(none: ENVSHARE_PUBLIC_URL or the page key is unset)"
	}
	return s
}

// listen listens on a loopback address: the local tools guard nothing with real secrets.
func listen(addr string) (net.Listener, error) {
	if err := loopbackOnly(addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w (another `make serve` running? choose another with ADDR=127.0.0.1:PORT)", addr, err)
	}
	return ln, nil
}

// loopbackOnly refuses addresses other than loopback.
func loopbackOnly(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("address %q: only loopback addresses (127.0.0.1, localhost) are served", addr)
	}
	return nil
}

// writeJSON writes v to a new file readable by this user only, as a secret should be.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}

// httpAdapter turns a net/http request into the platform-neutral request of internal/trigger.
// Headers go as multi-value headers, so a header sent twice with different values counts as
// absent, as on the platforms.
func httpAdapter(app *trigger.App) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		resp := app.HTTP(r.Context(), trigger.HTTPRequest{
			Method:            r.Method,
			Path:              r.URL.Path,
			MultiValueHeaders: r.Header,
			Query:             r.URL.Query(),
			Body:              string(body),
		})
		for k, v := range resp.Headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(resp.Status)
		io.WriteString(w, resp.Body)
	})
}
