package trigger

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/envshare/envshare/pkg/share"
)

// A platform stops a function at its deadline without an answer; the App must answer first.
// The invocation runs in a synctest bubble: its clock only moves when every goroutine waits,
// so the reserve is exact however busy the machine is.
func TestTheAppAnswersBeforeTheInvocationDeadline(t *testing.T) {
	f := setup(t, nil)
	synctest.Test(t, func(t *testing.T) {
		var workDeadline time.Time
		f.doer.answer = func(ctx context.Context, req share.Request) (*share.Result, error) {
			workDeadline, _ = ctx.Deadline()
			<-ctx.Done() // WeChat never answers
			return nil, ctx.Err()
		}
		deadline := time.Now().Add(time.Second) // short: the reserve is a quarter of it
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		defer cancel()

		resp := f.app.HTTP(ctx, post("/share", `{"env":"test-env","appids":["wx0123456789abcdef"]}`))

		if resp.Status != 504 || errorCode(t, resp) != share.CodeDeadlineExceeded {
			t.Fatalf("answer %d %s, want 504 deadline_exceeded", resp.Status, resp.Body)
		}
		if reserve := deadline.Sub(workDeadline); reserve != 250*time.Millisecond {
			t.Errorf("the service's deadline is %v before the invocation's, want a quarter of the time left (250ms)", reserve)
		}
		if answered := time.Now(); !answered.Before(deadline) {
			t.Errorf("the answer came at %v, after the invocation's deadline", answered.Sub(deadline))
		}
	})
}
