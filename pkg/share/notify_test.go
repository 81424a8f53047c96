package share

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/envshare/envshare/pkg/redact"
	"github.com/envshare/envshare/pkg/wechat"
)

// batchRecorder is a Notifier that keeps every batch it is given, or fails with err.
type batchRecorder struct {
	mu      sync.Mutex
	actions []string
	batches [][]Outcome
	err     error
}

func (b *batchRecorder) Notify(_ context.Context, action string, pending []Outcome) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return b.err
	}
	b.actions = append(b.actions, action)
	b.batches = append(b.batches, pending)
	return nil
}

func TestShareNotifiesConfirmationLinks(t *testing.T) {
	f := newFake()
	f.confirm = func(env, a string) bool { return a != a0 }
	rec := &batchRecorder{}
	s := newService(t, f, Options{Notifier: rec})
	res, err := s.Do(t.Context(), Request{Action: "share", Env: "e1", AppIDs: []string{a0, a1, a2}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Notification == nil || *res.Notification != (Notification{Sent: true, Links: 2}) {
		t.Fatalf("notification %+v", res.Notification)
	}
	want := []Outcome{
		{Env: "e1", AppID: a1, Status: StatusPendingConfirmation, ConfirmURL: "https://mp.weixin.qq.com/confirm/e1/" + a1},
		{Env: "e1", AppID: a2, Status: StatusPendingConfirmation, ConfirmURL: "https://mp.weixin.qq.com/confirm/e1/" + a2},
	}
	if !reflect.DeepEqual(rec.actions, []string{"share"}) || !reflect.DeepEqual(rec.batches, [][]Outcome{want}) {
		t.Fatalf("notified %v %+v", rec.actions, rec.batches)
	}
}

func TestReconcileNotifiesConfirmationLinks(t *testing.T) {
	f := newFake()
	f.confirm = func(string, string) bool { return true }
	rec := &batchRecorder{}
	s := newService(t, f, Options{Notifier: rec})
	res, err := s.Do(t.Context(), manifestReq(wechat.EnvAppIDs{Env: "e1", AppIDs: []string{a0}}))
	if err != nil || res.Notification == nil || !res.Notification.Sent {
		t.Fatalf("result %+v, %v", res, err)
	}
	if rec.actions[0] != "reconcile" || rec.batches[0][0].AppID != a0 {
		t.Fatalf("notified %v %+v", rec.actions, rec.batches)
	}
}

func TestNoNotificationWithoutLinks(t *testing.T) {
	rec := &batchRecorder{}
	s := newService(t, newFake(), Options{Notifier: rec})
	for _, req := range []Request{
		{Action: "share", Env: "e1", AppIDs: []string{a0}},
		{Action: "unshare", Env: "e1", AppIDs: []string{a0}},
	} {
		res, err := s.Do(t.Context(), req)
		if err != nil || res.Notification != nil {
			t.Fatalf("result %+v, %v", res, err)
		}
	}
	if len(rec.batches) != 0 {
		t.Fatal("nothing should be notified without links")
	}
}

func TestFailedNotificationIsReportedNotFatal(t *testing.T) {
	f := newFake()
	f.confirm = func(string, string) bool { return true }
	var logs bytes.Buffer
	s := newService(t, f, Options{Logger: testLogger(&logs), Redact: redact.New("webhook-key-123").String,
		Notifier: &batchRecorder{err: errors.New("notify: receiver at /hook?key=webhook-key-123 answered HTTP 500")}})
	res, err := s.Do(t.Context(), Request{Action: "share", Env: "e1", AppIDs: []string{a0}})
	if err != nil {
		t.Fatal(err)
	}
	want := Notification{Sent: false, Links: 1, Error: "notify: receiver at /hook?key=[redacted] answered HTTP 500"}
	if res.Notification == nil || *res.Notification != want || !res.OK {
		t.Fatalf("notification %+v", res.Notification)
	}
	if !strings.Contains(logs.String(), "notification failed") || strings.Contains(logs.String(), "webhook-key-123") {
		t.Fatalf("logs %s", logs.String())
	}
}

func TestNotifyDeliversBatchesInOrderEachWithItsPages(t *testing.T) {
	// 1,201 pending links among shared entries; the first already has its page.
	var out []Outcome
	for i := range 1201 {
		out = append(out, Outcome{Env: "e1", AppID: appid(2 * i), Status: StatusShared},
			Outcome{Env: "e1", AppID: appid(2*i + 1), Status: StatusPendingConfirmation, ConfirmURL: "https://mp.weixin.qq.com/confirm/" + appid(2*i+1)})
	}
	out[1].ConfirmPage = "https://pages.example/kept"
	rec := &batchRecorder{}
	s := New(newFake(), Options{Notifier: rec, Logger: testLogger(nil),
		ConfirmPage: func(o Outcome) string { return "https://pages.example/" + o.AppID }})
	n := s.notify(t.Context(), "reconcile", out)
	if n == nil || *n != (Notification{Sent: true, Links: 1201}) {
		t.Fatalf("notification %+v", n)
	}
	var sizes []int
	var got []Outcome
	for _, b := range rec.batches {
		sizes = append(sizes, len(b))
		got = append(got, b...)
	}
	if !reflect.DeepEqual(sizes, []int{500, 500, 201}) {
		t.Fatalf("batch sizes %v, want 500, 500, 201", sizes)
	}
	for i, o := range got {
		want := out[2*i+1]
		if want.ConfirmPage == "" {
			want.ConfirmPage = "https://pages.example/" + want.AppID
		}
		if o != want {
			t.Fatalf("link %d: %+v, want %+v", i, o, want)
		}
	}
	if out[3].ConfirmPage != "" {
		t.Fatal("the pages belong to the notification's copies, not to the results")
	}
}
