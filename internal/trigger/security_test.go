package trigger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/config"
	"github.com/envshare/envshare/internal/page"
	"github.com/envshare/envshare/internal/store"
	"github.com/envshare/envshare/internal/testkit"
	"github.com/envshare/envshare/pkg/wechat"
)

// Regression tests of issue 23 (security and strictness, round 3) that live in the trigger.

// ENVSHARE_TICKET_WRITE_INTERVAL=0s is documented as valid: every newer ticket that differs is
// stored, not one an hour.
func TestATicketWriteIntervalOfZeroStoresEveryNewerTicket(t *testing.T) {
	l := newLoop(t, map[string]string{"ENVSHARE_TICKET_WRITE_INTERVAL": "0s"}, false)
	ctx := context.Background()
	inst, se := l.app.instance(ctx)
	if se != nil {
		t.Fatal(se)
	}
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	for i, ticket := range []string{"ticket@@@zero-interval-first", "ticket@@@zero-interval-second"} {
		stored, err := inst.Refresher.StoreTicket(ctx, ticket, at.Add(time.Duration(i)*10*time.Second))
		if err != nil || !stored {
			t.Fatalf("ticket %d pushed 10 s after the stored one: stored %v, %v; want stored", i+1, stored, err)
		}
	}
	if got := l.record(t)["component_verify_ticket"]; got != "ticket@@@zero-interval-second" {
		t.Errorf("the record holds %v, want the second ticket", got)
	}
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
