package page

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/browsertest"
)

func TestServe(t *testing.T) {
	tok, err := testKeys.Token(realistic, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		keys   Keys
		token  string
		now    time.Time
		status int
		shows  []string
	}{
		{"page", testKeys, tok, made, http.StatusOK, []string{
			"prod-6gni9ity244a6ea3", "wx1a2b3c4d5e6f7081",
			realistic.ConfirmURL, "data:image/png;base64,",
			"2026-12-01 14:15 UTC+8", "2026-12-01 15:15 UTC+8", `datetime="2026-12-01T06:15:00Z"`,
			"请小程序管理员使用微信扫描二维码并确认授权", "scan this QR code with WeChat and confirm",
		}},
		{"expired", testKeys, tok, made.Add(time.Hour), http.StatusGone, []string{"页面已过期", "This page has expired"}},
		{"bad token", testKeys, "nonsense", made, http.StatusNotFound, []string{"链接无效", "This link is not valid"}},
		{"no token", testKeys, "", made, http.StatusNotFound, []string{"链接无效"}},
		{"no keys configured", Keys{}, tok, made, http.StatusNotFound, []string{"链接无效"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Serve(tc.keys, tc.token, tc.now)
			if r.Status != tc.status {
				t.Errorf("status = %d, want %d", r.Status, tc.status)
			}
			want := map[string]string{
				"Content-Type":            "text/html; charset=utf-8",
				"Content-Security-Policy": csp(),
				"Cache-Control":           "no-store",
				"X-Content-Type-Options":  "nosniff",
				"Referrer-Policy":         "no-referrer",
			}
			if len(r.Headers) != len(want) {
				t.Errorf("headers = %q, want %q", r.Headers, want)
			}
			for k, v := range want {
				if r.Headers[k] != v {
					t.Errorf("%s = %q, want %q", k, r.Headers[k], v)
				}
			}
			text := html.UnescapeString(r.Body) // html/template writes + as &#43;
			for _, s := range tc.shows {
				if !strings.Contains(text, s) {
					t.Errorf("page does not show %q", s)
				}
			}
			if tc.status != http.StatusOK && strings.Contains(r.Body, "open.weixin.qq.com") {
				t.Error("an error page shows the confirm_url")
			}
		})
	}
}

// TestPagesAreStatic: every page (200, 404, 410, 500) has no script, loads
// nothing from outside, and its style block is the one the CSP hash admits.
func TestPagesAreStatic(t *testing.T) {
	tok, err := testKeys.Token(realistic, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(csp(), "default-src 'none'; img-src data:; style-src 'sha256-") {
		t.Errorf("CSP = %q", csp())
	}
	bodies := map[string]string{"200": Serve(testKeys, tok, made).Body}
	for status, body := range errorPages() {
		bodies[http.StatusText(status)] = body
	}
	styleBlock := regexp.MustCompile(`(?s)<style>(.*?)</style>`)
	attr := regexp.MustCompile(`(?i)\s(src|href|srcset|action|poster|data)="([^"]*)"`)
	for name, body := range bodies {
		for _, bad := range []string{"<script", "<iframe", "<object", "<embed", "<form", " style=", " on", "url(", "@import"} {
			if strings.Contains(strings.ToLower(body), bad) {
				t.Errorf("%s page contains %q", name, bad)
			}
		}
		styles := styleBlock.FindAllStringSubmatch(body, -1)
		if len(styles) != 1 {
			t.Fatalf("%s page has %d style blocks", name, len(styles))
		}
		sum := sha256.Sum256([]byte(styles[0][1]))
		if h := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(csp(), h) {
			t.Errorf("%s page: style hash %s not in the CSP %q", name, h, csp())
		}
		for _, m := range attr.FindAllStringSubmatch(body, -1) {
			v := html.UnescapeString(m[2])
			switch {
			case strings.HasPrefix(v, "data:"):
			case m[1] == "href" && v == realistic.ConfirmURL: // a link, not a resource
			default:
				t.Errorf("%s page: %s=%q", name, m[1], v)
			}
		}
	}
}

// TestQRCode: the QR code on the page decodes to exactly the confirm_url, and
// the link's href is exactly it too, for URLs of every shape.
func TestQRCode(t *testing.T) {
	for _, u := range []string{
		realistic.ConfirmURL,
		"https://open.weixin.qq.com/a?redirect_uri=https%3A%2F%2Fx.example%2F%3Fa%3D1&b=[redacted]#frag",
		"http://127.0.0.1:8080/confirm?x=1",
		"https://open.weixin.qq.com/确认?环境=生产",
		"https://open.weixin.qq.com/?t=" + strings.Repeat("aZ0-_", (MaxConfirmURL-30)/5),
	} {
		l := realistic
		l.ConfirmURL = u
		tok, err := testKeys.Token(l, time.Hour)
		if err != nil {
			t.Fatalf("%.60s: %v", u, err)
		}
		body := Serve(testKeys, tok, made).Body
		img := regexp.MustCompile(`src="data:image/png;base64,([^"]+)"`).FindStringSubmatch(body)
		if img == nil {
			t.Fatalf("%.60s: no QR image", u)
		}
		png, err := base64.StdEncoding.DecodeString(html.UnescapeString(img[1]))
		if err != nil {
			t.Fatal(err)
		}
		got, err := browsertest.DecodeQR(png)
		if err != nil || got != u {
			t.Errorf("QR code of %.60s… = %.60q…, %v", u, got, err)
		}
		if !strings.Contains(u, "确认") { // html/template percent-encodes non-ASCII in href, as browsers do
			href := regexp.MustCompile(`<a id="confirm" href="([^"]*)"`).FindStringSubmatch(body)
			if href == nil || html.UnescapeString(href[1]) != u {
				t.Errorf("href = %q, want %q", href, u)
			}
		}
	}
}

func TestPathToken(t *testing.T) {
	for _, tc := range []struct {
		path, token string
		ok          bool
	}{
		{"/confirm/abc", "abc", true},
		{"/prod/confirm/abc-_9", "abc-_9", true},
		{"/prod/base/confirm/abc", "abc", true},
		{"/confirm/confirm/abc", "abc", true},
		{"/confirm/", "", false},
		{"/confirm/abc/", "", false},
		{"/confirm/abc/def", "", false},
		{"/confirm", "", false},
		{"/share", "", false},
	} {
		tok, ok := PathToken(tc.path)
		if ok != tc.ok || (ok && tok != tc.token) {
			t.Errorf("PathToken(%q) = %q, %v; want %q, %v", tc.path, tok, ok, tc.token, tc.ok)
		}
	}
}

func TestURL(t *testing.T) {
	for _, tc := range []struct {
		base, want string
		err        error
	}{
		{"https://abc.execute-api.ap-east-1.amazonaws.com/prod", "https://abc.execute-api.ap-east-1.amazonaws.com/prod/confirm/T", nil},
		{"https://abc.execute-api.ap-east-1.amazonaws.com/prod/", "https://abc.execute-api.ap-east-1.amazonaws.com/prod/confirm/T", nil},
		{"https://service-1.gz.apigw.tencentcs.com/release/", "https://service-1.gz.apigw.tencentcs.com/release/confirm/T", nil},
		{"https://abc.lambda-url.us-east-1.on.aws/", "https://abc.lambda-url.us-east-1.on.aws/confirm/T", nil},
		{"https://abc.lambda-url.us-east-1.on.aws", "https://abc.lambda-url.us-east-1.on.aws/confirm/T", nil},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/confirm/T", nil},
		{"", "", ErrPublicURL},
		{"abc.execute-api.ap-east-1.amazonaws.com/prod", "", ErrPublicURL},
		{"ftp://host/prod", "", ErrPublicURL},
		{"https:///prod", "", ErrPublicURL},
		{"https://host/prod?stage=1", "", ErrPublicURL},
		{"https://host/prod?", "", ErrPublicURL},
		{"https://host/prod#x", "", ErrPublicURL},
		{"https://host/prod#", "", ErrPublicURL},
		{"https://user:pw@host/prod", "", ErrPublicURL},
		{"https://host/%zz", "", ErrPublicURL},
	} {
		got, err := URL(tc.base, "T")
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("URL(%q) = %q, %v; want %q, %v", tc.base, got, err, tc.want, tc.err)
		}
	}
}
