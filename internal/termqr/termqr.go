// Package termqr draws a QR code in a terminal with half-block characters: the local tools
// (make run) and the operator CLI (cmd/envshare) show confirmation links with it.
package termqr

import (
	"io"
	"os"
	"strings"

	qrcode "github.com/skip2/go-qrcode"
)

// Draw draws the QR code of text with half-block characters, two rows of modules per
// line, with the standard's 4-module quiet zone, at the page's error correction level (M).
//
// A character's foreground shows the light modules: on the dark background of most
// terminals that gives dark modules on light, as scanners expect. With ansi, the colours are
// set explicitly (bright white on black), so the code reads on any terminal theme.
func Draw(text string, ansi bool) (string, error) {
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return "", err
	}
	bm := q.Bitmap() // true: dark module; quiet zone included
	var b strings.Builder
	for y := 0; y < len(bm); y += 2 {
		if ansi {
			b.WriteString("\x1b[97;40m")
		}
		for x := range bm[y] {
			top := !bm[y][x]
			bottom := y+1 < len(bm) && !bm[y+1][x] // below the last row: the terminal's background
			b.WriteRune(halfBlock(top, bottom))
		}
		if ansi {
			b.WriteString("\x1b[0m")
		}
		b.WriteByte('\n')
	}
	return b.String(), nil
}

// halfBlock is the character whose upper and lower halves are lit as asked.
func halfBlock(upper, lower bool) rune {
	switch {
	case upper && lower:
		return '█'
	case upper:
		return '▀'
	case lower:
		return '▄'
	default:
		return ' '
	}
}

// IsTerminal reports whether w is a terminal: then a QR code is drawn, in explicit colours.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
