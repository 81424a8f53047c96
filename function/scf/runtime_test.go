package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/rpc"
	"os"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tencentyun/scf-go-lib/cloudfunction"
	"github.com/tencentyun/scf-go-lib/cloudfunction/messages"
	"github.com/tencentyun/scf-go-lib/functioncontext"
)

// probeError is an error type of the probe handler, to compare the Type the runtimes report.
type probeError struct{ msg string }

func (e *probeError) Error() string { return e.msg }

// probe is a handler whose event says what to do, and whose answer shows what it received.
func probe(ctx context.Context, event json.RawMessage) (any, error) {
	var ev struct{ Do string }
	_ = json.Unmarshal(event, &ev)
	switch ev.Do {
	case "error":
		return nil, &probeError{"the handler failed"}
	case "plain-error":
		return nil, errors.New("a plain error")
	case "panic":
		panic("the handler panicked")
	case "unencodable":
		return map[string]any{"f": func() {}}, nil
	}
	fc, _ := functioncontext.FromContext(ctx)
	deadline, _ := ctx.Deadline()
	return map[string]any{"event": event, "context": fc, "deadline": deadline.UnixNano(),
		"env": os.Getenv("ENVSHARE_PROBE")}, nil
}

var startLibrary sync.Once

// libraryClient connects to scf-go-lib's own server (cloudfunction.Start, net/rpc), started
// once per test process since it registers with net/rpc's default server.
func libraryClient(t *testing.T) *rpc.Client {
	t.Helper()
	startLibrary.Do(func() {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
		l.Close()
		os.Setenv("_LAMBDA_SERVER_PORT", port)
		go cloudfunction.Start(probe)
		t.Cleanup(func() { os.Unsetenv("_LAMBDA_SERVER_PORT") })
	})
	return dial(t, "localhost:"+os.Getenv("_LAMBDA_SERVER_PORT"))
}

// ownClient connects to start's server (serve) on a listener of its own.
func ownClient(t *testing.T) *rpc.Client {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go serve(l, probe)
	return dial(t, l.Addr().String())
}

func dial(t *testing.T, addr string) *rpc.Client {
	t.Helper()
	for range 250 {
		if c, err := rpc.Dial("tcp", addr); err == nil {
			t.Cleanup(func() { c.Close() })
			return c
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s", addr)
	return nil
}

// TestRuntimeAnswersAsSCFGoLib sends the same calls to scf-go-lib's cloudfunction.Start and to
// start, and compares the answers: payloads, errors and their types, panics, the function
// context, the deadline and the environment the handler sees, and net/rpc's own errors.
func TestRuntimeAnswersAsSCFGoLib(t *testing.T) {
	t.Setenv("ENVSHARE_PROBE", "")
	lib, own := libraryClient(t), ownClient(t)
	deadline := time.Date(2026, 12, 1, 12, 0, 30, 123456789, time.UTC)
	base := messages.InvokeRequest{RequestId: "req-1", Deadline: messages.InvokeRequest_Timestamp{
		Seconds: deadline.Unix(), Nanos: int64(deadline.Nanosecond())}, FunctionName: "envshare", Namespace: "default",
		FunctionVersion: "$LATEST", MemoryLimitInMb: 256, TimeLimitInMs: 60000, TencentcloudRegion: "ap-guangzhou",
		TencentcloudAppID: "1250000000", TencentcloudUin: "100000000001", InvokedFunctionUnique: "qcs::scf:ap-guangzhou:uin/1:lam/x",
		FunctionTrace: "trace"}
	with := func(change func(r *messages.InvokeRequest)) messages.InvokeRequest {
		r := base
		change(&r)
		return r
	}
	for _, tc := range []struct {
		name string
		req  messages.InvokeRequest
	}{
		{"an event, with the function context, the deadline and the environment", with(func(r *messages.InvokeRequest) {
			r.Payload = []byte(`{"action":"bindings","appids":["wx5fe6bb43205e9e07"]}`)
			r.Environment = `{"ENVSHARE_PROBE":"delivered"}`
			r.ClientContext = []byte(`{"custom":{"k":"v"},"env":{"e":"f"}}`)
		})},
		{"an error of a named pointer type", with(func(r *messages.InvokeRequest) { r.Payload = []byte(`{"Do":"error"}`) })},
		{"an error of the errors package", with(func(r *messages.InvokeRequest) { r.Payload = []byte(`{"Do":"plain-error"}`) })},
		{"a panic", with(func(r *messages.InvokeRequest) { r.Payload = []byte(`{"Do":"panic"}`) })},
		{"an answer JSON cannot encode", with(func(r *messages.InvokeRequest) { r.Payload = []byte(`{"Do":"unencodable"}`) })},
		{"a payload that is not JSON", with(func(r *messages.InvokeRequest) { r.Payload = []byte(`{"action":`) })},
		{"no payload", with(func(r *messages.InvokeRequest) { r.Payload = nil })},
		{"a JSON null", with(func(r *messages.InvokeRequest) { r.Payload = []byte(`null`) })},
		{"a client context that is not JSON", with(func(r *messages.InvokeRequest) {
			r.Payload, r.ClientContext = []byte(`{}`), []byte(`{`)
		})},
		{"an environment that is not JSON", with(func(r *messages.InvokeRequest) {
			r.Payload, r.Environment = []byte(`{}`), `["ENVSHARE_PROBE"]`
		})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want, got messages.InvokeResponse
			wantErr := lib.Call("Function.Invoke", &tc.req, &want)
			gotErr := own.Call("Function.Invoke", &tc.req, &got)
			if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
				t.Fatalf("call error %v, scf-go-lib's %v", gotErr, wantErr)
			}
			if string(got.Payload) != string(want.Payload) {
				t.Errorf("payload\n%s\nscf-go-lib's\n%s", got.Payload, want.Payload)
			}
			if (got.Error == nil) != (want.Error == nil) {
				t.Fatalf("error %+v, scf-go-lib's %+v", got.Error, want.Error)
			}
			if e, w := got.Error, want.Error; e != nil {
				if e.Message != w.Message || e.Type != w.Type || e.ShouldExit != w.ShouldExit || (len(e.StackTrace) == 0) != (len(w.StackTrace) == 0) {
					t.Errorf("error %q %q exit=%v (%d frames), scf-go-lib's %q %q exit=%v (%d frames)", e.Message, e.Type, e.ShouldExit,
						len(e.StackTrace), w.Message, w.Type, w.ShouldExit, len(w.StackTrace))
				}
			}
		})
	}

	t.Run("Ping", func(t *testing.T) {
		var want, got messages.PingResponse
		if err := lib.Call("Function.Ping", &messages.PingRequest{}, &want); err != nil {
			t.Fatal(err)
		}
		if err := own.Call("Function.Ping", &messages.PingRequest{}, &got); err != nil || got != want {
			t.Fatalf("Ping = %+v, %v", got, err)
		}
	})

	t.Run("a call it does not serve is net/rpc's error, and the connection serves on", func(t *testing.T) {
		for _, method := range []string{"Function.Nope", "Other.Invoke", "NoDot"} {
			var want, got messages.InvokeResponse
			wantErr := lib.Call(method, &base, &want)
			gotErr := own.Call(method, &base, &got)
			if wantErr == nil || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
				t.Errorf("%s: %v, scf-go-lib's %v", method, gotErr, wantErr)
			}
		}
		var resp messages.InvokeResponse
		if err := own.Call("Function.Invoke", &messages.InvokeRequest{Payload: []byte(`{}`), Deadline: base.Deadline}, &resp); err != nil || resp.Error != nil {
			t.Fatalf("after the unknown calls: %v %+v", err, resp.Error)
		}
	})

	t.Run("calls on one connection run at once and each gets its own answer", func(t *testing.T) {
		var wg sync.WaitGroup
		answers := make([]messages.InvokeResponse, 20)
		for i := range answers {
			wg.Go(func() {
				req := with(func(r *messages.InvokeRequest) { r.Payload = []byte(fmt.Sprintf(`{"n":%d}`, i)) })
				if err := own.Call("Function.Invoke", &req, &answers[i]); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		for i, a := range answers {
			var got struct{ Event map[string]int }
			if err := json.Unmarshal(a.Payload, &got); err != nil || !reflect.DeepEqual(got.Event, map[string]int{"n": i}) {
				t.Errorf("answer %d: %s", i, a.Payload)
			}
		}
	})
}
