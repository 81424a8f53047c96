package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/envshare/envshare/pkg/client"
	"github.com/envshare/envshare/pkg/signature"
)

// signed returns the headers the deployment's notifier sends with body at ts.
func signed(secret string, ts time.Time, body string) http.Header {
	h := http.Header{}
	h.Set(signature.TimestampHeader, strconv.FormatInt(ts.Unix(), 10))
	h.Set(signature.SignatureHeader, signature.Sign(secret, ts.Unix(), []byte(body)))
	return h
}

func TestVerifyNotification(t *testing.T) {
	const body = `{"action":"share","links":[]}`
	tests := []struct {
		name   string
		header http.Header
		body   string
		ok     bool
	}{
		{"signed now", signed(testSecret, now, body), body, true},
		{"signed 5 minutes ago", signed(testSecret, now.Add(-300*time.Second), body), body, true},
		{"signed too long ago", signed(testSecret, now.Add(-301*time.Second), body), body, false},
		{"signed in the future", signed(testSecret, now.Add(301*time.Second), body), body, false},
		{"another secret", signed("another-secret-0123456", now, body), body, false},
		{"another body", signed(testSecret, now, body), body + " ", false},
		{"no headers", http.Header{}, body, false},
		{"a header twice", func() http.Header {
			h := signed(testSecret, now, body)
			h.Add(signature.SignatureHeader, h.Get(signature.SignatureHeader))
			return h
		}(), body, false},
	}
	for _, tc := range tests {
		err := client.VerifyNotification(testSecret, tc.header, []byte(tc.body), now)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, signature.ErrInvalid)) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestDecodeNotification(t *testing.T) {
	links, err := client.DecodeNotification([]byte(`{"action":"reconcile","links":[{"env":"e1","appid":"wx075cf85bf347b6df","confirm_url":"https://u","confirm_page":"https://p"}]}`))
	if err != nil || links.Action != "reconcile" || len(links.Links) != 1 || links.Links[0].ConfirmPage != "https://p" || links.Authorization != nil {
		t.Errorf("links: %+v %v", links, err)
	}
	// Without a ledger: the event as an object, with the onboarding.
	nested, err := client.DecodeNotification([]byte(`{"action":"authorization","event":{"info_type":"authorized","authorizer_appid":"wx3c5e7a9b1d2f4680",` +
		`"create_time":"2026-12-07T10:00:00Z"},"onboard":{"envs":["prod-6gni9ity244a6ea3"],"status":"done","summary":{"requested":1,"pending_confirmation":1}}}`))
	if a := nested.Authorization; err != nil || a == nil || a.Event != "authorized" || a.AppID != "wx3c5e7a9b1d2f4680" || !a.CreateTime.Equal(now) ||
		a.Onboard == nil || a.Onboard.Status != "done" || a.Onboard.Summary["pending_confirmation"] != 1 {
		t.Errorf("nested: %+v %v", nested, err)
	}
	// With a ledger: contract section 8's flat form.
	flat, err := client.DecodeNotification([]byte(`{"action":"authorization","event":"authorized","appid":"wx3c5e7a9b1d2f4680","principal":"深圳市示例科技有限公司","outcome":"unknown_customer"}`))
	if a := flat.Authorization; err != nil || a == nil || a.Event != "authorized" || a.Principal != "深圳市示例科技有限公司" || a.Outcome != "unknown_customer" {
		t.Errorf("flat: %+v %v", flat, err)
	}
	for _, bad := range []string{``, `[]`, `{}`, `{"action":"authorization","event":1}`} {
		if _, err := client.DecodeNotification([]byte(bad)); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
}

func TestNotificationHandler(t *testing.T) {
	var got []*client.Notification
	fail := false
	h := &client.NotificationHandler{Secret: testSecret, Now: func() time.Time { return now },
		Receive: func(_ context.Context, n *client.Notification) error {
			if fail {
				return errors.New("database down")
			}
			got = append(got, n)
			return nil
		}}
	post := func(header http.Header, body, method string) int {
		r := httptest.NewRequest(method, "/envshare", strings.NewReader(body))
		for k, v := range header {
			r.Header[k] = v
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	const body = `{"action":"share","links":[{"env":"e1","appid":"wx075cf85bf347b6df","confirm_url":"https://u"}]}`
	for _, tc := range []struct {
		name   string
		header http.Header
		body   string
		method string
		fail   bool
		status int
	}{
		{"a signed notification", signed(testSecret, now, body), body, http.MethodPost, false, http.StatusNoContent},
		{"a bad signature", signed("another-secret-0123456", now, body), body, http.MethodPost, false, http.StatusUnauthorized},
		{"signed, but no notification", signed(testSecret, now, `{"x":1}`), `{"x":1}`, http.MethodPost, false, http.StatusBadRequest},
		{"GET", signed(testSecret, now, body), body, http.MethodGet, false, http.StatusMethodNotAllowed},
		{"the receiver fails", signed(testSecret, now, body), body, http.MethodPost, true, http.StatusInternalServerError},
	} {
		fail = tc.fail
		if status := post(tc.header, tc.body, tc.method); status != tc.status {
			t.Errorf("%s: HTTP %d, want %d", tc.name, status, tc.status)
		}
	}
	if len(got) != 1 || got[0].Links[0].AppID != "wx075cf85bf347b6df" {
		t.Errorf("received %+v", got)
	}
}
