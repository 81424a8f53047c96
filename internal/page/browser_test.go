package page_test

import (
	"bytes"
	"flag"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/browsertest"
	"github.com/envshare/envshare/internal/page"
)

var updateScreenshot = flag.Bool("update-screenshot", false,
	"write the phone screenshot of the confirmation page to docs/confirmation-page.png")

// A realistic link: ~200 characters, a query with &, a fragment.
const confirmURL = "https://open.weixin.qq.com/wxaopen/tcb/shareenv/confirm?env=prod-6gni9ity244a6ea3" +
	"&appid=wx1a2b3c4d5e6f7081&component_appid=wx9f8e7d6c5b4a3921" +
	"&ticket=T3k9_Qm2XvLp8RzA4bNc7YwE1uHs6GdJ0fKi5MtOq-VxZy&lang=zh_CN#wechat_redirect"

// TestBrowser renders the pages in headless Chromium, as a person would see
// them, and reads the QR code back from the screenshot's pixels.
func TestBrowser(t *testing.T) {
	b := browsertest.New(t)

	keys := page.Keys{Current: []byte("browser-test-page-key-0123456789")}
	made := time.Date(2026, 12, 1, 6, 15, 0, 0, time.UTC)
	now := made.Add(2 * time.Hour)
	link := page.Link{Env: "prod-6gni9ity244a6ea3", AppID: "wx1a2b3c4d5e6f7081", ConfirmURL: confirmURL, Made: made}
	token, err := keys.Token(link, 168*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	old := link
	old.Made = made.Add(-200 * time.Hour)
	expired, err := keys.Token(old, 168*time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := page.PathToken(r.URL.Path) // no token: Serve answers 404
		resp := page.Serve(keys, tok, now)
		for k, v := range resp.Headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(resp.Status)
		io.WriteString(w, resp.Body)
	}))
	t.Cleanup(srv.Close)
	pageURL, err := page.URL(srv.URL+"/prod/", token)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("csp header", func(t *testing.T) {
		resp, err := http.Get(pageURL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'none';") {
			t.Errorf("Content-Security-Policy = %q", csp)
		}
	})

	// The smallest phones in use are 360 CSS pixels wide.
	narrow := browsertest.Viewport{Name: "narrow phone", Width: 360, Height: 640, Scale: 2, Mobile: true}
	for _, vp := range []browsertest.Viewport{browsertest.Desktop, browsertest.Phone, narrow} {
		t.Run(vp.Name, func(t *testing.T) {
			t.Parallel()
			got := open(t, b, pageURL, vp, http.StatusOK)
			// Nothing sticks out sideways: the full-page screenshot is as wide
			// as the screen.
			if cfg, err := png.DecodeConfig(bytes.NewReader(got.PNG)); err != nil || cfg.Width != int(float64(vp.Width)*vp.Scale) {
				t.Errorf("screenshot width = %d, %v; want %d", cfg.Width, err, int(float64(vp.Width)*vp.Scale))
			}
			if vp == narrow {
				return // a layout check: the QR code is read from the other two
			}
			qr, err := browsertest.DecodeQR(got.PNG)
			if err != nil {
				t.Fatalf("QR code in the %s screenshot: %v", vp.Name, err)
			}
			if qr != confirmURL {
				t.Errorf("QR code = %q, want the confirm_url %q", qr, confirmURL)
			}
			if vp == browsertest.Phone && *updateScreenshot {
				out := filepath.Join("..", "..", "docs", "confirmation-page.png")
				if err := os.WriteFile(out, got.PNG, 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("wrote %s (%d bytes)", out, len(got.PNG))
			}
		})
	}

	for _, tc := range []struct {
		name, url, title string
		status           int64
	}{
		{"tampered", srv.URL + "/prod/confirm/" + tamper(token), "链接无效", http.StatusNotFound},
		{"no token", srv.URL + "/prod/confirm/", "链接无效", http.StatusNotFound},
		{"expired", srv.URL + "/prod/confirm/" + expired, "页面已过期", http.StatusGone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := open(t, b, tc.url, browsertest.Phone, tc.status)
			if !strings.HasPrefix(got.Title, tc.title) {
				t.Errorf("title = %q, want %q…", got.Title, tc.title)
			}
		})
	}
}

// open loads url and checks what every page must hold: the status, no request
// but the page itself and its inline data: images, no browser message (a CSP
// violation logs one) but the note of an error status.
func open(t *testing.T, b *browsertest.Browser, url string, vp browsertest.Viewport, status int64) browsertest.Capture {
	t.Helper()
	got, err := b.Open(url, vp)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != status {
		t.Errorf("status = %d, want %d", got.Status, status)
	}
	if len(got.Requests) == 0 || got.Requests[0] != url {
		t.Errorf("first request = %q, want the page %s", got.Requests, url)
	}
	for _, r := range got.Requests[1:] {
		if !strings.HasPrefix(r, "data:") {
			t.Errorf("the page made a request besides itself: %s", r)
		}
	}
	statusNote := fmt.Sprintf("the server responded with a status of %d", status)
	for _, m := range got.Messages {
		if status == http.StatusOK || !strings.Contains(m, statusNote) {
			t.Errorf("browser message: %s", m)
		}
	}
	return got
}

// tamper flips one bit in the middle of the token, keeping it base64url.
func tamper(tok string) string {
	b := []byte(tok)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}
