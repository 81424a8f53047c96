package trigger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/envshare/envshare/internal/config"
	"github.com/envshare/envshare/internal/page"
	"github.com/envshare/envshare/pkg/share"
)

// statusLinkAction makes a link to the status page: POST /status_link, {"action":"status_link"}.
const statusLinkAction = "status_link"

// StatusLink is the answer of the status_link action: the status page's absolute URL and when
// it stops opening. The URL is a credential for reading the fleet: hand it to people, not logs.
type StatusLink struct {
	OK         bool      `json:"ok"`
	Action     string    `json:"action"`
	StatusPage string    `json:"status_page"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// decodeStatusLink reads {"action":"status_link","ttl":"24h"} as strictly as the other
// messages; ttl is optional (page.DefaultStatusTTL). On the route the action may be left out and
// the body may be empty.
func decodeStatusLink(body []byte, route bool) (time.Duration, *share.Error) {
	if route && len(bytes.TrimSpace(body)) == 0 {
		return page.DefaultStatusTTL, nil
	}
	ttl := page.DefaultStatusTTL
	required := []string{"action"}
	if route {
		required = nil
	}
	se := decodeMessage(body, map[string]messageField{
		"action": func(raw json.RawMessage) []string {
			var action string
			if json.Unmarshal(raw, &action) != nil || action != statusLinkAction {
				return []string{`action: must be "status_link"`}
			}
			return nil
		},
		"ttl": func(raw json.RawMessage) []string {
			var s string
			d, err := time.Duration(0), error(nil)
			if err = json.Unmarshal(raw, &s); err == nil {
				d, err = time.ParseDuration(s)
			}
			if err != nil || d < page.MinStatusTTL || d > page.MaxStatusTTL {
				return []string{`ttl: must be a duration from 1m to 168h, such as "24h"`}
			}
			ttl = d
			return nil
		},
	}, required, "a status link takes action and ttl")
	return ttl, se
}

// statusLink makes a status link valid for ttl from now, under ENVSHARE_PUBLIC_URL (never a
// request's Host header) and the confirmation pages' keys.
func (a *App) statusLink(inst *instance, ttl time.Duration) (*StatusLink, *share.Error) {
	if !inst.Pages.Enabled() {
		return nil, invalid("the status page needs a page key: set " + config.Prefix + "_PAGE_SECRET or " + config.Prefix +
			"_HTTP_SECRET (docs/status-page.md)")
	}
	if inst.cfg.PublicURL == "" {
		return nil, invalid("the status link needs " + config.Prefix + "_PUBLIC_URL, the deployment's public base URL")
	}
	made := a.now().UTC().Truncate(time.Second)
	tok, err := inst.Pages.StatusToken(made, ttl)
	if err != nil {
		return nil, invalid("ttl: " + err.Error())
	}
	url, err := page.StatusURL(inst.cfg.PublicURL, tok)
	if err != nil {
		return nil, invalid(config.Prefix + "_PUBLIC_URL: " + err.Error())
	}
	return &StatusLink{OK: true, Action: statusLinkAction, StatusPage: url, ExpiresAt: made.Add(ttl)}, nil
}

// statusPage serves GET /status/<token>: no authentication, the token is signed as a
// confirmation page's is, and refused as one is (404, 410). The page reads the ledger, the
// state record and WeChat's quotas; what cannot be read is shown so, never a 500.
func (a *App) statusPage(ctx context.Context, inst *instance, req HTTPRequest, rec *record) HTTPResponse {
	if !inst.Pages.Enabled() {
		return a.fail(rec, &share.Error{Code: share.CodeNotFound, Message: "no status page: neither " +
			"ENVSHARE_PAGE_SECRET nor ENVSHARE_HTTP_SECRET is set (docs/status-page.md)"})
	}
	tok, _ := page.StatusPathToken(req.Path)
	expires, err := inst.Pages.OpenStatus(tok, a.now())
	if err != nil {
		rec.errCode = share.CodeNotFound
		resp := page.Refused(err)
		return HTTPResponse{Status: resp.Status, Headers: resp.Headers, Body: resp.Body}
	}
	resp := page.StatusPage(a.status(ctx, inst, expires))
	return HTTPResponse{Status: resp.Status, Headers: resp.Headers, Body: a.secrets.String(resp.Body)}
}

// status gathers what the status page shows, its three reads at once.
func (a *App) status(ctx context.Context, inst *instance, expires time.Time) page.Status {
	s := page.Status{Now: a.now(), Expires: expires}
	var wg sync.WaitGroup
	wg.Go(func() { s.Fleet, s.FleetNote = a.statusFleet(ctx, inst, s.Now) })
	wg.Go(func() { s.Token = a.statusToken(ctx, inst) })
	wg.Go(func() {
		quotas, err := a.quotaRemaining(ctx, inst)
		if err != nil {
			a.log.WarnContext(ctx, "status page: the quota cannot be read", "error", a.secrets.String(err.Error()))
			s.QuotaNote = "WeChat's quota could not be read; see the function's log"
			return
		}
		s.Quotas = quotas
	})
	wg.Wait()
	return s
}

// statusFleet is the fleet view as the status page shows it, with a link to the confirmation
// page of each of its oldest pending pairs; without it, why not.
func (a *App) statusFleet(ctx context.Context, inst *instance, now time.Time) (*page.FleetStatus, string) {
	if inst.Fleet == nil {
		return nil, "The fleet needs a ledger: set " + config.Prefix + "_LEDGER (README, Customers and the fleet ledger)."
	}
	v, se := a.fleetView(ctx, inst)
	if se != nil {
		return nil, se.Message
	}
	f := &page.FleetStatus{Known: v.Authorizers.Known, Authorized: v.Authorizers.Authorized,
		PermissionMissing: v.Authorizers.PermissionMissing, UnknownCustomer: v.Authorizers.UnknownCustomer}
	for _, c := range v.Customers {
		f.Customers = append(f.Customers, page.CustomerStatus{Principal: c.Principal, Envs: c.Envs, Authorizers: c.Authorizers,
			Shared: c.Shared, Awaiting: c.AwaitingConfirmation, Failed: c.Failed})
	}
	for _, p := range v.OldestPending[:min(len(v.OldestPending), page.StatusPending)] {
		ps := page.PendingStatus{Env: p.Env, AppID: p.AppID, Principal: p.Principal, LinkIssuedAt: p.LinkIssuedAt}
		if now.Before(p.LinkIssuedAt.Add(inst.cfg.PageTTL)) { // an expired page is not linked
			link := page.Link{Env: p.Env, AppID: p.AppID, ConfirmURL: a.secrets.String(p.ConfirmURL), Made: p.LinkIssuedAt}
			if tok, err := inst.Pages.Token(link, inst.cfg.PageTTL); err == nil {
				ps.Page = page.ConfirmPagePath(tok)
			}
		}
		f.Pending = append(f.Pending, ps)
	}
	return f, ""
}

// statusToken reads the times of the state record's ticket and token, never their values.
func (a *App) statusToken(ctx context.Context, inst *instance) page.TokenStatus {
	if inst.Refresher == nil {
		return page.TokenStatus{Note: "no state record: " + config.Prefix + "_STATE_ID is not set (README, Token lifecycle)"}
	}
	st, err := inst.Refresher.State.Read(ctx)
	if err != nil {
		a.log.WarnContext(ctx, "status page: the state record cannot be read", "error", a.secrets.String(err.Error()))
		return page.TokenStatus{Note: "the state record cannot be read; see the function's log"}
	}
	var t page.TokenStatus
	if st.Ticket != "" {
		t.TicketCreated = st.TicketCreated
	}
	if st.Token != "" {
		t.ExpiresAt = st.ExpiresAt
	}
	return t
}

// statusQuotaTimeout bounds the quota reads, so that a WeChat that does not answer delays the
// page by this much at most.
const statusQuotaTimeout = 5 * time.Second

// quotaRemaining reads WeChat's daily quotas for the status page: the quota view's read
// (GET /quota), bounded by statusQuotaTimeout.
func (a *App) quotaRemaining(ctx context.Context, inst *instance) ([]page.QuotaStatus, error) {
	viewer, ok := inst.Share.(quotaViewer)
	if !ok {
		return nil, errors.New("the core of this instance has no quota view")
	}
	ctx, cancel := context.WithTimeout(ctx, statusQuotaTimeout)
	defer cancel()
	rep, err := viewer.Quota(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]page.QuotaStatus, len(rep.Quotas))
	for i, q := range rep.Quotas {
		out[i] = page.QuotaStatus{API: q.API, DailyLimit: q.DailyLimit, Used: q.Used, Remain: q.Remain}
	}
	return out, nil
}
