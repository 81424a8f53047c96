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
		binary:  buildRelease(b, "./function/aws", runtime.GOARCH, awsTags, dir, "envshare"),
		env:     append(baseEnv(), "ENVSHARE_WECHAT_BASE_URL="+coldEmulator(b), "ENVSHARE_COMPONENT_ACCESS_TOKEN="+coldToken),
		payload: mustJSON(b, map[string]any{"action": "bindings", "appids": coldAppIDs}),
		check:   checkBindings,
	}
	// The same binary and configuration, asked for a refresh, which it refuses after loading
	// the configuration and wiring the instance (no ENVSHARE_STATE_ID): envshare's cold start
	// without the WeChat call that the hello-world has no counterpart for.
	local := envshare
	local.payload = []byte(`{"action":"refresh"}`)
	local.check = checkRefused
	hello := coldFunction{
		binary:  buildRelease(b, "./internal/budget/testdata/hello", runtime.GOARCH, awsTags, dir, "hello"),
		env:     baseEnv(),
		payload: []byte(`{"hello":"world"}`),
		check:   checkEcho([]byte(`{"hello":"world"}`)),
	}
	// Untimed warm-up: the page cache, the emulator's first connection.
	coldStartMS(b, rie, envshare)
	coldStartMS(b, rie, local)
	coldStartMS(b, rie, hello)

	// One sample of each per iteration, in alternating order; ratio is the median of the
	// iterations' ratios, so that load which changes between iterations cancels out.
	var envshareMS, helloMS, ratios, localRatios []float64
	for i := 0; b.Loop(); i++ {
		var e, h, l float64
		if i%2 == 0 {
			e, h, l = coldStartMS(b, rie, envshare), coldStartMS(b, rie, hello), coldStartMS(b, rie, local)
		} else {
			l, h, e = coldStartMS(b, rie, local), coldStartMS(b, rie, hello), coldStartMS(b, rie, envshare)
		}
		envshareMS, helloMS = append(envshareMS, e), append(helloMS, h)
		ratios, localRatios = append(ratios, e/h), append(localRatios, l/h)
	}
	b.ReportMetric(median(envshareMS), "envshare_ms")
	b.ReportMetric(median(helloMS), "hello_ms")
	b.ReportMetric(median(ratios), "ratio")
	b.ReportMetric(median(localRatios), "ratio_no_wechat_call")
}

// coldStartMS is one cold start of f, in milliseconds. A failed start is taken again, twice at
// most: the emulator's ports are chosen free, but another process may take one before the
// emulator binds it, which says nothing of f.
func coldStartMS(b *testing.B, rie string, f coldFunction) float64 {
	b.Helper()
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		var d time.Duration
		if d, err = coldStart(rie, f); err == nil {
			return float64(d) / float64(time.Millisecond)
		}
		b.Logf("cold start %d failed: %v", attempt, err)
	}
	b.Fatal("three cold starts in a row failed")
	return 0
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
	addrs, err := freeAddrs(2)
	if err != nil {
		return 0, err
	}
	addr, apiAddr := addrs[0], addrs[1]
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", addr, "--runtime-api-address", apiAddr, f.binary)
	cmd.Env = f.env
	var logs bytes.Buffer // the emulator's and the function's output, shown on failure
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // one group: the emulator and its runtime

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start %s: %w", rie, err)
	}
	// An emulator that exits (it could not bind a port) ends the waits below at once.
	ctx, emulatorExited := context.WithCancel(ctx)
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		emulatorExited()
		close(exited)
	}()
	// The emulator starts its runtime API in a goroutine of its own, which may not listen yet
	// when an invocation starts the function: the function would then exit with "connection
	// refused". Both listening is the emulator started.
	err = waitListening(ctx, apiAddr)
	var answer []byte
	if err == nil {
		answer, err = invokeWhenListening(ctx, "http://"+addr+"/2015-03-31/functions/function/invocations", f.payload)
	}
	elapsed := time.Since(start)
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-exited
	if err == nil {
		err = f.check(answer)
	}
	if err != nil {
		return 0, fmt.Errorf("%s under the RIE: %w\n%s", f.binary, err, logs.Bytes())
	}
	return elapsed, nil
}

// waitListening returns once addr accepts TCP connections.
func waitListening(ctx context.Context, addr string) error {
	var d net.Dialer
	for {
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			return conn.Close()
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			return fmt.Errorf("the emulator's runtime API never listened on %s: %w", addr, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the emulator's runtime API never listened on %s: %w", addr, ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
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

// checkRefused accepts envshare's refusal of a refresh without a state record (an invocation
// error, which the emulator answers as errorMessage).
func checkRefused(answer []byte) error {
	if !bytes.Contains(answer, []byte("ENVSHARE_STATE_ID")) {
		return fmt.Errorf("not the refusal of a refresh without ENVSHARE_STATE_ID: %s", answer)
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

// freeAddrs returns n 127.0.0.1 addresses with ports that were free a moment ago, all
// different: each is held until all are chosen.
func freeAddrs(n int) ([]string, error) {
	var addrs []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, nil
}

func mustJSON(b *testing.B, v any) []byte {
	b.Helper()
	out, err := json.Marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	return out
}
