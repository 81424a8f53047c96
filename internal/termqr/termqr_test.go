package termqr

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"

	"github.com/envshare/envshare/internal/browsertest"
)

// The terminal's QR code is read back by the same decoder as the page's screenshots: each
// character is turned into its two modules again, light where the glyph is lit.
func TestTheTerminalQRCodeReadsBackAsTheLink(t *testing.T) {
	const link = "https://open.weixin.qq.com/wxaopen/tcb/shareenv/confirm?env=prod-6gni9ity244a6ea3&appid=wx1a2b3c4d5e6f7081#wechat_redirect"
	for _, ansi := range []bool{false, true} {
		text, err := Draw(link, ansi)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(text, "\x1b") != ansi {
			t.Errorf("ansi=%v: escape codes present: %v", ansi, !ansi)
		}
		got, err := browsertest.DecodeQR(halfBlocksPNG(t, text))
		if err != nil || got != link {
			t.Errorf("ansi=%v: decoded %q, %v; want %q\n%s", ansi, got, err, link, text)
		}
	}
}

// halfBlocksPNG draws half-block text as a PNG, 4 pixels per module: lit halves white.
func halfBlocksPNG(t *testing.T, text string) []byte {
	t.Helper()
	var rows [][]rune
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		line = strings.NewReplacer("\x1b[97;40m", "", "\x1b[0m", "").Replace(line)
		rows = append(rows, []rune(line))
	}
	const px = 4
	img := image.NewGray(image.Rect(0, 0, len(rows[0])*px, len(rows)*2*px))
	for y, row := range rows {
		for x, r := range row {
			upper, lower := r == '█' || r == '▀', r == '█' || r == '▄'
			for dy := range 2 * px {
				lit := upper
				if dy >= px {
					lit = lower
				}
				for dx := range px {
					if lit {
						img.SetGray(x*px+dx, y*2*px+dy, color.Gray{Y: 255})
					}
				}
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
