package trigger

import (
	"context"
	"testing"
	"time"
)

// Regression tests of issue 23 (security and strictness, round 3) that live in the trigger.

// ENVSHARE_TICKET_WRITE_INTERVAL=0s is documented as valid: every newer ticket that differs is
// stored, not one an hour.
func TestATicketWriteIntervalOfZeroStoresEveryNewerTicket(t *testing.T) {
	l := newLoop(t, map[string]string{"ENVSHARE_TICKET_WRITE_INTERVAL": "0s"}, false)
	ctx := context.Background()
	inst, se := l.app.instance(ctx)
	if se != nil {
		t.Fatal(se)
	}
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	for i, ticket := range []string{"ticket@@@zero-interval-first", "ticket@@@zero-interval-second"} {
		stored, err := inst.Refresher.StoreTicket(ctx, ticket, at.Add(time.Duration(i)*10*time.Second))
		if err != nil || !stored {
			t.Fatalf("ticket %d pushed 10 s after the stored one: stored %v, %v; want stored", i+1, stored, err)
		}
	}
	if got := l.record(t)["component_verify_ticket"]; got != "ticket@@@zero-interval-second" {
		t.Errorf("the record holds %v, want the second ticket", got)
	}
}
