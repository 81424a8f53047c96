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
	"reflect"
	"time"

	"github.com/envshare/envshare/internal/eventtest"
	"github.com/envshare/envshare/internal/rpcinvoke"
)

// invoke runs one sample event through its platform's real binary, driven over the runtime's
// net/rpc protocol (scf-go-lib; aws-lambda-go in RPC mode), against the emulator, and compares
// the answer with the sample's golden. The platform is taken from the event's folder:
// events/aws/... or events/scf/....
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
	sidecar, err := eventtest.ReadSidecar(eventPath)
	if err != nil {
		return err
	}
	emu := eventtest.NewEmulator()
	if err := seed(emu, *state, sidecar.EmulatorState()); err != nil {
		return err
	}
	for _, f := range sidecar.Faults {
		if err := emu.AddFault(f); err != nil {
			return err
		}
	}
	baseURL, stop := emu.Start()
	defer stop()
	tmp, err := os.MkdirTemp("", "envshare-invoke-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	sampleEnv, err := sidecar.Configure(baseURL, filepath.Dir(eventPath), tmp) // credentials and state files too
	if err != nil {
		return fmt.Errorf("sidecar of %s: %w", eventPath, err)
	}
	s, err := resolve(sampleEnv, fromSample)
	s.print(out)
	if err != nil {
		return err
	}

	// The golden was checked at a fixed clock; the binary runs at the real time.
	event, note, err := resign(event, sampleEnv["ENVSHARE_HTTP_SECRET"], sidecar.Clock().Unix(), time.Now())
	if err != nil {
		return err
	}
	if note != "" {
		fmt.Fprintln(out, note)
	}

	fmt.Fprintf(out, "Building ./function/%s for the runtime's RPC protocol (a first build takes about a minute)...\n", platform)
	bin, err := buildFunction(ctx, platform)
	if err != nil {
		return err
	}
	defer os.RemoveAll(filepath.Dir(bin))

	// SCF delivers the configuration with each invocation; aws-lambda-go reads the process's,
	// which resolve has set.
	procEnv, invokeEnv := os.Environ(), s.env()
	if platform == "aws" {
		invokeEnv = nil
	} else {
		procEnv = eventtest.ProcessEnv(nil)
	}
	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	proc, err := rpcinvoke.Start(startCtx, bin, procEnv, nil)
	if err != nil {
		return err
	}
	defer proc.Close()

	fmt.Fprintf(out, "Invoking %s (the function's log follows on stderr)...\n", eventPath)
	answer, err := proc.Invoke(event, invokeEnv, "local-invoke", 60*time.Second)
	var invokeErr *rpcinvoke.InvokeError
	switch {
	case errors.As(err, &invokeErr): // the handler's error, as the runtime reports it
		answer, _ = json.Marshal(map[string]string{"errorMessage": invokeErr.Message, "errorType": invokeErr.Type})
		fmt.Fprintln(out, "The invocation returned an error (the platform would retry an asynchronous one):")
	case err != nil:
		return err
	default:
		fmt.Fprintln(out, "Answer:")
	}
	fmt.Fprintln(out, readable(answer))
	return compareGolden(out, eventtest.GoldenOf(eventPath), eventtest.Normalise(answer, baseURL))
}

// compareGolden says whether the answer (normalised as the tests do) equals the golden, as
// JSON values, and prints a diff when it does not.
func compareGolden(out io.Writer, golden string, answer []byte) error {
	want, err := os.ReadFile(golden)
	if errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(out, "No golden answer %s to compare with.\n", golden)
		return nil
	}
	if err != nil {
		return err
	}
	var g, a any
	if err := json.Unmarshal(want, &g); err != nil {
		return fmt.Errorf("golden %s is not JSON: %w", golden, err)
	}
	if err := json.Unmarshal(answer, &a); err != nil {
		return fmt.Errorf("the answer is not JSON: %w", err)
	}
	if reflect.DeepEqual(g, a) {
		fmt.Fprintf(out, "The answer matches %s.\n", golden)
		return nil
	}
	fmt.Fprintf(out, "The answer differs from %s (emulator address and confirmation ids normalised as in the tests):\n", golden)
	fmt.Fprint(out, lineDiff(readable(want), readable(answer), golden, "answer"))
	return fmt.Errorf("the answer differs from %s", golden)
}

// readable indents a JSON answer, keeping its order, with an HTTP envelope's JSON body shown
// as JSON rather than as one long string. Anything else is returned as it is.
func readable(answer []byte) string {
	fields, ok := objectFields(answer)
	if !ok {
		return string(answer)
	}
	var obj bytes.Buffer
	obj.WriteByte('{')
	for i, f := range fields {
		if i > 0 {
			obj.WriteByte(',')
		}
		name, _ := json.Marshal(f[0])
		obj.Write(name)
		obj.WriteByte(':')
		var body string
		if f[0] == "body" && json.Unmarshal([]byte(f[1]), &body) == nil && json.Valid([]byte(body)) {
			f[1] = body
		}
		obj.WriteString(f[1])
	}
	obj.WriteByte('}')
	var out bytes.Buffer
	if json.Indent(&out, obj.Bytes(), "", "  ") != nil {
		return string(answer)
	}
	return out.String()
}

// buildFunction builds ./function/<platform> as the release does (CGO_ENABLED=0), but without
// lambda.norpc, so that the AWS binary also speaks the RPC protocol, into a temporary folder.
// The package is named by its import path, so any directory of the module will do.
func buildFunction(ctx context.Context, platform string) (string, error) {
	dir, err := os.MkdirTemp("", "envshare-invoke-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "fn")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/envshare/envshare/function/"+platform)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("go build ./function/%s (run inside the repository): %w", platform, err)
	}
	return bin, nil
}
