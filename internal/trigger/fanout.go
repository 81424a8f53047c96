package trigger

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/envshare/envshare/internal/ledger"
	"github.com/envshare/envshare/pkg/share"
)

// fanOut is share.FanOut on the platform's own engine: the shards of a large reconcile go to
// the platform's retry of a message (Cloud.Retry: the function's SQS queue on AWS, an
// asynchronous invocation of itself on SCF), whose redrive or retry and dead-letter queue carry
// a shard that fails. With a ledger each run has a Run record: its manifest's digest (a shard
// of another manifest is refused), and what each shard counted (the fleet view lists recent
// runs). Every shard's end is logged; with a ledger the last shard also logs the run's totals.
type fanOut struct {
	send   Retry
	ledger *ledger.Ledger // nil: runs are only logged
	log    *slog.Logger
	now    func() time.Time
}

var _ share.FanOut = (*fanOut)(nil)

// Start records the run, then hands out its messages in shard order.
func (f *fanOut) Start(ctx context.Context, run share.Run) error {
	if f.ledger != nil {
		_, err := f.ledger.UpdateRun(ctx, run.ID, func(r *ledger.Run) (bool, error) {
			r.StartedAt, r.Manifest, r.Shards = f.now().UTC(), run.Manifest, run.Shards
			return true, nil
		})
		if err != nil {
			return fmt.Errorf("recording run %s in the ledger: %w", run.ID, err)
		}
	}
	for i, msg := range run.Messages {
		if err := f.send(ctx, string(msg)); err != nil {
			return fmt.Errorf("handing out shard %d of %d (%d handed out, which run anyway): %w", i, run.Shards, i, err)
		}
	}
	return nil
}

// Check refuses a shard of a run the ledger does not know, or knows of another manifest or
// number of shards. Without a ledger the run id's digest (checked by the core) is all there is.
func (f *fanOut) Check(ctx context.Context, run share.Run, shard share.Shard) error {
	if f.ledger == nil {
		return nil
	}
	r, err := f.ledger.Run(ctx, run.ID)
	if err != nil {
		return fmt.Errorf("reading run %s from the ledger: %w", run.ID, err)
	}
	var problem string
	switch {
	case r.Version == 0:
		problem = "is unknown to the ledger (ENVSHARE_LEDGER)"
	case r.Manifest != run.Manifest:
		problem = "was planned from another ENVSHARE_MANIFEST, which changed since"
	case r.Shards != shard.Count:
		problem = fmt.Sprintf("has %d shards, not %d", r.Shards, shard.Count)
	default:
		return nil
	}
	return invalid(fmt.Sprintf("run: run %q %s: its shard %d is not run; the next reconcile plans a new run", run.ID, problem, shard.Index))
}

// Finish logs what the shard counted and, with a ledger, records it in the run; the shard that
// completes the run logs its totals.
func (f *fanOut) Finish(ctx context.Context, run share.Run, shard share.Shard, sum *share.ReconcileSummary) error {
	counts, err := countsOf(sum)
	if err != nil {
		return err
	}
	f.log.InfoContext(ctx, "shard finished", "shard", shard.Index, "shards", shard.Count, "summary", counts)
	if f.ledger == nil {
		return nil
	}
	completed := false
	r, err := f.ledger.UpdateRun(ctx, run.ID, func(r *ledger.Run) (bool, error) {
		wasDone := !r.FinishedAt.IsZero()
		r.Finish(shard.Index, counts, f.now().UTC())
		completed = !wasDone && !r.FinishedAt.IsZero()
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("recording shard %d of run %s in the ledger: %w", shard.Index, run.ID, err)
	}
	if completed {
		f.log.InfoContext(ctx, "run finished", "shards", r.Shards, "started_at", r.StartedAt, "finished_at", r.FinishedAt,
			"duration_ms", r.FinishedAt.Sub(r.StartedAt).Milliseconds(), "totals", r.Totals())
	}
	return nil
}

// countsOf is a summary's counts by name, as its JSON has them.
func countsOf(sum *share.ReconcileSummary) (ledger.Counts, error) {
	b, err := json.Marshal(sum)
	if err != nil {
		return nil, err
	}
	var c ledger.Counts
	return c, json.Unmarshal(b, &c)
}
