package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/envshare/envshare/internal/browsertest"
	"github.com/envshare/envshare/pkg/share"
)

// The confirmation page through the whole function: a share that needs confirmation, made
// over HTTP against the emulator, answers a confirm_page; the page, served by the real
// handler over the local adapter, shows a QR code that a scanner reads back as exactly the
// confirm_url, at desktop and phone width, and makes no request besides itself.
func TestTheConfirmationPageOfAShareThroughTheFunction(t *testing.T) {
	b := browsertest.New(t) // skipped without Chromium (`make test` installs it); failed under CI=true
	d, _ := startDeployment(t, nil)
	status, body, err := d.call(context.Background(), http.MethodPost, "/share",
		`{"env":"prod-6gni9ity244a6ea3","appids":["wx1a2b3c4d5e6f7081"]}`)
	if err != nil || status != http.StatusOK {
		t.Fatalf("share: %d %s %v", status, body, err)
	}
	var answer struct{ Results []share.Outcome }
	if err := json.Unmarshal(body, &answer); err != nil || len(answer.Results) != 1 {
		t.Fatalf("share answered %s (%v)", body, err)
	}
	pending := answer.Results[0]
	if pending.Status != share.StatusPendingConfirmation || pending.ConfirmURL == "" ||
		!strings.HasPrefix(pending.ConfirmPage, d.URL+"/confirm/") {
		t.Fatalf("share answered %s, want a pending link with its page on %s", body, d.URL)
	}

	for _, vp := range []browsertest.Viewport{browsertest.Desktop, browsertest.Phone} {
		t.Run(vp.Name, func(t *testing.T) {
			got, err := b.Open(pending.ConfirmPage, vp)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != http.StatusOK {
				t.Errorf("status %d", got.Status)
			}
			if len(got.Requests) == 0 || got.Requests[0] != pending.ConfirmPage {
				t.Errorf("requests %q, want the page first", got.Requests)
			}
			for _, r := range got.Requests[1:] {
				if !strings.HasPrefix(r, "data:") { // the inline QR image
					t.Errorf("the page made a request besides itself: %s", r)
				}
			}
			for _, m := range got.Messages {
				t.Errorf("browser message (a CSP violation?): %s", m)
			}
			qr, err := browsertest.DecodeQR(got.PNG)
			if err != nil {
				t.Fatalf("no QR code in the %s screenshot: %v", vp.Name, err)
			}
			if qr != pending.ConfirmURL {
				t.Errorf("the QR code reads %q, want the confirm_url %q", qr, pending.ConfirmURL)
			}
		})
	}
}
