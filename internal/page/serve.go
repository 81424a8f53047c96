package page

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Route is the path element in front of a token: GET {public URL}/confirm/<token>.
const Route = "/confirm/"

// StatusRoute is the path element in front of a status token: GET {public URL}/status/<token>.
const StatusRoute = "/status/"

var (
	//go:embed style.css
	style string
	//go:embed page.html
	pageHTML string

	// csp is computed from the embedded style sheet, so a change of style can
	// never leave the policy behind. img-src data: admits the QR code and the
	// empty favicon (which keeps browsers from asking for /favicon.ico). On first
	// need: the package's initialisation is part of every cold start.
	csp = sync.OnceValue(func() string { return policy(style) })
)

// policy is the Content-Security-Policy of a page whose one style sheet is css.
func policy(css string) string {
	return "default-src 'none'; img-src data:; style-src 'sha256-" + hash(css) + "'; " +
		"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return base64.StdEncoding.EncodeToString(h[:])
}

// beijing is the time zone of the administrators (no daylight saving time, so
// a fixed zone needs no tzdata on the function's host).
var beijing = time.FixedZone("UTC+8", 8*60*60)

// Response is a platform-neutral HTTP answer; the HTTP layer copies it into
// each platform's envelope.
type Response struct {
	Status  int
	Headers map[string]string
	Body    string
}

// Serve answers GET /confirm/<token> at now: 200 with the page, 404 for a bad
// token (also when keys are not Enabled), 410 for an expired one.
func Serve(keys Keys, token string, now time.Time) Response {
	l, expires, err := keys.Open(token, now)
	switch {
	case errors.Is(err, ErrExpired):
		return errorPage(http.StatusGone)
	case err != nil:
		return errorPage(http.StatusNotFound)
	}
	body, err := render(l, expires)
	if err != nil {
		// Unreachable for a token Open accepted (its confirm_url fits a QR
		// code); answered as a page all the same.
		return errorPage(http.StatusInternalServerError)
	}
	return respond(http.StatusOK, body)
}

func errorPage(status int) Response { return respond(status, errorPages()[status]) }

// Refused is the page of a token that Open or OpenStatus refused: 410 for ErrExpired, else 404.
func Refused(err error) Response {
	if errors.Is(err, ErrExpired) {
		return errorPage(http.StatusGone)
	}
	return errorPage(http.StatusNotFound)
}

func respond(status int, body string) Response { return respondWith(csp(), status, body) }

// respondWith answers a page under its policy, with the headers every page carries.
func respondWith(policy string, status int, body string) Response {
	return Response{
		Status: status,
		Headers: map[string]string{
			"Content-Type":            "text/html; charset=utf-8",
			"Content-Security-Policy": policy,
			"Cache-Control":           "no-store",
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
		},
		Body: body,
	}
}

// PathToken returns the token of a request path that ends in /confirm/<token>,
// whatever stage or base path stands in front of it.
func PathToken(path string) (string, bool) { return pathToken(path, Route) }

// StatusPathToken returns the token of a request path that ends in /status/<token>.
func StatusPathToken(path string) (string, bool) { return pathToken(path, StatusRoute) }

func pathToken(path, route string) (string, bool) {
	i := strings.LastIndex(path, route)
	if i < 0 {
		return "", false
	}
	tok := path[i+len(route):]
	return tok, tok != "" && !strings.Contains(tok, "/")
}

// ErrPublicURL: the public base URL is not an absolute http(s) URL without
// query or fragment.
var ErrPublicURL = errors.New("page: public URL must be an absolute http(s) URL without query or fragment")

// CheckPublicURL checks a value of ENVSHARE_PUBLIC_URL (the deployment's
// public base URL, stage included), so a bad one fails at cold start.
func CheckPublicURL(base string) error {
	u, err := url.Parse(base)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrPublicURL, err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(base, "#") {
		return ErrPublicURL
	}
	return nil
}

// URL is the absolute page URL of token under the public base URL, with or
// without its trailing slash: https://host/stage + /confirm/ + token.
func URL(base, token string) (string, error) {
	if err := CheckPublicURL(base); err != nil {
		return "", err
	}
	return strings.TrimRight(base, "/") + Route + token, nil
}

// StatusURL is the absolute status page URL of token under the public base URL.
func StatusURL(base, token string) (string, error) {
	if err := CheckPublicURL(base); err != nil {
		return "", err
	}
	return strings.TrimRight(base, "/") + StatusRoute + token, nil
}
