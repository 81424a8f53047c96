package main

import (
	"context"
	"errors"
	"net/url"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
	"github.com/tencentyun/scf-go-lib/cloudfunction/messages"

	"github.com/envshare/envshare/internal/eventtest"
	"github.com/envshare/envshare/internal/store/storetest"
	"github.com/envshare/envshare/pkg/client"
	"github.com/envshare/envshare/pkg/client/scfinvoke"
	"github.com/envshare/envshare/pkg/retry"
	"github.com/envshare/envshare/pkg/wxemu"
)

// TestTheGoClientInvokesTheFunction: pkg/client's SCF transport, through the Tencent Cloud
// SDK's common client (TC3), against a fake of SCF's Invoke API that checks the signature and
// runs each synchronous invocation in the real binary over the Go runtime's protocol.
func TestTheGoClientInvokesTheFunction(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "main")
	eventtest.BuildBinary(t, bin)
	emu := eventtest.NewEmulator()
	if err := emu.Seed(wxemu.DemoState()); err != nil {
		t.Fatal(err)
	}
	env := eventtest.Env(emu.ServeTest(t), adapter.Dir)
	env["ENVSHARE_ATTEMPTS"] = "1" // one WeChat call per invocation: the client's retry is what is seen
	fn := startSCF(t, bin)

	scf := storetest.NewTencent(t)
	scf.AddFunction("tenant-a", "envshare")
	scf.Run = func(event string) (string, error) {
		fn.mu.Lock()
		fn.n++
		id := "scf-" + strconv.Itoa(fn.n)
		fn.mu.Unlock()
		req := messages.InvokeRequest{Payload: []byte(event), RequestId: id, Environment: environment(env),
			Deadline: messages.InvokeRequest_Timestamp{Seconds: time.Now().Add(30 * time.Second).Unix()}}
		var resp messages.InvokeResponse
		if err := fn.client.Call("Function.Invoke", &req, &resp); err != nil {
			return "", err
		}
		if resp.Error != nil {
			return "", errors.New(resp.Error.Message)
		}
		return string(resp.Payload), nil
	}

	u, err := url.Parse(scf.URL)
	if err != nil {
		t.Fatal(err)
	}
	cpf := profile.NewClientProfile()
	cpf.HttpProfile.Scheme, cpf.HttpProfile.Endpoint = "HTTP", u.Host
	tc := common.NewCommonClient(common.NewTokenCredential(storetest.TencentSecretID, storetest.TencentSecretKey,
		storetest.TencentSessionToken), storetest.TencentRegion, cpf)
	c := client.New(scfinvoke.New(tc, "envshare").WithNamespace("tenant-a"), client.Options{
		Retry: retry.Policy{Attempts: 3, Wait: func(context.Context, time.Duration) error { return nil }}})
	eventtest.ExerciseClient(t, c, emu)

	invs := scf.Invocations()
	if len(invs) != eventtest.ClientInvocations || invs[0].Namespace != "tenant-a" || invs[0].InvocationType != "RequestResponse" || invs[0].Region != storetest.TencentRegion {
		t.Errorf("invocations: %+v", invs)
	}
	// A wrong key: the fake's TC3 check refuses it, and the call got no answer of the function.
	bad := common.NewCommonClient(common.NewTokenCredential(storetest.TencentSecretID, "another-key",
		storetest.TencentSessionToken), storetest.TencentRegion, cpf)
	_, err = client.New(scfinvoke.New(bad, "envshare").WithNamespace("tenant-a"), client.Options{}).Quota(context.Background())
	var e *client.Error
	if err == nil || errors.As(err, &e) {
		t.Errorf("a wrong key: %v", err)
	}
	eventtest.CheckLogs(t, fn.proc.Stop(), eventtest.ClientInvocations, eventtest.SecretsOf(env)...)
}
