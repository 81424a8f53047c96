package share

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/envshare/envshare/pkg/wechat"
	"github.com/envshare/envshare/pkg/wxemu"
)

func manifestReq(envs ...wechat.EnvAppIDs) Request {
	return Request{Action: "reconcile", Envs: envs}
}

// summaryJSON is the summary as the answer shows it, in its fields' order.
func summaryJSON(t *testing.T, s Summary) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkSummary fails the test unless the summary shows as want.
func checkSummary(t *testing.T, s Summary, want string) {
	t.Helper()
	if got := summaryJSON(t, s); got != want {
		t.Fatalf("summary\n got %s\nwant %s", got, want)
	}
}

func TestReconcileMissingExtraPendingAndFailedPairs(t *testing.T) {
	a3 := appid(3)
	f := newFake()
	f.bind("e1", a0)
	f.bind("e3", a0) // an env the manifest does not name: never touched
	f.bind("e2", a1) // a managed env the manifest does not pair with a1: pruned
	f.confirm = func(env, a string) bool { return a == a2 }
	f.reject = func(env, a string) string {
		if a == a3 {
			return "different subject"
		}
		return ""
	}
	req := manifestReq(
		wechat.EnvAppIDs{Env: "e1", AppIDs: []string{a0, a1, a2, a3, a0}},
		wechat.EnvAppIDs{Env: "e2", AppIDs: []string{a0}},
	)
	req.Prune = ptr(true)
	res, err := newService(t, f, Options{}).Do(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	checkSummary(t, res.Summary, `{"desired":5,"already_shared":1,"shared":2,"pending_confirmation":1,"failed":1,"deferred":0,`+
		`"would_share":0,"unshared":1,"would_unshare":0,"unshare_failed":0,"unshare_deferred":0}`)
	want := []Outcome{ // attention first, manifest order within each rank
		{Env: "e1", AppID: a3, Status: StatusFailed, Error: &EntryError{Code: CodeDifferentEntity, Message: "different subject"}},
		{Env: "e1", AppID: a2, Status: StatusPendingConfirmation, ConfirmURL: "https://mp.weixin.qq.com/confirm/e1/" + a2},
		{Env: "e1", AppID: a1, Status: StatusShared},
		{Env: "e2", AppID: a0, Status: StatusShared},
		{Env: "e2", AppID: a1, Status: StatusUnshared},
	}
	if !reflect.DeepEqual(res.Results, want) {
		t.Fatalf("results\n got %+v\nwant %+v", res.Results, want)
	}
	if res.OK || res.DryRun || res.Action != "reconcile" {
		t.Fatalf("result %+v", res)
	}
	if !f.isBound("e3", a0) || f.isBound("e2", a1) || !f.isBound("e2", a0) {
		t.Fatalf("bindings after reconcile: %v", f.bound)
	}
	checkPacked(t, f.shares, DefaultChunkSize)
}

func TestReconcileWithoutPruneLeavesExtrasAlone(t *testing.T) {
	f := newFake()
	f.bind("e1", a0)
	f.bind("e2", a0)
	res, err := newService(t, f, Options{}).Do(t.Context(),
		manifestReq(wechat.EnvAppIDs{Env: "e1", AppIDs: []string{a0}}, wechat.EnvAppIDs{Env: "e2", AppIDs: []string{a1}}))
	if err != nil {
		t.Fatal(err)
	}
	if counts(res.Summary)[StatusUnshared] != 0 || f.writes() != 1 || !f.isBound("e2", a0) {
		t.Fatalf("summary %v, %d writes", res.Summary, f.writes())
	}
}

func TestReconcilePruneOnlyTouchesManagedEnvs(t *testing.T) {
	f := newFake()
	f.bind("managed", a0, a1)
	f.bind("other", a0, a1)
	f.bind("managed", a2) // a2 is not in the manifest: never touched
	req := manifestReq(wechat.EnvAppIDs{Env: "managed", AppIDs: []string{a0}}, wechat.EnvAppIDs{Env: "kept", AppIDs: []string{a1}})
	req.Prune = ptr(true)
	res, err := newService(t, f, Options{}).Do(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(res.Results); !reflect.DeepEqual(got, map[string]Status{"kept/" + a1: StatusShared, "managed/" + a1: StatusUnshared}) {
		t.Fatalf("results %v", got)
	}
	if !f.isBound("other", a0) || !f.isBound("other", a1) || !f.isBound("managed", a2) || !f.isBound("managed", a0) {
		t.Fatalf("bindings %v", f.bound)
	}
}

func TestReconcileDryRunSendsNoWrite(t *testing.T) {
	f := newFake()
	f.bind("e1", a0)
	f.bind("e2", a0)
	req := manifestReq(wechat.EnvAppIDs{Env: "e1", AppIDs: []string{a0, a1}}, wechat.EnvAppIDs{Env: "e2", AppIDs: []string{a2}})
	req.Prune, req.DryRun = ptr(true), ptr(true)
	res, err := newService(t, f, Options{}).Do(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if f.writes() != 0 {
		t.Fatalf("%d write calls in a dry run", f.writes())
	}
	wantSummary := `{"desired":3,"already_shared":1,"shared":0,"pending_confirmation":0,"failed":0,"deferred":0,` +
		`"would_share":2,"unshared":0,"would_unshare":1,"unshare_failed":0,"unshare_deferred":0}`
	if got := summaryJSON(t, res.Summary); got != wantSummary || !res.DryRun || !res.OK {
		t.Fatalf("summary %s, result %+v", got, res)
	}
	b, _ := json.Marshal(res)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if m["dry_run"] != true {
		t.Fatalf("JSON %s", b)
	}
	if got := statuses(res.Results); !reflect.DeepEqual(got, map[string]Status{
		"e1/" + a1: StatusWouldShare, "e2/" + a2: StatusWouldShare, "e2/" + a0: StatusWouldUnshare}) {
		t.Fatalf("results %v", got)
	}
}

func TestReconcileIsIdempotent(t *testing.T) {
	f := newFake()
	f.bind("e1", a0)
	f.bind("e3", a1)
	req := manifestReq(wechat.EnvAppIDs{Env: "e1", AppIDs: appids(0, 250)}, wechat.EnvAppIDs{Env: "e3", AppIDs: []string{a0}})
	req.Prune = ptr(true)
	s := newService(t, f, Options{})
	first, err := s.Do(t.Context(), req)
	if err != nil || !first.OK || counts(first.Summary)[StatusShared] != 250 || counts(first.Summary)[StatusUnshared] != 1 {
		t.Fatalf("first run %v, %v", first.Summary, err)
	}
	writes := f.writes()
	second, err := s.Do(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if f.writes() != writes {
		t.Fatalf("the second run sent %d write calls", f.writes()-writes)
	}
	if counts(second.Summary)[StatusAlreadyShared] != 251 || len(second.Results) != 0 || !second.OK {
		t.Fatalf("second run %v, %d results", second.Summary, len(second.Results))
	}
	if b, _ := json.Marshal(second); !strings.Contains(string(b), `"results":[]`) {
		t.Fatalf("JSON %s", b)
	}
}

func TestReconcileQueryFailures(t *testing.T) {
	t.Run("an appid WeChat rejects gets its pairs failed and is not pruned", func(t *testing.T) {
		f := newFake()
		f.bind("e2", a1)
		f.rejectGet = func(a string) string {
			if a == a1 {
				return "no permission set 18"
			}
			return ""
		}
		req := manifestReq(wechat.EnvAppIDs{Env: "e1", AppIDs: []string{a0, a1}}, wechat.EnvAppIDs{Env: "e2", AppIDs: []string{a0}})
		req.Prune = ptr(true)
		res, err := newService(t, f, Options{}).Do(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		want := Outcome{Env: "e1", AppID: a1, Status: StatusFailed, Error: &EntryError{Code: CodeRejected, Message: "no permission set 18"}}
		if !reflect.DeepEqual(outcomeOf(t, res, "e1", a1), want) || res.OK || counts(res.Summary)[StatusFailed] != 1 || counts(res.Summary)[StatusShared] != 2 {
			t.Fatalf("results %+v, summary %v", res.Results, res.Summary)
		}
		if !f.isBound("e2", a1) || len(f.unshare) != 0 {
			t.Fatal("an appid whose bindings are unknown must not be pruned")
		}
	})
	t.Run("a failed chunk fails its appids' pairs with the mapped code", func(t *testing.T) {
		f := newFake()
		f.fail = func(endpoint, _ string) error {
			if endpoint == "batchgetenvid" && len(f.gets) == 1 {
				return errBusy
			}
			return nil
		}
		res, err := newService(t, f, Options{ChunkSize: 1, Concurrency: 1}).Do(t.Context(),
			manifestReq(wechat.EnvAppIDs{Env: "e1", AppIDs: []string{a0, a1}}))
		if err != nil {
			t.Fatal(err)
		}
		if outcomeOf(t, res, "e1", a0).Error.Code != CodeUpstreamUnavailable || outcomeOf(t, res, "e1", a1).Status != StatusShared {
			t.Fatalf("results %+v", res.Results)
		}
	})
	t.Run("every query failing with the same code fails the request", func(t *testing.T) {
		f := newFake()
		f.fail = func(string, string) error {
			return &wechat.APIError{Endpoint: "batchgetenvid", Code: 48001, Msg: "api unauthorized"}
		}
		_, err := newService(t, f, Options{ChunkSize: 1}).Do(t.Context(),
			manifestReq(wechat.EnvAppIDs{Env: "e1", AppIDs: []string{a0, a1}}))
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeUpstreamError || *e.WechatErrcode != 48001 || f.writes() != 0 {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("a failed unshare counts as unshare_failed", func(t *testing.T) {
		f := newFake()
		f.bind("e2", a0)
		f.fail = func(endpoint, _ string) error {
			if endpoint == "batchunshareenv" {
				return errAPI
			}
			return nil
		}
		req := manifestReq(wechat.EnvAppIDs{Env: "e1", AppIDs: []string{a0}}, wechat.EnvAppIDs{Env: "e2", AppIDs: []string{a1}})
		req.Prune = ptr(true)
		res, err := newService(t, f, Options{}).Do(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		if counts(res.Summary)["unshare_failed"] != 1 || counts(res.Summary)[StatusFailed] != 0 || res.OK {
			t.Fatalf("summary %v ok %v", res.Summary, res.OK)
		}
	})
}

func TestReconcileDefersWhatTheDeadlineLeavesNoTimeFor(t *testing.T) {
	deadline := time.Now().Add(time.Hour)
	ctx, cancel := context.WithDeadline(t.Context(), deadline)
	defer cancel()
	clock := wxemu.NewClock(deadline.Add(-10 * time.Second))
	f := newFake()
	f.bind("e2", a0)
	f.onCall = func(string) { clock.Advance(time.Second) } // each call takes a second
	// Six queries (10s..5s left), then shares at 4s and 3s left; below 3s nothing starts.
	req := manifestReq(wechat.EnvAppIDs{Env: "e1", AppIDs: appids(0, 5)}, wechat.EnvAppIDs{Env: "e2", AppIDs: []string{appid(9)}})
	req.Prune = ptr(true)
	s := newService(t, f, Options{ChunkSize: 1, Concurrency: 1, Now: clock.Now})
	res, err := s.Do(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	checkSummary(t, res.Summary, `{"desired":6,"already_shared":0,"shared":2,"pending_confirmation":0,"failed":0,"deferred":4,`+
		`"would_share":0,"unshared":0,"would_unshare":0,"unshare_failed":0,"unshare_deferred":1}`)
	if len(res.Results) != 7 || outcomeOf(t, res, "e2", a0) != (Outcome{Env: "e2", AppID: a0, Status: StatusDeferred}) {
		t.Fatalf("results %+v", res.Results)
	}
	if !res.OK {
		t.Fatal("deferred pairs are not failures")
	}
	if _, _, gets := f.counts(); gets != 6 || f.writes() != 2 {
		t.Fatalf("%d gets, %d writes", gets, f.writes())
	}

	t.Run("with the margin already reached nothing is sent", func(t *testing.T) {
		f := newFake()
		clock := wxemu.NewClock(deadline.Add(-2 * time.Second))
		res, err := newService(t, f, Options{Now: clock.Now}).Do(ctx, manifestReq(wechat.EnvAppIDs{Env: "e1", AppIDs: appids(0, 3)}))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, gets := f.counts(); gets+f.writes() != 0 || counts(res.Summary)[StatusDeferred] != 3 {
			t.Fatalf("summary %v", res.Summary)
		}
	})
	t.Run("the default margin is three seconds", func(t *testing.T) {
		clock := wxemu.NewClock(deadline.Add(-3*time.Second + time.Millisecond))
		res, _ := newService(t, newFake(), Options{Now: clock.Now}).Do(ctx, manifestReq(wechat.EnvAppIDs{Env: "e1", AppIDs: []string{a0}}))
		if counts(res.Summary)[StatusDeferred] != 1 {
			t.Fatalf("summary %v", res.Summary)
		}
	})
}

func TestShardOfIsFNV1a(t *testing.T) {
	for _, a := range appids(0, 50) {
		h := fnv.New32a()
		h.Write([]byte(a))
		if want := int(h.Sum32() % 7); ShardOf(a, 7) != want {
			t.Fatalf("ShardOf(%s, 7) = %d, want %d", a, ShardOf(a, 7), want)
		}
	}
}

func TestReconcileShardsSplitTheManifest(t *testing.T) {
	ids := appids(0, 300)
	req := manifestReq(wechat.EnvAppIDs{Env: "e1", AppIDs: ids}, wechat.EnvAppIDs{Env: "e2", AppIDs: ids[:100]})
	req.DryRun = ptr(true)
	all := map[string]int{}
	for round := range 2 {
		for i := range 3 {
			req.Shard = &Shard{Index: i, Count: 3}
			f := newFake()
			res, err := newService(t, f, Options{}).Do(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(res.Results); n < 50 || n > 200 {
				t.Fatalf("shard %d has %d of 400 pairs: not a fair split", i, n)
			}
			for _, o := range res.Results {
				if ShardOf(o.AppID, 3) != i {
					t.Fatalf("%s is in shard %d, reported by shard %d", o.AppID, ShardOf(o.AppID, 3), i)
				}
				all[fmt.Sprint(round, o.Env, o.AppID)]++
			}
			for _, g := range f.gets {
				for _, a := range g.AppIDs {
					if ShardOf(a, 3) != i {
						t.Fatalf("shard %d queried %s", i, a)
					}
				}
			}
		}
	}
	for round := range 2 {
		n := 0
		for k, c := range all {
			if c != 1 {
				t.Fatalf("%s reported %d times", k, c)
			}
			if k[0] == byte('0'+round) {
				n++
			}
		}
		if n != 400 {
			t.Fatalf("round %d: the shards cover %d of 400 pairs", round, n)
		}
	}
}

func TestReconcileUsesTheConfiguredManifest(t *testing.T) {
	manifest := manifestOf(t, Request{Envs: []wechat.EnvAppIDs{{Env: "e1", AppIDs: []string{a0}}}, SourceType: ptr(5)})
	t.Run("a body without envs reconciles the manifest with its overrides", func(t *testing.T) {
		f := newFake()
		res, err := newService(t, f, Options{Manifest: manifest}).Do(t.Context(),
			Request{Action: "reconcile", DryRun: ptr(true), SourceType: ptr(2)})
		if err != nil {
			t.Fatal(err)
		}
		if !res.DryRun || res.SourceType != 2 || counts(res.Summary)[StatusWouldShare] != 1 || f.gets[0].SourceType != 2 {
			t.Fatalf("result %+v", res)
		}
		if manifest.DryRun != nil || *manifest.SourceType != 5 {
			t.Fatal("the configured manifest must not change")
		}
	})
	t.Run("the manifest's own settings apply when the body has none", func(t *testing.T) {
		f := newFake()
		res, err := newService(t, f, Options{Manifest: manifest}).Do(t.Context(), Request{Action: "reconcile"})
		if err != nil || res.SourceType != 5 || counts(res.Summary)[StatusShared] != 1 {
			t.Fatalf("result %+v, %v", res, err)
		}
	})
	t.Run("a body with envs ignores the manifest", func(t *testing.T) {
		f := newFake()
		res, err := newService(t, f, Options{Manifest: manifest}).Do(t.Context(), manifestReq(wechat.EnvAppIDs{Env: "x", AppIDs: []string{a1}}))
		if err != nil || res.Results[0].Env != "x" || res.SourceType != 1 {
			t.Fatalf("result %+v, %v", res, err)
		}
	})
	t.Run("a configured manifest that was not validated is an internal error", func(t *testing.T) {
		bad := &Request{Envs: []wechat.EnvAppIDs{{Env: "Bad_Env", AppIDs: []string{a0}}}}
		f := newFake()
		_, err := newService(t, f, Options{Manifest: bad}).Do(t.Context(), Request{Action: "reconcile"})
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeInternal {
			t.Fatalf("err %v", err)
		}
		if _, _, gets := f.counts(); f.writes()+gets != 0 {
			t.Fatal("nothing must be sent")
		}
	})
	t.Run("no envs and no manifest is invalid", func(t *testing.T) {
		_, err := newService(t, newFake(), Options{}).Do(t.Context(), Request{Action: "reconcile"})
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeInvalidRequest ||
			e.Details[0] != "envs or customers: required: the body has neither and ENVSHARE_MANIFEST is not set" {
			t.Fatalf("err %v", err)
		}
	})
}

func TestReconcileListsEachDistinctPairOnceInManifestOrder(t *testing.T) {
	// e1 is named twice and a1 is asked for in both envs; with two appids per query, e1 waits
	// for both queries, whichever ends first, and shares its appids in manifest order.
	a3 := appid(3)
	f := newFake()
	f.bind("e2", a2)
	f.bind("e2", a3) // a managed env the manifest does not pair with a3: pruned
	req := manifestReq(
		wechat.EnvAppIDs{Env: "e1", AppIDs: []string{a0, a1, a0}},
		wechat.EnvAppIDs{Env: "e2", AppIDs: []string{a1, a2}},
		wechat.EnvAppIDs{Env: "e1", AppIDs: []string{a2, a1, a3}},
	)
	req.Prune = ptr(true)
	res, err := newService(t, f, Options{ChunkSize: 2}).Do(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range res.Results {
		got = append(got, string(o.Status)+" "+o.Env+"/"+o.AppID)
	}
	want := []string{"shared e1/" + a0, "shared e1/" + a1, "shared e2/" + a1, "shared e1/" + a2, "shared e1/" + a3, "unshared e2/" + a3}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("results\n got %v\nwant %v", got, want)
	}
	if c := counts(res.Summary); c["desired"] != 6 || c[StatusAlreadyShared] != 1 {
		t.Fatalf("summary %v", res.Summary)
	}
	// Five missing pairs, a1 in two envs, two appids a call: three calls at least, and three
	// are made, none with an appid twice.
	checkPacked(t, f.shares, 2)
	var sent []string
	for _, c := range f.shares {
		for _, d := range c.Data {
			for _, a := range d.AppIDs {
				sent = append(sent, d.Env+"/"+a)
			}
		}
	}
	slices.Sort(sent)
	if want := []string{"e1/" + a0, "e1/" + a1, "e1/" + a2, "e1/" + a3, "e2/" + a1}; len(f.shares) != 3 || !reflect.DeepEqual(sent, want) {
		t.Fatalf("%d share calls sent %v, want 3 sending %v", len(f.shares), sent, want)
	}
}
