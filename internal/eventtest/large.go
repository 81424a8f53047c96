package eventtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/envshare/envshare/internal/config"
	"github.com/envshare/envshare/internal/trigger"
	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/wechat"
)

// The largest answers: a share of LargeShareAppIDs appids, each pending confirmation with a link
// of the length WeChat's have (222 bytes) and a confirmation page, listed whole when
// ENVSHARE_MAX_RESULTS allows it (10,000).
const LargeShareAppIDs = 10_000

// LargeShareBody is the body of that share.
func LargeShareBody() string {
	ids := make([]string, LargeShareAppIDs)
	for i := range ids {
		ids[i] = AppID(i)
	}
	b, _ := json.Marshal(map[string]any{"env": "prod-6gni9ity244a6ea3", "appids": ids})
	return string(b)
}

// AppID is the i-th appid of the large answers.
func AppID(i int) string { return fmt.Sprintf("wx%016x", i) }

// NewLargeAnswerApp returns an App of platform whose core is the real share service over a
// WeChat that asks for confirmation of every pair, with confirmation pages and
// ENVSHARE_MAX_RESULTS=10000: the largest answers the settings allow.
func NewLargeAnswerApp(t *testing.T, platform string) *trigger.App {
	t.Helper()
	SetEnv(t, map[string]string{
		"ENVSHARE_COMPONENT_ACCESS_TOKEN": "tok",
		"ENVSHARE_HTTP_AUTH":              "bearer",
		"ENVSHARE_HTTP_SECRET":            TestSecret,
	})
	page := "https://k7m2p9q4r1.execute-api.ap-east-1.amazonaws.com/confirm/" + strings.Repeat("AbCd", 102)[:406]
	return trigger.New(trigger.Options{
		Platform:   platform,
		Logger:     slog.New(slog.DiscardHandler),
		MetricsOut: io.Discard,
		Build: func(context.Context, config.Config) (*trigger.Core, error) {
			return &trigger.Core{Share: share.New(confirmingWeChat{}, share.Options{MaxResults: 10_000,
				ConfirmPage: func(share.Outcome) string { return page }})}, nil
		},
	})
}

// confirmingWeChat answers every share with a link of the real length for every appid.
type confirmingWeChat struct{}

func (confirmingWeChat) ShareEnv(_ context.Context, req *wechat.ShareEnvRequest) (*wechat.ShareEnvResponse, error) {
	resp := &wechat.ShareEnvResponse{}
	for _, d := range req.Data {
		for _, a := range d.AppIDs {
			l := "https://mp.weixin.qq.com/wxopen/cloudbase/shareconfirm?appid=" + a + "&env=" + d.Env + "&ticket="
			resp.MsgInfoList = append(resp.MsgInfoList, wechat.MsgInfo{AppID: a, URL: l + strings.Repeat("Ab3", 80)[:222-len(l)]})
		}
	}
	return resp, nil
}

func (confirmingWeChat) UnshareEnv(context.Context, *wechat.ShareEnvRequest) (*wechat.UnshareEnvResponse, error) {
	return &wechat.UnshareEnvResponse{}, nil
}

func (confirmingWeChat) GetEnvID(context.Context, *wechat.GetEnvIDRequest) (*wechat.GetEnvIDResponse, error) {
	return &wechat.GetEnvIDResponse{}, nil
}

// CheckLargeAnswer makes sure v, a handler's answer to the large share (an HTTP envelope or the
// result itself), lists some entries and counts the others as left out.
func CheckLargeAnswer(t *testing.T, v any) {
	t.Helper()
	m := AsMap(t, v)
	if b, ok := m["body"].(string); ok {
		m = nil
		if err := json.Unmarshal([]byte(b), &m); err != nil {
			t.Fatal(err)
		}
	}
	results, _ := m["results"].([]any)
	omitted, _ := m["results_omitted"].(float64)
	if len(results) == 0 || omitted == 0 || len(results)+int(omitted) != LargeShareAppIDs {
		t.Fatalf("%d results listed, %v omitted, want some of each, %d in all", len(results), omitted, LargeShareAppIDs)
	}
}
