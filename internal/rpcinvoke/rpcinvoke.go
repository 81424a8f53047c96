// Package rpcinvoke drives a function binary the way its platform does over net/rpc:
// Tencent SCF's Go runtime (scf-go-lib) and aws-lambda-go's RPC mode both listen on
// localhost:$_LAMBDA_SERVER_PORT and serve "Function.Invoke". It exists for the local runner and
// the binary-level tests; the deployed binaries do not use it.
package rpcinvoke

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/rpc"
	"os"
	"os/exec"
	"strconv"
	"time"
)

// The request and response mirror scf-go-lib's and aws-lambda-go's messages types; gob matches
// fields by name, so one shape serves both runtimes (AWS ignores Environment).
type timestamp struct {
	Seconds int64
	Nanos   int64
}

type invokeRequest struct {
	Payload      []byte
	RequestId    string //nolint:revive // wire name
	Deadline     timestamp
	FunctionName string
	Environment  string
}

type invokeResponse struct {
	Payload []byte
	Error   *InvokeError
}

// InvokeError is a function error reported by the runtime library (the handler returned an error
// or panicked).
type InvokeError struct {
	Message    string
	Type       string
	ShouldExit bool
}

func (e *InvokeError) Error() string { return fmt.Sprintf("function error %s: %s", e.Type, e.Message) }

// Process is a running function binary.
type Process struct {
	cmd    *exec.Cmd
	client *rpc.Client
}

// Start runs binary with env (besides _LAMBDA_SERVER_PORT, which Start chooses), its stdout and
// stderr going to output (os.Stderr when nil), and waits until it accepts RPC connections.
func Start(ctx context.Context, binary string, env []string, output io.Writer) (*Process, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(binary)
	cmd.Env = append(env, "_LAMBDA_SERVER_PORT="+strconv.Itoa(port))
	if output == nil {
		output = os.Stderr
	}
	cmd.Stdout, cmd.Stderr = output, output
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", binary, err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for {
		client, err := rpc.Dial("tcp", addr)
		if err == nil {
			return &Process{cmd: cmd, client: client}, nil
		}
		select {
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return nil, fmt.Errorf("%s never listened on %s: %w", binary, addr, errors.Join(ctx.Err(), err))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Invoke sends one event. environment is delivered with the invocation, as SCF does (scf-go-lib
// applies it with os.Setenv); requestID names the invocation. The answer is the handler's JSON.
func (p *Process) Invoke(event []byte, environment map[string]string, requestID string, timeout time.Duration) ([]byte, error) {
	envJSON := ""
	if len(environment) > 0 {
		b, err := json.Marshal(environment)
		if err != nil {
			return nil, err
		}
		envJSON = string(b)
	}
	deadline := time.Now().Add(timeout)
	req := invokeRequest{
		Payload:      event,
		RequestId:    requestID,
		Deadline:     timestamp{Seconds: deadline.Unix(), Nanos: int64(deadline.Nanosecond())},
		FunctionName: "envshare",
		Environment:  envJSON,
	}
	var resp invokeResponse
	if err := p.client.Call("Function.Invoke", &req, &resp); err != nil {
		return nil, fmt.Errorf("rpc Function.Invoke: %w", err)
	}
	if resp.Error != nil {
		return nil, resp.Error
	}
	return resp.Payload, nil
}

// PID is the process id of the running binary (for reading its /proc entries).
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Close stops the binary.
func (p *Process) Close() error {
	_ = p.client.Close()
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
