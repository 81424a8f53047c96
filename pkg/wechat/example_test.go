package wechat_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"

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
