package main

import (
	"bufio"
	"context"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/tencentyun/scf-go-lib/cloudfunction/messages"
	"github.com/tencentyun/scf-go-lib/functioncontext"
)

// The SCF Go1 runtime starts the binary with _LAMBDA_SERVER_PORT and calls "Function.Invoke"
// (and "Function.Ping") on localhost over net/rpc's protocol: gob-encoded request and response
// headers, each followed by its body. scf-go-lib's cloudfunction.Start serves it with the
// net/rpc package, which finds its methods by reflection; a binary that does so keeps every
// exported method of every type it links, and the zip grows by 530 KB (3.47 MiB instead of
// 2.95, over the 3.5 MiB budget by Go's own deflate). start serves the same protocol with
// encoding/gob directly, with scf-go-lib's messages and functioncontext, and answers as
// cloudfunction.Start does (runtime_test.go sends the same calls to both and compares).

// rpcRequest and rpcResponse are net/rpc's headers; gob matches fields by name.
type rpcRequest struct {
	ServiceMethod string
	Seq           uint64
}

type rpcResponse struct {
	ServiceMethod string
	Seq           uint64
	Error         string
}

// handlerFunc is the function SCF invokes: the event, and the answer to encode as JSON.
type handlerFunc func(ctx context.Context, event json.RawMessage) (any, error)

// start serves the runtime protocol on localhost:$_LAMBDA_SERVER_PORT; it never returns.
func start(handle handlerFunc) {
	lis, err := net.Listen("tcp", "localhost:"+os.Getenv("_LAMBDA_SERVER_PORT"))
	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(serve(lis, handle))
}

// serve answers every connection of lis until Accept fails.
func serve(lis net.Listener, handle handlerFunc) error {
	for {
		conn, err := lis.Accept()
		if err != nil {
			return err
		}
		go serveConn(conn, handle)
	}
}

// serveConn reads calls until the runtime closes the connection. Like net/rpc, it runs each
// invocation in its own goroutine (a ping is answered at once) and writes one answer at a time.
func serveConn(conn io.ReadWriteCloser, handle handlerFunc) {
	defer conn.Close()
	dec := gob.NewDecoder(bufio.NewReader(conn))
	out := bufio.NewWriter(conn)
	enc := gob.NewEncoder(out)
	var sending sync.Mutex
	reply := func(h rpcResponse, body any) {
		sending.Lock()
		defer sending.Unlock()
		if enc.Encode(h) != nil || enc.Encode(body) != nil || out.Flush() != nil {
			conn.Close() // as net/rpc does: the runtime sees the connection end
		}
	}
	for {
		var h rpcRequest
		if dec.Decode(&h) != nil {
			return // io.EOF: the runtime closed the connection; anything else leaves the stream unreadable
		}
		answer := rpcResponse{ServiceMethod: h.ServiceMethod, Seq: h.Seq}
		switch h.ServiceMethod {
		case "Function.Invoke":
			var req messages.InvokeRequest
			if dec.Decode(&req) != nil {
				return
			}
			go func() { reply(answer, invoke(handle, &req)) }()
		case "Function.Ping":
			var req messages.PingRequest
			if dec.Decode(&req) != nil {
				return
			}
			reply(answer, &messages.PingResponse{})
		default:
			if dec.DecodeValue(reflect.Value{}) != nil { // the body is read and dropped
				return
			}
			answer.Error = unknownMethod(h.ServiceMethod)
			reply(answer, struct{}{})
		}
	}
}

// unknownMethod is net/rpc's error for a call this server does not serve.
func unknownMethod(serviceMethod string) string {
	dot := strings.LastIndex(serviceMethod, ".")
	switch {
	case dot < 0:
		return "rpc: service/method request ill-formed: " + serviceMethod
	case serviceMethod[:dot] != "Function":
		return "rpc: can't find service " + serviceMethod
	default:
		return "rpc: can't find method " + serviceMethod
	}
}

// invoke is scf-go-lib's Function.Invoke: the deadline and the function context into ctx, the
// invocation's environment into the process's, the handler's answer as JSON, and any error or
// panic as the response's Error (a panic also asks the runtime to end the instance).
func invoke(handle handlerFunc, req *messages.InvokeRequest) (resp *messages.InvokeResponse) {
	resp = &messages.InvokeResponse{}
	defer func() {
		if v := recover(); v != nil {
			resp.Payload = nil
			resp.Error = &messages.InvokeResponse_Error{Message: fmt.Sprint(v), Type: typeName(v),
				StackTrace: stack(), ShouldExit: true}
		}
	}()
	ctx, cancel := context.WithDeadline(context.Background(), time.Unix(req.Deadline.Seconds, req.Deadline.Nanos).UTC())
	defer cancel()
	fc := &functioncontext.FunctionContext{
		RequestID:             req.RequestId,
		InvokedFunctionUnique: req.InvokedFunctionUnique,
		Namespace:             req.Namespace,
		FunctionName:          req.FunctionName,
		FunctionVersion:       req.FunctionVersion,
		MemoryLimitInMb:       req.MemoryLimitInMb,
		TimeLimitInMs:         req.TimeLimitInMs,
		TencentcloudRegion:    req.TencentcloudRegion,
		TencentcloudAppID:     req.TencentcloudAppID,
		TencentcloudUin:       req.TencentcloudUin,
		FunctionTrace:         req.FunctionTrace,
	}
	if len(req.ClientContext) > 0 {
		if err := json.Unmarshal(req.ClientContext, &fc.ClientContext); err != nil {
			resp.Error = errorOf(err)
			return resp
		}
	}
	if req.Environment != "" {
		// SCF delivers the function's environment variables here, in every invocation.
		if err := json.Unmarshal([]byte(req.Environment), &fc.Environment); err != nil {
			resp.Error = errorOf(err)
			return resp
		}
		for k, v := range fc.Environment {
			os.Setenv(k, v)
		}
	}
	var event json.RawMessage
	err := json.Unmarshal(req.Payload, &event)
	if err == nil {
		var answer any
		if answer, err = handle(functioncontext.NewContext(ctx, fc), event); err == nil {
			resp.Payload, err = json.Marshal(answer)
		}
	}
	if err != nil {
		resp.Payload, resp.Error = nil, errorOf(err)
	}
	return resp
}

func errorOf(err error) *messages.InvokeResponse_Error {
	return &messages.InvokeResponse_Error{Message: err.Error(), Type: typeName(err)}
}

// typeName is the name of v's type, without its package or pointer (as scf-go-lib reports it).
func typeName(v any) string {
	t := reflect.TypeOf(v)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

// stack is where a panic happened, innermost first, without the runtime's own frames.
func stack() []*messages.InvokeResponse_Error_StackFrame {
	pcs := make([]uintptr, 32)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(3, pcs)])
	var out []*messages.InvokeResponse_Error_StackFrame
	for {
		f, more := frames.Next()
		out = append(out, &messages.InvokeResponse_Error_StackFrame{Path: f.File, Line: int32(f.Line), Label: f.Function})
		if !more {
			return out
		}
	}
}
