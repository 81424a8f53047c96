package budget

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/envshare/envshare/pkg/wxemu"
)

// Cold-start fixtures: the token the WeChat emulator accepts and the appids of the first
// invocation's bindings query.
const (
	coldToken = "budget-component-access-token"
	coldEnv   = "prod-6gni9ity244a6ea3"
)

var coldAppIDs = []string{"wx5fe6bb43205e9e07", "wx1a2b3c4d5e6f7081", "wx0f1e2d3c4b5a6978"}

// rieBinary finds the AWS Lambda runtime interface emulator: $ENVSHARE_RIE_BIN, else
// aws-lambda-rie on PATH. Not found, it says why.
func rieBinary() (path, missing string) {
	if p := os.Getenv("ENVSHARE_RIE_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Sprintf("ENVSHARE_RIE_BIN=%s: %v: run `make bench`, which installs it", p, err)
		}
		return p, ""
	}
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p, ""
	}
	return "", "the AWS Lambda runtime interface emulator is not installed: run `make bench` " +
		"(it installs ./bin/aws-lambda-rie and sets ENVSHARE_RIE_BIN), or put aws-lambda-rie on PATH"
}

// coldFunction is one binary under test and its first invocation.
type coldFunction struct {
	binary  string
	env     []string
	payload []byte
	check   func(answer []byte) error // is the answer the expected one?
}

func BenchmarkColdStartAWS(b *testing.B) {
	rie, missing := rieBinary()
	if missing != "" {
		b.Skip(missing)
	}
	dir := b.TempDir()
	envshare := coldFunction{
		binary:  buildRelease(b, "./function/aws", runtime.GOARCH, "lambda.norpc", dir, "envshare"),
		env:     append(baseEnv(), "ENVSHARE_WECHAT_BASE_URL="+coldEmulator(b), "ENVSHARE_COMPONENT_ACCESS_TOKEN="+coldToken),
		payload: mustJSON(b, map[string]any{"action": "bindings", "appids": coldAppIDs}),
		check:   checkBindings,
	}
	hello := coldFunction{
		binary:  buildRelease(b, "./internal/budget/testdata/hello", runtime.GOARCH, "lambda.norpc", dir, "hello"),
		env:     baseEnv(),
		payload: []byte(`{"hello":"world"}`),
		check:   checkEcho([]byte(`{"hello":"world"}`)),
	}
	// Untimed warm-up: the page cache, the emulator's first connection.
	coldStartMS(b, rie, envshare)
	coldStartMS(b, rie, hello)

	// One sample of each per iteration, in alternating order; ratio is the median of the
	// iterations' ratios, so that load which changes between iterations cancels out.
	var envshareMS, helloMS, ratios []float64
	for i := 0; b.Loop(); i++ {
		var e, h float64
		if i%2 == 0 {
			e, h = coldStartMS(b, rie, envshare), coldStartMS(b, rie, hello)
		} else {
			h, e = coldStartMS(b, rie, hello), coldStartMS(b, rie, envshare)
		}
		envshareMS, helloMS, ratios = append(envshareMS, e), append(helloMS, h), append(ratios, e/h)
	}
	b.ReportMetric(median(envshareMS), "envshare_ms")
	b.ReportMetric(median(helloMS), "hello_ms")
	b.ReportMetric(median(ratios), "ratio")
}

// coldStartMS is one cold start of f, in milliseconds.
func coldStartMS(b *testing.B, rie string, f coldFunction) float64 {
	b.Helper()
	d, err := coldStart(rie, f)
	if err != nil {
		b.Fatal(err)
	}
	return float64(d) / float64(time.Millisecond)
}

// coldEmulator serves the WeChat emulator on 127.0.0.1 for the benchmark's lifetime.
func coldEmulator(b *testing.B) string {
	emu := wxemu.New(wxemu.Options{Tokens: []string{coldToken}, Strict: true})
	state := wxemu.State{
		Envs:     map[string]wxemu.Env{coldEnv: {Subject: "Acme"}},
		Apps:     map[string]wxemu.App{},
		Bindings: map[string][]string{coldAppIDs[0]: {coldEnv}},
	}
	for _, a := range coldAppIDs {
		state.Apps[a] = wxemu.App{Subject: "Acme"}
	}
	if err := emu.Seed(state); err != nil {
		b.Fatal(err)
	}
	return emu.ServeTest(b)
}

// baseEnv is the environment both binaries start with: nothing of the benchmark's own, so that
// stray ENVSHARE_ or AWS_ variables cannot change what is measured.
func baseEnv() []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir()}
}

// coldStart starts f.binary under the runtime interface emulator and returns the time from
// starting the emulator to the answer of the first invocation, then stops both.
func coldStart(rie string, f coldFunction) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	addr, err := freeAddr()
	if err != nil {
		return 0, err
	}
	apiAddr, err := freeAddr()
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", addr, "--runtime-api-address", apiAddr, f.binary)
	cmd.Env = f.env
	var logs bytes.Buffer // the emulator's and the function's output, shown on failure
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // one group: the emulator and its runtime

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start %s: %w", rie, err)
	}
	answer, err := invokeWhenListening(ctx, "http://"+addr+"/2015-03-31/functions/function/invocations", f.payload)
	elapsed := time.Since(start)
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Wait()
	if err == nil {
		err = f.check(answer)
	}
	if err != nil {
		return 0, fmt.Errorf("%s under the RIE: %w\n%s", f.binary, err, logs.Bytes())
	}
	return elapsed, nil
}

// invokeWhenListening posts the invocation as soon as the emulator accepts connections.
func invokeWhenListening(ctx context.Context, url string, payload []byte) ([]byte, error) {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if errors.Is(err, syscall.ECONNREFUSED) { // not listening yet: poll again shortly
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("the emulator never listened on %s: %w", url, ctx.Err())
			case <-time.After(time.Millisecond):
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("invocation answered %s: %s", resp.Status, body)
		}
		return body, nil
	}
}

// checkBindings accepts envshare's bindings result.
func checkBindings(answer []byte) error {
	var res struct {
		OK       bool   `json:"ok"`
		Action   string `json:"action"`
		Bindings []struct {
			AppID string `json:"appid"`
		} `json:"bindings"`
	}
	if err := json.Unmarshal(answer, &res); err != nil || !res.OK || res.Action != "bindings" || len(res.Bindings) != len(coldAppIDs) {
		return fmt.Errorf("not the bindings of %d appids: %s", len(coldAppIDs), answer)
	}
	return nil
}

// checkEcho accepts the hello-world's answer: the event itself.
func checkEcho(want []byte) func([]byte) error {
	return func(answer []byte) error {
		if !bytes.Equal(bytes.TrimSpace(answer), want) {
			return fmt.Errorf("echo answered %s, want %s", answer, want)
		}
		return nil
	}
}

// freeAddr is a 127.0.0.1 address with a port that was free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func mustJSON(b *testing.B, v any) []byte {
	b.Helper()
	out, err := json.Marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	return out
}
