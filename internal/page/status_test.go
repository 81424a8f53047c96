package page

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestStatusTokens(t *testing.T) {
	keys := KeysFrom(Secrets{HTTP: "http-secret-of-24-bytes!"})
	tok, err := keys.StatusToken(made, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) > 64 {
		t.Errorf("a status token is %d characters, want a short one", len(tok))
	}
	for _, tc := range []struct {
		name    string
		keys    Keys
		tok     string
		now     time.Time
		want    error
		expires time.Time
	}{
		{"fresh", keys, tok, made.Add(time.Hour), nil, made.Add(24 * time.Hour)},
		{"its last second", keys, tok, made.Add(24*time.Hour - time.Second), nil, made.Add(24 * time.Hour)},
		{"expired", keys, tok, made.Add(24 * time.Hour), ErrExpired, time.Time{}},
		{"another key", KeysFrom(Secrets{HTTP: "another-secret-of-24-byte"}), tok, made, ErrInvalid, time.Time{}},
		{"the HTTP secret rotated: the previous one still opens it",
			KeysFrom(Secrets{HTTP: "another-secret-of-24-byte", HTTPPrevious: "http-secret-of-24-bytes!"}), tok, made, nil, made.Add(24 * time.Hour)},
		{"tampered", keys, tok[:20] + string(tok[20]^1) + tok[21:], made, ErrInvalid, time.Time{}},
		{"empty", keys, "", made, ErrInvalid, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expires, err := tc.keys.OpenStatus(tc.tok, tc.now)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) || !expires.Equal(tc.expires) {
				t.Errorf("OpenStatus = %v, %v; want %v, %v", expires, err, tc.expires, tc.want)
			}
		})
	}

	t.Run("a confirmation page's token never opens the status page, nor the reverse", func(t *testing.T) {
		confirm, err := keys.Token(realistic, 168*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := keys.OpenStatus(confirm, made); !errors.Is(err, ErrInvalid) {
			t.Errorf("OpenStatus(a confirmation token) = %v, want ErrInvalid", err)
		}
		if _, _, err := keys.Open(tok, made); !errors.Is(err, ErrInvalid) {
			t.Errorf("Open(a status token) = %v, want ErrInvalid", err)
		}
	})

	t.Run("lifetimes out of bounds are refused", func(t *testing.T) {
		for _, ttl := range []time.Duration{0, time.Second, MinStatusTTL - time.Second, MaxStatusTTL + time.Second} {
			if _, err := keys.StatusToken(made, ttl); !errors.Is(err, ErrLink) {
				t.Errorf("StatusToken(ttl %s) = %v, want ErrLink", ttl, err)
			}
		}
		if _, err := (Keys{}).StatusToken(made, time.Hour); !errors.Is(err, ErrNoKey) {
			t.Errorf("StatusToken without a key = %v, want ErrNoKey", err)
		}
	})
}

// sampleStatus is a status of two customers, a pending pair, a ticket and a token.
func sampleStatus() Status {
	now := made.Add(48 * time.Hour)
	return Status{
		Now: now, Expires: now.Add(24 * time.Hour),
		Fleet: &FleetStatus{
			Customers: []CustomerStatus{
				{Principal: "Acme Cloud Co., Ltd.", Envs: []string{"prod-6gni9ity244a6ea3"}, Authorizers: 3, Shared: 7, Awaiting: 2, Failed: 1},
				{Principal: "深圳市示例科技有限公司", Envs: []string{"cust-a-7f3k2m", "cust-a-test"}, Authorizers: 1, Shared: 1},
			},
			Known: 6, Authorized: 5, PermissionMissing: 1, UnknownCustomer: 1,
			Pending: []PendingStatus{{Env: "prod-6gni9ity244a6ea3", AppID: "wx1a2b3c4d5e6f7081", Principal: "Acme Cloud Co., Ltd.",
				LinkIssuedAt: now.Add(-26 * time.Hour), Page: ConfirmPagePath("AbC-_1")}},
		},
		Token:  TokenStatus{TicketCreated: now.Add(-7 * time.Minute), ExpiresAt: now.Add(100 * time.Minute)},
		Quotas: []QuotaStatus{{API: "batchshareenv", DailyLimit: 1000, Used: 42, Remain: 958}, {API: "batchunshareenv", DailyLimit: 1000, Used: 995, Remain: 5}},
	}
}

// texts are the texts of the elements of class (or id) name, unescaped.
func texts(page, attr, name string) []string {
	re := regexp.MustCompile(`<[a-z0-9]+[^>]*\b` + attr + `="[^"]*\b` + regexp.QuoteMeta(name) + `\b[^"]*"[^>]*>([^<]*)<`)
	var out []string
	for _, m := range re.FindAllStringSubmatch(page, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

func TestStatusPageShowsTheValues(t *testing.T) {
	resp := StatusPage(sampleStatus())
	page := resp.Body
	if resp.Status != 200 || resp.Headers["Content-Security-Policy"] != statusPolicy() || resp.Headers["Cache-Control"] != "no-store" ||
		resp.Headers["Referrer-Policy"] != "no-referrer" {
		t.Fatalf("status %d, headers %v", resp.Status, resp.Headers)
	}
	for _, tc := range []struct {
		attr, name string
		want       []string
	}{
		{"class", "principal", []string{"Acme Cloud Co., Ltd.", "深圳市示例科技有限公司"}},
		{"class", "count-shared", []string{"7", "1"}},
		{"class", "count-awaiting", []string{"2", "0"}},
		{"class", "count-failed", []string{"1", "0"}},
		{"class", "authorizers", []string{"3", "1"}},
		{"id", "ticket-age", []string{"7 min ago"}},
		{"id", "token-expiry", []string{"in 1 h 40 min"}},
		{"class", "remain", []string{"958", "5"}},
		{"class", "appid", []string{"wx1a2b3c4d5e6f7081"}},
	} {
		if got := texts(page, tc.attr, tc.name); strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s %q: %q, want %q", tc.attr, tc.name, got, tc.want)
		}
	}
	for _, want := range []string{
		`href="../confirm/AbC-_1"`, // relative: the same stage as the status page
		`<rect class="shared" x="0.00" width="70.00" height="6"/><rect class="awaiting" x="70.00" width="20.00" height="6"/><rect class="failed" x="90.00" width="10.00" height="6"/>`,
		`<rect class="shared" x="0.00" width="10.00" height="6"/></svg>`, // one pair on the largest customer's scale
		`aria-label="7 shared, 2 awaiting confirmation, 1 failed"`,
		`class="num remain warn">5<`, // under a tenth left
		`1 d 2 h ago`,
		`<meta name="viewport" content="width=device-width, initial-scale=1">`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if strings.Contains(strings.ToLower(page), "<script") || strings.Contains(page, " style=") {
		t.Error("the page holds a script or an inline style attribute")
	}
	// The policy's hash is that of the page's one style sheet.
	css := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindAllStringSubmatch(page, -1)
	sum := sha256.Sum256([]byte(css[0][1]))
	if len(css) != 1 || !strings.Contains(statusPolicy(), "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") {
		t.Error("the CSP does not hash the page's style sheet")
	}
}

func TestStatusPageEscapesTheLedgersValues(t *testing.T) {
	s := sampleStatus()
	plain := StatusPage(s).Body
	s.Fleet.Customers[0].Principal = `Evil "Corp" <script>alert(1)</script>`
	s.Fleet.Customers[0].Envs = []string{`e"><img src=x>`}
	s.Fleet.Pending[0].AppID = `wx'<b>`
	s.Fleet.Pending[0].Principal = `</code><a href="javascript:x">`
	got := StatusPage(s).Body
	if markup(got) != markup(plain) {
		t.Fatalf("the ledger's values add markup: %v, a plain page %v", markup(got), markup(plain))
	}
	if p := texts(got, "class", "principal"); p[0] != s.Fleet.Customers[0].Principal {
		t.Errorf("principal shown as %q", p[0])
	}
}

func TestStatusPageWithoutLedgerOrQuota(t *testing.T) {
	s := sampleStatus()
	s.Fleet, s.FleetNote = nil, "The fleet needs a ledger: set ENVSHARE_LEDGER."
	s.Quotas, s.QuotaNote = nil, "WeChat's quota could not be read"
	s.Token = TokenStatus{TicketCreated: s.Now.Add(-13 * time.Hour), ExpiresAt: s.Now.Add(-time.Minute)}
	got := StatusPage(s).Body
	for _, want := range []string{"The fleet needs a ledger: set ENVSHARE_LEDGER.", `id="quota-unavailable"`, ">unavailable<",
		`class="warn">13 h 0 min ago<`, "older than 12 h", `class="warn">expired 1 min ago<`} {
		if !strings.Contains(got, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	s.Token = TokenStatus{Note: "no state record: ENVSHARE_STATE_ID is not set"}
	if got := texts(StatusPage(s).Body, "id", "ticket-age"); len(got) != 1 || got[0] != "unknown" {
		t.Errorf("ticket age without a state record: %q", got)
	}
}

func TestSpan(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0 min", -time.Hour: "0 min", 59 * time.Second: "0 min", 7 * time.Minute: "7 min",
		2*time.Hour + 5*time.Minute: "2 h 5 min", 50 * time.Hour: "2 d 2 h",
	} {
		if got := span(d); got != want {
			t.Errorf("span(%s) = %q, want %q", d, got, want)
		}
	}
}

func BenchmarkStatusPage(b *testing.B) {
	s := sampleStatus()
	for i := range 200 {
		s.Fleet.Customers = append(s.Fleet.Customers, CustomerStatus{Principal: "Customer " + strings.Repeat("x", i%20),
			Envs: []string{"env-" + strings.Repeat("a", 10)}, Authorizers: i, Shared: i, Awaiting: i % 7, Failed: i % 3})
	}
	for range StatusPending {
		s.Fleet.Pending = append(s.Fleet.Pending, s.Fleet.Pending[0])
	}
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n = len(StatusPage(s).Body)
	}
	b.ReportMetric(float64(n), "bytes/page")
}
