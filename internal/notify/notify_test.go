package notify

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/signature"
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

func TestNotifyPostsTheLinksSigned(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc.serve(http.StatusNoContent))
	defer srv.Close()
	n := NewHTTPNotifier(srv.URL+"/hook", notifySecret, srv.Client(), nil)
	pending := []share.Outcome{
		{Env: "e1", AppID: "wx0000000000000001", Status: share.StatusPendingConfirmation, ConfirmURL: "https://confirm.example/1"},
		{Env: "e1", AppID: "wx0000000000000002", Status: share.StatusPendingConfirmation, ConfirmURL: "https://confirm.example/2",
			ConfirmPage: "https://pages.example/2"},
	}
	if err := n.Notify(t.Context(), "share", pending); err != nil {
		t.Fatal(err)
	}
	want := NotificationBody{Action: "share", Links: []Link{
		{Env: "e1", AppID: "wx0000000000000001", ConfirmURL: "https://confirm.example/1"},
		{Env: "e1", AppID: "wx0000000000000002", ConfirmURL: "https://confirm.example/2", ConfirmPage: "https://pages.example/2"},
	}}
	if len(rc.errors) > 0 || len(rc.bodies) != 1 || !reflect.DeepEqual(rc.bodies[0], want) {
		t.Fatalf("receiver: %v, bodies %+v", rc.errors, rc.bodies)
	}
}

func TestFailuresNameNeitherTheURLNorTheSecret(t *testing.T) {
	t.Run("a receiver answering 500", func(t *testing.T) {
		srv := httptest.NewServer((&receiver{}).serve(http.StatusInternalServerError))
		defer srv.Close()
		err := NewHTTPNotifier(srv.URL+"/hook?key=webhook-key", notifySecret, nil, nil).Send(t.Context(), map[string]string{"a": "b"})
		if err == nil || err.Error() != "notify: receiver answered HTTP 500" {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("an unreachable receiver", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL + "/hook?key=webhook-key"
		srv.Close()
		err := NewHTTPNotifier(url, notifySecret, nil, nil).Send(t.Context(), map[string]string{"a": "b"})
		if err == nil || !strings.HasPrefix(err.Error(), "notify: POST failed: ") ||
			strings.Contains(err.Error(), "webhook-key") || strings.Contains(err.Error(), notifySecret) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("a URL that does not parse", func(t *testing.T) {
		err := NewHTTPNotifier("http://[::1/hook?key=webhook-key", notifySecret, nil, nil).Send(t.Context(), nil)
		if err == nil || strings.Contains(err.Error(), "webhook-key") {
			t.Fatalf("err %v", err)
		}
	})
}
