package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/envshare/envshare/internal/eventtest"
	"github.com/envshare/envshare/internal/ledger/enginetest"
	"github.com/envshare/envshare/pkg/wxemu"
)

// TestBootstrapUnderTheRuntimeInterfaceEmulator builds the deployment binary (lambda.norpc,
// static) and drives it through the real Lambda Runtime API, as provided.al2023 runs it,
// against the WeChat emulator: the answers must equal the sample events' goldens.
func TestBootstrapUnderTheRuntimeInterfaceEmulator(t *testing.T) {
	rie := eventtest.RIE(t)
	dir := t.TempDir()
	bootstrap := filepath.Join(dir, "bootstrap")
	eventtest.BuildBinary(t, bootstrap, "-tags", "lambda.norpc")

	// The samples of the default configuration share one runtime, and so one instance.
	emu := eventtest.NewEmulator()
	base := emu.ServeTest(t)
	env := eventtest.Env(base, adapter.Dir)
	invoke, proc := startRIE(t, rie, bootstrap, env)
	samples := []string{"httpapi-v2-share", "sqs-batch", "eventbridge-scheduled", "direct-share",
		"direct-invalid", "apigw-v1-share", "alb-bindings", "httpapi-v2-healthz", "httpapi-v2-unauthorized",
		// A failed refresh is an invocation error under the runtime too, and the instance lives on.
		"direct-refresh-no-state",
		// A page's HTML and its security headers pass through the runtime's envelope.
		"httpapi-v2-confirm-page-expired",
		// A push the function refuses, in plain text.
		"httpapi-v2-wechat-bad-signature"}
	for _, name := range samples {
		t.Run(name, func(t *testing.T) {
			if err := emu.Seed(wxemu.DemoState()); err != nil {
				t.Fatal(err)
			}
			eventtest.MatchGolden(t, golden(name), eventtest.Normalise(invoke(t, name), base))
		})
	}
	logs := proc.Stop()
	eventtest.CheckLogs(t, logs, len(samples)+2, eventtest.SecretsOf(env)...) // sqs-batch: 3 records
	if n := strings.Count(logs, `"Dimensions":[["Action"]]`); n != len(samples)+2 {
		t.Errorf("%d EMF lines of invocations, want one per invocation (%d)", n, len(samples)+2)
	}
	// The scheduled reconcile writes: it read batchshareenv's quota first (contract section 9).
	if n := strings.Count(logs, `"Dimensions":[["Api"]],"Metrics":[{"Name":"QuotaRemaining"`); n != 1 {
		t.Errorf("%d QuotaRemaining EMF lines, want 1 (the scheduled reconcile's write budget)", n)
	}

	// Samples with a configuration of their own (a sidecar): a runtime each, against the
	// sample's emulator, with the sample's files (credentials secret, state record).
	for _, name := range []string{"httpapi-v2-wechat-ticket", "apigw-v1-wechat-ticket", "httpapi-v2-wechat-authorized", "httpapi-v2-wechat-forwarded",
		"direct-refresh", "httpapi-v2-refresh", "httpapi-v2-confirm-page"} {
		t.Run(name, func(t *testing.T) {
			f := eventtest.NewFixture(t, adapter.Dir, name)
			invoke, proc := startRIE(t, rie, bootstrap, f.Env)
			eventtest.MatchGolden(t, golden(name), eventtest.Normalise(invoke(t, name), f.Base))
			f.CheckAfter(t)
			eventtest.CheckLogs(t, proc.Stop(), 1, f.Secrets(t)...)
		})
	}

	// Samples with a ledger, on the binary's own engine: DynamoDB, through dynalite (in process
	// they run on SQLite). Their answers do not depend on the clock.
	for _, name := range []string{"direct-fleet", "httpapi-v2-wechat-authorized-customer"} {
		t.Run(name+" on DynamoDB", func(t *testing.T) {
			table := enginetest.StartDynalite(t).NewTable(t) // and the AWS variables that reach it
			f := eventtest.NewFixture(t, adapter.Dir, name)
			f.UseLedger(t, "dynamodb:"+table)
			invoke, proc := startRIE(t, rie, bootstrap, f.Env)
			eventtest.MatchGolden(t, golden(name), eventtest.Normalise(invoke(t, name), f.Base))
			f.CheckAfter(t)
			eventtest.CheckLogs(t, proc.Stop(), 1, f.Secrets(t)...)
		})
	}
}

// TestMain stops the ledger engines the binary tests started.
func TestMain(m *testing.M) {
	code := m.Run()
	enginetest.Stop()
	os.Exit(code)
}

// startRIE starts the runtime interface emulator running bootstrap with env, and returns a
// function that invokes it with a sample event and returns the answer.
func startRIE(t *testing.T, rie, bootstrap string, env map[string]string) (func(t *testing.T, name string) []byte, *eventtest.Process) {
	t.Helper()
	invokeAddr, proc := runRIE(t, rie, bootstrap, env)
	return func(t *testing.T, name string) []byte {
		t.Helper()
		resp, err := http.Post("http://"+invokeAddr+"/2015-03-31/functions/function/invocations",
			"application/json", bytes.NewReader(eventtest.Sample(t, adapter.Dir, name)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("invoke: HTTP %d %s %v", resp.StatusCode, got, err)
		}
		return got
	}, proc
}

func golden(name string) string { return eventtest.GoldenOf(filepath.Join(adapter.Dir, name+".json")) }

// runRIE starts the runtime interface emulator running bootstrap with env, and returns the
// address of its Invoke API (/2015-03-31/functions/function/invocations).
func runRIE(t *testing.T, rie, bootstrap string, env map[string]string) (string, *eventtest.Process) {
	t.Helper()
	invokeAddr := "127.0.0.1:" + strconv.Itoa(eventtest.FreePort(t))
	cmd := exec.Command(rie,
		"--runtime-interface-emulator-address", invokeAddr,
		"--runtime-api-address", "127.0.0.1:"+strconv.Itoa(eventtest.FreePort(t)),
		bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = eventtest.ProcessEnv(env)
	cmd.Env = append(cmd.Env, "AWS_LAMBDA_FUNCTION_TIMEOUT=30")
	proc := eventtest.StartProcess(t, cmd)
	eventtest.WaitForPort(t, invokeAddr)
	return invokeAddr, proc
}
