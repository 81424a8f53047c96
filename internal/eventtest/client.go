package eventtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/envshare/envshare/pkg/client"
	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/wxemu"
)

// ClientInvocations is how many invocations ExerciseClient makes.
const ClientInvocations = 5

// ExerciseClient drives a function through c (an Invoke transport) as another Go service
// would, against the samples' configuration (Env, ENVSHARE_ATTEMPTS=1) and emu with the demo
// fleet: results decode; a transient failure is a function error that the client retries;
// invalid input is refused before any call; a failed refresh (no state record) is a function
// error that keeps its code. It makes ClientInvocations invocations.
func ExerciseClient(t *testing.T, c *client.Client, emu *wxemu.Emulator) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := c.Share(ctx, "prod-6gni9ity244a6ea3", []string{"wx075cf85bf347b6df", "wx1a2b3c4d5e6f7081"})
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := res.Summary.(*share.ShareSummary); !ok || s.Shared != 1 || s.PendingConfirmation != 1 {
		t.Errorf("share: %+v", res)
	}
	// batchgetenvid busy once: the invocation fails (upstream_unavailable), the client invokes again.
	if err := emu.AddFault(wxemu.Fault{Endpoint: "batchgetenvid", Kind: wxemu.FaultBusy, Times: 1}); err != nil {
		t.Fatal(err)
	}
	res, err = c.Bindings(ctx, []string{"wx075cf85bf347b6df"})
	if err != nil || len(res.Bindings) != 1 {
		t.Errorf("bindings after a transient failure: %+v %v", res, err)
	}
	res, err = c.Reconcile(ctx, nil, share.ReconcileOptions{DryRun: true})
	if s, ok := res.Summary.(*share.ReconcileSummary); err != nil || !ok || !res.DryRun || s.Desired == 0 {
		t.Errorf("reconcile dry run: %+v %v", res, err)
	}
	if _, err = c.Bindings(ctx, []string{"wx12"}); client.CodeOf(err) != share.CodeInvalidRequest {
		t.Errorf("invalid input: %v", err)
	}
	_, err = c.Refresh(ctx, false)
	var e *client.Error
	if !errors.As(err, &e) || !e.FunctionError || e.Code != share.CodeInvalidRequest {
		t.Errorf("refresh: %#v", err)
	}
}
