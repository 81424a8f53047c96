package share

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envshare/envshare/pkg/signature"
	"github.com/envshare/envshare/pkg/wechat"
)

const notifySecret = "notify-secret-value"

// receiver is an httptest server on 127.0.0.1 that checks each notification's signature.
type receiver struct {
	mu     sync.Mutex
	bodies []NotificationBody
	errors []string
}

func (rc *receiver) serve(status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		err := signature.Verify(notifySecret, r.Header.Get(signature.TimestampHeader), r.Header.Get(signature.SignatureHeader), raw, time.Now())
		switch {
		case err != nil:
			rc.errors = append(rc.errors, "signature: "+err.Error())
		case r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json":
			rc.errors = append(rc.errors, "method or content type")
		}
		var body NotificationBody
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			rc.errors = append(rc.errors, "body: "+err.Error())
		}
		rc.bodies = append(rc.bodies, body)
		w.WriteHeader(status)
	}
}

func TestShareNotifiesConfirmationLinks(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc.serve(http.StatusNoContent))
	defer srv.Close()
	f := newFake()
	f.confirm = func(env, a string) bool { return a != a0 }
	s := newService(t, f, Options{Notifier: NewHTTPNotifier(srv.URL+"/hook", notifySecret, srv.Client(), nil)})
	res, err := s.Do(t.Context(), Request{Action: "share", Env: "e1", AppIDs: []string{a0, a1, a2}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Notification == nil || *res.Notification != (Notification{Sent: true, Links: 2}) {
		t.Fatalf("notification %+v", res.Notification)
	}
	if len(rc.errors) > 0 || len(rc.bodies) != 1 {
		t.Fatalf("receiver: %v, %d bodies", rc.errors, len(rc.bodies))
	}
	want := NotificationBody{Action: "share", Links: []Link{
		{Env: "e1", AppID: a1, ConfirmURL: "https://confirm.example/e1/" + a1},
		{Env: "e1", AppID: a2, ConfirmURL: "https://confirm.example/e1/" + a2},
	}}
	if got := rc.bodies[0]; got.Action != want.Action || len(got.Links) != 2 || got.Links[0] != want.Links[0] || got.Links[1] != want.Links[1] {
		t.Fatalf("body %+v", got)
	}
}

func TestReconcileNotifiesConfirmationLinks(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc.serve(http.StatusOK))
	defer srv.Close()
	f := newFake()
	f.confirm = func(string, string) bool { return true }
	s := newService(t, f, Options{Notifier: NewHTTPNotifier(srv.URL, notifySecret, nil, nil)})
	res, err := s.Do(t.Context(), manifestReq(wechat.EnvAppIDs{Env: "e1", AppIDs: []string{a0}}))
	if err != nil || res.Notification == nil || !res.Notification.Sent || len(rc.errors) > 0 {
		t.Fatalf("result %+v, %v, receiver %v", res, err, rc.errors)
	}
	if rc.bodies[0].Action != "reconcile" || rc.bodies[0].Links[0].AppID != a0 {
		t.Fatalf("body %+v", rc.bodies[0])
	}
}

func TestNoNotificationWithoutLinks(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc.serve(http.StatusOK))
	defer srv.Close()
	s := newService(t, newFake(), Options{Notifier: NewHTTPNotifier(srv.URL, notifySecret, nil, nil)})
	for _, req := range []Request{
		{Action: "share", Env: "e1", AppIDs: []string{a0}},
		{Action: "unshare", Env: "e1", AppIDs: []string{a0}},
	} {
		res, err := s.Do(t.Context(), req)
		if err != nil || res.Notification != nil {
			t.Fatalf("result %+v, %v", res, err)
		}
	}
	if len(rc.bodies) != 0 {
		t.Fatal("nothing should be posted without links")
	}
}

func TestFailedNotificationIsReportedNotFatal(t *testing.T) {
	f := newFake()
	f.confirm = func(string, string) bool { return true }
	t.Run("a receiver answering 500", func(t *testing.T) {
		rc := &receiver{}
		srv := httptest.NewServer(rc.serve(http.StatusInternalServerError))
		defer srv.Close()
		var logs bytes.Buffer
		s := newService(t, f, Options{Logger: testLogger(&logs),
			Notifier: NewHTTPNotifier(srv.URL+"/hook?key=webhook-key", notifySecret, nil, nil)})
		res, err := s.Do(t.Context(), Request{Action: "share", Env: "e1", AppIDs: []string{a0}})
		if err != nil {
			t.Fatal(err)
		}
		want := Notification{Sent: false, Links: 1, Error: "notify: receiver answered HTTP 500"}
		if res.Notification == nil || *res.Notification != want || !res.OK {
			t.Fatalf("notification %+v", res.Notification)
		}
		if !strings.Contains(logs.String(), "notification failed") {
			t.Fatalf("logs %s", logs.String())
		}
		assertNoSecret(t, logs.String(), res)
	})
	t.Run("an unreachable receiver", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL + "/hook?key=webhook-key"
		srv.Close()
		var logs bytes.Buffer
		s := newService(t, f, Options{Logger: testLogger(&logs), Notifier: NewHTTPNotifier(url, notifySecret, nil, nil)})
		res, err := s.Do(t.Context(), Request{Action: "share", Env: "e1", AppIDs: []string{a0}})
		if err != nil {
			t.Fatal(err)
		}
		if n := res.Notification; n == nil || n.Sent || !strings.HasPrefix(n.Error, "notify: POST failed: ") {
			t.Fatalf("notification %+v", n)
		}
		assertNoSecret(t, logs.String(), res)
	})
}

// assertNoSecret checks that neither the signing secret nor the webhook URL's key appear.
func assertNoSecret(t *testing.T, logs string, res *Result) {
	t.Helper()
	b, _ := json.Marshal(res)
	for _, s := range []string{logs, string(b)} {
		if strings.Contains(s, notifySecret) || strings.Contains(s, "webhook-key") {
			t.Fatalf("a secret leaked: %s", s)
		}
	}
}

// batchRecorder is a Notifier that keeps every batch it is given.
type batchRecorder struct{ batches [][]Outcome }

func (b *batchRecorder) Notify(_ context.Context, _ string, pending []Outcome) error {
	b.batches = append(b.batches, pending)
	return nil
}

func TestNotifyDeliversBatchesInOrderEachWithItsPages(t *testing.T) {
	// 1,201 pending links among shared entries; the first already has its page.
	var out []Outcome
	for i := range 1201 {
		out = append(out, Outcome{Env: "e1", AppID: appid(2 * i), Status: StatusShared},
			Outcome{Env: "e1", AppID: appid(2*i + 1), Status: StatusPendingConfirmation, ConfirmURL: "https://confirm.example/" + appid(2*i+1)})
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
