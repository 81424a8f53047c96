package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/creack/pty"

	"github.com/envshare/envshare/internal/testkit"
)

// inTerminal runs the command (this test binary running main) in a pseudo-terminal, as a
// person at a terminal would, and returns what the terminal showed and the exit code.
func inTerminal(t *testing.T, env map[string]string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), testkit.RunMainEnv+"=1", "TERM=xterm-256color")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 60, Cols: 160})
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	var screen bytes.Buffer
	_, err = io.Copy(&screen, tty) // until the command ends (EIO on Linux when its side closes)
	var perr *os.PathError
	if err != nil && !errors.As(err, &perr) {
		t.Fatal(err)
	}
	code := 0
	if err := cmd.Wait(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatal(err)
		}
		code = exit.ExitCode()
	}
	return screen.String(), code
}

// In a terminal, a share with a pending pair prints the table and draws the link's QR code;
// a 401 explains what to check; the exit codes are those of docs/go-client.md.
func TestInATerminal(t *testing.T) {
	d := serve(t, nil)
	env := map[string]string{"ENVSHARE_URL": d.URL, "ENVSHARE_HTTP_AUTH": "bearer", "ENVSHARE_HTTP_SECRET": localSecret}

	screen, code := inTerminal(t, env, "share", acmeEnv, "wx1a2b3c4d5e6f7081", "wx075cf85bf347b6df")
	if code != 0 {
		t.Errorf("exit %d:\n%s", code, screen)
	}
	for _, want := range []string{
		"share: requested 2, shared 1, pending_confirmation 1, failed 0",
		"ENV                    APPID               STATUS                DETAIL",
		"wx1a2b3c4d5e6f7081 must open this link in WeChat (scan it), for " + acmeEnv,
		"\x1b[97;40m", // the QR code, in explicit colours
		"▀",
	} {
		if !strings.Contains(screen, want) {
			t.Errorf("the terminal lacks %q:\n%s", want, screen)
		}
	}
	if n := strings.Count(screen, "\x1b[97;40m"); n < 10 {
		t.Errorf("a QR code of %d lines", n)
	}

	screen, code = inTerminal(t, env, "share", "--no-qr", acmeEnv, "wx1a2b3c4d5e6f7081")
	if code != 0 || strings.Contains(screen, "▀") {
		t.Errorf("--no-qr: exit %d:\n%s", code, screen)
	}

	wrong := map[string]string{"ENVSHARE_URL": d.URL, "ENVSHARE_HTTP_AUTH": "hmac", "ENVSHARE_HTTP_SECRET": localSecret}
	screen, code = inTerminal(t, wrong, "bindings", "wx075cf85bf347b6df")
	if code != 3 || !strings.Contains(screen, "Which mode it expects cannot be told from here") {
		t.Errorf("a wrong mode: exit %d:\n%s", code, screen)
	}
	screen, code = inTerminal(t, env, "share", acmeEnv, "wx12")
	if code != 2 || !strings.Contains(screen, `"wx12" is not an appid`) {
		t.Errorf("a malformed appid: exit %d:\n%s", code, screen)
	}
}
