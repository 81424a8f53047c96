package page

import (
	"bytes"
	"encoding/base64"
	"html"
	"image/png"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	qrcode "github.com/skip2/go-qrcode"
)

// markup counts the characters that make HTML structure. A value, however hostile, is text
// or an attribute value: it never adds one (html/template escapes them all).
func markup(page string) [3]int {
	return [3]int{strings.Count(page, "<"), strings.Count(page, ">"), strings.Count(page, `"`)}
}

// checkEscaped renders l and checks that its values add no markup and read back as given.
func checkEscaped(t *testing.T, l Link) {
	t.Helper()
	plain, err := render(Link{Env: "e", AppID: "a", ConfirmURL: "https://h/", Made: made}, made.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	got, err := render(l, made.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if markup(got) != markup(plain) {
		t.Fatalf("the values of %+v add markup: %v, a plain page %v\n%s", l, markup(got), markup(plain), got)
	}
	shown := strings.NewReplacer("\x00", "\uFFFD").Replace // html/template writes NUL as U+FFFD
	codes := regexp.MustCompile(`(?s)<dd><code>(.*?)</code></dd>`).FindAllStringSubmatch(got, -1)
	if len(codes) != 2 || html.UnescapeString(codes[0][1]) != shown(l.Env) || html.UnescapeString(codes[1][1]) != shown(l.AppID) {
		t.Fatalf("the page shows %q for env %q and appid %q", codes, l.Env, l.AppID)
	}
}

func TestValuesAreEscapedForWhereTheyStand(t *testing.T) {
	for _, l := range []Link{
		realistic,
		{Env: `e"<script>`, AppID: `wx'&+>`, ConfirmURL: `https://open.weixin.qq.com/a b?x="1"&y=<2>&z=+é#frag`, Made: made},
		{Env: "e", AppID: "a", ConfirmURL: "https://h/%2F%zz[]'", Made: made},
	} {
		checkEscaped(t, l)
	}
	// html/template's contexts: a URL attribute is normalised and escaped, text is escaped.
	page, err := render(Link{Env: "<b>", AppID: "a", ConfirmURL: `https://h/a b?q="x"`, Made: made}, made.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<code>&lt;b&gt;</code>`, `href="https://h/a%20b?q=%22x%22"`, `>https://h/a b?q=&#34;x&#34;</a>`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not hold %s", want)
		}
	}
	if len(errorPages()) != 3 || errorPages()[http.StatusGone] == "" {
		t.Fatal("the error pages are missing")
	}
}

// FuzzPageEscaping: whatever env, appid and link a token carries, they add no markup to the
// page and read back as given.
func FuzzPageEscaping(f *testing.F) {
	f.Add("prod-1", "wx1a2b3c4d5e6f7081", "https://open.weixin.qq.com/x?a=1&b=2")
	f.Add(`<b>`, `"'&+`, "https://h/\x00a b")
	f.Fuzz(func(t *testing.T, env, appid, link string) {
		l := Link{Env: env, AppID: appid, ConfirmURL: link, Made: made}
		if _, err := testKeys.Token(l, time.Hour); err != nil {
			return // never on a page: Token refuses it
		}
		checkEscaped(t, l)
	})
}

func TestTheQRCodeIsAStandardPNG(t *testing.T) {
	uri, size, err := qrImage(realistic.ConfirmURL)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(string(uri), "data:image/png;base64,"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
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
