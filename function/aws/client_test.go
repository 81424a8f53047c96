package main

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/envshare/envshare/internal/eventtest"
	"github.com/envshare/envshare/pkg/client"
	"github.com/envshare/envshare/pkg/client/lambdainvoke"
	"github.com/envshare/envshare/pkg/retry"
	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/wxemu"
)

// TestTheGoClientInvokesTheBootstrap: pkg/client's Lambda transport, through aws-sdk-go-v2's
// lambda client, against the runtime interface emulator's Invoke API running the real
// bootstrap: results decode, invalid input is refused before any call, a transient failure is
// a function error that the client retries, a failed refresh a function error with its code.
func TestTheGoClientInvokesTheBootstrap(t *testing.T) {
	rie := eventtest.RIE(t)
	bootstrap := filepath.Join(t.TempDir(), "bootstrap")
	eventtest.BuildBinary(t, bootstrap, "-tags", "lambda.norpc")
	emu := eventtest.NewEmulator()
	if err := emu.Seed(wxemu.DemoState()); err != nil {
		t.Fatal(err)
	}
	base := emu.ServeTest(t)
	env := eventtest.Env(base, adapter.Dir)
	env["ENVSHARE_ATTEMPTS"] = "1" // one WeChat call per invocation: the client's retry is what is seen
	addr, proc := runRIE(t, rie, bootstrap, env)

	api := lambda.New(lambda.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + addr),
		Credentials: aws.AnonymousCredentials{}})
	c := client.New(lambdainvoke.New(api, "function"), client.Options{
		Retry: retry.Policy{Attempts: 3, Wait: func(context.Context, time.Duration) error { return nil }}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	res, err := c.Share(ctx, "prod-6gni9ity244a6ea3", []string{"wx075cf85bf347b6df", "wx1a2b3c4d5e6f7081"})
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := res.Summary.(*share.ShareSummary); !ok || s.Shared != 1 || s.PendingConfirmation != 1 {
		t.Errorf("share: %+v", res)
	}

	// batchgetenvid busy once: the invocation fails (upstream_unavailable), the client invokes again.
	if err := emu.AddFault(wxemu.Fault{Endpoint: "batchgetenvid", Kind: wxemu.FaultBusy, Times: 1}); err != nil {
		t.Fatal(err)
	}
	res, err = c.Bindings(ctx, []string{"wx075cf85bf347b6df"})
	if err != nil || len(res.Bindings) != 1 {
		t.Errorf("bindings after a transient failure: %+v %v", res, err)
	}

	res, err = c.Reconcile(ctx, nil, share.ReconcileOptions{DryRun: true})
	if s, ok := res.Summary.(*share.ReconcileSummary); err != nil || !ok || !res.DryRun || s.Desired == 0 {
		t.Errorf("reconcile dry run: %+v %v", res, err)
	}

	_, err = c.Bindings(ctx, []string{"wx12"})
	if client.CodeOf(err) != share.CodeInvalidRequest {
		t.Errorf("invalid input: %v", err)
	}

	// No state record: refresh fails, as an invocation error that keeps its code.
	_, err = c.Refresh(ctx, false)
	var e *client.Error
	if !errors.As(err, &e) || !e.FunctionError || e.Code != share.CodeInvalidRequest {
		t.Errorf("refresh: %#v", err)
	}

	// Share, bindings twice (one failed), reconcile and refresh: the invalid bindings never left.
	eventtest.CheckLogs(t, proc.Stop(), 5, eventtest.SecretsOf(env)...)
}
