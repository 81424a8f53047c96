package budget

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/envshare/envshare/internal/config"
	"github.com/envshare/envshare/internal/trigger"
	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/wechat"
)

const handlerSecret = "budget-http-secret"

// shareRequest is what function/aws hands the core for an HTTP API v2 POST /share: lowercase
// headers as API Gateway sends them, bearer auth, one env and three appids.
var shareRequest = trigger.HTTPRequest{
	Method: "POST",
	Path:   "/prod/share",
	Headers: map[string]string{
		"accept":            "application/json",
		"authorization":     "Bearer " + handlerSecret,
		"content-length":    "109",
		"content-type":      "application/json",
		"host":              "k7m2p9q4r1.execute-api.ap-east-1.amazonaws.com",
		"user-agent":        "curl/8.5.0",
		"x-amzn-trace-id":   "Root=1-65543f80-2b3c4d5e6f708192a3b4c5d6",
		"x-forwarded-for":   "203.0.113.10",
		"x-forwarded-port":  "443",
		"x-forwarded-proto": "https",
	},
	Query: map[string][]string{},
	Body:  `{"env":"test-env-6gni9ity244a6ea3","appids":["wx075cf85bf347b6df","wx9c8d7e6f5a4b3c2d","wx5fe6bb43205e9e07"]}`,
}

// instantWeChat is a share.Upstream that answers at once, without HTTP: it asks for
// confirmation of the appids in pending and rejects those in rejected, so that a request
// exercises every share outcome.
type instantWeChat struct {
	pending, rejected []string
}

var _ share.Upstream = instantWeChat{}

func (w instantWeChat) ShareEnv(_ context.Context, req *wechat.ShareEnvRequest) (*wechat.ShareEnvResponse, error) {
	resp := &wechat.ShareEnvResponse{ErrMsg: "ok"}
	for _, d := range req.Data {
		for _, a := range d.AppIDs {
			switch {
			case slices.Contains(w.rejected, a):
				resp.ErrList = append(resp.ErrList, wechat.EnvError{Env: d.Env, AppID: a, ErrMsg: "invalid appid"})
			case slices.Contains(w.pending, a):
				resp.MsgInfoList = append(resp.MsgInfoList, wechat.MsgInfo{AppID: a, URL: "https://mp.weixin.qq.com/wxopen/confirm/c1"})
			}
		}
	}
	return resp, nil
}

func (instantWeChat) UnshareEnv(context.Context, *wechat.ShareEnvRequest) (*wechat.UnshareEnvResponse, error) {
	return &wechat.UnshareEnvResponse{ErrMsg: "ok"}, nil
}

func (instantWeChat) GetEnvID(_ context.Context, req *wechat.GetEnvIDRequest) (*wechat.GetEnvIDResponse, error) {
	resp := &wechat.GetEnvIDResponse{ErrMsg: "ok"}
	for _, a := range req.AppIDs {
		resp.RelationData = append(resp.RelationData, wechat.Relation{AppID: a, EnvList: []string{}})
	}
	return resp, nil
}

// BenchmarkHandlerShare is envshare's own cost of one HTTP share request: everything between
// the platform's decoded event and the encoded answer, the WeChat API excepted.
func BenchmarkHandlerShare(b *testing.B) {
	b.Setenv("ENVSHARE_TOKEN_MODE", "env")
	b.Setenv("ENVSHARE_COMPONENT_ACCESS_TOKEN", "budget-token")
	b.Setenv("ENVSHARE_HTTP_AUTH", "bearer")
	b.Setenv("ENVSHARE_HTTP_SECRET", handlerSecret)
	// Logs are formatted as in production, then dropped.
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	upstream := instantWeChat{pending: []string{"wx9c8d7e6f5a4b3c2d"}, rejected: []string{"wx5fe6bb43205e9e07"}}
	app := trigger.New(trigger.Options{
		Platform:   trigger.PlatformAWS,
		Logger:     logger,
		MetricsOut: io.Discard,
		Build: func(context.Context, config.Config) (*trigger.Core, error) {
			return &trigger.Core{Share: share.New(upstream, share.Options{Logger: logger})}, nil
		},
	})
	ctx := context.Background()
	// The first request, untimed, is the cold start; it also shows every outcome is exercised.
	first := app.HTTP(ctx, shareRequest)
	var res struct {
		Summary map[string]int `json:"summary"`
	}
	if err := json.Unmarshal([]byte(first.Body), &res); err != nil || first.Status != 200 ||
		res.Summary["shared"] != 1 || res.Summary["pending_confirmation"] != 1 || res.Summary["failed"] != 1 {
		b.Fatalf("status %d: %s", first.Status, first.Body)
	}

	b.ReportAllocs()
	for b.Loop() {
		if resp := app.HTTP(ctx, shareRequest); resp.Status != 200 {
			b.Fatalf("status %d: %s", resp.Status, resp.Body)
		}
	}
}
