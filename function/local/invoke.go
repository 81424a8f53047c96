package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/envshare/envshare/internal/eventtest"
	"github.com/envshare/envshare/internal/rpcinvoke"
	"github.com/envshare/envshare/pkg/wxemu"
)

// invoke runs one sample event through its platform's real binary, driven over the runtime's
// net/rpc protocol (scf-go-lib; aws-lambda-go in RPC mode), against the emulator. The platform
// is taken from the event's folder: events/aws/... or events/scf/....
func invoke(ctx context.Context, out io.Writer, args []string) error {
	fs := flag.NewFlagSet("invoke", flag.ContinueOnError)
	state := fs.String("state", "", "emulator state JSON (default: the demo fleet)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: invoke [-state file] events/<aws|scf>/<name>.json")
	}
	eventPath := fs.Arg(0)
	event, err := os.ReadFile(eventPath)
	if err != nil {
		return err
	}
	platform := filepath.Base(filepath.Dir(eventPath))
	if platform != "aws" && platform != "scf" {
		return fmt.Errorf("%s: put the event under events/aws or events/scf so the platform is known", eventPath)
	}

	// The samples' own configuration: their credentials, events/manifest.json, and the
	// sidecar's overrides and faults (events/README.md).
	sidecar, err := readSidecar(strings.TrimSuffix(eventPath, ".json") + ".env.json")
	if err != nil {
		return err
	}
	emu := wxemu.New(wxemu.Options{Tokens: []string{eventtest.TestToken}, Strict: true})
	if *state != "" {
		err = emu.SeedFile(*state)
	} else {
		err = emu.Seed(wxemu.DemoState())
	}
	if err != nil {
		return err
	}
	for _, f := range sidecar.Faults {
		if err := emu.AddFault(f); err != nil {
			return err
		}
	}
	baseURL, stop := emu.Start()
	defer stop()
	env := eventtest.Env(baseURL, filepath.Dir(eventPath), sidecar.Env)
	if sidecar.Now != 0 {
		fmt.Fprintln(out, "note: this sample is checked at a fixed clock in the tests; the binary uses the real time")
	}

	bin, err := buildFunction(ctx, platform)
	if err != nil {
		return err
	}
	defer os.RemoveAll(filepath.Dir(bin))

	// SCF delivers the configuration with each invocation; aws-lambda-go reads the process's.
	var procEnv []string
	invokeEnv := env
	if platform == "aws" {
		procEnv = append(os.Environ(), envList(env)...)
		invokeEnv = nil
	} else {
		procEnv = withoutEnvshare(os.Environ())
	}
	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	proc, err := rpcinvoke.Start(startCtx, bin, procEnv)
	if err != nil {
		return err
	}
	defer proc.Close()

	answer, err := proc.Invoke(event, invokeEnv, "local-invoke", 60*time.Second)
	if err != nil {
		fmt.Fprintf(out, "invocation error: %v\n", err)
		return nil
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, answer, "", "  ") != nil {
		pretty.Write(answer)
	}
	fmt.Fprintln(out, pretty.String())
	return nil
}

// buildFunction builds ./function/<platform> (without lambda.norpc, so the AWS binary also
// speaks the RPC protocol) into a temporary folder.
func buildFunction(ctx context.Context, platform string) (string, error) {
	dir, err := os.MkdirTemp("", "envshare-invoke-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "fn")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./function/"+platform)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("go build ./function/%s (run from the repository root): %w", platform, err)
	}
	return bin, nil
}

// readSidecar reads an optional <event>.env.json.
func readSidecar(path string) (eventtest.Sidecar, error) {
	var sc eventtest.Sidecar
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return sc, nil
	}
	if err != nil {
		return sc, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sc); err != nil {
		return sc, fmt.Errorf("%s: %w", path, err)
	}
	return sc, nil
}

func envList(env map[string]string) []string {
	var list []string
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	return list
}

func withoutEnvshare(environ []string) []string {
	var kept []string
	for _, kv := range environ {
		if !strings.HasPrefix(kv, "ENVSHARE_") {
			kept = append(kept, kv)
		}
	}
	return kept
}
