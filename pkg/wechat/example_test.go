package wechat_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/envshare/envshare/pkg/wechat"
	"github.com/envshare/envshare/pkg/wxemu"
)

// emulator serves a WeChat emulator with the demo fleet on 127.0.0.1 (pkg/wxemu).
func emulator() (*wxemu.Emulator, *httptest.Server) {
	emu := wxemu.New(wxemu.Options{Tokens: []string{"component-token"}, Strict: true})
	if err := emu.Seed(wxemu.DemoState()); err != nil {
		panic(err)
	}
	return emu, httptest.NewServer(emu)
}

func ExampleClient_ShareEnv() {
	_, srv := emulator()
	defer srv.Close()

	client := wechat.New(srv.URL, wechat.StaticToken("component-token")) // or your own TokenSource
	resp, err := client.ShareEnv(context.Background(), &wechat.ShareEnvRequest{
		Data:       []wechat.EnvAppIDs{{Env: "prod-6gni9ity244a6ea3", AppIDs: []string{"wx075cf85bf347b6df", "wx0f1e2d3c4b5a6978"}}},
		SourceType: 1,
	})
	if err != nil {
		panic(err)
	}
	for _, e := range resp.ErrList {
		fmt.Println("refused:", e.AppID, e.ErrMsg)
	}
	// Output:
	// refused: wx0f1e2d3c4b5a6978 api unauthorized: permission set 18 not authorized to the component
}

// Classify tells what a failure means without testing error types in order.
func ExampleClassify() {
	emu, srv := emulator()
	defer srv.Close()
	if err := emu.AddFault(wxemu.Fault{Kind: wxemu.FaultErrCode, Code: wechat.ErrcodeIPNotWhitelisted, Times: 1}); err != nil {
		panic(err)
	}

	client := wechat.New(srv.URL, wechat.StaticToken("component-token"))
	_, err := client.GetEnvID(context.Background(), &wechat.GetEnvIDRequest{AppIDs: []string{"wx075cf85bf347b6df"}, SourceType: 1})
	var apiErr *wechat.APIError
	if errors.As(err, &apiErr) {
		fmt.Println("errcode:", apiErr.Code, wechat.ErrcodeMeaning(apiErr.Code))
	}
	fmt.Println("failure:", wechat.Classify(err))

	// WeChat does not know this token; a StaticToken has no other to try.
	client = wechat.New(srv.URL, wechat.StaticToken("a-token-wechat-does-not-know"))
	_, err = client.GetEnvID(context.Background(), &wechat.GetEnvIDRequest{AppIDs: []string{"wx075cf85bf347b6df"}, SourceType: 1})
	fmt.Println("failure:", wechat.Classify(err), errors.Is(err, wechat.ErrTokenUnusable))
	// Output:
	// errcode: 61004 caller IP not in the platform's whitelist
	// failure: refused
	// failure: refused true
}

// A ClientTrace in the context reports every attempt, as net/http/httptrace does for requests.
func ExampleWithClientTrace() {
	emu, srv := emulator()
	defer srv.Close()
	if err := emu.AddFault(wxemu.Fault{Kind: wxemu.FaultHTTP5xx, Times: 2}); err != nil {
		panic(err)
	}

	ctx := wechat.WithClientTrace(context.Background(), &wechat.ClientTrace{
		AttemptDone: func(info wechat.AttemptDoneInfo) {
			fmt.Printf("%s attempt %d: %v\n", info.Endpoint, info.Attempt, info.Err)
		},
	})
	client := wechat.New(srv.URL, wechat.StaticToken("component-token"), wechat.WithBackoff(0, 0))
	if _, err := client.GetEnvID(ctx, &wechat.GetEnvIDRequest{AppIDs: []string{"wx075cf85bf347b6df"}, SourceType: 1}); err != nil {
		panic(err)
	}
	// Output:
	// batchgetenvid attempt 1: wechat batchgetenvid: unexpected HTTP status 503
	// batchgetenvid attempt 2: wechat batchgetenvid: unexpected HTTP status 503
	// batchgetenvid attempt 3: <nil>
}

// An authorizer's entity, kind and permission sets decide whether (and which) envs may be
// shared with it.
func ExampleClient_GetAuthorizerInfo() {
	_, srv := emulator()
	defer srv.Close()

	client := wechat.New(srv.URL, wechat.StaticToken("component-token")) // sent as ?component_access_token=
	for _, appid := range []string{"wx2b4d6f8a0c2e4f61", "wx0f1e2d3c4b5a6978", "wx4f6a8c0e2b4d6f83"} {
		info, err := client.GetAuthorizerInfo(context.Background(), &wechat.AuthorizerInfoRequest{
			ComponentAppID: "wx9f8e7d6c5b4a3921", AuthorizerAppID: appid})
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s %s: Mini Program %v, sets %v, can share %v\n",
			appid, info.PrincipalName(), info.IsMiniProgram(), info.PermissionSets(), info.CanShareEnv())
	}
	// Output:
	// wx2b4d6f8a0c2e4f61 深圳市示例科技有限公司: Mini Program true, sets [17 18 19 25 30], can share true
	// wx0f1e2d3c4b5a6978 Acme Cloud Co., Ltd.: Mini Program true, sets [17 19 25 30], can share false
	// wx4f6a8c0e2b4d6f83 Acme Cloud Co., Ltd.: Mini Program false, sets [1 2 3 4], can share false
}

// Authorizers pages through api_get_authorizer_list (500 a call unless told otherwise). The
// refresh tokens are secrets: they print as [redacted]; Reveal gives them.
func ExampleClient_Authorizers() {
	emu, srv := emulator()
	defer srv.Close()

	client := wechat.New(srv.URL, wechat.StaticToken("component-token"))
	n := 0
	for entry, err := range client.Authorizers(context.Background(), "wx9f8e7d6c5b4a3921", 5) {
		if err != nil {
			panic(err)
		}
		if n == 0 {
			fmt.Printf("first: %+v\n", entry)
		}
		n++
	}
	fmt.Println("authorizers:", n, "calls:", emu.Calls(wxemu.EndpointAuthorizerList))
	// Output:
	// first: {AuthorizerAppID:wx5fe6bb43205e9e07 RefreshToken:[redacted] AuthTime:1698796800}
	// authorizers: 12 calls: 3
}

// A quota read tells how many calls of an API are left today.
func ExampleClient_GetQuota() {
	emu, srv := emulator()
	defer srv.Close()
	if _, err := emu.ChangeQuota(wxemu.QuotaChange{API: wxemu.EndpointShare, DailyLimit: ptr(100), Used: ptr(30)}); err != nil {
		panic(err)
	}

	client := wechat.New(srv.URL, wechat.StaticToken("component-token"))
	resp, err := client.GetQuota(context.Background(), &wechat.QuotaRequest{CGIPath: wechat.PathShareEnv})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%+v\n", resp.Quota)
	// Output:
	// {DailyLimit:100 Used:30 Remain:70}
}

// 45009 is a *QuotaExhaustedError: no call of that API succeeds before RetryAfter, the next
// 00:00 in Asia/Shanghai by the client's clock.
func ExampleQuotaExhaustedError() {
	now := func() time.Time { return time.Date(2026, 12, 7, 9, 30, 0, 0, time.UTC) } // 17:30 in Shanghai
	emu := wxemu.New(wxemu.Options{Tokens: []string{"component-token"}, Now: now})
	if err := emu.Seed(wxemu.DemoState()); err != nil {
		panic(err)
	}
	if err := emu.ExhaustQuota(wxemu.EndpointShare); err != nil {
		panic(err)
	}
	srv := httptest.NewServer(emu)
	defer srv.Close()

	client := wechat.New(srv.URL, wechat.StaticToken("component-token"), wechat.WithClock(now))
	_, err := client.ShareEnv(context.Background(), &wechat.ShareEnvRequest{
		Data: []wechat.EnvAppIDs{{Env: "prod-6gni9ity244a6ea3", AppIDs: []string{"wx075cf85bf347b6df"}}}, SourceType: 1})
	var exhausted *wechat.QuotaExhaustedError
	if errors.As(err, &exhausted) {
		fmt.Println(exhausted.Endpoint, "resumes at", exhausted.RetryAfter.UTC())
	}
	fmt.Println("failure:", wechat.Classify(err))
	// Output:
	// batchshareenv resumes at 2026-12-07 16:00:00 +0000 UTC
	// failure: exhausted
}

func ptr[T any](v T) *T { return &v }
