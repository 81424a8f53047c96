package eventtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/testkit"
)

// BuildBinary builds the main package in the current directory (an adapter's) as a static
// Linux-style binary at out, as the deployment does: CGO_ENABLED=0, with extra build flags.
func BuildBinary(t *testing.T, out string, flags ...string) {
	t.Helper()
	args := append(append([]string{"build"}, flags...), "-o", out, ".")
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
}

// FreePort returns a TCP port free on 127.0.0.1 at the time of the call.
func FreePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// ProcessEnv is the caller's environment without any ENVSHARE_* variable, plus extra.
func ProcessEnv(extra map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ENVSHARE_") {
			env = append(env, kv)
		}
	}
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	return env
}

// WaitForPort waits until addr accepts TCP connections, or fails the test after a minute.
func WaitForPort(t *testing.T, addr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		conn, err := net.Dial("tcp", addr)
		if err == nil {
			conn.Close()
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("nothing listens on %s: %v", addr, err)
		case <-tick.C:
		}
	}
}

// Process is a started function process with its output captured.
type Process struct {
	cmd  *exec.Cmd
	out  testkit.Buffer
	once sync.Once
}

// StartProcess starts cmd with its output captured; it is stopped at the test's cleanup.
func StartProcess(t *testing.T, cmd *exec.Cmd) *Process {
	t.Helper()
	p := &Process{cmd: cmd}
	cmd.Stdout, cmd.Stderr = &p.out, &p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		out := p.Stop()
		if t.Failed() {
			t.Logf("output of %s:\n%s", filepath.Base(cmd.Path), out)
		}
	})
	return p
}

// Output returns what the process wrote so far.
func (p *Process) Output() string { return p.out.String() }

// Stop ends the process (testkit.StopProcess: SIGTERM, so that the local deployment removes its
// directory with its credentials, then a kill after 10 s) and returns its whole output: only
// after the process is gone has everything it wrote been read.
func (p *Process) Stop() string {
	p.once.Do(func() {
		exited := make(chan struct{})
		go func() {
			_ = p.cmd.Wait()
			close(exited)
		}()
		testkit.StopProcess(p.cmd, exited, 10*time.Second)
	})
	return p.out.String()
}

// CheckLogs checks a function process's output: one summary line per invocation (the first
// one a cold start), and none of the secrets anywhere.
func CheckLogs(t *testing.T, out string, invocations int, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("the output contains a secret")
		}
	}
	if n := strings.Count(out, `"msg":"invocation"`); n != invocations {
		t.Errorf("%d summary lines for %d invocations", n, invocations)
	}
	if n := strings.Count(out, `"cold_start":true`); n != 1 {
		t.Errorf("%d cold starts, want 1", n)
	}
}

// Sample reads events/<platform>/<name>.json of dir.
func Sample(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name+".json"))
	if err != nil {
		t.Fatal(fmt.Errorf("sample event: %w", err))
	}
	return b
}

// RIE finds the AWS Lambda runtime interface emulator that `make test` installs: the
// ENVSHARE_RIE_BIN variable, aws-lambda-rie on PATH, or ./bin/aws-lambda-rie at the
// repository's root. Missing, the test is skipped with a message naming `make test`, except
// under CI=true, where it fails: CI must never skip it.
func RIE(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("ENVSHARE_RIE_BIN"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p
	}
	if root, err := exec.Command("go", "env", "GOMOD").Output(); err == nil {
		p := filepath.Join(filepath.Dir(strings.TrimSpace(string(root))), "bin", "aws-lambda-rie")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	Missing(t, "the AWS Lambda runtime interface emulator (aws-lambda-rie)")
	return ""
}

// Missing skips a test for want of something the machine lacks, naming `make test`, which
// installs it; under CI=true it fails instead.
func Missing(t testing.TB, what string) {
	t.Helper()
	msg := what + " is not installed: run `make test`, which installs it"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: this test must run, never skip)")
	}
	t.Skip(msg)
}
