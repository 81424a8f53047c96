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

	"github.com/envshare/envshare/pkg/rpcinvoke"
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

	_, baseURL, stop, err := startEmulator(*state)
	if err != nil {
		return err
	}
	defer stop()
	env := localEnv(baseURL)
	if err := mergeSidecar(env, strings.TrimSuffix(eventPath, ".json")+".env.json"); err != nil {
		return err
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

// mergeSidecar applies an optional <event>.env.json of configuration overrides.
func mergeSidecar(env map[string]string, path string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var overrides map[string]string
	if err := json.Unmarshal(b, &overrides); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for k, v := range overrides {
		env[k] = v
	}
	return nil
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
