package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/browsertest"
	"github.com/envshare/envshare/internal/eventtest"
	"github.com/envshare/envshare/pkg/signature"
)

// The terminal's QR code is read back by the same decoder as the page's screenshots: each
// character is turned into its two modules again, light where the glyph is lit.
func TestTheTerminalQRCodeReadsBackAsTheLink(t *testing.T) {
	const link = "https://open.weixin.qq.com/wxaopen/tcb/shareenv/confirm?env=prod-6gni9ity244a6ea3&appid=wx1a2b3c4d5e6f7081#wechat_redirect"
	for _, ansi := range []bool{false, true} {
		text, err := terminalQR(link, ansi)
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

func TestResignKeepsTheSamplesAge(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	event := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "..", "events", "aws", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	check := func(ev []byte) error {
		var m map[string]any
		if err := json.Unmarshal(ev, &m); err != nil {
			t.Fatal(err)
		}
		req, ok := signedRequest(m)
		if !ok {
			t.Fatal("not a signed request")
		}
		return signature.VerifyRequest(eventtest.TestSecret, eventHeader(m, signature.TimestampHeader),
			eventHeader(m, signature.SignatureHeader), req, now)
	}

	fresh, note, err := resign(event("httpapi-v2-hmac-signed"), eventtest.TestSecret, 1_700_000_042, now)
	if err != nil || !strings.Contains(note, "42 s ago") || check(fresh) != nil {
		t.Errorf("the signed sample: %v, %q; valid now: %v", err, note, check(fresh))
	}
	stale, note, err := resign(event("httpapi-v2-hmac-stale"), eventtest.TestSecret, 1_700_000_000, now)
	if err != nil || !strings.Contains(note, "600 s ago") || check(stale) == nil {
		t.Errorf("the stale sample must stay stale: %v, %q", err, note)
	}
	// A signature made with another secret is no signature of the sample's: left as it is.
	wrong, note, err := resign(event("httpapi-v2-hmac-signed"), "another-secret-entirely", 1_700_000_042, now)
	if err != nil || !bytes.Equal(wrong, event("httpapi-v2-hmac-signed")) || !strings.Contains(note, "does not verify") {
		t.Errorf("a wrong signature was re-signed: %v, %q", err, note)
	}
	plain, note, err := resign(event("httpapi-v2-share"), eventtest.TestSecret, 1_700_000_000, now)
	if err != nil || note != "" || !bytes.Equal(plain, event("httpapi-v2-share")) {
		t.Errorf("an unsigned sample was changed: %v, %q", err, note)
	}
}

// make invoke on the sample: re-signed at the real time, its answer is its golden.
// Also a sample whose invocation is an error, and one of SCF.
func TestInvokeAnswersTheGoldens(t *testing.T) {
	if testing.Short() {
		t.Skip("builds both function binaries")
	}
	for _, sample := range []string{"aws/httpapi-v2-hmac-signed", "aws/httpapi-v2-hmac-stale",
		"aws/direct-bindings-upstream-busy", "scf/apigw-share"} {
		t.Run(sample, func(t *testing.T) {
			isolateEnv(t, nil)
			var out bytes.Buffer
			err := invoke(context.Background(), &out, []string{filepath.Join("..", "..", "events", sample+".json")})
			if err != nil || !strings.Contains(out.String(), "The answer matches") {
				t.Errorf("invoke: %v\n%s", err, out.String())
			}
		})
	}
}

func TestADifferentAnswerIsShownAsADiff(t *testing.T) {
	golden := filepath.Join(t.TempDir(), "x.golden.json")
	os.WriteFile(golden, []byte(`{"statusCode":200,"body":"{\"ok\":true,\"summary\":{\"shared\":1,\"failed\":0}}"}`), 0o644)
	var out bytes.Buffer
	err := compareGolden(&out, golden, []byte(`{"statusCode":200,"body":"{\"ok\":false,\"summary\":{\"shared\":0,\"failed\":1}}"}`))
	if err == nil {
		t.Fatal("a different answer matched")
	}
	for _, want := range []string{"--- " + golden, "+++ answer", `-     "ok": true,`, `+     "ok": false,`, `-       "shared": 1,`, `+       "failed": 1`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the diff lacks %q:\n%s", want, out.String())
		}
	}
}
