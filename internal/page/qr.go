package page

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
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
// pixels. The image is go-qrcode's: two colours (a 1-bit palette) and the
// 4-module quiet zone the standard asks for, so the page around it does not
// matter; it is encoded as go-qrcode's own PNG method encodes it.
func qrImage(text string) (template.URL, int, error) {
	q, err := qrcode.New(text, qrLevel)
	if err != nil {
		return "", 0, fmt.Errorf("qr code: %w", err)
	}
	img := q.Image(-qrScale) // a negative size: qrScale pixels per module
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&b, img); err != nil {
		return "", 0, fmt.Errorf("qr png: %w", err)
	}
	// The data URI is ours from end to end (no input reaches it as text), so it may bypass
	// html/template's URL filter, which refuses data: URIs.
	uri := template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b.Bytes()))
	return uri, img.Bounds().Dx() / qrScale * qrCSS, nil
}
