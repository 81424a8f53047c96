package trigger

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/config"
	"github.com/envshare/envshare/pkg/wxemu"
)

// backendProcess is testdata/backend running in a process of its own: a platform's existing
// backend, with its own code for WeChat's signature and decryption.
type backendProcess struct {
	url   string
	lines chan map[string]any // what it prints, one JSON object a line
}

// startBackend builds and starts the backend for the loop's platform and state record.
func startBackend(t *testing.T, l *loop) *backendProcess {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "backend")
	if out, err := exec.Command("go", "build", "-o", bin, "./testdata/backend").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-token", loopMsgToken, "-aeskey", loopAESKey, "-appid", loopAppID, "-appsecret", loopAppSecret,
		"-wechat", os.Getenv("ENVSHARE_WECHAT_BASE_URL"), "-state", l.state)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	b := &backendProcess{lines: make(chan map[string]any, 100)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				b.lines <- m
			}
		}
		close(b.lines)
	}()
	b.url = "http://" + b.next(t, "listening")["listening"].(string)
	return b
}

// next waits for the backend's next line holding key.
func (b *backendProcess) next(t *testing.T, key string) map[string]any {
	t.Helper()
	timeout := time.After(30 * time.Second) // a safety net for a broken backend, not a timing assertion
	for {
		select {
		case m, ok := <-b.lines:
			if !ok {
				t.Fatalf("the backend ended before saying %q", key)
			}
			if _, found := m[key]; found {
				return m
			}
		case <-timeout:
			t.Fatalf("the backend never said %q", key)
		}
	}
}

// call POSTs to one of the backend's own routes.
func (b *backendProcess) call(t *testing.T, path string) string {
	t.Helper()
	resp, err := http.Post(b.url+path, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
	}
	return string(body)
}

// wantPush waits for the backend's report of a forwarded push: signed as WeChat signs, and
// decrypted by its own code.
func (b *backendProcess) wantPush(t *testing.T, infoType string) {
	t.Helper()
	p := b.next(t, "push")["push"].(map[string]any)
	if p["signature"] != "ok" || p["info_type"] != infoType {
		t.Fatalf("the backend received %v, want a %s push whose signature it checked", p, infoType)
	}
}

// TestRunningNextToAnExistingBackend shows the two recipes of docs/tokens-and-events.md end to end:
// WeChat (the emulator) pushes to envshare, which forwards each push to the backend (another
// process, checking WeChat's signature with its own code); the token is envshare's, read by the
// backend from the state record with pkg/statetoken, or the backend's, written into the state
// record and used by envshare.
func TestRunningNextToAnExistingBackend(t *testing.T) {
	ctx := context.Background()
	t.Run("envshare owns the token; the backend reads it and receives the pushes", func(t *testing.T) {
		l := newLoop(t, nil, false)
		b := startBackend(t, l)
		t.Setenv("ENVSHARE_FORWARD_URL", b.url+"/wechat/push") // read at the instance's first invocation

		if _, err := l.emu.PushTicket(ctx); err != nil {
			t.Fatal(err)
		}
		b.wantPush(t, "component_verify_ticket")
		if _, err := Answer(l.app.Message(ctx, []byte(`{"action":"refresh"}`))); err != nil {
			t.Fatal(err)
		}
		if got := b.call(t, "/use-token"); got != `{"errcode":0}` {
			t.Fatalf("the backend's call with envshare's token: %s", got)
		}
		if used := b.next(t, "used")["used"].(map[string]any); strings.Contains(used["token"].(string), l.record(t)["component_access_token"].(string)) {
			t.Fatalf("the backend printed the token: %v", used)
		}
		if err := l.emu.Authorize(ctx, newApp, wxemu.App{}); err != nil {
			t.Fatal(err)
		}
		b.wantPush(t, "authorized")
		if l.emu.Mints() != 1 || l.emu.Calls(wxemu.EndpointShare) != 1 {
			t.Fatalf("%d mints (want envshare's one), %d shares", l.emu.Mints(), l.emu.Calls(wxemu.EndpointShare))
		}
	})

	t.Run("the backend owns the token; envshare uses the one it writes", func(t *testing.T) {
		l := newLoop(t, map[string]string{"ENVSHARE_TOKEN_OWNER": config.OwnerExternal}, false)
		b := startBackend(t, l)
		t.Setenv("ENVSHARE_FORWARD_URL", b.url+"/wechat/push")

		if _, err := l.emu.PushTicket(ctx); err != nil { // to envshare, which stores it and forwards it
			t.Fatal(err)
		}
		b.wantPush(t, "component_verify_ticket")
		if l.record(t)["component_verify_ticket"] == nil {
			t.Fatal("envshare did not store the ticket")
		}
		b.call(t, "/mint") // the backend mints with the ticket it was forwarded
		resp := l.app.HTTP(ctx, post("/share", `{"env":"prod-6gni9ity244a6ea3","appids":["wx075cf85bf347b6df"]}`))
		if resp.Status != 200 || !strings.Contains(resp.Body, `"ok":true`) {
			t.Fatalf("a share with the backend's token: %d %s", resp.Status, resp.Body)
		}
		if _, err := Answer(l.app.Message(ctx, []byte(`{"action":"refresh"}`))); err == nil || !strings.Contains(err.Error(), "owned externally") {
			t.Fatalf("refresh: %v", err)
		}
		if l.emu.Mints() != 1 {
			t.Fatalf("%d mints, want the backend's one", l.emu.Mints())
		}
	})
}
