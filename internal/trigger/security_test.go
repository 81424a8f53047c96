package trigger

import (
	"context"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/page"
)

// Regression tests of issue 23 (security and strictness, round 3) that live in the trigger.

// ENVSHARE_TICKET_WRITE_INTERVAL=0s is documented as valid: every newer ticket that differs is
// stored, not one an hour.
func TestATicketWriteIntervalOfZeroStoresEveryNewerTicket(t *testing.T) {
	l := newLoop(t, map[string]string{"ENVSHARE_TICKET_WRITE_INTERVAL": "0s"}, false)
	ctx := context.Background()
	inst, se := l.app.instance(ctx)
	if se != nil {
		t.Fatal(se)
	}
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	for i, ticket := range []string{"ticket@@@zero-interval-first", "ticket@@@zero-interval-second"} {
		stored, err := inst.Refresher.StoreTicket(ctx, ticket, at.Add(time.Duration(i)*10*time.Second))
		if err != nil || !stored {
			t.Fatalf("ticket %d pushed 10 s after the stored one: stored %v, %v; want stored", i+1, stored, err)
		}
	}
	if got := l.record(t)["component_verify_ticket"]; got != "ticket@@@zero-interval-second" {
		t.Errorf("the record holds %v, want the second ticket", got)
	}
}

// pageApp is an App wired as deployed (mode env) with env on top, at now.
func pageApp(t *testing.T, now time.Time, env map[string]string) *App {
	t.Helper()
	isolateEnv(t)
	for k, v := range map[string]string{"ENVSHARE_COMPONENT_ACCESS_TOKEN": "tok-never-printed", "ENVSHARE_HTTP_AUTH": "bearer"} {
		t.Setenv(k, v)
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	return New(Options{Platform: PlatformAWS, Logger: discardLogger(), MetricsOut: discard{}, Now: func() time.Time { return now }})
}

// Pages signed with the key derived from ENVSHARE_HTTP_SECRET survive a rotation of that
// secret (ENVSHARE_HTTP_SECRET_PREVIOUS) and the move to ENVSHARE_PAGE_SECRET (issue 23 #8).
func TestPagesSurviveAChangeOfTheirDerivedKey(t *testing.T) {
	const (
		oldHTTP = "old-http-secret-0123456789"
		newHTTP = "new-http-secret-0123456789"
		pageKey = "page-secret-0123456789abcdef"
	)
	now := time.Unix(1_700_000_000, 0)
	link := page.Link{Env: "prod-6gni9ity244a6ea3", AppID: "wx0123456789abcdef",
		ConfirmURL: "https://mp.weixin.qq.com/wxopen/confirm?id=1", Made: now.Add(-6 * 24 * time.Hour)}
	tok, err := page.Keys{Current: page.DeriveKey([]byte(oldHTTP))}.Token(link, 7*24*time.Hour) // sent last week
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		env    map[string]string
		status int
	}{
		{"the HTTP secret rotated, the old one kept as previous", map[string]string{"ENVSHARE_HTTP_SECRET": newHTTP,
			"ENVSHARE_HTTP_SECRET_PREVIOUS": oldHTTP}, 200},
		{"a page secret set beside the HTTP secret the pages were derived from", map[string]string{"ENVSHARE_HTTP_SECRET": oldHTTP,
			"ENVSHARE_PAGE_SECRET": pageKey}, 200},
		{"a page secret set and the HTTP secret rotated, the old one kept as previous", map[string]string{"ENVSHARE_HTTP_SECRET": newHTTP,
			"ENVSHARE_HTTP_SECRET_PREVIOUS": oldHTTP, "ENVSHARE_PAGE_SECRET": pageKey}, 200},
		{"the HTTP secret rotated without the old one", map[string]string{"ENVSHARE_HTTP_SECRET": newHTTP}, 404},
		{"a previous page secret given: the derived key is no longer accepted", map[string]string{"ENVSHARE_HTTP_SECRET": oldHTTP,
			"ENVSHARE_PAGE_SECRET": pageKey, "ENVSHARE_PAGE_SECRET_PREVIOUS": "older-page-secret-0123456789"}, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := pageApp(t, now, tc.env)
			resp := app.HTTP(context.Background(), HTTPRequest{Method: "GET", Path: "/prod/confirm/" + tok})
			if resp.Status != tc.status {
				t.Errorf("GET /confirm/<last week's token> = %d, want %d", resp.Status, tc.status)
			}
		})
	}
}
