package main

import (
	"context"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/envshare/envshare/internal/eventtest"
	"github.com/envshare/envshare/internal/trigger"
)

var adapter = eventtest.Adapter{
	Dir:      "../../events/aws",
	Platform: trigger.PlatformAWS,
	Handler:  func(app *trigger.App) eventtest.Handler { return handler{app: app}.handle },
	Context: func(ctx context.Context, requestID string) context.Context {
		return lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: requestID})
	},
}

// TestSampleEvents runs every events/aws/*.json through the handler against the emulator and
// compares the answer with its golden file (go test -update rewrites them).
func TestSampleEvents(t *testing.T) {
	eventtest.Run(t, adapter)
}
