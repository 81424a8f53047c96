package main

import (
	"context"
	"testing"

	"github.com/tencentyun/scf-go-lib/functioncontext"

	"github.com/envshare/envshare/internal/eventtest"
	"github.com/envshare/envshare/internal/trigger"
)

var adapter = eventtest.Adapter{
	Dir:      "../../events/scf",
	Platform: trigger.PlatformSCF,
	Handler:  func(app *trigger.App) eventtest.Handler { return handler{app: app}.handle },
	Context: func(ctx context.Context, requestID string) context.Context {
		return functioncontext.NewContext(ctx, &functioncontext.FunctionContext{RequestID: requestID})
	},
}

// TestSampleEvents runs every events/scf/*.json through the handler against the emulator and
// compares the answer with its golden file (go test -update rewrites them).
func TestSampleEvents(t *testing.T) {
	eventtest.Run(t, adapter)
}
