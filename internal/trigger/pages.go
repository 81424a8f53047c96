package trigger

import (
	"time"

	"github.com/envshare/envshare/internal/page"
	"github.com/envshare/envshare/pkg/share"
)

// confirmPage serves GET /confirm/<token>: no authentication, the token is the page's content
// signed. Without any page key the route does not exist (404, like an unknown path).
func (a *App) confirmPage(inst *instance, req HTTPRequest, rec *record) HTTPResponse {
	if !inst.Pages.Enabled() {
		return a.fail(rec, &share.Error{Code: share.CodeNotFound, Message: "no confirmation pages: neither " +
			"ENVSHARE_PAGE_SECRET nor ENVSHARE_HTTP_SECRET is set (README, Confirmation pages)"})
	}
	tok, _ := page.PathToken(req.Path)
	resp := page.Serve(inst.Pages, tok, a.now())
	if resp.Status != 200 {
		rec.errCode = share.CodeNotFound
	}
	return HTTPResponse{Status: resp.Status, Headers: resp.Headers, Body: resp.Body}
}

// pageLinker returns the share service's ConfirmPage hook: the absolute page URL of a pending
// outcome, from ENVSHARE_PUBLIC_URL (never from a request's Host header, which the client
// chooses on a Function URL or an ALB); nil when there is no public URL, no key, or a public
// URL that page.URL refuses. The URL is checked once here, not for every link.
func (a *App) pageLinker(keys page.Keys, publicURL string, ttl time.Duration) func(share.Outcome) string {
	if !keys.Enabled() || publicURL == "" {
		return nil
	}
	prefix, err := page.URL(publicURL, "") // page.URL(publicURL, tok) is prefix + tok
	if err != nil {
		a.log.Warn("no confirmation pages: ENVSHARE_PUBLIC_URL is not usable as their base", "error", err)
		return nil
	}
	return func(o share.Outcome) string {
		made := o.LinkIssuedAt // an awaited link's page is as old as the link
		if made.IsZero() {
			made = a.now()
		}
		tok, err := keys.Token(page.Link{Env: o.Env, AppID: o.AppID, ConfirmURL: o.ConfirmURL, Made: made}, ttl)
		if err != nil {
			a.log.Warn("no confirmation page for this link", "env", o.Env, "appid", o.AppID, "error", err)
			return ""
		}
		return prefix + tok
	}
}
