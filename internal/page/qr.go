package page

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"

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
func qrImage(text string) (string, int, error) {
	q, err := qrcode.New(text, qrLevel)
	if err != nil {
		return "", 0, fmt.Errorf("qr code: %w", err)
	}
	bm := q.Bitmap() // includes the quiet zone
	b, err := bitmapPNG(bm, qrScale)
	if err != nil {
		return "", 0, fmt.Errorf("qr png: %w", err)
	}
	// The data URI is ours from end to end (no input reaches it as text).
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(b), len(bm) * qrCSS, nil
}

// bitmapPNG writes a black-and-white bitmap as a 1-bit greyscale PNG, scale pixels per module.
// It is written here, in a few lines, rather than with image/png: the SCF binary is kept under
// its size budget, and a bitmap needs none of image's generality.
func bitmapPNG(bm [][]bool, scale int) ([]byte, error) {
	side := len(bm) * scale
	rowBytes := (side + 7) / 8
	var raw bytes.Buffer
	z := zlib.NewWriter(&raw)
	row := make([]byte, 1+rowBytes) // filter type 0 (none), then the pixels, 1 = white
	for _, modules := range bm {
		clear(row)
		for x := range side {
			if !modules[x/scale] {
				row[1+x/8] |= 0x80 >> (x % 8)
			}
		}
		for range scale {
			if _, err := z.Write(row); err != nil {
				return nil, err
			}
		}
	}
	if err := z.Close(); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(side))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(side))
	ihdr[8] = 1 // bit depth; colour type 0 (greyscale), deflate, no filter choice, no interlace
	chunk(&out, "IHDR", ihdr)
	chunk(&out, "IDAT", raw.Bytes())
	chunk(&out, "IEND", nil)
	return out.Bytes(), nil
}

// chunk writes one PNG chunk: length, type, data, CRC of type and data.
func chunk(w *bytes.Buffer, typ string, data []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	w.Write(n[:])
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	w.WriteString(typ)
	w.Write(data)
	binary.BigEndian.PutUint32(n[:], crc.Sum32())
	w.Write(n[:])
}
