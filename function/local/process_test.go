package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/eventtest"
	"github.com/envshare/envshare/internal/testkit"
)

// serveCommand is this test binary running `local serve` on two free ports (see TestMain),
// writing its JSON log to logPath, in the test's temporary directory.
func serveCommand(t *testing.T) (args []string, addr, logPath string) {
	t.Helper()
	addr = fmt.Sprintf("127.0.0.1:%d", eventtest.FreePort(t))
	emu := fmt.Sprintf("127.0.0.1:%d", eventtest.FreePort(t))
	logPath = filepath.Join(t.TempDir(), "serve.log")
	return []string{os.Args[0], "serve", "-addr", addr, "-emulator", emu, "-log", logPath}, addr, logPath
}

// serveEnv is the environment of a serve process: no ENVSHARE_* setting of the caller's.
func serveEnv() []string {
	return eventtest.ProcessEnv(map[string]string{testkit.RunMainEnv: "1"})
}

// waitClosed waits until nothing listens on addr any more.
func waitClosed(t *testing.T, addr string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatalf("%s still accepts connections %s later", addr, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Killing a backgrounded `make serve` kills make, the server's parent (the recipe execs
// it): the server must end with it, not stay listening.
func TestServeEndsWithItsParent(t *testing.T) {
	args, addr, _ := serveCommand(t)
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	// The shell stands in for make: the server is its child, and it waits for it. Output goes
	// to a file: a pipe would end the server by SIGPIPE once the test stops reading, and
	// prove nothing.
	parent := exec.Command("sh", "-c", `pidfile=$1; shift; "$@" >"$pidfile.out" 2>&1 & echo $! >"$pidfile"; wait`, "sh", pidFile)
	parent.Args = append(parent.Args, args...)
	parent.Env = serveEnv()
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	output := func() string { b, _ := os.ReadFile(pidFile + ".out"); return string(b) }
	t.Cleanup(func() {
		if b, err := os.ReadFile(pidFile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				syscall.Kill(pid, syscall.SIGKILL) // only if the test failed: it is gone otherwise
			}
		}
		if t.Failed() {
			t.Logf("output:\n%s", output())
		}
	})
	waitFor(t, output, "Stop with Ctrl-C", time.Minute) // serving, past the start-up

	parent.Process.Kill() // SIGKILL: the parent gets no chance to pass anything on
	parent.Wait()
	waitClosed(t, addr, 10*time.Second)
	waitFor(t, output, "envshare stopped", 10*time.Second) // the clean shutdown, not a kill
}

// waitFor waits until output() holds want.
func waitFor(t *testing.T, output func() string, want string, within time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(within); !strings.Contains(output(), want); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q after %s:\n%s", want, within, output())
		}
	}
}

// Ctrl-C and SIGTERM stop the server cleanly: it says so and exits 0.
func TestServeShutsDownCleanlyOnSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			args, addr, logPath := serveCommand(t)
			cmd := exec.Command(args[0], args[1:]...)
			cmd.Env = serveEnv()
			var out testkit.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, out.String, "Stop with Ctrl-C", time.Minute) // serving, past the start-up
			cmd.Process.Signal(sig)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("exit: %v\n%s", err, out.String())
				}
			case <-time.After(15 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("still running 15 s after %v\n%s", sig, out.String())
			}
			if !strings.Contains(out.String(), "envshare stopped") {
				t.Errorf("no clean shutdown message:\n%s", out.String())
			}
			waitClosed(t, addr, time.Second)
			checkServeLogs(t, out.String(), logPath)
		})
	}
}

// checkServeLogs checks what serve printed of the function's log: the path of its JSON log
// file, and human lines in the window (the start-up's ticket push and refresh), while the file
// holds the same records as JSON lines.
func checkServeLogs(t *testing.T, printed, logPath string) {
	t.Helper()
	if !strings.Contains(printed, "The function's JSON log: "+logPath) {
		t.Errorf("serve does not name its log file %s:\n%s", logPath, printed)
	}
	if !regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d invocation .*action=refresh .*status=200`).MatchString(printed) {
		t.Errorf("no human line of the start-up's refresh:\n%s", printed)
	}
	if strings.Contains(printed, `"msg":"invocation"`) {
		t.Errorf("JSON log lines in the window:\n%s", printed)
	}
	logged, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(logged), `"msg":"invocation"`) || !strings.Contains(string(logged), `"action":"refresh"`) {
		t.Errorf("the JSON log %s lacks the refresh's invocation line:\n%s", logPath, logged)
	}
}
