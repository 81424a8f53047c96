package page

import (
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"sync"
	"time"
)

var (
	//go:embed status.css
	statusCSS string
	//go:embed status.html
	statusHTML string
	// statusStyle is the status page's one style sheet: the pages' own, then the status page's.
	statusStyle  = style + statusCSS
	statusPolicy = sync.OnceValue(func() string { return policy(statusStyle) })
)

// StatusPending is how many pending pairs the status page lists, oldest link first.
const StatusPending = 20

// MaxTicketAge is the age after which WeChat no longer accepts a component_verify_ticket.
const MaxTicketAge = 12 * time.Hour

// Status is what the status page shows. The caller gathers it after OpenStatus accepted the
// token; nothing in it is a secret (the token and the ticket are never passed, only their times).
type Status struct {
	Now     time.Time // when the page is made
	Expires time.Time // when the status link expires
	// Fleet is the ledger's view; nil when there is none, FleetNote then says why (no ledger,
	// an unusable manifest, a ledger that cannot be read).
	Fleet     *FleetStatus
	FleetNote string
	Token     TokenStatus
	// Quotas are WeChat's daily quotas of the APIs envshare calls; QuotaNote (or none at all)
	// shows "unavailable" instead.
	Quotas    []QuotaStatus
	QuotaNote string
}

// FleetStatus is the fleet from the ledger.
type FleetStatus struct {
	Customers                                             []CustomerStatus
	Known, Authorized, PermissionMissing, UnknownCustomer int             // the ledger's authorizers
	Pending                                               []PendingStatus // at most StatusPending, oldest link first
}

// CustomerStatus is one customer and the pairs of its envs by state.
type CustomerStatus struct {
	Principal                string
	Envs                     []string
	Authorizers              int // its authorized Mini Programs
	Shared, Awaiting, Failed int
}

// PendingStatus is a pair whose link waits for its administrator.
type PendingStatus struct {
	Env, AppID, Principal string
	LinkIssuedAt          time.Time
	// Page is the pair's confirmation page, relative to the status page ("../confirm/<token>");
	// "" when it cannot be made or has expired.
	Page string
}

// TokenStatus is what the state record says of the ticket and the token, never their values.
type TokenStatus struct {
	Note          string    // why nothing is known ("" when the record was read)
	TicketCreated time.Time // the stored ticket's CreateTime; zero: none stored
	ExpiresAt     time.Time // the stored token's expiry; zero: none stored
}

// QuotaStatus is one API's daily quota.
type QuotaStatus struct {
	API                      string
	DailyLimit, Used, Remain int
}

// ConfirmPagePath is the path, relative to a status page, of the confirmation page of token.
func ConfirmPagePath(token string) string { return ".." + Route + token }

// StatusPage renders the status page.
func StatusPage(s Status) Response {
	body, err := execute("status", statusView(s))
	if err != nil {
		return errorPage(http.StatusInternalServerError)
	}
	return respondWith(statusPolicy(), http.StatusOK, body)
}

// statusData are the values of the status page template, formatted.
type statusData struct {
	Title                string
	Style                template.CSS
	Made, MadeISO        string
	Expires, ExpiresISO  string
	Fleet                *FleetStatus
	FleetNote            string
	Customers            []customerRow
	Pending              []pendingRow
	Ticket, TicketDetail string
	TicketWarn           bool
	Token, TokenDetail   string
	TokenWarn            bool
	Quotas               []quotaRow
	QuotaNote            string
}

type customerRow struct {
	CustomerStatus
	Total int
	Bar   []barPart
	Label string
}

// barPart is one coloured segment of a customer's bar, in the SVG's units (0..100).
type barPart struct {
	Class, X, Width string
}

type pendingRow struct {
	PendingStatus
	Issued, IssuedISO, Age string
}

type quotaRow struct {
	QuotaStatus
	Width string // the remaining share of the daily limit, 0..100
	Low   bool   // under a tenth left
}

func statusView(s Status) statusData {
	d := statusData{
		Title: "envshare 状态 · Status", Style: template.CSS(statusStyle), // our own embedded style sheet
		Made: showTime(s.Now), MadeISO: iso(s.Now), Expires: showTime(s.Expires), ExpiresISO: iso(s.Expires),
		Fleet: s.Fleet, FleetNote: s.FleetNote, QuotaNote: s.QuotaNote,
	}
	if s.Fleet != nil {
		d.Customers = customerRows(s.Fleet.Customers)
		for _, p := range s.Fleet.Pending {
			d.Pending = append(d.Pending, pendingRow{PendingStatus: p, Issued: showTime(p.LinkIssuedAt),
				IssuedISO: iso(p.LinkIssuedAt), Age: ago(s.Now.Sub(p.LinkIssuedAt))})
		}
	}
	d.Ticket, d.TicketDetail, d.TicketWarn = ticketText(s.Token, s.Now)
	d.Token, d.TokenDetail, d.TokenWarn = tokenText(s.Token, s.Now)
	for _, q := range s.Quotas {
		share := 0.0
		if q.DailyLimit > 0 {
			share = 100 * float64(max(0, min(q.Remain, q.DailyLimit))) / float64(q.DailyLimit)
		}
		d.Quotas = append(d.Quotas, quotaRow{QuotaStatus: q, Width: unit(share), Low: q.DailyLimit > 0 && q.Remain*10 < q.DailyLimit})
	}
	if len(d.Quotas) == 0 && d.QuotaNote == "" {
		d.QuotaNote = "no quota was read"
	}
	return d
}

// customerRows draws each customer's bar on one scale, the largest customer's pairs, so that
// customers compare at a glance.
func customerRows(customers []CustomerStatus) []customerRow {
	largest := 1
	for _, c := range customers {
		largest = max(largest, c.Shared+c.Awaiting+c.Failed)
	}
	rows := make([]customerRow, len(customers))
	for i, c := range customers {
		r := customerRow{CustomerStatus: c, Total: c.Shared + c.Awaiting + c.Failed}
		x := 0.0
		for _, part := range []struct {
			class string
			n     int
		}{{"shared", c.Shared}, {"awaiting", c.Awaiting}, {"failed", c.Failed}} {
			if part.n == 0 {
				continue
			}
			w := 100 * float64(part.n) / float64(largest)
			r.Bar = append(r.Bar, barPart{Class: part.class, X: unit(x), Width: unit(w)})
			x += w
		}
		r.Label = fmt.Sprintf("%d shared, %d awaiting confirmation, %d failed", c.Shared, c.Awaiting, c.Failed)
		rows[i] = r
	}
	return rows
}

func unit(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }

func iso(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func ticketText(t TokenStatus, now time.Time) (text, detail string, warn bool) {
	switch {
	case t.Note != "":
		return "unknown", t.Note, false
	case t.TicketCreated.IsZero():
		return "no ticket stored", "WeChat pushes a component_verify_ticket to /wechat/events every 10 minutes", true
	}
	age := now.Sub(t.TicketCreated)
	detail = "pushed " + showTime(t.TicketCreated)
	if age > MaxTicketAge {
		return ago(age), detail + "; older than 12 h: WeChat refuses it, check the pushes to /wechat/events", true
	}
	return ago(age), detail, false
}

func tokenText(t TokenStatus, now time.Time) (text, detail string, warn bool) {
	switch {
	case t.Note != "":
		return "unknown", t.Note, false
	case t.ExpiresAt.IsZero():
		return "no token stored", "the next refresh mints one", true
	case !now.Before(t.ExpiresAt):
		return "expired " + ago(now.Sub(t.ExpiresAt)), "at " + showTime(t.ExpiresAt), true
	}
	return "in " + span(t.ExpiresAt.Sub(now)), "at " + showTime(t.ExpiresAt), false
}

// ago is a span of time in the past, as people say it.
func ago(d time.Duration) string { return span(d) + " ago" }

// span is a duration to the minute, in its two largest units: "3 d 4 h", "2 h 5 min", "7 min".
func span(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	m := int64(d / time.Minute)
	days, hours, mins := m/(24*60), m/60%24, m%60
	switch {
	case days > 0:
		return fmt.Sprintf("%d d %d h", days, hours)
	case hours > 0:
		return fmt.Sprintf("%d h %d min", hours, mins)
	}
	return fmt.Sprintf("%d min", mins)
}
