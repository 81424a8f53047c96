package trigger

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envshare/envshare/internal/config"
	"github.com/envshare/envshare/internal/store"
	"github.com/envshare/envshare/internal/testkit"
	"github.com/envshare/envshare/pkg/wechat"
)

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
