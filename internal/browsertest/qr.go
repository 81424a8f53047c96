package browsertest

import (
	"bytes"
	"errors"
	"fmt"
	"image/png"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// DecodeQR finds one QR code in a PNG, such as a full-page screenshot with
// text around the code, and returns its text, as a phone's scanner reads it.
//
// It first searches the image for the code's finder patterns, as a scanner
// does. When that fails it reads the image as a bare code (quiet zone and
// modules only): gozxing's search misses some very large codes (version 35 and
// up at some scales) that its bare-code reader decodes.
func DecodeQR(pngData []byte) (string, error) {
	img, err := png.Decode(bytes.NewReader(pngData))
	if err != nil {
		return "", fmt.Errorf("decode png: %w", err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", fmt.Errorf("binarize: %w", err)
	}
	r := qrcode.NewQRCodeReader()
	res, err := r.Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
	if err == nil {
		return res.GetText(), nil
	}
	res, errPure := r.Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if errPure == nil {
		return res.GetText(), nil
	}
	return "", fmt.Errorf("no QR code found: %w", errors.Join(err, errPure))
}
