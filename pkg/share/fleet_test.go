package share

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envshare/envshare/pkg/wechat"
)

// memFleet is a Fleet in memory, remembering as the function's ledger does (PairMemory.Apply).
type memFleet struct {
	mu       sync.Mutex
	now      time.Time
	auth     map[string]Authorizer
	pairs    map[PairKey]PairMemory
	writes   int // pairs written by Remember
	recalls  int
	shards   []*Shard // the shard of each Authorizers scan
	failRead error
	backfill func() (*BackfillSummary, error)
}

func newMemFleet(now time.Time) *memFleet {
	return &memFleet{now: now, auth: map[string]Authorizer{}, pairs: map[PairKey]PairMemory{}}
}

func (f *memFleet) add(principal string, sets []int, ids ...string) {
	for _, id := range ids {
		f.auth[id] = Authorizer{AppID: id, Known: true, Principal: principal, Authorized: true, PermissionSets: sets}
	}
}

func (f *memFleet) Authorizers(ctx context.Context, shard *Shard, fn func(Authorizer) error) error {
	f.mu.Lock()
	f.shards = append(f.shards, shard)
	var list []Authorizer
	for _, id := range slices.Sorted(mapsKeys(f.auth)) {
		if shard == nil || ShardOf(id, shard.Count) == shard.Index {
			list = append(list, f.auth[id])
		}
	}
	f.mu.Unlock()
	for _, a := range list {
		if err := fn(a); err != nil {
			return err
		}
	}
	return nil
}

func (f *memFleet) Recall(ctx context.Context, appids []string, keys []PairKey) ([]Authorizer, []PairMemory, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recalls++
	if f.failRead != nil {
		return nil, nil, f.failRead
	}
	auths := make([]Authorizer, len(appids))
	for i, id := range appids {
		auths[i] = f.auth[id]
		auths[i].AppID = id
	}
	pairs := make([]PairMemory, len(keys))
	for i, k := range keys {
		pairs[i] = f.pairs[k]
		pairs[i].PairKey = k
	}
	return auths, pairs, nil
}

func (f *memFleet) Remember(ctx context.Context, outcomes []Outcome) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, o := range outcomes {
		k := PairKey{Env: o.Env, AppID: o.AppID}
		m := f.pairs[k]
		m.PairKey = k
		if m.Apply(o, f.auth[o.AppID].Principal, f.now) {
			f.pairs[k] = m
			f.writes++
		}
	}
	return nil
}

func (f *memFleet) Backfill(ctx context.Context) (*BackfillSummary, error) {
	if f.backfill == nil {
		return &BackfillSummary{}, nil
	}
	return f.backfill()
}

func (f *memFleet) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *memFleet) pair(env, appid string) PairMemory {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pairs[PairKey{Env: env, AppID: appid}]
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

const (
	acme   = "深圳市示例科技有限公司"
	globex = "Globex Trading Ltd."
)

var set18 = []int{1, 18}

func customersReq(cs ...Customer) Request { return Request{Action: ActionReconcile, Customers: cs} }

func TestDecodeCustomers(t *testing.T) {
	ok := `{"customers":[{"principal":"A","envs":["cust-a"],"source_type":2},{"principal":"B","envs":["cust-b","cust-b2"]}],` +
		`"envs":[{"env":"prod","appids":["wx0000000000000001"]}],"backfill":true}`
	req, err := Decode([]byte(ok), ActionReconcile)
	if err != nil {
		t.Fatal(err)
	}
	if len(req.Customers) != 2 || *req.Customers[0].SourceType != 2 || req.Customers[1].Envs[1] != "cust-b2" || !*req.Backfill {
		t.Fatalf("decoded %+v", req)
	}
	for _, tc := range []struct{ body, want string }{
		{`{"customers":[{"principal":"A","envs":["e1"]},{"principal":"B","envs":["e2","e1"]}]}`,
			`customers[1].envs[1]: "e1" is also customers[0].envs[0]: an env belongs to one customer (one legal entity)`},
		{`{"customers":[{"principal":"A","envs":["e1"]},{"principal":"A","envs":["e2"]}]}`,
			`customers[1].principal: "A" is also customers[0].principal: a principal is one customer`},
		{`{"customers":[]}`, `customers: must not be empty`},
		{`{"customers":[{"envs":["e1"]}]}`, `customers[0].principal: required`},
		{`{"customers":[{"principal":"A"}]}`, `customers[0].envs: required`},
		{`{"customers":[{"principal":"A","envs":[]}]}`, `customers[0].envs: must not be empty`},
		{`{"customers":[{"principal":"A","envs":["Bad_Env"]}]}`, `customers[0].envs[0]: "Bad_Env" is not an env id`},
		{`{"customers":[{"principal":"A","envs":["e1"],"source_type":-1}]}`, `customers[0].source_type: must be a non-negative integer`},
		{`{"customers":[{"principal":"A","envs":["e1"],"sourcetype":1}]}`, `customers[0].sourcetype: unknown field`},
		{`{"customers":{"principal":"A"}}`, `customers: must be an array`},
		{`{"backfill":"yes","envs":[{"env":"e","appids":["wx0000000000000001"]}]}`, `backfill: must be true or false`},
		{`{"action":"share","env":"e","appids":["wx0000000000000001"],"customers":[{"principal":"A","envs":["e1"]}]}`,
			`customers: not allowed for action share`},
	} {
		_, err := Decode([]byte(tc.body), "")
		if !strings.Contains(tc.body, `"action"`) {
			_, err = Decode([]byte(tc.body), ActionReconcile)
		}
		var e *Error
		if !errors.As(err, &e) || !slices.ContainsFunc(e.Details, func(d string) bool { return strings.HasPrefix(d, tc.want) }) {
			t.Errorf("%s: got %v, want a detail %q", tc.body, err, tc.want)
		}
	}
	// The same env twice under one customer collapses.
	if _, err := Decode([]byte(`{"customers":[{"principal":"A","envs":["e1","e1"]}]}`), ActionReconcile); err != nil {
		t.Fatal(err)
	}
}

func TestCustomersAndBackfillNeedAFleet(t *testing.T) {
	for _, req := range []Request{
		customersReq(Customer{Principal: acme, Envs: []string{"cust-a"}}),
		{Action: ActionReconcile, Envs: []wechat.EnvAppIDs{{Env: "e1", AppIDs: []string{a0}}}, Backfill: ptr(true)},
	} {
		f := newFake()
		_, err := newService(t, f, Options{}).Do(t.Context(), req)
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeInvalidRequest || !strings.Contains(e.Error(), "need") ||
			!strings.Contains(e.Error(), "ENVSHARE_LEDGER") {
			t.Fatalf("err %v", err)
		}
		if _, _, gets := f.counts(); gets+f.writes() != 0 {
			t.Fatal("nothing must be sent")
		}
	}
}

func TestReconcileByCustomer(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	a3, a4, a5 := appid(3), appid(4), appid(5)
	fl := newMemFleet(now)
	fl.add(acme, set18, a0, a1)
	fl.add(globex, set18, a2)
	fl.add(acme, []int{1}, a3) // no set 18: not desired
	fl.add("Initech", set18, a4)
	fl.auth[a5] = Authorizer{AppID: a5, Known: true, Principal: acme, PermissionSets: set18} // revoked
	f := newFake()
	f.bind("cust-a", a0)
	f.confirm = func(env, a string) bool { return a == a1 }
	svc := newService(t, f, Options{Fleet: fl})
	req := customersReq(
		Customer{Principal: acme, Envs: []string{"cust-a"}},
		Customer{Principal: globex, Envs: []string{"cust-g", "cust-g2"}, SourceType: ptr(2)},
	)
	res, err := svc.Do(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	checkSummary(t, res.Summary, `{"desired":4,"already_shared":1,"shared":2,"pending_confirmation":1,"failed":0,"deferred":0,"would_share":0,`+
		`"unshared":0,"would_unshare":0,"unshare_failed":0,"unshare_deferred":0,"awaiting_confirmation":0}`)
	// Each call carries one source_type: Acme's envs 1, Globex's 2.
	for _, g := range f.gets {
		for _, id := range g.AppIDs {
			if wantType := map[string]int{a0: 1, a1: 1, a2: 2}[id]; g.SourceType != wantType {
				t.Errorf("bindings of %s read with source_type %d", id, g.SourceType)
			}
		}
	}
	for _, s := range f.shares {
		for _, d := range s.Data {
			if wantType := map[string]int{"cust-a": 1, "cust-g": 2, "cust-g2": 2}[d.Env]; s.SourceType != wantType {
				t.Errorf("share of %s with source_type %d", d.Env, s.SourceType)
			}
		}
	}
	// What became of each pair is remembered: the bound pair with confirmed_at, the link.
	if p := fl.pair("cust-a", a0); p.State != StatusShared || !p.ConfirmedAt.Equal(now) {
		t.Errorf("bound pair remembered as %+v", p)
	}
	if p := fl.pair("cust-a", a1); p.State != StatusPendingConfirmation || p.ConfirmURL == "" || !p.LinkIssuedAt.Equal(now) {
		t.Errorf("pending pair remembered as %+v", p)
	}

	t.Run("within RelinkAfter the link is awaited, not issued again, and nothing is written", func(t *testing.T) {
		shares, writes := len(f.shares), fl.writes
		res, err := svc.Do(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		if len(f.shares) != shares || fl.writes != writes {
			t.Fatalf("%d share calls and %d writes, want none", len(f.shares)-shares, fl.writes-writes)
		}
		o := outcomeOf(t, res, "cust-a", a1)
		if o.Status != StatusAwaitingConfirmation || o.ConfirmURL != "https://mp.weixin.qq.com/confirm/cust-a/"+a1 || !o.LinkIssuedAt.Equal(now) {
			t.Fatalf("outcome %+v", o)
		}
		if c := counts(res.Summary); c[StatusAwaitingConfirmation] != 1 || c[StatusAlreadyShared] != 3 {
			t.Fatalf("summary %s", summaryJSON(t, res.Summary))
		}
		if res.Notification != nil {
			t.Fatal("an awaited link is not notified again")
		}
	})
	t.Run("after RelinkAfter it is shared again, with a new link", func(t *testing.T) {
		later := now.Add(DefaultRelinkAfter)
		fl.now = later
		svc := newService(t, f, Options{Fleet: fl})
		shares := len(f.shares)
		res, err := svc.Do(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		if len(f.shares) != shares+1 || outcomeOf(t, res, "cust-a", a1).Status != StatusPendingConfirmation {
			t.Fatalf("%d share calls, %+v", len(f.shares)-shares, res.Results)
		}
		if p := fl.pair("cust-a", a1); !p.LinkIssuedAt.Equal(later) {
			t.Fatalf("link issued at %v", p.LinkIssuedAt)
		}
	})
	t.Run("the scan of the authorizers is limited to the shard", func(t *testing.T) {
		fl.shards = nil
		r := req
		r.Shard = &Shard{Index: 1, Count: 4}
		if _, err := svc.Do(t.Context(), r); err != nil {
			t.Fatal(err)
		}
		if len(fl.shards) != 1 || *fl.shards[0] != (Shard{Index: 1, Count: 4}) {
			t.Fatalf("scanned %v", fl.shards)
		}
	})
}

func TestReconcileByCustomerPrunesCustomersEnvs(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	fl := newMemFleet(now)
	fl.add(acme, set18, a0)
	fl.add(globex, set18, a1)
	f := newFake()
	f.bind("cust-a", a0)
	f.bind("cust-g", a0) // Globex's env bound to an Acme Mini Program: pruned
	f.bind("other", a0)  // not managed: left alone
	req := customersReq(Customer{Principal: acme, Envs: []string{"cust-a"}}, Customer{Principal: globex, Envs: []string{"cust-g"}})
	req.Prune = ptr(true)
	res, err := newService(t, f, Options{Fleet: fl}).Do(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if c := counts(res.Summary); c[StatusUnshared] != 1 || f.isBound("cust-g", a0) || !f.isBound("other", a0) || !f.isBound("cust-g", a1) {
		t.Fatalf("summary %s, bindings %v", summaryJSON(t, res.Summary), f.bound)
	}
	if p := fl.pair("cust-g", a0); p.State != StatusUnshared {
		t.Fatalf("pruned pair remembered as %+v", p)
	}
}

func TestPermanentFailuresCostNoRepeatedCall(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	fl := newMemFleet(now)
	fl.add(globex, set18, a0)
	fl.add(acme, []int{1, 2}, a1) // known, without set 18
	f := newFake()
	f.reject = func(env, a string) string {
		if a == a0 {
			return "main body not same"
		}
		return ""
	}
	req := Request{Action: ActionReconcile, Envs: []wechat.EnvAppIDs{{Env: "prod", AppIDs: []string{a0, a1}}}}
	svc := newService(t, f, Options{Fleet: fl})
	res, err := svc.Do(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if o := outcomeOf(t, res, "prod", a1); o.Status != StatusFailed || o.Error.Code != CodePermissionMissing {
		t.Fatalf("a1: %+v", o)
	}
	if len(f.gets) != 1 || slices.Contains(f.gets[0].AppIDs, a1) {
		t.Fatalf("the bindings of an authorizer without set 18 were read: %+v", f.gets)
	}
	// The cross-entity pair failed once; the fleet remembers it (as the share service
	// reported it: rejected until pkg/share names it different_entity).
	fl.mu.Lock()
	p := fl.pairs[PairKey{Env: "prod", AppID: a0}]
	p.Error = &EntryError{Code: CodeDifferentEntity, Message: "main body not same"}
	fl.pairs[PairKey{Env: "prod", AppID: a0}] = p
	fl.mu.Unlock()
	gets, shares := len(f.gets), len(f.shares)
	res, err = svc.Do(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.gets) != gets || len(f.shares) != shares {
		t.Fatalf("permanent failures cost %d reads and %d writes", len(f.gets)-gets, len(f.shares)-shares)
	}
	if o := outcomeOf(t, res, "prod", a0); o.Status != StatusFailed || o.Error.Code != CodeDifferentEntity {
		t.Fatalf("a0: %+v", o)
	}
	// Once the authorizer's principal changes, the pair is tried again.
	fl.add(acme, set18, a0)
	if _, err := svc.Do(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	if len(f.shares) != shares+1 {
		t.Fatal("a pair whose principal changed is not tried again")
	}
}

func TestReconcileBackfill(t *testing.T) {
	fl := newMemFleet(time.Unix(1_700_000_000, 0))
	f := newFake()
	req := Request{Action: ActionReconcile, Envs: []wechat.EnvAppIDs{{Env: "prod", AppIDs: []string{a0}}}}
	svc := newService(t, f, Options{Fleet: fl})
	res, err := svc.Do(t.Context(), req)
	if err != nil || res.Backfill != nil {
		t.Fatalf("backfill %+v without asking: %v", res.Backfill, err)
	}
	fl.backfill = func() (*BackfillSummary, error) {
		fl.add(acme, set18, a1)
		return &BackfillSummary{Listed: 2, New: 1, Fetched: 1}, nil
	}
	req.Customers = []Customer{{Principal: acme, Envs: []string{"cust-a"}}}
	req.Backfill = ptr(true)
	res, err = svc.Do(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if *res.Backfill != (BackfillSummary{Listed: 2, New: 1, Fetched: 1}) || outcomeOf(t, res, "cust-a", a1).Status != StatusShared {
		t.Fatalf("backfill %+v, results %+v", res.Backfill, res.Results)
	}
	fl.backfill = func() (*BackfillSummary, error) {
		return &BackfillSummary{Listed: 500}, &wechat.UnavailableError{Endpoint: "api_get_authorizer_list", Attempts: 3, Err: errors.New("busy")}
	}
	res, err = svc.Do(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if res.OK || res.Backfill.Listed != 500 || res.Backfill.Error.Code != CodeUpstreamUnavailable || counts(res.Summary)["desired"] != 2 {
		t.Fatalf("a stopped backfill: %+v %+v", res, res.Backfill)
	}
}

func TestAFleetThatCannotBeReadStopsTheReconcile(t *testing.T) {
	fl := newMemFleet(time.Unix(1_700_000_000, 0))
	fl.failRead = errors.New("database is locked")
	f := newFake()
	// One call at a time: the chunks after the failed read are not read at all.
	_, err := newService(t, f, Options{Fleet: fl, Concurrency: 1}).Do(t.Context(),
		Request{Action: ActionReconcile, Envs: []wechat.EnvAppIDs{{Env: "prod", AppIDs: appids(0, 250)}}})
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeInternal || !strings.Contains(e.Message, "ENVSHARE_LEDGER") {
		t.Fatalf("err %v", err)
	}
	if f.writes() != 0 || fl.recalls != 1 {
		t.Fatalf("%d writes, %d reads of the fleet after it failed", f.writes(), fl.recalls)
	}
}

func TestSharesAreRememberedAndTheSummaryIsUnchanged(t *testing.T) {
	fl := newMemFleet(time.Unix(1_700_000_000, 0))
	f := newFake()
	f.confirm = func(env, a string) bool { return a == a1 }
	res, err := newService(t, f, Options{Fleet: fl}).Share(t.Context(), "prod", []string{a0, a1})
	if err != nil {
		t.Fatal(err)
	}
	if got := summaryJSON(t, res.Summary); got != `{"requested":2,"shared":1,"pending_confirmation":1,"failed":0}` {
		t.Fatal(got)
	}
	if fl.pair("prod", a0).State != StatusShared || fl.pair("prod", a1).State != StatusPendingConfirmation {
		t.Fatalf("pairs %+v", fl.pairs)
	}
	if _, err := newService(t, f, Options{Fleet: fl}).Unshare(t.Context(), "prod", []string{a0}); err != nil {
		t.Fatal(err)
	}
	if p := fl.pair("prod", a0); p.State != StatusUnshared || !p.ConfirmedAt.IsZero() {
		t.Fatalf("unshared pair %+v", p)
	}
}

func TestTheManifestErrorAnswersOnlyAReconcileThatNeedsIt(t *testing.T) {
	bad := &Error{Code: CodeInvalidRequest, Message: "ENVSHARE_MANIFEST is not a valid manifest"}
	svc := newService(t, newFake(), Options{ManifestError: bad})
	if _, err := svc.Do(t.Context(), Request{Action: ActionReconcile, DryRun: ptr(true)}); err != bad {
		t.Fatalf("err %v", err)
	}
	if _, err := svc.Do(t.Context(), Request{Action: ActionReconcile, Envs: []wechat.EnvAppIDs{{Env: "e", AppIDs: []string{a0}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Share(t.Context(), "e", []string{a0}); err != nil {
		t.Fatal(err)
	}
}

// A manifest may name 250,000 customers' envs (50,000 customers of 5 envs each, the fleet of
// the fan-out benchmark); one env more is refused, naming customers.
func TestManifestCustomerEnvsLimit(t *testing.T) {
	body := func(customers int) []byte {
		var b strings.Builder
		b.WriteString(`{"customers":[`)
		for c := range customers {
			if c > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"principal":"Customer %d","envs":["c%06d-e0","c%06d-e1","c%06d-e2","c%06d-e3","c%06d-e4"]}`, c, c, c, c, c, c)
		}
		b.WriteString(`]}`)
		return []byte(b.String())
	}
	if _, err := Decode(body(MaxCustomerEnvs/5), ActionReconcile); err != nil {
		t.Fatalf("%d envs: %v", MaxCustomerEnvs, err)
	}
	_, err := Decode(body(MaxCustomerEnvs/5+1), ActionReconcile)
	var e *Error
	if !errors.As(err, &e) || !slices.ContainsFunc(e.Details, func(d string) bool {
		return strings.HasPrefix(d, "customers: 50001 customers with 250005 envs exceed the maximum")
	}) {
		t.Fatalf("one customer of 5 envs more: %v", err)
	}
}
