package fleet

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/ledger"
	"github.com/envshare/envshare/internal/ledger/sqliteledger"
	"github.com/envshare/envshare/pkg/share"
)

func appid(n int) string { return fmt.Sprintf("wx%016x", n) }

var t0 = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

// newFleet returns a Fleet over a fresh SQLite ledger in a temporary directory.
func newFleet(t *testing.T, wx WeChat) *Fleet {
	t.Helper()
	l, err := ledger.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "ledger.db"), "", ledger.Options{}, sqliteledger.Engine)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return &Fleet{Ledger: l, WeChat: wx, BackfillMax: 1000, Clock: func() time.Time { return t0 }}
}

// fakeWeChat lists n authorizers, appid(0..n-1), of principal "P<i%3>", set 18 for even i.
type fakeWeChat struct {
	mu      sync.Mutex
	n       int
	infos   int
	lists   int
	failFor string // Info of this appid fails
	failAt  int    // List fails at this offset (-1: never)
}

func (w *fakeWeChat) Info(_ context.Context, id string) (Info, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.infos++
	if id == w.failFor {
		return Info{}, errors.New("errcode 61003: component is not authorized by this account")
	}
	var i int
	fmt.Sscanf(id, "wx%x", &i)
	info := Info{Principal: fmt.Sprintf("P%d", i%3), PermissionSets: []int{1}, MiniProgram: true}
	if i%2 == 0 {
		info.PermissionSets = []int{1, 18}
	}
	return info, nil
}

func (w *fakeWeChat) List(_ context.Context, offset, count int) (int, []Listed, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lists++
	if offset == w.failAt {
		return 0, nil, errors.New("api_get_authorizer_list: system busy")
	}
	var page []Listed
	for i := offset; i < min(offset+count, w.n); i++ {
		page = append(page, Listed{AppID: appid(i), AuthTime: t0.Add(-time.Hour)})
	}
	return w.n, page, nil
}

func TestBackfillFetchesUnknownAuthorizersWithinItsLimit(t *testing.T) {
	wx := &fakeWeChat{n: 1203, failAt: -1}
	f := newFleet(t, wx)
	// Two are known already (their push arrived): not fetched again.
	for _, id := range []string{appid(0), appid(600)} {
		if _, _, err := f.RecordEvent(t.Context(), Event{AppID: id, InfoType: EventAuthorized, CreateTime: t0}, &Info{Principal: "P0"}); err != nil {
			t.Fatal(err)
		}
	}
	f.BackfillMax = 1000
	sum, err := f.Backfill(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if *sum != (share.BackfillSummary{Listed: 1203, New: 1201, Fetched: 1000, Remaining: 201}) || wx.lists != 3 || wx.infos != 1000 {
		t.Fatalf("summary %+v, %d list calls, %d info calls", sum, wx.lists, wx.infos)
	}
	a, err := f.Ledger.Authorizer(t.Context(), appid(2))
	if err != nil || !a.Authorized || a.Principal != "P2" || !a.HasPermission(18) || !a.AuthorizedAt.Equal(t0.Add(-time.Hour)) {
		t.Fatalf("backfilled %+v, %v", a, err)
	}
	// The next run fetches the rest, and one whose info fails stays remaining.
	wx.infos, wx.failFor = 0, appid(1202)
	sum, err = f.Backfill(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if *sum != (share.BackfillSummary{Listed: 1203, New: 201, Fetched: 200, Remaining: 1}) || wx.infos != 201 {
		t.Fatalf("second run %+v, %d info calls", sum, wx.infos)
	}
	// A list that fails stops the backfill with the counts so far.
	wx.failAt = 500
	sum, err = f.Backfill(t.Context())
	if err == nil || sum.Listed != 500 {
		t.Fatalf("%+v, %v", sum, err)
	}
}

func TestRecordEventKeepsTheNewestEventPerAppid(t *testing.T) {
	f := newFleet(t, nil)
	id := appid(7)
	info := &Info{Principal: "Acme", PermissionSets: []int{1, 18}, MiniProgram: true}
	ev := func(kind string, at time.Duration) Event {
		return Event{AppID: id, InfoType: kind, CreateTime: t0.Add(at)}
	}

	rec, changed, err := f.RecordEvent(t.Context(), ev(EventAuthorized, 0), info)
	if err != nil || !changed || !rec.Authorized || rec.Principal != "Acme" || !rec.InfoFetchedAt.Equal(t0) {
		t.Fatalf("%+v %v %v", rec, changed, err)
	}
	// A replay of the newest (equal CreateTime) acts again, but writes nothing new.
	v := rec.Version
	if rec, changed, err = f.RecordEvent(t.Context(), ev(EventAuthorized, 0), info); err != nil || changed || rec.Version != v {
		t.Fatalf("replay: %+v %v %v", rec, changed, err)
	}
	// An updateauthorized that took set 18 away changes the record.
	if rec, changed, err = f.RecordEvent(t.Context(), ev(EventUpdateAuthorized, time.Minute), &Info{Principal: "Acme", PermissionSets: []int{1}}); err != nil || !changed || rec.HasPermission(18) {
		t.Fatalf("update: %+v %v %v", rec, changed, err)
	}
	// A late unauthorized, older than the newest event, never undoes it.
	if _, err := f.CheckOrder(t.Context(), ev(EventUnauthorized, 30*time.Second)); !errors.Is(err, ErrStale) {
		t.Fatalf("CheckOrder: %v", err)
	}
	if _, _, err := f.RecordEvent(t.Context(), ev(EventUnauthorized, 30*time.Second), nil); !errors.Is(err, ErrStale) {
		t.Fatalf("RecordEvent: %v", err)
	}
	if rec, _ = f.Ledger.Authorizer(t.Context(), id); !rec.Authorized || rec.LastEvent != EventUpdateAuthorized {
		t.Fatalf("after a stale unauthorized: %+v", rec)
	}
	// A newer unauthorized is recorded.
	if rec, changed, err = f.RecordEvent(t.Context(), ev(EventUnauthorized, 2*time.Minute), nil); err != nil || !changed || rec.Authorized ||
		!rec.UnauthorizedAt.Equal(t0.Add(2*time.Minute)) || rec.Principal != "Acme" {
		t.Fatalf("unauthorized: %+v %v %v", rec, changed, err)
	}
}

func TestRememberAndRecallAPair(t *testing.T) {
	f := newFleet(t, nil)
	ctx := t.Context()
	if _, _, err := f.RecordEvent(ctx, Event{AppID: appid(1), InfoType: EventAuthorized, CreateTime: t0}, &Info{Principal: "Acme", PermissionSets: []int{18}}); err != nil {
		t.Fatal(err)
	}
	err := f.Remember(ctx, []share.Outcome{
		{Env: "cust-a", AppID: appid(1), Status: share.StatusPendingConfirmation, ConfirmURL: "https://open.weixin.qq.com/x"},
		{Env: "cust-b", AppID: appid(1), Status: share.StatusFailed, Error: &share.EntryError{Code: share.CodeDifferentEntity, Message: "main body not same"}},
		{Env: "cust-c", AppID: appid(1), Status: share.StatusFailed, Error: &share.EntryError{Code: share.CodeUpstreamUnavailable, Message: "busy"}},
		{Env: "cust-d", AppID: appid(2), Status: share.StatusShared},
	})
	if err != nil {
		t.Fatal(err)
	}
	auths, pairs, err := f.Recall(ctx, []string{appid(1), appid(3)}, []share.PairKey{
		{Env: "cust-a", AppID: appid(1)}, {Env: "cust-b", AppID: appid(1)}, {Env: "cust-c", AppID: appid(1)}, {Env: "cust-d", AppID: appid(2)}})
	if err != nil {
		t.Fatal(err)
	}
	if !auths[0].Known || auths[0].Principal != "Acme" || !auths[0].CanShare() || auths[1].Known {
		t.Fatalf("authorizers %+v", auths)
	}
	if p := pairs[0]; p.State != share.StatusPendingConfirmation || p.ConfirmURL == "" || !p.LinkIssuedAt.Equal(t0) || p.Principal != "Acme" {
		t.Errorf("pending %+v", p)
	}
	if p := pairs[1]; p.State != share.StatusFailed || p.Error.Code != share.CodeDifferentEntity || p.Principal != "Acme" {
		t.Errorf("failed %+v", p)
	}
	if p := pairs[2]; p.State != "" {
		t.Errorf("a transient failure was remembered: %+v", p)
	}
	if p := pairs[3]; p.State != share.StatusShared || !p.ConfirmedAt.Equal(t0) {
		t.Errorf("shared %+v", p)
	}
}

func TestTheFleetView(t *testing.T) {
	f := newFleet(t, nil)
	ctx := t.Context()
	record := func(n int, principal string, sets ...int) {
		if _, _, err := f.RecordEvent(ctx, Event{AppID: appid(n), InfoType: EventAuthorized, CreateTime: t0}, &Info{Principal: principal, PermissionSets: sets}); err != nil {
			t.Fatal(err)
		}
	}
	record(1, "Acme", 18)
	record(2, "Acme", 18)
	record(3, "Globex", 18)
	record(4, "Initech", 18) // unknown customer
	record(5, "Acme", 1)     // permission missing
	record(6, "Acme", 18)
	if _, _, err := f.RecordEvent(ctx, Event{AppID: appid(6), InfoType: EventUnauthorized, CreateTime: t0.Add(time.Minute)}, nil); err != nil {
		t.Fatal(err)
	}
	for i, o := range []share.Outcome{
		{Env: "cust-a", AppID: appid(1), Status: share.StatusShared},
		{Env: "cust-a", AppID: appid(2), Status: share.StatusPendingConfirmation, ConfirmURL: "https://open.weixin.qq.com/2"},
		{Env: "cust-g", AppID: appid(3), Status: share.StatusPendingConfirmation, ConfirmURL: "https://open.weixin.qq.com/3"},
		{Env: "cust-g", AppID: appid(1), Status: share.StatusFailed, Error: &share.EntryError{Code: share.CodeDifferentEntity, Message: "main body not same"}},
	} {
		f.Clock = func() time.Time { return t0.Add(time.Duration(-i) * time.Hour) } // the later, the older
		if err := f.Remember(ctx, []share.Outcome{o}); err != nil {
			t.Fatal(err)
		}
	}
	v, err := f.View(ctx, []share.Customer{{Principal: "Acme", Envs: []string{"cust-a"}}, {Principal: "Globex", Envs: []string{"cust-g"}}})
	if err != nil {
		t.Fatal(err)
	}
	want := []CustomerView{
		{Principal: "Acme", Envs: []string{"cust-a"}, Authorizers: 3, Shared: 1, AwaitingConfirmation: 1},
		{Principal: "Globex", Envs: []string{"cust-g"}, Authorizers: 1, AwaitingConfirmation: 1, Failed: 1},
	}
	if fmt.Sprint(v.Customers) != fmt.Sprint(want) {
		t.Errorf("customers %+v\nwant %+v", v.Customers, want)
	}
	if v.Authorizers != (AuthorizerCounts{Known: 6, Authorized: 5, PermissionMissing: 1, UnknownCustomer: 1}) {
		t.Errorf("authorizers %+v", v.Authorizers)
	}
	if len(v.OldestPending) != 2 || v.OldestPending[0].AppID != appid(3) || v.OldestPending[0].Principal != "Globex" ||
		!v.OldestPending[0].LinkIssuedAt.Equal(t0.Add(-2*time.Hour)) {
		t.Errorf("oldest pending %+v", v.OldestPending)
	}
}

func TestKeepOldestKeepsFifty(t *testing.T) {
	var list []PendingPair
	for i := range 200 {
		list = keepOldest(list, PendingPair{Env: "e", AppID: appid(i), LinkIssuedAt: t0.Add(time.Duration((i*37)%200) * time.Minute)})
	}
	if len(list) != OldestPending || !list[0].LinkIssuedAt.Equal(t0) || !list[49].LinkIssuedAt.Equal(t0.Add(49*time.Minute)) {
		t.Fatalf("%d kept, first %v, last %v", len(list), list[0].LinkIssuedAt, list[len(list)-1].LinkIssuedAt)
	}
}
