package share

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envshare/envshare/pkg/wechat"
)

// memFanOut records the runs it starts and the shards that finish.
type memFanOut struct {
	mu       sync.Mutex
	runs     []Run
	checks   []Shard
	finished map[int]*ReconcileSummary
	refuse   error
}

func (f *memFanOut) Start(_ context.Context, run Run) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.runs = append(f.runs, run)
	return nil
}

func (f *memFanOut) Check(_ context.Context, run Run, shard Shard) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checks = append(f.checks, shard)
	return f.refuse
}

func (f *memFanOut) Finish(_ context.Context, run Run, shard Shard, sum *ReconcileSummary) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.finished == nil {
		f.finished = map[int]*ReconcileSummary{}
	}
	f.finished[shard.Index] = sum
	return nil
}

// largeManifest is 12 envs of 100 appids each (1,200 pairs), with prune.
func largeManifest(t *testing.T) *Request {
	var lists []wechat.EnvAppIDs
	for e := range 12 {
		lists = append(lists, wechat.EnvAppIDs{Env: fmt.Sprintf("env-%d", e), AppIDs: appids(e*100, (e+1)*100)})
	}
	return manifestOf(t, Request{Envs: lists})
}

func TestALargeReconcileIsPlannedAsShards(t *testing.T) {
	fan := &memFanOut{}
	f := newFake()
	now := time.Date(2026, 12, 7, 10, 15, 0, 0, time.UTC)
	s := newService(t, f, Options{Manifest: largeManifest(t), FanOut: fan, ShardPairs: 500, Now: func() time.Time { return now }})
	res, err := s.Do(t.Context(), Request{Action: ActionReconcile, Prune: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	if shares, _, gets := f.counts(); shares+gets != 0 {
		t.Fatal("the planning invocation called WeChat")
	}
	if len(fan.runs) != 1 || res.Run != fan.runs[0].ID || res.Shards != fan.runs[0].Shards || res.Summary != nil || !res.OK {
		t.Fatalf("result %+v, runs %+v", res, fan.runs)
	}
	run := fan.runs[0]
	if run.Desired != 1200 || !strings.HasPrefix(run.ID, "20261207T101500Z-"+run.Manifest[:12]+"-") || len(run.Messages) != run.Shards {
		t.Fatalf("run %+v", run)
	}
	// Each shard holds at most 500 pairs: the smallest count of shardCounts that allows it.
	sizes := make([]int, run.Shards)
	for a := range 1200 {
		sizes[ShardOf(appid(a), run.Shards)]++
	}
	for i, n := range sizes {
		if n > 500 {
			t.Fatalf("shard %d of %d holds %d pairs", i, run.Shards, n)
		}
	}
	if run.Shards < 3 {
		t.Fatalf("%d shards for 1,200 pairs of at most 500", run.Shards)
	}

	// Every message is an ordinary reconcile of its shard, with the request's prune.
	total := 0
	for i, msg := range run.Messages {
		want := fmt.Sprintf(`{"action":"reconcile","prune":true,"shard":{"index":%d,"count":%d},"run":%q}`, i, run.Shards, run.ID)
		if string(msg) != want {
			t.Fatalf("message %s, want %s", msg, want)
		}
		res, err := s.DoJSON(t.Context(), msg, "")
		if err != nil {
			t.Fatalf("shard %d: %v", i, err)
		}
		if res.Run != run.ID || res.Shards != 0 {
			t.Fatalf("shard answer %+v", res)
		}
		total += counts(res.Summary)["desired"]
	}
	if total != 1200 || len(fan.finished) != run.Shards || len(fan.checks) != run.Shards {
		t.Fatalf("shards desired %d in all, %d finished, %d checked", total, len(fan.finished), len(fan.checks))
	}
	if shares, _, _ := f.counts(); shares == 0 {
		t.Fatal("the shards shared nothing")
	}
}

func TestAReconcileWithinShardPairsRunsWhole(t *testing.T) {
	fan := &memFanOut{}
	s := newService(t, newFake(), Options{Manifest: largeManifest(t), FanOut: fan, ShardPairs: 1200})
	res, err := s.Do(t.Context(), Request{Action: ActionReconcile})
	if err != nil || res.Shards != 0 || counts(res.Summary)["desired"] != 1200 || len(fan.runs) != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	// A body manifest is never planned: its shard messages could not carry it.
	body := largeManifest(t)
	s = newService(t, newFake(), Options{FanOut: fan, ShardPairs: 10})
	if res, err := s.Do(t.Context(), *body); err != nil || res.Shards != 0 || len(fan.runs) != 0 {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestALargeFleetIsPlannedByItsAuthorizers(t *testing.T) {
	fl := newMemFleet(time.Now())
	for c := range 30 {
		for a := range 10 {
			fl.add(fmt.Sprintf("Customer %d", c), []int{18}, appid(c*10+a))
		}
	}
	fl.add("Customer 0", []int{17}, appid(999)) // no permission set 18: no desired pair
	var customers []Customer
	for c := range 30 {
		customers = append(customers, Customer{Principal: fmt.Sprintf("Customer %d", c), Envs: []string{fmt.Sprintf("c%d-a", c), fmt.Sprintf("c%d-b", c)}})
	}
	fan := &memFanOut{}
	s := newService(t, newFake(), Options{Manifest: manifestOf(t, Request{Customers: customers}), Fleet: fl, FanOut: fan, ShardPairs: 200})
	res, err := s.Do(t.Context(), Request{Action: ActionReconcile})
	if err != nil || res.Shards == 0 {
		t.Fatalf("%+v %v", res, err)
	}
	if run := fan.runs[0]; run.Desired != 600 {
		t.Fatalf("run %+v, want 600 desired pairs", run)
	}
}

func TestAShardOfAnotherManifestIsRefused(t *testing.T) {
	fan := &memFanOut{}
	s := newService(t, newFake(), Options{Manifest: largeManifest(t), FanOut: fan, ShardPairs: 500})
	if _, err := s.Do(t.Context(), Request{Action: ActionReconcile}); err != nil {
		t.Fatal(err)
	}
	run := fan.runs[0]
	other := newService(t, newFake(), Options{Manifest: manifestOf(t, Request{Envs: []wechat.EnvAppIDs{{Env: "x", AppIDs: []string{a0}}}}), FanOut: fan})
	for name, svc := range map[string]*Service{"a changed manifest": other, "a forged run id": s} {
		t.Run(name, func(t *testing.T) {
			msg := run.Messages[0]
			if svc == s {
				msg = []byte(`{"action":"reconcile","shard":{"index":0,"count":3},"run":"20261207T101500Z-000000000000-abcdef"}`)
			}
			_, err := svc.DoJSON(t.Context(), msg, "")
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeInvalidRequest || !strings.Contains(e.Error(), "run: run ") {
				t.Fatalf("error %v, want invalid_request naming the run", err)
			}
		})
	}
	t.Run("the FanOut refuses it", func(t *testing.T) {
		fan.refuse = &Error{Code: CodeInvalidRequest, Message: "invalid request", Details: []string{"run: unknown"}}
		if _, err := s.DoJSON(t.Context(), run.Messages[0], ""); err != fan.refuse {
			t.Fatalf("error %v", err)
		}
	})
}

func TestDecodeRun(t *testing.T) {
	for body, want := range map[string]string{
		`{"action":"reconcile","run":"r-1"}`:                                                           "run: needs shard",
		`{"action":"reconcile","run":"r 1","shard":{"index":0,"count":2}}`:                             "run: must be a run id",
		`{"action":"reconcile","run":"","shard":{"index":0,"count":2}}`:                                "run: must be a run id",
		`{"action":"reconcile","run":1,"shard":{"index":0,"count":2}}`:                                 "run: must be a string",
		`{"action":"reconcile","run":"r-1","shard":{"index":0,"count":2},"envs":[]}`:                   "envs: not allowed with run",
		`{"action":"share","run":"r-1","env":"e","appids":["wx0000000000000000"]}`:                     "run: not allowed for action share",
		`{"action":"reconcile","run":"r-1","shard":{"index":0,"count":2},"backfill":true}`:             "backfill: not allowed with run",
		`{"action":"reconcile","run":"` + strings.Repeat("r", 65) + `","shard":{"index":0,"count":2}}`: "run: must be a run id",
	} {
		_, err := Decode([]byte(body), "")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Decode(%s) = %v, want %q", body, err, want)
		}
	}
	if r, err := Decode([]byte(`{"action":"reconcile","run":"r-1","shard":{"index":1,"count":2}}`), ""); err != nil || r.Run != "r-1" {
		t.Fatalf("%+v %v", r, err)
	}
}
