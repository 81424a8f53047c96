package page

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/envshare/envshare/pkg/share"
)

var (
	testKeys = Keys{Current: []byte("current-page-key-0123456789")}
	made     = time.Date(2026, 12, 1, 6, 15, 0, 0, time.UTC)
	// A realistic link: the page URL made from it is the one docs/confirmation-pages.md quotes.
	realistic = Link{
		Env: "prod-6gni9ity244a6ea3", AppID: "wx1a2b3c4d5e6f7081", Made: made,
		ConfirmURL: "https://open.weixin.qq.com/wxaopen/tcb/shareenv/confirm?env=prod-6gni9ity244a6ea3" +
			"&appid=wx1a2b3c4d5e6f7081&component_appid=wx9f8e7d6c5b4a3921" +
			"&ticket=T3k9_Qm2XvLp8RzA4bNc7YwE1uHs6GdJ0fKi5MtOq-VxZy&lang=zh_CN#wechat_redirect",
	}
)

func TestTokenRoundTrip(t *testing.T) {
	long := realistic
	long.ConfirmURL = "https://open.weixin.qq.com/?t=" + strings.Repeat("x", MaxConfirmURL-len("https://open.weixin.qq.com/?t="))
	fractional := realistic
	fractional.Made = made.Add(999 * time.Millisecond).In(time.FixedZone("X", 3600))
	unicode := realistic
	unicode.Env, unicode.ConfirmURL = "环境-1", "http://127.0.0.1:8080/确认?a=1&b=[redacted]"
	for _, tc := range []struct {
		name string
		l    Link
		ttl  time.Duration
	}{
		{"realistic, default ttl", realistic, 168 * time.Hour},
		{"longest confirm_url", long, 168 * time.Hour},
		{"one second", realistic, time.Second},
		{"MaxTTL", realistic, MaxTTL},
		{"fraction of a second and a zone are dropped", fractional, time.Hour},
		{"unicode, http, redacted", unicode, time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := testKeys.Token(tc.l, tc.ttl)
			if err != nil {
				t.Fatal(err)
			}
			got, expires, err := testKeys.Open(tok, tc.l.Made)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.l
			want.Made = time.Unix(tc.l.Made.Unix(), 0).UTC()
			if got != want {
				t.Errorf("Open = %+v, want %+v", got, want)
			}
			if !expires.Equal(want.Made.Add(tc.ttl)) {
				t.Errorf("expires = %s, want %s", expires, want.Made.Add(tc.ttl))
			}
		})
	}
}

// TestPageURLLength: the whole page URL for a realistic link stays well under
// 2,000 characters (what old browsers and chat apps cut at).
func TestPageURLLength(t *testing.T) {
	tok, err := testKeys.Token(realistic, 168*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	u, err := URL("https://abc123defg.execute-api.ap-east-1.amazonaws.com/prod/", tok)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("confirm_url %d bytes, token %d, page URL %d", len(realistic.ConfirmURL), len(tok), len(u))
	if len(u) > 1000 {
		t.Errorf("page URL is %d characters", len(u))
	}
}

func TestTokenRefused(t *testing.T) {
	with := func(f func(*Link)) Link { l := realistic; f(&l); return l }
	for _, tc := range []struct {
		name string
		keys Keys
		l    Link
		ttl  time.Duration
		want error
	}{
		{"no key", Keys{}, realistic, time.Hour, ErrNoKey},
		{"short key", Keys{Current: []byte("fifteen bytes..")}, realistic, time.Hour, ErrNoKey},
		{"only a previous key", Keys{Previous: [][]byte{testKeys.Current}}, realistic, time.Hour, ErrNoKey},
		{"no env", testKeys, with(func(l *Link) { l.Env = "" }), time.Hour, ErrLink},
		{"no appid", testKeys, with(func(l *Link) { l.AppID = "" }), time.Hour, ErrLink},
		{"env too long", testKeys, with(func(l *Link) { l.Env = strings.Repeat("e", 256) }), time.Hour, ErrLink},
		{"env not UTF-8", testKeys, with(func(l *Link) { l.Env = "\xff" }), time.Hour, ErrLink},
		{"javascript: URL", testKeys, with(func(l *Link) { l.ConfirmURL = "javascript:alert(1)" }), time.Hour, ErrLink},
		{"relative URL", testKeys, with(func(l *Link) { l.ConfirmURL = "/confirm?x=1" }), time.Hour, ErrLink},
		{"no URL", testKeys, with(func(l *Link) { l.ConfirmURL = "" }), time.Hour, ErrLink},
		{"URL too long", testKeys, with(func(l *Link) { l.ConfirmURL = "https://a/" + strings.Repeat("x", MaxConfirmURL) }), time.Hour, ErrLink},
		{"made before 1970", testKeys, with(func(l *Link) { l.Made = time.Time{} }), time.Hour, ErrLink},
		{"ttl zero", testKeys, realistic, 0, ErrLink},
		{"ttl under a second", testKeys, realistic, time.Millisecond, ErrLink},
		{"ttl over MaxTTL", testKeys, realistic, MaxTTL + time.Second, ErrLink},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.keys.Token(tc.l, tc.ttl); !errors.Is(err, tc.want) {
				t.Errorf("Token error = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	const ttl = 168 * time.Hour
	tok, err := testKeys.Token(realistic, ttl)
	if err != nil {
		t.Fatal(err)
	}
	other := Keys{Current: []byte("another-page-key-0123456789")}
	fromOther, err := other.Token(realistic, ttl)
	if err != nil {
		t.Fatal(err)
	}
	rotated := Keys{Current: other.Current, Previous: [][]byte{testKeys.Current}}
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	payload := raw[:len(raw)-sha256.Size]
	resealed := func(f func(p []byte) []byte) string {
		return seal(testKeys.Current, f(append([]byte(nil), payload...)))
	}
	expiry := made.Add(ttl)
	for _, tc := range []struct {
		name  string
		keys  Keys
		token string
		now   time.Time
		want  error
	}{
		{"valid", testKeys, tok, made, nil},
		{"a second before expiry", testKeys, tok, expiry.Add(-time.Second), nil},
		{"made in the future (clock skew)", testKeys, tok, made.Add(-time.Hour), nil},
		{"at expiry", testKeys, tok, expiry, ErrExpired},
		{"long after", testKeys, tok, expiry.Add(1000 * time.Hour), ErrExpired},
		{"previous key during rotation", rotated, tok, made, nil},
		{"current key during rotation", rotated, fromOther, made, nil},
		{"unknown key", testKeys, fromOther, made, ErrInvalid},
		{"expired and unknown key", testKeys, fromOther, expiry, ErrInvalid},
		{"no keys", Keys{}, tok, made, ErrInvalid},
		{"short previous key is never used", Keys{Current: other.Current, Previous: [][]byte{[]byte("short")}}, seal([]byte("short"), payload), made, ErrInvalid},
		{"empty", testKeys, "", made, ErrInvalid},
		{"padding", testKeys, tok + "=", made, ErrInvalid},
		{"standard base64", testKeys, strings.NewReplacer("-", "+", "_", "/").Replace(tok) + "+/", made, ErrInvalid},
		{"truncated", testKeys, tok[:len(tok)-1], made, ErrInvalid},
		{"MAC only", testKeys, tok[len(tok)-43:], made, ErrInvalid},
		{"too long", testKeys, tok + strings.Repeat("A", maxToken), made, ErrInvalid},
		{"version 2", testKeys, resealed(func(p []byte) []byte { p[0] = 2; return p }), made, ErrInvalid},
		{"lifetime zero", testKeys, seal(testKeys.Current, []byte{version, 1, 0, 1, 'e', 1, 'a', 'h', 't', 't', 'p', ':', '/', '/', 'h'}), made, ErrInvalid},
		{"length past the end", testKeys, seal(testKeys.Current, []byte{version, 1, 1, 9, 'e'}), made, ErrInvalid},
		{"not a URL", testKeys, seal(testKeys.Current, []byte{version, 1, 1, 1, 'e', 1, 'a', 'x'}), made, ErrInvalid},
		{"empty payload", testKeys, seal(testKeys.Current, nil), made, ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, _, err := tc.keys.Open(tc.token, tc.now)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open error = %v, want %v", err, tc.want)
			}
			if err == nil && l != realistic {
				t.Errorf("Open = %+v", l)
			}
		})
	}
}

// TestOpenTamper: changing any one character of a token makes it invalid.
func TestOpenTamper(t *testing.T) {
	tok, err := testKeys.Token(realistic, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for i := range len(tok) {
		b := []byte(tok)
		b[i] ^= 1 // letters stay letters, digits digits, '-' becomes ',' (not base64url)
		if _, _, err := testKeys.Open(string(b), made); !errors.Is(err, ErrInvalid) {
			t.Fatalf("token changed at %d: error = %v, want ErrInvalid", i, err)
		}
	}
}

func TestDeriveKey(t *testing.T) {
	secret := []byte("http-secret-0123456789")
	k := DeriveKey(secret)
	// The label is part of the format: a change would end every page made.
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("envshare confirmation page key v1"))
	if !bytes.Equal(k, m.Sum(nil)) {
		t.Fatalf("DeriveKey = %x", k)
	}
	const want = "2725ab40e7a4f007c22555637437c03f6aa182d3d360a4b7496228d328c13660"
	if got := hex.EncodeToString(DeriveKey([]byte("0123456789abcdef"))); got != want {
		t.Errorf("DeriveKey(0123456789abcdef) = %s, want %s", got, want)
	}
	if bytes.Equal(k, secret) || bytes.Equal(k, DeriveKey([]byte("http-secret-0123456788"))) {
		t.Error("derived key equals its secret or another secret's key")
	}
}

func TestKeysFrom(t *testing.T) {
	const httpSecret, oldHTTP = "http-secret-0123456789", "old-http-secret-0123456789"
	derived, oldDerived := DeriveKey([]byte(httpSecret)), DeriveKey([]byte(oldHTTP))
	page, oldPage := []byte("page-secret-0123456789"), []byte("old-page-secret-0123456789")
	for _, tc := range []struct {
		name    string
		secrets Secrets
		want    Keys
		enabled bool
	}{
		{"page secret wins; the derived key is still accepted", Secrets{Page: string(page), HTTP: httpSecret},
			Keys{Current: page, Previous: [][]byte{derived}}, true},
		{"derived from the HTTP secret", Secrets{HTTP: httpSecret}, Keys{Current: derived}, true},
		{"with a previous key", Secrets{Page: string(page), PagePrevious: string(oldPage)},
			Keys{Current: page, Previous: [][]byte{oldPage}}, true},
		{"a previous page secret ends the derived key", Secrets{Page: string(page), PagePrevious: string(oldPage), HTTP: httpSecret},
			Keys{Current: page, Previous: [][]byte{oldPage}}, true},
		{"derived, with the previous HTTP secret's key", Secrets{HTTP: httpSecret, HTTPPrevious: oldHTTP},
			Keys{Current: derived, Previous: [][]byte{oldDerived}}, true},
		{"neither: no pages", Secrets{}, Keys{}, false},
		{"only a previous key: no pages", Secrets{PagePrevious: string(oldPage)}, Keys{Previous: [][]byte{oldPage}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := KeysFrom(tc.secrets)
			if !bytes.Equal(got.Current, tc.want.Current) || !slices.EqualFunc(got.Previous, tc.want.Previous, bytes.Equal) {
				t.Errorf("KeysFrom = %+v, want %+v", got, tc.want)
			}
			if got.Enabled() != tc.enabled {
				t.Errorf("Enabled = %v, want %v", got.Enabled(), tc.enabled)
			}
		})
	}
}

// FuzzVerify: whatever the token, Open answers a link, ErrInvalid or
// ErrExpired, and Serve answers 200, 404 or 410, never a panic or a 500. With
// signed set, the input is signed first, so the payload parser sees it.
func FuzzVerify(f *testing.F) {
	tok, err := testKeys.Token(realistic, time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	f.Add([]byte(tok), false)
	f.Add(raw[:len(raw)-sha256.Size], true)
	f.Add([]byte{version, 0x80, 0x80, 1, 1, 'e', 1, 'a'}, true)
	f.Add([]byte(""), false)
	f.Fuzz(func(t *testing.T, data []byte, signed bool) {
		token := string(data)
		if signed {
			token = seal(testKeys.Current, append([]byte(nil), data...))
		}
		l, expires, err := testKeys.Open(token, made)
		switch {
		case err == nil:
			if !expires.After(made) {
				t.Fatalf("valid page expires %s, not after now", expires)
			}
			again, err := testKeys.Token(l, expires.Sub(l.Made))
			if err != nil {
				t.Fatalf("an opened link cannot be made again: %v", err)
			}
			if l2, _, err := testKeys.Open(again, made); err != nil || l2 != l {
				t.Fatalf("round trip: %+v, %v; want %+v", l2, err, l)
			}
		case errors.Is(err, ErrInvalid), errors.Is(err, ErrExpired):
		default:
			t.Fatalf("Open error = %v", err)
		}
		if s := Serve(testKeys, token, made).Status; s != 200 && s != 404 && s != 410 {
			t.Fatalf("Serve status = %d", s)
		}
	})
}

// A link the share service delivers always fits a page.
func TestTheLongestDeliveredLinkFitsAPage(t *testing.T) {
	if MaxConfirmURL != share.MaxConfirmURL {
		t.Errorf("page.MaxConfirmURL = %d, share.MaxConfirmURL = %d: a delivered link could get no page", MaxConfirmURL, share.MaxConfirmURL)
	}
}
