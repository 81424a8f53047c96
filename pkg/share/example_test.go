package share_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"

	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/wechat"
	"github.com/envshare/envshare/pkg/wxemu"
)

// service returns a Service over a WeChat emulator with the demo fleet, served on 127.0.0.1.
func service() (*share.Service, func()) {
	emu := wxemu.New(wxemu.Options{Tokens: []string{"component-token"}, Strict: true})
	if err := emu.Seed(wxemu.DemoState()); err != nil {
		panic(err)
	}
	srv := httptest.NewServer(emu)
	client := wechat.New(srv.URL, wechat.StaticToken("component-token")) // the real API: https://api.weixin.qq.com
	// WeChat's confirmation links are https links on its own hosts; the emulator's are its own.
	return share.New(client, share.Options{ConfirmOrigins: []string{srv.URL}}), srv.Close
}

func ExampleService_Share() {
	svc, stop := service()
	defer stop()

	res, err := svc.Share(context.Background(), "prod-6gni9ity244a6ea3",
		[]string{"wx075cf85bf347b6df", "wx1a2b3c4d5e6f7081", "wx7e57d0c0ffee1234"})
	if err != nil {
		panic(err) // an *share.Error: invalid input, or every call failed
	}
	for _, o := range res.Results {
		fmt.Println(o.AppID, o.Status)
	}
	fmt.Printf("%+v\n", *res.Summary.(*share.ShareSummary))
	// Output:
	// wx7e57d0c0ffee1234 failed
	// wx1a2b3c4d5e6f7081 pending_confirmation
	// wx075cf85bf347b6df shared
	// {Requested:3 Shared:1 PendingConfirmation:1 Failed:1 Deferred:0}
}

func ExampleService_Bindings() {
	svc, stop := service()
	defer stop()

	res, err := svc.Bindings(context.Background(), []string{"wx5fe6bb43205e9e07", "wx0f1e2d3c4b5a6978"})
	if err != nil {
		panic(err)
	}
	for _, b := range res.Bindings {
		fmt.Println(b.AppID, b.Envs)
	}
	for _, e := range res.Errors {
		fmt.Println(e.AppID, e.Error.Code)
	}
	// Output:
	// wx5fe6bb43205e9e07 [test-env-6gni9ity244a6ea3]
	// wx0f1e2d3c4b5a6978 rejected
}

func ExampleService_Reconcile() {
	svc, stop := service()
	defer stop()

	manifest := []wechat.EnvAppIDs{{Env: "test-env-6gni9ity244a6ea3", AppIDs: []string{"wx5fe6bb43205e9e07", "wx075cf85bf347b6df"}}}
	res, err := svc.Reconcile(context.Background(), manifest, share.ReconcileOptions{DryRun: true})
	if err != nil {
		panic(err)
	}
	s := res.Summary.(*share.ReconcileSummary)
	fmt.Println("desired", s.Desired, "already shared", s.AlreadyShared, "would share", s.WouldShare)
	// Output:
	// desired 2 already shared 1 would share 1
}

// A Request built in Go is validated by Do, with every problem named.
func ExampleService_Do() {
	svc, stop := service()
	defer stop()

	_, err := svc.Do(context.Background(), share.Request{Action: share.ActionShare, Env: "Prod", AppIDs: []string{"wx12"}})
	fmt.Println(err)
	// Output:
	// invalid_request: invalid request: env: "Prod" is not an env id (1-64 lowercase letters, digits and hyphens); appids[0]: "wx12" is not an appid (wx followed by 16 lowercase hex digits)
}

// A transport hands the body it received to the core in one call.
func ExampleService_DoJSON() {
	svc, stop := service()
	defer stop()

	res, err := svc.DoJSON(context.Background(), []byte(`{"appids":["wx5fe6bb43205e9e07"]}`), share.ActionBindings)
	if err != nil {
		panic(err)
	}
	answer, _ := json.Marshal(res)
	fmt.Println(string(answer))
	// Output:
	// {"ok":true,"action":"bindings","source_type":1,"bindings":[{"appid":"wx5fe6bb43205e9e07","envs":["test-env-6gni9ity244a6ea3"]}],"errors":[]}
}

// An answer of a deployed envshare decodes back into a Result, its summary typed by its action.
func ExampleResult_UnmarshalJSON() {
	answer := `{"ok":true,"action":"unshare","source_type":1,"summary":{"requested":1,"unshared":1,"failed":0},` +
		`"results":[{"env":"prod-6gni9ity244a6ea3","appid":"wx075cf85bf347b6df","status":"unshared"}]}`
	var res share.Result
	if err := json.Unmarshal([]byte(answer), &res); err != nil {
		panic(err)
	}
	fmt.Printf("%+v %s\n", *res.Summary.(*share.UnshareSummary), res.Results[0].Status)
	// Output:
	// {Requested:1 Unshared:1 Failed:0 Deferred:0} unshared
}
