package share_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envshare/envshare/pkg/share"
)

// outsideProgram is a program of another module: it starts the emulator, shares, reads
// bindings and reconciles with nothing but envshare's pkg/, and prints the three answers.
const outsideProgram = `package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"

	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/wechat"
	"github.com/envshare/envshare/pkg/wxemu"
)

func main() {
	emu := wxemu.New(wxemu.Options{Tokens: []string{"component-token"}, Strict: true})
	if err := emu.Seed(wxemu.DemoState()); err != nil {
		panic(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go http.Serve(ln, emu)

	base := "http://" + ln.Addr().String()
	client := wechat.New(base, wechat.StaticToken("component-token"))
	svc := share.New(client, share.Options{ConfirmOrigins: []string{base}}) // the emulator's links
	ctx := context.Background()
	answers := map[string]*share.Result{}
	if answers["share"], err = svc.Share(ctx, "prod-6gni9ity244a6ea3", []string{"wx075cf85bf347b6df", "wx1a2b3c4d5e6f7081"}); err != nil {
		panic(err)
	}
	if answers["bindings"], err = svc.Bindings(ctx, []string{"wx075cf85bf347b6df"}); err != nil {
		panic(err)
	}
	manifest := []wechat.EnvAppIDs{{Env: "test-env-6gni9ity244a6ea3", AppIDs: []string{"wx5fe6bb43205e9e07", "wx075cf85bf347b6df"}}}
	if answers["reconcile"], err = svc.Reconcile(ctx, manifest, share.ReconcileOptions{}); err != nil {
		panic(err)
	}
	if err := json.NewEncoder(os.Stdout).Encode(answers); err != nil {
		panic(err)
	}
}
`

// TestAProgramOutsideTheModuleNeedsOnlyPkg builds and runs outsideProgram in a module of its
// own that requires this one (a replace to this checkout), from the module cache only: pkg/
// stands alone, and its answers decode back into share.Result.
func TestAProgramOutsideTheModuleNeedsOnlyPkg(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/outside\n\ngo 1.26\n\nrequire github.com/envshare/envshare v0.0.0\n\n"+
		"replace github.com/envshare/envshare => "+root+"\n")
	sums, err := os.ReadFile(filepath.Join(root, "go.sum")) // the checksums of this module's dependencies
	if err != nil {
		t.Fatal(err)
	}
	write("go.sum", string(sums))
	write("main.go", outsideProgram)

	goTool, err := exec.LookPath("go") // go test puts its own toolchain first on PATH
	if err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(goTool, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOSUMDB=off", "GOWORK=off", "GOTOOLCHAIN=local")
		out, err := cmd.Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		return string(out)
	}

	for _, pkg := range strings.Fields(run("list", "-deps", ".")) {
		if strings.HasPrefix(pkg, "github.com/envshare/envshare/") && !strings.HasPrefix(pkg, "github.com/envshare/envshare/pkg/") {
			t.Errorf("the program links %s", pkg)
		}
	}

	var answers map[string]share.Result
	if out := run("run", "."); json.Unmarshal([]byte(out), &answers) != nil {
		t.Fatalf("the program printed %q", out)
	}
	shared := answers["share"]
	if s, _ := shared.Summary.(*share.ShareSummary); s == nil || s.Shared != 1 || s.PendingConfirmation != 1 {
		t.Errorf("share: %+v", shared)
	}
	if b := answers["bindings"].Bindings; len(b) != 1 || len(b[0].Envs) != 1 || b[0].Envs[0] != "prod-6gni9ity244a6ea3" {
		t.Errorf("bindings: %+v", answers["bindings"])
	}
	if s, _ := answers["reconcile"].Summary.(*share.ReconcileSummary); s == nil || s.Desired != 2 || s.AlreadyShared != 1 || s.Shared != 1 {
		t.Errorf("reconcile: %+v", answers["reconcile"])
	}
}

// TestPkgImportsNothingOfInternal: no package of pkg/, nor its tests, imports internal/.
func TestPkgImportsNothingOfInternal(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goTool, "list", "-test", "-deps", "./pkg/...")
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/envshare/envshare/internal/") {
			t.Errorf("pkg/ depends on %s", pkg)
		}
	}
}
