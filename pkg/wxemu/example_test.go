package wxemu_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/envshare/envshare/pkg/wechat"
	"github.com/envshare/envshare/pkg/wxemu"
)

// The emulator as a test double of WeChat: serve it on 127.0.0.1 and point a client at it.
func Example() {
	emu := wxemu.New(wxemu.Options{Tokens: []string{"test-token"}, Strict: true})
	if err := emu.Seed(wxemu.DemoState()); err != nil {
		panic(err)
	}
	srv := httptest.NewServer(emu) // in a test: emu.ServeTest(t)
	defer srv.Close()

	client := wechat.New(srv.URL, wechat.StaticToken("test-token"))
	resp, err := client.GetEnvID(context.Background(), &wechat.GetEnvIDRequest{
		AppIDs: []string{"wx5fe6bb43205e9e07"}, SourceType: 1})
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.RelationData[0].AppID, resp.RelationData[0].EnvList)
	fmt.Println("batchgetenvid calls:", emu.Calls(wxemu.EndpointGetEnvID))
	// Output:
	// wx5fe6bb43205e9e07 [test-env-6gni9ity244a6ea3]
	// batchgetenvid calls: 1
}

// Faults make WeChat misbehave: here it is busy once, and the client's retry gets through.
func ExampleEmulator_AddFault() {
	emu := wxemu.New(wxemu.Options{Tokens: []string{"test-token"}})
	if err := emu.Seed(wxemu.DemoState()); err != nil {
		panic(err)
	}
	if err := emu.AddFault(wxemu.Fault{Endpoint: wxemu.EndpointShare, Kind: wxemu.FaultBusy, Times: 1}); err != nil {
		panic(err)
	}
	srv := httptest.NewServer(emu)
	defer srv.Close()

	client := wechat.New(srv.URL, wechat.StaticToken("test-token"), wechat.WithBackoff(0, 0))
	_, err := client.ShareEnv(context.Background(), &wechat.ShareEnvRequest{
		Data: []wechat.EnvAppIDs{{Env: "prod-6gni9ity244a6ea3", AppIDs: []string{"wx075cf85bf347b6df"}}}, SourceType: 1})
	fmt.Println("error:", err)
	fmt.Println("batchshareenv calls:", emu.Calls(wxemu.EndpointShare))
	fmt.Println("bound:", emu.State().Bindings["wx075cf85bf347b6df"])
	// Output:
	// error: <nil>
	// batchshareenv calls: 2
	// bound: [prod-6gni9ity244a6ea3]
}
