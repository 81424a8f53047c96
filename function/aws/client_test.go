package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/envshare/envshare/internal/eventtest"
	"github.com/envshare/envshare/pkg/client"
	"github.com/envshare/envshare/pkg/client/lambdainvoke"
	"github.com/envshare/envshare/pkg/retry"
	"github.com/envshare/envshare/pkg/wxemu"
)

// TestTheGoClientInvokesTheBootstrap: pkg/client's Lambda transport, through aws-sdk-go-v2's
// lambda client, against the runtime interface emulator's Invoke API running the real
// bootstrap (eventtest.ExerciseClient).
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
	eventtest.ExerciseClient(t, c, emu)

	eventtest.CheckLogs(t, proc.Stop(), eventtest.ClientInvocations, eventtest.SecretsOf(env)...)
}
