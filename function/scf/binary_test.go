package main

import (
	"encoding/json"
	"net/rpc"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tencentyun/scf-go-lib/cloudfunction/messages"

	"github.com/envshare/envshare/internal/eventtest"
	"github.com/envshare/envshare/pkg/wxemu"
)

// TestBinaryOverTheSCFProtocol builds the deployment binary and drives it the way the SCF Go
// runtime does: net/rpc "Function.Invoke" on localhost:$_LAMBDA_SERVER_PORT, with the function's
// configuration only in each InvokeRequest.Environment (the process has no ENVSHARE_* variable).
func TestBinaryOverTheSCFProtocol(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "main")
	eventtest.BuildBinary(t, bin)

	emu := wxemu.New(wxemu.Options{Tokens: []string{eventtest.TestToken}, Strict: true})
	base := emu.ServeTest(t)
	if err := emu.Seed(wxemu.DemoState()); err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(eventtest.FreePort(t))
	cmd := exec.Command(bin)
	cmd.Dir = dir
	cmd.Env = eventtest.ProcessEnv(map[string]string{"_LAMBDA_SERVER_PORT": strings.TrimPrefix(addr, "127.0.0.1:")})
	proc := eventtest.StartProcess(t, cmd)
	eventtest.WaitForPort(t, addr)
	client, err := rpc.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	envJSON, _ := json.Marshal(eventtest.Env(base, adapter.Dir, nil))
	invocations := 0
	var mu sync.Mutex
	invoke := func(t *testing.T, name string, environment string) messages.InvokeResponse {
		t.Helper()
		mu.Lock()
		invocations++
		id := "scf-" + strconv.Itoa(invocations)
		mu.Unlock()
		req := messages.InvokeRequest{
			Payload:     eventtest.Sample(t, adapter.Dir, name),
			RequestId:   id,
			Deadline:    messages.InvokeRequest_Timestamp{Seconds: time.Now().Add(30 * time.Second).Unix()},
			Environment: environment,
		}
		var resp messages.InvokeResponse
		if err := client.Call("Function.Invoke", &req, &resp); err != nil {
			t.Errorf("Function.Invoke: %v", err) // Errorf: invoke runs on other goroutines too
		}
		return resp
	}
	matches := func(t *testing.T, name string, resp messages.InvokeResponse) {
		t.Helper()
		if resp.Error != nil {
			t.Fatalf("%s: function error %s: %s", name, resp.Error.Type, resp.Error.Message)
		}
		eventtest.MatchGolden(t, eventtest.GoldenOf(filepath.Join(adapter.Dir, name+".json")), eventtest.Normalise(resp.Payload, base))
	}

	t.Run("without configuration healthz answers and a message fails naming the variable", func(t *testing.T) {
		matches(t, "apigw-healthz", invoke(t, "apigw-healthz", ""))
		resp := invoke(t, "direct-bindings", "")
		if resp.Error == nil || !strings.Contains(resp.Error.Message, "ENVSHARE_COMPONENT_ACCESS_TOKEN") {
			t.Fatalf("want a configuration error, got %+v %s", resp.Error, resp.Payload)
		}
	})
	t.Run("two concurrent first configured invocations both succeed", func(t *testing.T) {
		names := []string{"direct-bindings", "apigw-bindings-get"}
		resps := make([]messages.InvokeResponse, len(names))
		var wg sync.WaitGroup
		for i, name := range names {
			wg.Go(func() { resps[i] = invoke(t, name, string(envJSON)) })
		}
		wg.Wait()
		for i, name := range names {
			matches(t, name, resps[i])
		}
	})
	for _, name := range []string{"apigw-share", "apigw-unauthorized", "timer-empty-message", "timer-json-message", "direct-invalid", "direct-unshare"} {
		t.Run(name, func(t *testing.T) {
			if err := emu.Seed(wxemu.DemoState()); err != nil {
				t.Fatal(err)
			}
			matches(t, name, invoke(t, name, string(envJSON)))
		})
	}
	logs := proc.Stop()
	eventtest.CheckLogs(t, logs, invocations, eventtest.TestSecret, eventtest.TestToken)
	if strings.Contains(logs, "CloudWatchMetrics") {
		t.Errorf("SCF must not print EMF lines")
	}
}
