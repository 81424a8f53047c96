package ledgertest

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/ledger"
)

// appid gives the nth test appid.
func appid(n int) string { return fmt.Sprintf("wx%016x", n) }

func pairKey(appid, env string) ledger.Key {
	return ledger.Key{Kind: ledger.KindPair, ID: appid + "/" + env}
}

func mustPut(t *testing.T, d ledger.Driver, it ledger.Item) {
	t.Helper()
	if err := d.Put(t.Context(), it); err != nil {
		t.Fatalf("Put(%s, version %d): %v", it.Key, it.Version, err)
	}
}

func mustGet(t *testing.T, d ledger.Driver, k ledger.Key) ledger.Item {
	t.Helper()
	it, err := d.Get(t.Context(), k)
	if err != nil {
		t.Fatalf("Get(%s): %v", k, err)
	}
	return it
}

func (s *suite) absent(t *testing.T) {
	d, _ := s.open(t, 0)
	mustPut(t, d, ledger.Item{Key: ledger.Key{Kind: ledger.KindAuthorizer, ID: appid(1)}, Doc: []byte(`{}`)})
	for _, k := range []ledger.Key{
		{Kind: ledger.KindAuthorizer, ID: appid(2)},
		{Kind: ledger.KindPair, ID: appid(1) + "/env"}, // another kind, same appid
		{Kind: ledger.KindRun, ID: appid(1)},
	} {
		if it := mustGet(t, d, k); it.Version != 0 || len(it.Doc) != 0 || it.Key != k {
			t.Errorf("Get(%s) = %+v, want version 0 and no document", k, it)
		}
	}
	items, err := d.GetMany(t.Context(), []ledger.Key{{Kind: ledger.KindAuthorizer, ID: appid(3)}, {Kind: ledger.KindAuthorizer, ID: appid(1)}})
	if err != nil || len(items) != 2 || items[0].Version != 0 || items[1].Version != 1 {
		t.Errorf("GetMany = %+v, %v; want versions 0 and 1", items, err)
	}
	l := ledger.New(d, ledger.Options{})
	a, err := l.Authorizer(t.Context(), appid(4))
	if err != nil || a.Version != 0 || a.AppID != appid(4) || a.Authorized {
		t.Errorf("Authorizer of an unknown appid = %+v, %v", a, err)
	}
	p, err := l.Pair(t.Context(), ledger.PairKey{Env: "e1", AppID: appid(4)})
	if err != nil || p.Version != 0 || p.Env != "e1" || p.AppID != appid(4) || p.State != "" {
		t.Errorf("Pair of an unknown pair = %+v, %v", p, err)
	}
	if err := d.Scan(t.Context(), ledger.KindRun, ledger.All, func(it ledger.Item) error {
		return fmt.Errorf("a scan of an empty kind found %s", it.Key)
	}); err != nil {
		t.Error(err)
	}
}

func (s *suite) conditional(t *testing.T) {
	d, _ := s.open(t, 0)
	k := pairKey(appid(1), "prod-1")
	doc1, doc2 := []byte(`{"state":"pending_confirmation","n":"第一"}`), []byte(`{"state":"shared"}`)
	conflict := func(it ledger.Item, why string) {
		t.Helper()
		if err := d.Put(t.Context(), it); !errors.Is(err, ledger.ErrConflict) {
			t.Errorf("Put(version %d) %s = %v, want ErrConflict", it.Version, why, err)
		}
	}
	conflict(ledger.Item{Key: k, Doc: doc1, Version: 3}, "of an absent record")
	mustPut(t, d, ledger.Item{Key: k, Doc: doc1})
	if it := mustGet(t, d, k); it.Version != 1 || !bytes.Equal(it.Doc, doc1) {
		t.Fatalf("after the first write: version %d, %s", it.Version, it.Doc)
	}
	conflict(ledger.Item{Key: k, Doc: doc2}, "of a record that exists (as if absent)")
	mustPut(t, d, ledger.Item{Key: k, Doc: doc2, Version: 1})
	conflict(ledger.Item{Key: k, Doc: doc1, Version: 1}, "with a stale version")
	conflict(ledger.Item{Key: k, Doc: doc1, Version: 7}, "with a version from the future")
	if it := mustGet(t, d, k); it.Version != 2 || !bytes.Equal(it.Doc, doc2) {
		t.Errorf("after the refused writes: version %d, %s; want 2, %s", it.Version, it.Doc, doc2)
	}

	// The typed layer writes nothing when nothing changed, and retries a conflict.
	l := ledger.New(d, ledger.Options{})
	pk := ledger.PairKey{Env: "prod-1", AppID: appid(2)}
	p, err := l.UpdatePair(t.Context(), pk, func(p *ledger.Pair) (bool, error) { p.State = ledger.StatePending; return true, nil })
	if err != nil || p.Version != 1 {
		t.Fatalf("UpdatePair = %+v, %v", p, err)
	}
	if p, err = l.UpdatePair(t.Context(), pk, func(*ledger.Pair) (bool, error) { return false, nil }); err != nil || p.Version != 1 {
		t.Errorf("an update that changes nothing = version %d, %v; want 1 (not written)", p.Version, err)
	}
	stale := p
	if _, err := l.UpdatePair(t.Context(), pk, func(p *ledger.Pair) (bool, error) { p.ConfirmURL = "https://x/1"; return true, nil }); err != nil {
		t.Fatal(err)
	}
	calls := 0
	p, err = l.UpdateReadPair(t.Context(), stale, func(p *ledger.Pair) (bool, error) {
		calls++
		p.State = ledger.StateShared
		return true, nil
	})
	if err != nil || p.Version != 3 || p.ConfirmURL != "https://x/1" || p.State != ledger.StateShared || calls != 2 {
		t.Errorf("UpdateReadPair from a stale read = %+v, %v after %d calls; want version 3 with both changes, 2 calls", p, err, calls)
	}
	wantErr := errors.New("refused by the change")
	if _, err := l.UpdatePair(t.Context(), pk, func(*ledger.Pair) (bool, error) { return true, wantErr }); !errors.Is(err, wantErr) {
		t.Errorf("a change's error = %v", err)
	}
}

func (s *suite) eightWriters(t *testing.T) {
	_, value := s.open(t, 0)
	const writers, rounds = 8, 5
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		// Each writer is an instance of its own: its own connections, its own ledger.
		l := ledger.New(s.reopen(t, value), ledger.Options{})
		wg.Go(func() {
			for range rounds {
				_, err := l.UpdateRun(t.Context(), "run-1", func(r *ledger.Run) (bool, error) {
					r.Shards = writers
					counts := r.Done[w]
					r.Finish(w, ledger.Counts{"writes": counts["writes"] + 1}, time.Unix(1, 0))
					return true, nil
				})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	r, err := ledger.New(s.reopen(t, value), ledger.Options{}).Run(t.Context(), "run-1")
	if err != nil {
		t.Fatal(err)
	}
	if r.Version != writers*rounds || len(r.Done) != writers || r.Totals()["writes"] != writers*rounds {
		t.Errorf("after %d writes by %d writers: version %d, done %v", writers*rounds, writers, r.Version, r.Done)
	}
	for w := range writers {
		if r.Done[w]["writes"] != rounds {
			t.Errorf("writer %d: %d writes recorded, want %d", w, r.Done[w]["writes"], rounds)
		}
	}
}

func (s *suite) batchReads(t *testing.T) {
	d, _ := s.open(t, 0)
	// 617 records, asked for with 1,335 keys (absent ones, and some twice): beyond DynamoDB's
	// 100 keys a call and the SQL engines' 500 ids a query.
	const present = 617
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for n := w; n < present; n += 8 {
				if err := d.Put(t.Context(), ledger.Item{Key: ledger.Key{Kind: ledger.KindAuthorizer, ID: appid(n)}, Doc: fmt.Appendf(nil, `{"appid":%q}`, appid(n))}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	var keys []ledger.Key
	for n := range present { // present and absent, interleaved
		keys = append(keys, ledger.Key{Kind: ledger.KindAuthorizer, ID: appid(n)}, ledger.Key{Kind: ledger.KindAuthorizer, ID: appid(present + n)})
	}
	keys = append(keys, keys[:100]...)                                          // asked for twice
	keys = append(keys, ledger.Key{Kind: ledger.KindPair, ID: appid(0) + "/e"}) // another kind
	items, err := d.GetMany(t.Context(), keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != len(keys) {
		t.Fatalf("%d items for %d keys", len(items), len(keys))
	}
	found, wantFound := 0, 0
	for i, it := range items {
		if it.Key != keys[i] {
			t.Fatalf("item %d is %s, want %s (the keys' order)", i, it.Key, keys[i])
		}
		var n int
		_, err := fmt.Sscanf(keys[i].ID, "wx%x", &n)
		isPresent := keys[i].Kind == ledger.KindAuthorizer && err == nil && n < present
		switch {
		case isPresent && (it.Version != 1 || string(it.Doc) != fmt.Sprintf(`{"appid":%q}`, keys[i].ID)):
			t.Errorf("%s: version %d, %s", keys[i], it.Version, it.Doc)
		case !isPresent && it.Version != 0:
			t.Errorf("%s is absent, read as version %d", keys[i], it.Version)
		}
		if it.Version > 0 {
			found++
		}
		if isPresent {
			wantFound++
		}
	}
	if found != wantFound || wantFound < present {
		t.Errorf("%d found, want %d", found, wantFound)
	}
}

func (s *suite) scans(t *testing.T) {
	d, _ := s.open(t, 7)
	l := ledger.New(d, ledger.Options{})
	const authorizers, runs = 150, 3
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for n := w; n < authorizers; n += 4 {
				if _, err := l.UpdateAuthorizer(t.Context(), appid(n), func(a *ledger.Authorizer) (bool, error) { a.Authorized = true; return true, nil }); err != nil {
					t.Error(err)
					return
				}
				if n%3 == 0 {
					for _, env := range []string{"env-a", "env-b"} {
						if _, err := l.UpdatePair(t.Context(), ledger.PairKey{Env: env, AppID: appid(n)}, func(p *ledger.Pair) (bool, error) { p.State = ledger.StatePending; return true, nil }); err != nil {
							t.Error(err)
							return
						}
					}
				}
			}
		})
	}
	wg.Wait()
	for r := range runs {
		if _, err := l.UpdateRun(t.Context(), fmt.Sprintf("run-%d", r), func(run *ledger.Run) (bool, error) {
			run.StartedAt = time.Unix(int64(1000+r), 0)
			return true, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	all := map[string]bool{}
	if err := l.ScanAuthorizers(t.Context(), ledger.All, func(a ledger.Authorizer) error {
		if all[a.AppID] || !a.Authorized || a.Version != 1 {
			t.Errorf("scan: %+v (seen before: %v)", a, all[a.AppID])
		}
		all[a.AppID] = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(all) != authorizers {
		t.Fatalf("the scan found %d authorizers, want %d", len(all), authorizers)
	}
	// Shard counts whose greatest common divisor with DynamoDB's 60 partitions differs.
	for _, count := range []int{1, 3, 7, 8, 10, 120} {
		seen := map[string]int{}
		for index := range count {
			shard := ledger.Shard{Index: index, Count: count}
			if err := l.ScanAuthorizers(t.Context(), shard, func(a ledger.Authorizer) error {
				if !shard.Has(a.AppID) {
					t.Errorf("shard %d of %d holds %s", index, count, a.AppID)
				}
				seen[a.AppID]++
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		if len(seen) != authorizers || slices.Max(slices.Collect(maps.Values(seen))) != 1 {
			t.Errorf("%d shards together hold %d authorizers, want each of the %d exactly once", count, len(seen), authorizers)
		}
	}

	pairs, sharded := 0, 0
	if err := l.ScanPairs(t.Context(), ledger.All, func(p ledger.Pair) error {
		pairs++
		// A scan's callback may write (a reconcile records what it found).
		_, err := l.UpdateReadPair(t.Context(), p, func(p *ledger.Pair) (bool, error) { p.State = ledger.StateShared; return true, nil })
		return err
	}); err != nil {
		t.Fatal(err)
	}
	shard := ledger.Shard{Index: 1, Count: 4}
	if err := l.ScanPairs(t.Context(), shard, func(p ledger.Pair) error {
		if !shard.Has(p.AppID) || p.State != ledger.StateShared || p.Version != 2 {
			t.Errorf("shard %v: %+v", shard, p)
		}
		sharded++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	wantSharded := 0
	for n := 0; n < authorizers; n += 3 {
		if shard.Has(appid(n)) {
			wantSharded += 2
		}
	}
	if pairs != 2*((authorizers+2)/3) || sharded != wantSharded {
		t.Errorf("pairs: %d in all, %d in %v; want %d and %d", pairs, sharded, shard, 2*((authorizers+2)/3), wantSharded)
	}

	recent, err := l.RecentRuns(t.Context(), 2)
	if err != nil || len(recent) != 2 || recent[0].ID != "run-2" || recent[1].ID != "run-1" {
		t.Errorf("RecentRuns(2) = %+v, %v; want run-2, run-1", recent, err)
	}

	stop := errors.New("enough")
	calls := 0
	err = l.ScanAuthorizers(t.Context(), ledger.All, func(ledger.Authorizer) error {
		calls++
		if calls == 10 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 10 {
		t.Errorf("a scan whose callback fails at the 10th record = %v after %d calls", err, calls)
	}
	if err := l.ScanAuthorizers(t.Context(), ledger.Shard{Index: 3, Count: 3}, func(ledger.Authorizer) error { return nil }); err == nil {
		t.Error("shard 3 of 3 was accepted")
	}
}

func (s *suite) typed(t *testing.T) {
	d, _ := s.open(t, 0)
	now := time.Date(2026, 12, 7, 9, 30, 15, 123456789, time.UTC)
	l := ledger.New(d, ledger.Options{Now: func() time.Time { return now }})
	want := ledger.Authorizer{
		AppID: appid(1), Principal: "深圳市示例科技有限公司", Authorized: true, PermissionSets: []int{1, 18, 19},
		MiniProgram: true, AuthorizedAt: now.Add(-time.Hour), InfoFetchedAt: now, UnauthorizedAt: now.Add(-48 * time.Hour),
		LastEvent: "updateauthorized", LastEventTime: now.Add(-time.Minute),
	}
	if _, err := l.UpdateAuthorizer(t.Context(), want.AppID, func(a *ledger.Authorizer) (bool, error) {
		*a = want
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	want.Version = 1
	got, err := l.Authorizer(t.Context(), want.AppID)
	if err != nil || !reflect.DeepEqual(got, want) || !got.HasPermission(ledger.SharePermissionSet) {
		t.Errorf("Authorizer =\n%+v, %v\nwant\n%+v", got, err, want)
	}

	wantPair := ledger.Pair{
		Env: "cust-a-7f3k2m", AppID: appid(1), State: ledger.StateFailed, Principal: want.Principal,
		ConfirmURL: "https://mp.weixin.qq.com/confirm?x=1&y=2", LinkIssuedAt: now.Add(-time.Hour), ConfirmedAt: now.Add(-time.Minute),
		ErrorCode: "different_entity", ErrorMessage: "main body not same", ChangedAt: now, Version: 1,
	}
	if _, err := l.UpdatePair(t.Context(), wantPair.Key(), func(p *ledger.Pair) (bool, error) {
		v := p.Version
		*p = wantPair
		p.ChangedAt, p.Version = time.Time{}, v // ChangedAt is the ledger's to set
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	pairs, err := l.Pairs(t.Context(), []ledger.PairKey{wantPair.Key(), {Env: "other", AppID: appid(1)}})
	if err != nil || len(pairs) != 2 || !reflect.DeepEqual(pairs[0], wantPair) || pairs[1].Version != 0 || pairs[1].Env != "other" {
		t.Errorf("Pairs =\n%+v, %v\nwant\n%+v and an absent pair", pairs, err, wantPair)
	}

	run, err := l.UpdateRun(t.Context(), "20261207T093015Z-abc", func(r *ledger.Run) (bool, error) {
		r.StartedAt, r.Shards, r.Manifest = now, 2, "sha256:0123"
		r.Finish(1, ledger.Counts{"shared": 3, "failed": 1}, now)
		r.Finish(1, ledger.Counts{"shared": 4}, now) // a redelivered shard replaces its counts
		return true, nil
	})
	if err != nil || !run.FinishedAt.IsZero() {
		t.Fatalf("UpdateRun = %+v, %v (not finished: one shard of two)", run, err)
	}
	run, err = l.UpdateRun(t.Context(), run.ID, func(r *ledger.Run) (bool, error) {
		r.Finish(0, ledger.Counts{"shared": 1, "awaiting_confirmation": 2}, now.Add(time.Second))
		return true, nil
	})
	if err != nil || !run.FinishedAt.Equal(now.Add(time.Second)) {
		t.Fatalf("UpdateRun = %+v, %v; want finished", run, err)
	}
	got2, err := l.Run(t.Context(), run.ID)
	if err != nil || !reflect.DeepEqual(got2, run) || !maps.Equal(got2.Totals(), ledger.Counts{"shared": 5, "awaiting_confirmation": 2}) {
		t.Errorf("Run = %+v, %v; want %+v", got2, err, run)
	}
}
