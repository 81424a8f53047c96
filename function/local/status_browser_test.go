package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/envshare/envshare/internal/browsertest"
)

var updateStatusScreenshot = flag.Bool("update-screenshot", false,
	"write the phone screenshot of the status page to docs/status-page.png (make screenshots)")

// What the browser test reads back from the status page's DOM, in this order.
var statusReads = []string{
	`[...document.querySelectorAll('.customer')].map(c => [c.querySelector('.principal').textContent,
		c.querySelector('.count-shared').textContent, c.querySelector('.count-awaiting').textContent,
		c.querySelector('.count-failed').textContent])`,
	`document.getElementById('ticket-age').textContent`,
	`Object.fromEntries([...document.querySelectorAll('.quota')].map(r => [r.id, r.querySelector('.remain').textContent]))`,
	`[document.documentElement.scrollWidth, document.documentElement.clientWidth]`,
	`document.querySelectorAll('#pending a[href*="/confirm/"]').length`,
}

// The status page through the whole function: a local deployment with its SQLite ledger, some
// shares and a reconcile by customer, then a status link made over HTTP, opened in Chromium at
// desktop and phone width. The values read from the page's DOM are those of the fleet view, the
// state record and the emulator's quotas; nothing sticks out sideways on the phone, and the page
// makes no request besides itself.
func TestTheStatusPageThroughTheFunction(t *testing.T) {
	b := browsertest.New(t) // skipped without Chromium (`make test` installs it); failed under CI=true
	d, _ := startDeployment(t, nil)
	ctx := context.Background()
	for _, step := range []struct{ method, target, body string }{
		{http.MethodPost, "/share", `{"env":"prod-6gni9ity244a6ea3","appids":["wx075cf85bf347b6df","wx1a2b3c4d5e6f7081","wx0f1e2d3c4b5a6978","wx7e57d0c0ffee1234"]}`},
		{http.MethodPost, "/reconcile", `{"backfill":true}`},
	} {
		if status, body, err := d.call(ctx, step.method, step.target, step.body); err != nil || status != http.StatusOK {
			t.Fatalf("%s %s: %d %s %v", step.method, step.target, status, body, err)
		}
	}
	var fleet struct {
		Customers []struct {
			Principal            string
			Shared, Failed       int
			AwaitingConfirmation int `json:"awaiting_confirmation"`
		}
		OldestPending []json.RawMessage `json:"oldest_pending"`
	}
	if status, body, err := d.call(ctx, http.MethodGet, "/fleet", ""); err != nil || status != http.StatusOK || json.Unmarshal(body, &fleet) != nil {
		t.Fatalf("fleet: %d %s %v", status, body, err)
	}
	var want [][]string
	for _, c := range fleet.Customers {
		want = append(want, []string{c.Principal, strconv.Itoa(c.Shared), strconv.Itoa(c.AwaitingConfirmation), strconv.Itoa(c.Failed)})
	}
	if len(want) < 2 || len(fleet.OldestPending) == 0 {
		t.Fatalf("the demo fleet has %d customers and %d pending pairs, want a few of each", len(want), len(fleet.OldestPending))
	}
	status, body, err := d.call(ctx, http.MethodPost, "/status_link", `{"ttl":"1h"}`)
	var link struct {
		StatusPage string `json:"status_page"`
	}
	if err != nil || status != http.StatusOK || json.Unmarshal(body, &link) != nil || !strings.HasPrefix(link.StatusPage, d.URL+"/status/") {
		t.Fatalf("status_link: %d %s %v", status, body, err)
	}

	for _, vp := range []browsertest.Viewport{browsertest.Desktop, browsertest.Phone} {
		t.Run(vp.Name, func(t *testing.T) {
			got, err := b.Open(link.StatusPage, vp, statusReads...)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != http.StatusOK || !strings.HasPrefix(got.Title, "envshare") {
				t.Errorf("status %d, title %q", got.Status, got.Title)
			}
			if len(got.Requests) != 1 || got.Requests[0] != link.StatusPage {
				t.Errorf("requests %q, want the page alone", got.Requests)
			}
			for _, m := range got.Messages {
				t.Errorf("browser message (a CSP violation?): %s", m)
			}
			var customers [][]string
			var ticketAge string
			var quotas map[string]string
			var width [2]int
			var links int
			for i, v := range []any{&customers, &ticketAge, &quotas, &width, &links} {
				if err := json.Unmarshal([]byte(got.Evaluated[i]), v); err != nil {
					t.Fatalf("%s: %s (%v)", statusReads[i], got.Evaluated[i], err)
				}
			}
			if fmt.Sprint(customers) != fmt.Sprint(want) {
				t.Errorf("customers on the page %q, the fleet view %q", customers, want)
			}
			if !strings.HasSuffix(ticketAge, " min ago") { // the deployment's ticket was pushed as it started
				t.Errorf("ticket age %q", ticketAge)
			}
			for _, q := range d.Emu.Quotas() {
				if shown, ok := quotas["quota-"+q.API]; ok && shown != strconv.Itoa(q.Remain) {
					t.Errorf("%s: the page shows %s remaining, the emulator %d", q.API, shown, q.Remain)
				}
			}
			if len(quotas) != 4 {
				t.Errorf("quotas on the page %v, want the four APIs", quotas)
			}
			if links != min(len(fleet.OldestPending), 20) {
				t.Errorf("%d confirmation page links, want one per pending pair (%d)", links, len(fleet.OldestPending))
			}
			if width[0] > width[1] {
				t.Errorf("the page is %d px wide in a %d px window: it scrolls sideways", width[0], width[1])
			}
			if cfg, err := png.DecodeConfig(bytes.NewReader(got.PNG)); err != nil || cfg.Width != int(float64(vp.Width)*vp.Scale) {
				t.Errorf("screenshot width = %d, %v; want %d", cfg.Width, err, int(float64(vp.Width)*vp.Scale))
			}
			if vp == browsertest.Phone && *updateStatusScreenshot {
				out := filepath.Join("..", "..", "docs", "status-page.png")
				if err := os.WriteFile(out, got.PNG, 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("wrote %s (%d bytes)", out, len(got.PNG))
			}
		})
	}
}
