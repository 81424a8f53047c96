package browsertest

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	qrcode "github.com/skip2/go-qrcode"
)

// TestOpen shows that Open sees what the page tests assert against: a request
// besides the page, a CSP violation, the status; and that DecodeQR reads a
// code from a screenshot.
func TestOpen(t *testing.T) {
	b := New(t)
	code, err := qrcode.Encode("https://open.weixin.qq.com/x?a=1&b=2", qrcode.Medium, 256)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/leaky", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'none'")
		io.WriteString(w, `<!doctype html><title>leaky</title><style>p{}</style><img src="/pixel.png"><p>hi`)
	})
	mux.HandleFunc("/pixel.png", func(w http.ResponseWriter, r *http.Request) {
		png.Encode(w, image.NewGray(image.Rect(0, 0, 1, 1)))
	})
	mux.HandleFunc("/qr.png", func(w http.ResponseWriter, r *http.Request) { w.Write(code) })
	mux.HandleFunc("/qr", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, `<!doctype html><meta name="viewport" content="width=device-width"><title>qr</title><h1>text around the code</h1><img src="/qr.png" width="256"><p>more text`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	t.Run("requests and CSP violations", func(t *testing.T) {
		got, err := b.Open(srv.URL+"/leaky", Desktop)
		if err != nil {
			t.Fatal(err)
		}
		// The browser also asks for /favicon.ico: the page names no icon.
		if len(got.Requests) == 0 || got.Requests[0] != srv.URL+"/leaky" || !slices.Contains(got.Requests, srv.URL+"/pixel.png") {
			t.Errorf("requests = %q, want the page, then /pixel.png among others", got.Requests)
		}
		if !slices.ContainsFunc(got.Messages, func(m string) bool { return strings.Contains(m, "Content Security Policy") }) {
			t.Errorf("messages = %q, want a CSP violation", got.Messages)
		}
		if got.Status != http.StatusOK || got.Title != "leaky" {
			t.Errorf("status, title = %d, %q", got.Status, got.Title)
		}
	})

	t.Run("qr code", func(t *testing.T) {
		got, err := b.Open(srv.URL+"/qr", Phone)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != http.StatusTeapot {
			t.Errorf("status = %d", got.Status)
		}
		img, err := png.DecodeConfig(bytes.NewReader(got.PNG))
		if err != nil {
			t.Fatal(err)
		}
		if w := int(float64(Phone.Width) * Phone.Scale); img.Width != w {
			t.Errorf("screenshot is %d pixels wide, want %d", img.Width, w)
		}
		text, err := DecodeQR(got.PNG)
		if err != nil || text != "https://open.weixin.qq.com/x?a=1&b=2" {
			t.Errorf("DecodeQR = %q, %v", text, err)
		}
	})
}

func TestDecodeQRNone(t *testing.T) {
	var blank bytes.Buffer
	img := image.NewGray(image.Rect(0, 0, 64, 64))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	img.SetGray(3, 3, color.Gray{})
	png.Encode(&blank, img)
	for name, data := range map[string][]byte{"not a png": []byte("GIF89a"), "no code": blank.Bytes()} {
		if text, err := DecodeQR(data); err == nil {
			t.Errorf("%s: DecodeQR = %q, want an error", name, text)
		}
	}
}

// fakeTB records how Require ends a test; stop unwinds Require as
// runtime.Goexit would.
type fakeTB struct {
	testing.TB
	skipped, failed string
}

type stop struct{}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.skipped = fmt.Sprintf(format, args...)
	panic(stop{})
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
	panic(stop{})
}

func TestRequireWithoutBrowser(t *testing.T) {
	for _, tc := range []struct {
		ci           string
		skip, failed bool
	}{
		{"", true, false},
		{"false", true, false},
		{"true", false, true},
		{"1", false, true},
	} {
		t.Run("CI="+tc.ci, func(t *testing.T) {
			t.Setenv(PathEnv, "/nonexistent/chromium")
			t.Setenv("CI", tc.ci)
			f := &fakeTB{TB: t}
			func() {
				defer func() {
					if r := recover(); r != nil && r != (stop{}) {
						panic(r)
					}
				}()
				Require(f)
			}()
			if (f.skipped != "") != tc.skip || (f.failed != "") != tc.failed {
				t.Fatalf("skipped %q, failed %q", f.skipped, f.failed)
			}
			if msg := f.skipped + f.failed; !strings.Contains(msg, "make test") {
				t.Errorf("message %q does not name `make test`", msg)
			}
		})
	}
}

func TestFind(t *testing.T) {
	t.Setenv(PathEnv, "/nonexistent/chromium")
	if _, err := Find(); !errors.Is(err, ErrNoBrowser) {
		t.Errorf("Find with a missing %s: %v, want ErrNoBrowser", PathEnv, err)
	}
	t.Setenv(PathEnv, "sh")
	if path, err := Find(); err != nil || !strings.HasSuffix(path, "/sh") {
		t.Errorf("Find with %s=sh: %q, %v", PathEnv, path, err)
	}
}
