package share

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"time"
)

// DefaultShardPairs is the most desired pairs one reconcile runs itself when it can hand out
// shards (Options.ShardPairs).
const DefaultShardPairs = 20_000

// FanOut hands the shards of a large reconcile to other invocations (the function's own queue
// on AWS, asynchronous invocations of itself on SCF) and keeps what the runs did
// (Options.FanOut). The platform's retry carries a shard that fails: the queue's redrive, SCF's
// asynchronous retry, and in the end their dead-letter queues.
//
// A reconcile of the configured Manifest (no envs or customers of its own, no shard) whose
// desired pairs exceed ShardPairs is not run: it is planned as Run.Shards shards, each at most
// ShardPairs pairs, and Start hands out one message per shard,
// {"action":"reconcile","shard":{"index":i,"count":n},"run":ID} (with the request's prune,
// dry_run and source_type when it had them). Each message is an ordinary reconcile of its
// shard. The answer is a Result with Run and Shards, and no Summary.
type FanOut interface {
	// Start records the run (when there is a memory of runs) and hands out its messages.
	// The messages handed out before a failure run anyway: a shard is idempotent.
	Start(ctx context.Context, run Run) error
	// Check is asked before a shard message runs: it refuses (an *Error, invalid_request
	// naming the run) a run it knows of another manifest or another number of shards, or does
	// not know although it keeps runs. The Service itself refuses a run id planned from another
	// manifest than its own.
	Check(ctx context.Context, run Run, shard Shard) error
	// Finish records what one shard of the run did; the last shard's Finish knows the run's
	// totals. Its failure is logged: the shard's work is done.
	Finish(ctx context.Context, run Run, shard Shard, summary *ReconcileSummary) error
}

// Run is a reconcile planned as shards.
type Run struct {
	ID       string // RunID: when it was planned, the manifest's digest and a random part
	Manifest string // ManifestDigest of the manifest it was planned from
	Shards   int
	Desired  int      // desired pairs when it was planned
	Messages [][]byte // Start: the message of each shard, by index
}

// ManifestDigest identifies a manifest: the hex SHA-256 of its JSON.
func ManifestDigest(m *Request) string {
	b, _ := json.Marshal(m) // a Request always encodes
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// runDigestLen is how much of the manifest's digest a run id carries.
const runDigestLen = 12

// newRunID names a run planned at now from the manifest of digest:
// 20261207T101500Z-3f2a9c1b0d4e-a1b2c3.
func newRunID(now time.Time, digest string) string {
	return fmt.Sprintf("%s-%s-%06x", now.UTC().Format("20060102T150405Z"), digest[:runDigestLen], rand.Uint32()&0xffffff)
}

// runDigest is the manifest digest a run id carries; "" when the id is not one of newRunID.
func runDigest(id string) string {
	parts := strings.Split(id, "-")
	if len(parts) != 3 || len(parts[1]) != runDigestLen {
		return ""
	}
	if _, err := time.Parse("20060102T150405Z", parts[0]); err != nil {
		return ""
	}
	return parts[1]
}

// planning reports whether a reconcile body may be planned as shards: it reconciles the
// configured manifest, whole, and there is a FanOut.
func (s *Service) planning(body *Request) bool {
	return s.opts.FanOut != nil && body.Envs == nil && body.Customers == nil && body.Shard == nil && body.Run == ""
}

// weight is what an appid adds to its shard: its desired pairs.
type weight struct {
	hash  uint32 // FNV-1a 32 of the appid (ShardOf)
	pairs int32
}

// weigh counts the desired pairs of manifest m, streaming its customers' authorizers from the
// Fleet, and returns them by appid (an appid both in envs and a customer's counts twice: a
// shard is then smaller, never larger, than planned).
func (s *Service) weigh(ctx context.Context, m *Request) ([]weight, int, error) {
	perApp := map[string]int32{}
	for _, p := range distinctPairs(m.Envs) {
		perApp[p.appid]++
	}
	weights := make([]weight, 0, len(perApp))
	total := 0
	for appid, n := range perApp {
		weights = append(weights, weight{hash: hashOf(appid), pairs: n})
		total += int(n)
	}
	if len(m.Customers) == 0 {
		return weights, total, nil
	}
	envs := make(map[string]int32, len(m.Customers)) // principal → its envs
	for _, c := range m.Customers {
		envs[c.Principal] = int32(len(c.Envs))
	}
	err := s.opts.Fleet.Authorizers(ctx, nil, func(a Authorizer) error {
		if n, ok := envs[a.Principal]; ok && a.CanShare() {
			weights = append(weights, weight{hash: hashOf(a.AppID), pairs: n})
			total += int(n)
		}
		return nil
	})
	if err != nil {
		return nil, 0, s.fleetFailure(ctx, err)
	}
	return weights, total, nil
}

func hashOf(appid string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(appid))
	return h.Sum32()
}

// shardCounts lists the shard counts a plan may take, smallest first: the divisors of 60, then
// its multiples, up to MaxShards. A ledger that spreads its records over 60 partitions by the
// same hash (envshare's DynamoDB engine) then reads only a shard's own partitions.
func shardCounts() []int {
	counts := []int{2, 3, 4, 5, 6, 10, 12, 15, 20, 30}
	for n := 60; n <= MaxShards; n += 60 {
		counts = append(counts, n)
	}
	return counts
}

// shardCount is the smallest count of shardCounts at which no shard holds more than limit
// pairs.
func shardCount(weights []weight, total, limit int) int {
	counts := shardCounts()
	for _, n := range counts {
		if n*limit < total {
			continue
		}
		sizes := make([]int, n)
		largest := 0
		for _, w := range weights {
			k := w.hash % uint32(n)
			sizes[k] += int(w.pairs)
			largest = max(largest, sizes[k])
		}
		if largest <= limit {
			return n
		}
	}
	return counts[len(counts)-1]
}

// plan plans manifest m as shards when it has more than ShardPairs desired pairs, and hands
// them out; it returns nil when m is small enough to run here.
func (s *Service) plan(ctx context.Context, m, body *Request) (*Result, error) {
	weights, total, err := s.weigh(ctx, m)
	if err != nil || total <= s.opts.ShardPairs {
		return nil, err
	}
	n := shardCount(weights, total, s.opts.ShardPairs)
	digest := s.digest()
	run := Run{ID: newRunID(s.opts.Now(), digest), Manifest: digest, Shards: n, Desired: total, Messages: make([][]byte, n)}
	for i := range n {
		msg := Request{Action: ActionReconcile, SourceType: body.SourceType, Prune: body.Prune, DryRun: body.DryRun,
			Shard: &Shard{Index: i, Count: n}, Run: run.ID}
		if run.Messages[i], err = json.Marshal(msg); err != nil {
			return nil, s.internal(err)
		}
	}
	if err := s.opts.FanOut.Start(ctx, run); err != nil {
		if e, ok := errors.AsType[*Error](err); ok {
			return nil, e
		}
		s.log.ErrorContext(ctx, "the shards of a reconcile could not all be handed out", "run", run.ID, "shards", n,
			"error", s.opts.Redact(err.Error()))
		return nil, &Error{Code: CodeUpstreamUnavailable,
			Message: "the shards of run " + run.ID + " could not all be handed out; see the function's log"}
	}
	s.log.InfoContext(ctx, "reconcile planned as shards", "run", run.ID, "shards", n, "desired", total,
		"shard_pairs", s.opts.ShardPairs)
	return &Result{OK: true, Action: ActionReconcile, SourceType: s.sourceType(m), Run: run.ID, Shards: n}, nil
}

// checkRun refuses a shard message whose run was planned from another manifest, or that the
// FanOut refuses.
func (s *Service) checkRun(ctx context.Context, body *Request) error {
	manifest := s.digest()
	if digest := runDigest(body.Run); digest == "" || len(manifest) < runDigestLen || digest != manifest[:runDigestLen] {
		return &Error{Code: CodeInvalidRequest, Message: "invalid request", Details: []string{fmt.Sprintf(
			"run: run %s does not match the configured manifest (ENVSHARE_MANIFEST changed since it was planned, or it is no run of this deployment): "+
				"its shard is not run; the next reconcile plans a new run", quote(body.Run))}}
	}
	if s.opts.FanOut == nil {
		return nil
	}
	return s.opts.FanOut.Check(ctx, Run{ID: body.Run, Manifest: manifest, Shards: body.Shard.Count}, *body.Shard)
}

// finishShard hands what a shard of a run did to the FanOut; a failure is logged.
func (s *Service) finishShard(ctx context.Context, body *Request, sum *ReconcileSummary) {
	if s.opts.FanOut == nil {
		return
	}
	run := Run{ID: body.Run, Manifest: s.digest(), Shards: body.Shard.Count}
	if err := s.opts.FanOut.Finish(ctx, run, *body.Shard, sum); err != nil {
		s.log.ErrorContext(ctx, "the run's summary could not be recorded; the shard's work is done", "run", body.Run,
			"shard", body.Shard.Index, "error", s.opts.Redact(err.Error()))
	}
}
