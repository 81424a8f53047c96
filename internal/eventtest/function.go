package eventtest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/tencentyun/scf-go-lib/functioncontext"

	"github.com/envshare/envshare/internal/trigger"
)

// What the two adapters' tests (function/aws, function/scf) would otherwise each write again.

// AWSAdapter is function/aws under test: its samples in events/aws, the Lambda context's
// request id, and handler, which returns the adapter's handler for an App.
func AWSAdapter(handler func(*trigger.App) Handler) Adapter {
	return Adapter{Dir: "../../events/aws", Platform: trigger.PlatformAWS, Handler: handler,
		Context: func(ctx context.Context, requestID string) context.Context {
			return lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: requestID})
		}}
}

// SCFAdapter is function/scf under test: its samples in events/scf, the SCF function context's
// request id, and handler, which returns the adapter's handler for an App.
func SCFAdapter(handler func(*trigger.App) Handler) Adapter {
	return Adapter{Dir: "../../events/scf", Platform: trigger.PlatformSCF, Handler: handler,
		Context: func(ctx context.Context, requestID string) context.Context {
			return functioncontext.NewContext(ctx, &functioncontext.FunctionContext{RequestID: requestID})
		}}
}

// LargeAnswer is one event that carries the large share (LargeShareBody) to an adapter, and
// the most bytes its source takes as an answer.
type LargeAnswer struct {
	Name, Payload string
	Limit         int
}

// DirectInvocationLimit is the most bytes both platforms return from a synchronous invocation.
const DirectInvocationLimit = 6_000_000

// CheckLargeAnswers runs each event, and the large share as a direct invocation, through the
// adapter's handler over NewLargeAnswerApp. Each answer, encoded as the platform's runtime
// does (encode), fits its limit, envelope included, and lists some entries (CheckLargeAnswer).
func (a Adapter) CheckLargeAnswers(t *testing.T, encode func(any) ([]byte, error), events []LargeAnswer) {
	direct := LargeAnswer{"a direct invocation", `{"action":"share",` + LargeShareBody()[1:], DirectInvocationLimit}
	for _, ev := range append(events, direct) {
		t.Run(ev.Name, func(t *testing.T) {
			v, err := a.Handler(NewLargeAnswerApp(t, a.Platform))(context.Background(), json.RawMessage(ev.Payload))
			if err != nil {
				t.Fatal(err)
			}
			out, err := encode(v)
			if err != nil {
				t.Fatal(err)
			}
			if len(out) > ev.Limit {
				t.Fatalf("the runtime would return %d bytes, more than %d", len(out), ev.Limit)
			}
			CheckLargeAnswer(t, v)
		})
	}
}
