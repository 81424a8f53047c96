// Command main is envshare on Tencent SCF (Go1 runtime, handler "main"). It recognises each
// event by its shape, converts it, makes one call of the platform-neutral core in internal/trigger,
// and encodes the answer the way the event's source expects.
//
// The SCF runtime delivers the function's environment variables inside each invocation
// (InvokeRequest.Environment, which scf-go-lib's Function.Invoke sets with os.Setenv before it
// calls the handler), so the configuration is read on the first invocation that needs it, never
// here.
package main

import (
	"context"
	"crypto/x509"
	"encoding/json"

	"github.com/tencentyun/scf-go-lib/cloudfunction"

	"github.com/envshare/envshare/internal/trigger"
)

func main() {
	h := handler{app: trigger.New(trigger.Options{Platform: trigger.PlatformSCF, Cloud: cloud()})}
	// The first HTTPS call (WeChat, the SSM store) verifies a certificate against the system's
	// roots, which Go reads on first need (tens of milliseconds): read them while the runtime
	// hands over the first invocation (a failure shows at that call).
	go x509.SystemCertPool()
	cloudfunction.Start(h.handle) // the SCF Go1 runtime's net/rpc protocol on $_LAMBDA_SERVER_PORT
}

type handler struct{ app *trigger.App }

// handle is the whole dispatch: event shape → one call of the core → the source's answer.
func (h handler) handle(ctx context.Context, payload json.RawMessage) (any, error) {
	switch kindOf(payload) {
	case kindAPIGateway:
		return h.apiGateway(ctx, payload)
	case kindTimer: // empty Message: the configured manifest; a JSON Message: a direct message
		return h.timer(ctx, payload)
	default: // direct invoke: {"action": ...}
		return trigger.Answer(h.app.Message(invocation(ctx, trigger.TriggerDirect), payload))
	}
}
