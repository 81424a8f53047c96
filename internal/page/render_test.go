package page

import (
	"bytes"
	"encoding/base64"
	"html/template"
	"image/png"
	"net/http"
	"strings"
	"testing"
	"time"

	qrcode "github.com/skip2/go-qrcode"
)

// oracle renders page.html with html/template, linked here only (see render.go): the
// function's pages must be byte for byte what html/template makes of the same values.
var oracle = template.Must(template.New("page").Parse(pageHTML))

type oracleConfirm struct {
	Title, Env, AppID, ConfirmURL string
	Made, MadeISO                 string
	Expires, ExpiresISO           string
	QR                            template.URL
	QRSize                        int
	Style                         template.CSS
}

func viaOracle(t testing.TB, l Link, expires time.Time) string {
	t.Helper()
	qr, size, err := qrImage(l.ConfirmURL)
	if err != nil {
		t.Fatal(err)
	}
	f := confirmFields(l, expires, qr, size)
	var b strings.Builder
	err = oracle.ExecuteTemplate(&b, "confirm", oracleConfirm{Title: f["Title"], Env: l.Env, AppID: l.AppID,
		ConfirmURL: l.ConfirmURL, Made: f["Made"], MadeISO: f["MadeISO"], Expires: f["Expires"],
		ExpiresISO: f["ExpiresISO"], QR: template.URL(qr), QRSize: size, Style: template.CSS(style)})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestPagesAreWhatHTMLTemplateMakes(t *testing.T) {
	expires := made.Add(time.Hour)
	for _, l := range []Link{
		realistic,
		{Env: `e"<script>`, AppID: `wx'&+>`, ConfirmURL: `https://open.weixin.qq.com/a b?x="1"&y=<2>&z=+é#frag`, Made: made},
		{Env: "e", AppID: "a", ConfirmURL: "https://h/%2F%zz[]'", Made: made},
	} {
		want := viaOracle(t, l, expires)
		got, err := render(l, expires)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			i := 0
			for i < len(got) && i < len(want) && got[i] == want[i] {
				i++
			}
			t.Fatalf("page differs from html/template's for %+v at byte %d:\n got %q\nwant %q", l, i,
				got[max(0, i-40):min(len(got), i+60)], want[max(0, i-40):min(len(want), i+60)])
		}
	}
	for status, f := range errorFields() {
		var b strings.Builder
		d := struct {
			Title, Heading, HeadingEN, Text, TextEN string
			Style                                   template.CSS
		}{f["Title"], f["Heading"], f["HeadingEN"], f["Text"], f["TextEN"], template.CSS(style)}
		if err := oracle.ExecuteTemplate(&b, "error", d); err != nil {
			t.Fatal(err)
		}
		if errorPages()[status] != b.String() {
			t.Errorf("error page %d differs from html/template's", status)
		}
	}
	if len(errorPages()) != 3 || errorPages()[http.StatusGone] == "" {
		t.Fatal("the error pages are missing")
	}
}

// FuzzPageEscaping: whatever env, appid and link a token carries, the page is what
// html/template makes of them.
func FuzzPageEscaping(f *testing.F) {
	f.Add("prod-1", "wx1a2b3c4d5e6f7081", "https://open.weixin.qq.com/x?a=1&b=2")
	f.Add(`<b>`, `"'&+`, "https://h/\x00a b")
	f.Fuzz(func(t *testing.T, env, appid, link string) {
		l := Link{Env: env, AppID: appid, ConfirmURL: link, Made: made}
		if _, err := testKeys.Token(l, time.Hour); err != nil {
			return // never on a page: Token refuses it
		}
		got, err := render(l, made.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if want := viaOracle(t, l, made.Add(time.Hour)); got != want {
			t.Fatalf("page differs from html/template's\n got %q\nwant %q", got, want)
		}
	})
}

func TestTheQRCodeIsAStandardPNG(t *testing.T) {
	uri, size, err := qrImage(realistic.ConfirmURL)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(uri, "data:image/png;base64,"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw)) // the standard decoder reads it
	if err != nil {
		t.Fatal(err)
	}
	q, _ := qrcode.New(realistic.ConfirmURL, qrLevel)
	bm := q.Bitmap()
	if side := img.Bounds().Dx(); side != len(bm)*qrScale || img.Bounds().Dy() != side || size != len(bm)*qrCSS {
		t.Fatalf("image %v, size %d for %d modules", img.Bounds(), size, len(bm))
	}
	for y := range img.Bounds().Dy() {
		for x := range img.Bounds().Dx() {
			r, _, _, _ := img.At(x, y).RGBA()
			if black := r == 0; black != bm[y/qrScale][x/qrScale] {
				t.Fatalf("pixel (%d, %d) is black=%v, module says %v", x, y, black, bm[y/qrScale][x/qrScale])
			}
		}
	}
}
