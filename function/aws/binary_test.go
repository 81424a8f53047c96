package main

import (
	"bytes"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/envshare/envshare/internal/eventtest"
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

	emu := wxemu.New(wxemu.Options{Tokens: []string{eventtest.TestToken}, Strict: true})
	base := emu.ServeTest(t)
	invokeAddr := "127.0.0.1:" + strconv.Itoa(eventtest.FreePort(t))
	cmd := exec.Command(rie,
		"--runtime-interface-emulator-address", invokeAddr,
		"--runtime-api-address", "127.0.0.1:"+strconv.Itoa(eventtest.FreePort(t)),
		bootstrap)
	cmd.Dir = dir
	env := eventtest.Env(base, adapter.Dir, nil)
	env["AWS_LAMBDA_FUNCTION_TIMEOUT"] = "30"
	cmd.Env = eventtest.ProcessEnv(env)
	proc := eventtest.StartProcess(t, cmd)
	eventtest.WaitForPort(t, invokeAddr)

	samples := []string{"httpapi-v2-share", "sqs-batch", "eventbridge-scheduled", "direct-share",
		"direct-invalid", "apigw-v1-share", "alb-bindings", "httpapi-v2-healthz", "httpapi-v2-unauthorized"}
	for _, name := range samples {
		t.Run(name, func(t *testing.T) {
			if err := emu.Seed(wxemu.DemoState()); err != nil {
				t.Fatal(err)
			}
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
			eventtest.MatchGolden(t, eventtest.GoldenOf(filepath.Join(adapter.Dir, name+".json")), eventtest.Normalise(got, base))
		})
	}

	logs := proc.Stop()
	eventtest.CheckLogs(t, logs, len(samples)+2, eventtest.TestSecret, eventtest.TestToken) // sqs-batch: 3 records
	if n := strings.Count(logs, `"CloudWatchMetrics":`); n != len(samples)+2 {
		t.Errorf("%d EMF lines, want one per invocation (%d)", n, len(samples)+2)
	}
}
