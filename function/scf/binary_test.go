package main

import (
	"encoding/json"
	"net/rpc"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tencentyun/scf-go-lib/cloudfunction/messages"

	"github.com/envshare/envshare/internal/eventtest"
	"github.com/envshare/envshare/internal/ledger"
	"github.com/envshare/envshare/internal/ledger/enginetest"
	"github.com/envshare/envshare/pkg/wxemu"
)

// TestBinaryOverTheSCFProtocol builds the deployment binary and drives it the way the SCF Go
// runtime does: net/rpc "Function.Invoke" on localhost:$_LAMBDA_SERVER_PORT, with the function's
// configuration only in each InvokeRequest.Environment (the process has no ENVSHARE_* variable).
func TestBinaryOverTheSCFProtocol(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "main")
	eventtest.BuildBinary(t, bin)

	emu := eventtest.NewEmulator()
	base := emu.ServeTest(t)
	if err := emu.Seed(wxemu.DemoState()); err != nil {
		t.Fatal(err)
	}
	env := eventtest.Env(base, adapter.Dir)
	fn := startSCF(t, bin)
	envJSON := environment(env)
	matches := func(t *testing.T, name string, resp messages.InvokeResponse) {
		t.Helper()
		if resp.Error != nil {
			t.Fatalf("%s: function error %s: %s", name, resp.Error.Type, resp.Error.Message)
		}
		eventtest.MatchGolden(t, golden(name), eventtest.Normalise(resp.Payload, base))
	}

	t.Run("without configuration healthz answers and a message fails naming the variable", func(t *testing.T) {
		matches(t, "apigw-healthz", fn.invoke(t, "apigw-healthz", ""))
		resp := fn.invoke(t, "direct-bindings", "")
		if resp.Error == nil || !strings.Contains(resp.Error.Message, "ENVSHARE_COMPONENT_ACCESS_TOKEN") {
			t.Fatalf("want a configuration error, got %+v %s", resp.Error, resp.Payload)
		}
	})
	t.Run("two concurrent first configured invocations both succeed", func(t *testing.T) {
		names := []string{"direct-bindings", "apigw-bindings-get"}
		resps := make([]messages.InvokeResponse, len(names))
		var wg sync.WaitGroup
		for i, name := range names {
			wg.Go(func() { resps[i] = fn.invoke(t, name, envJSON) })
		}
		wg.Wait()
		for i, name := range names {
			matches(t, name, resps[i])
		}
	})
	for _, name := range []string{"apigw-share", "apigw-unauthorized", "timer-empty-message", "timer-json-message", "direct-invalid", "direct-unshare",
		// A page's HTML and its security headers pass through the protocol's answer.
		"apigw-confirm-page-expired",
		// A push the function refuses, in plain text.
		"apigw-wechat-bad-signature"} {
		t.Run(name, func(t *testing.T) {
			if err := emu.Seed(wxemu.DemoState()); err != nil {
				t.Fatal(err)
			}
			matches(t, name, fn.invoke(t, name, envJSON))
		})
	}
	t.Run("direct-refresh-no-state", func(t *testing.T) {
		// A failed refresh is a function error over the protocol too, and the instance lives on.
		eventtest.MatchGolden(t, golden("direct-refresh-no-state"), answer(fn.invoke(t, "direct-refresh-no-state", envJSON)))
	})
	logs := fn.proc.Stop()
	eventtest.CheckLogs(t, logs, fn.invocations(), eventtest.SecretsOf(env)...)
	if strings.Contains(logs, "CloudWatchMetrics") {
		t.Errorf("SCF must not print EMF lines")
	}

	// Samples with a configuration of their own (a sidecar): a process each, against the
	// sample's emulator, with the sample's files (credentials secret, state record).
	for _, name := range []string{"apigw-wechat-ticket", "apigw-wechat-authorized", "apigw-wechat-forwarded", "direct-refresh", "apigw-refresh",
		"timer-refresh", "apigw-confirm-page"} {
		t.Run(name, func(t *testing.T) {
			f := eventtest.NewFixture(t, adapter.Dir, name)
			fn := startSCF(t, bin)
			eventtest.MatchGolden(t, golden(name), eventtest.Normalise(answer(fn.invoke(t, name, environment(f.Env))), f.Base))
			f.CheckAfter(t)
			eventtest.CheckLogs(t, fn.proc.Stop(), 1, f.Secrets(t)...)
		})
	}

	// Samples with a ledger, on the binary's own engine: MySQL, through MariaDB (in process they
	// run on SQLite). Their answers do not depend on the clock.
	for _, name := range []string{"direct-fleet", "apigw-wechat-authorized-customer"} {
		t.Run(name+" on MySQL", func(t *testing.T) {
			dsn := enginetest.StartMariaDB(t).NewDatabase(t)
			f := eventtest.NewFixture(t, adapter.Dir, name)
			f.UseLedger(t, "mysql:"+dsn)
			fn := startSCF(t, bin)
			eventtest.MatchGolden(t, golden(name), eventtest.Normalise(answer(fn.invoke(t, name, environment(f.Env))), f.Base))
			f.CheckAfter(t)
			eventtest.CheckLogs(t, fn.proc.Stop(), 1, append(f.Secrets(t), ledger.DSNSecrets(dsn)...)...)
		})
	}
}

// TestMain stops the ledger engines the binary tests started.
func TestMain(m *testing.M) {
	code := m.Run()
	enginetest.Stop()
	os.Exit(code)
}

// scfProcess is a started function binary and its net/rpc client.
type scfProcess struct {
	proc   *eventtest.Process
	client *rpc.Client
	mu     sync.Mutex
	n      int // invocations so far
}

// startSCF starts the binary as the SCF runtime does; it is stopped at the test's cleanup.
func startSCF(t *testing.T, bin string) *scfProcess {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(eventtest.FreePort(t))
	cmd := exec.Command(bin)
	cmd.Dir = filepath.Dir(bin)
	cmd.Env = eventtest.ProcessEnv(map[string]string{"_LAMBDA_SERVER_PORT": strings.TrimPrefix(addr, "127.0.0.1:")})
	proc := eventtest.StartProcess(t, cmd)
	eventtest.WaitForPort(t, addr)
	client, err := rpc.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return &scfProcess{proc: proc, client: client}
}

// invoke sends a sample event with the function's environment (JSON; "" for none).
func (p *scfProcess) invoke(t *testing.T, name, environment string) messages.InvokeResponse {
	t.Helper()
	p.mu.Lock()
	p.n++
	id := "scf-" + strconv.Itoa(p.n)
	p.mu.Unlock()
	req := messages.InvokeRequest{
		Payload:     eventtest.Sample(t, adapter.Dir, name),
		RequestId:   id,
		Deadline:    messages.InvokeRequest_Timestamp{Seconds: time.Now().Add(30 * time.Second).Unix()},
		Environment: environment,
	}
	var resp messages.InvokeResponse
	if err := p.client.Call("Function.Invoke", &req, &resp); err != nil {
		t.Errorf("Function.Invoke: %v", err) // Errorf: invoke runs on other goroutines too
	}
	return resp
}

func (p *scfProcess) invocations() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// environment is the InvokeRequest.Environment of a configuration.
func environment(env map[string]string) string {
	b, _ := json.Marshal(env)
	return string(b)
}

// answer is the answer as the runtime returns it: the payload, or a function error as
// {"errorMessage", "errorType"}, the form of the goldens.
func answer(resp messages.InvokeResponse) []byte {
	if resp.Error != nil {
		b, _ := json.Marshal(map[string]string{"errorMessage": resp.Error.Message, "errorType": resp.Error.Type})
		return b
	}
	return resp.Payload
}

func golden(name string) string { return eventtest.GoldenOf(filepath.Join(adapter.Dir, name+".json")) }
