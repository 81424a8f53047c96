package page

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"image"
	"image/color"
	"image/png"

	qrcode "github.com/skip2/go-qrcode"
)

// qrScale is the image pixels per QR module, and qrCSS the CSS pixels per
// module the page shows (narrower screens shrink it to fit). Whole numbers of
// pixels per module at device scales 1, 2 and 4 keep every module the same
// size; the large image prints sharply and is a usable picture when a phone
// saves it.
const qrScale, qrCSS = 8, 4

// qrLevel is M (15% recovery): the code is shown on a screen or printed, not
// damaged, and M keeps fewer, larger modules than Q for the same printed
// size, which a phone camera resolves from farther away.
const qrLevel = qrcode.Medium

// qrImage returns the QR code of text as a PNG data URI and its side in CSS
// pixels. The PNG has two colours (1 bit per pixel) and the 4-module quiet
// zone the standard asks for, so the page around it does not matter.
func qrImage(text string) (template.URL, int, error) {
	q, err := qrcode.New(text, qrLevel)
	if err != nil {
		return "", 0, fmt.Errorf("qr code: %w", err)
	}
	bm := q.Bitmap() // includes the quiet zone
	side := len(bm) * qrScale
	img := image.NewPaletted(image.Rect(0, 0, side, side), color.Palette{color.White, color.Black})
	for y, row := range bm {
		for x, black := range row {
			if !black {
				continue
			}
			for dy := range qrScale {
				off := img.PixOffset(x*qrScale, y*qrScale+dy)
				for dx := range qrScale {
					img.Pix[off+dx] = 1
				}
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return "", 0, fmt.Errorf("qr png: %w", err)
	}
	// The data URI is ours from end to end (no input reaches it as text), so
	// it may bypass html/template's URL filter, which refuses data: URIs.
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b.Bytes())), len(bm) * qrCSS, nil
}
