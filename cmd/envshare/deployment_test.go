package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/eventtest"
	"github.com/envshare/envshare/internal/testkit"
)

func TestMain(m *testing.M) { testkit.MainOrTests(m, main, removeLocalBinary) }

// The local tools' fixed values (function/local): they guard nothing, on 127.0.0.1 only.
const (
	localSecret = "local-http-secret"
	acmeEnv     = "prod-6gni9ity244a6ea3"
)

var (
	buildLocal sync.Once
	localDir   string // removed after the tests
	localBin   string
	buildErr   error
)

// localBinary builds function/local (bin/local, what `make serve` runs) once per test run.
func localBinary(t *testing.T) string {
	t.Helper()
	buildLocal.Do(func() {
		localDir, buildErr = os.MkdirTemp("", "envshare-cli-test-")
		if buildErr != nil {
			return
		}
		localBin = filepath.Join(localDir, "local")
		out, err := exec.Command("go", "build", "-o", localBin, "../../function/local").CombinedOutput()
		if err != nil {
			buildErr = err
			localBin = string(out)
		}
	})
	if buildErr != nil {
		t.Fatalf("go build ./function/local: %v\n%s", buildErr, localBin)
	}
	return localBin
}

// removeLocalBinary removes localBinary's directory, if it made one.
func removeLocalBinary() {
	if localDir != "" {
		os.RemoveAll(localDir)
	}
}

// deployment is `make serve`'s local deployment, as a child process on free ports.
type deployment struct {
	URL, EmulatorURL string
	proc             *eventtest.Process
}

var serving = regexp.MustCompile(`envshare \(the real handler\) on (http://127\.0\.0\.1:\d+); WeChat emulator on (http://127\.0\.0\.1:\d+)`)

// serve starts `local serve` with env as the only ENVSHARE_* settings, and waits until it serves.
func serve(t *testing.T, env map[string]string) *deployment {
	t.Helper()
	// The JSON log goes to the test's directory: by default serve keeps it in $TMPDIR.
	cmd := exec.Command(localBinary(t), "serve", "-addr", "127.0.0.1:0", "-emulator", "127.0.0.1:0", "-v=false",
		"-log", filepath.Join(t.TempDir(), "serve.log"))
	cmd.Env = eventtest.ProcessEnv(env)
	p := eventtest.StartProcess(t, cmd)
	out := p.Output
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if m := serving.FindStringSubmatch(out()); m != nil && strings.Contains(out(), "Stop with Ctrl-C") {
			return &deployment{URL: m[1], EmulatorURL: m[2], proc: p}
		}
		if time.Now().After(deadline) {
			t.Fatalf("local serve did not start:\n%s", out())
		}
	}
}

// result is one run of the command.
type result struct {
	code           int
	stdout, stderr string
}

// cli runs the command in-process with env as its only variables.
func cli(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := run(ctx, args, func(name string) string { return env[name] }, &stdout, &stderr)
	return result{code, stdout.String(), stderr.String()}
}
