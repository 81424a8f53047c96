package trigger

import (
	"context"
	"strings"
	"testing"

	"github.com/envshare/envshare/internal/config"
)

// TestPrepareWiresTheInstanceOnceAheadOfTheFirstInvocation: the AWS binary prepares the
// instance while Lambda's runtime client asks for the first invocation; that invocation then
// builds nothing, and a misspelt variable is warned of once.
func TestPrepareWiresTheInstanceOnceAheadOfTheFirstInvocation(t *testing.T) {
	f := setup(t, map[string]string{"ENVSHARE_MANFEST": "x"})
	f.app.Prepare(context.Background())
	if *f.builds != 1 {
		t.Fatalf("Prepare built %d times, want 1", *f.builds)
	}
	if resp := f.app.HTTP(context.Background(), post("/share", shareBody)); resp.Status != 200 {
		t.Fatalf("share after Prepare: %d %s", resp.Status, resp.Body)
	}
	if *f.builds != 1 {
		t.Errorf("%d builds, want the one of Prepare", *f.builds)
	}
	if n := f.logs.Count(`"msg":"ENVSHARE_MANFEST is set but is not a setting of envshare (a typo?): ignored"`); n != 1 {
		t.Errorf("%d warnings, want 1: %s", n, f.logs.String())
	}
}

// TestAFailedPrepareIsAnsweredByTheFirstInvocation: Prepare keeps no failure and logs none;
// the invocation tries again, logs the failure once and answers it, naming the variable.
func TestAFailedPrepareIsAnsweredByTheFirstInvocation(t *testing.T) {
	f := setup(t, map[string]string{"ENVSHARE_CHUNK_SIZE": "many"})
	f.app.Prepare(context.Background())
	if f.logs.String() != "" {
		t.Fatalf("Prepare logged: %s", f.logs.String())
	}
	resp := f.app.HTTP(context.Background(), post("/share", shareBody))
	if resp.Status != 500 || errorCode(t, resp) != "internal" {
		t.Fatalf("invocation after a failed Prepare: %d %s", resp.Status, resp.Body)
	}
	if m, _ := decodeBody(t, resp)["error"].(map[string]any); m["message"] != "config: ENVSHARE_CHUNK_SIZE: cannot parse the value: must be an integer" {
		t.Errorf("error %v, want one naming ENVSHARE_CHUNK_SIZE", m)
	}
	if n := f.logs.Count(`"msg":"configuration rejected"`); n != 1 {
		t.Errorf("%d configuration errors logged, want 1: %s", n, f.logs.String())
	}
}

// TestAnInvocationWaitsForPrepareOnlyUntilItsDeadline: while Prepare wires (here, a ledger that
// does not answer), an invocation that needs the instance waits for it no longer than its own
// deadline (a push must be answered within 3 s); once Prepare is done, the instance is there.
func TestAnInvocationWaitsForPrepareOnlyUntilItsDeadline(t *testing.T) {
	f := setup(t, nil)
	wiring, release := make(chan struct{}), make(chan struct{})
	f.app.build = func(context.Context, config.Config) (*Core, error) {
		close(wiring)
		<-release
		*f.builds++
		return &Core{Share: f.doer}, nil
	}
	prepared := make(chan struct{})
	go func() { f.app.Prepare(context.Background()); close(prepared) }()
	<-wiring

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the invocation's deadline has passed
	if _, err := f.app.Message(ctx, []byte(`{"action":"bindings","appids":["wx0123456789abcdef"]}`)); err == nil ||
		!strings.Contains(err.Error(), "deadline passed while the instance was being initialised") {
		t.Fatalf("the invocation answered %v, want its deadline", err)
	}
	close(release)
	<-prepared
	if resp := f.app.HTTP(context.Background(), post("/share", shareBody)); resp.Status != 200 || *f.builds != 1 {
		t.Fatalf("after Prepare: %d %s, %d builds", resp.Status, resp.Body, *f.builds)
	}
}
