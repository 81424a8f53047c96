package page

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"time"
	"unicode/utf8"
)

// Token format, version 1:
//
//	token   = base64url, no padding, of: payload | mac
//	payload = 0x01                       version byte
//	          uvarint made                Unix seconds
//	          uvarint lifetime            seconds; the page expires at made + lifetime
//	          uvarint len(env)   | env
//	          uvarint len(appid) | appid
//	          confirm_url                 the rest of the payload
//	mac     = HMAC-SHA256(key, payload)   32 bytes
//
// Varints and a length-less last field keep it compact: a 222-byte confirm_url
// gives a 406-character token, and a page URL under an API Gateway stage of 474. The MAC is checked (hmac.Equal) before
// a single payload byte is parsed, so only a key holder's bytes reach the parser.
const version = 1

// Limits. A token that breaks one is invalid; Token refuses a link that would.
const (
	// MinKeyLen is the shortest key Token and Open use.
	MinKeyLen = 16
	// MaxTTL is the longest page lifetime.
	MaxTTL = 30 * 24 * time.Hour
	// MaxConfirmURL is the longest confirm_url in bytes. WeChat's are ~200;
	// the QR code (level M) holds up to 2331 bytes.
	MaxConfirmURL = 2048
	// maxField is the longest env or appid in bytes.
	maxField = 255
	// maxToken bounds the work done on an untrusted token before its MAC is
	// checked: the longest payload the limits allow, plus the MAC, in base64.
	maxToken = (1 + 2*binary.MaxVarintLen64 + 2*(2+maxField) + MaxConfirmURL + sha256.Size + 2) / 3 * 4
)

var (
	// ErrInvalid: the token is malformed, tampered with, or signed by no
	// accepted key. Answer 404.
	ErrInvalid = errors.New("page: invalid token")
	// ErrExpired: the token is genuine but its page has expired. Answer 410.
	ErrExpired = errors.New("page: page expired")
	// ErrNoKey: Keys has no current key of at least MinKeyLen bytes, so no
	// page can be made (docs/confirmation-pages.md: then no confirm_page is added).
	ErrNoKey = errors.New("page: no page key")
	// ErrLink: the link cannot be put on a page (empty field, not an http(s)
	// URL, over a limit).
	ErrLink = errors.New("page: link not allowed on a page")
)

// keyLabel makes the page key differ from the HTTP secret it is derived
// from, so a page token can never double as an HTTP signature or the reverse.
const keyLabel = "envshare confirmation page key v1"

// DeriveKey derives the default page key from ENVSHARE_HTTP_SECRET:
// HMAC-SHA256(httpSecret, "envshare confirmation page key v1").
func DeriveKey(httpSecret []byte) []byte {
	m := hmac.New(sha256.New, httpSecret)
	m.Write([]byte(keyLabel))
	return m.Sum(nil)
}

// Keys are the page keys: Current signs and verifies, each of Previous only verifies, so
// pages made before a key changed stay valid until they expire.
type Keys struct {
	Current  []byte
	Previous [][]byte
}

// Secrets are the configured values the page keys come from.
type Secrets struct {
	Page         string // ENVSHARE_PAGE_SECRET
	PagePrevious string // ENVSHARE_PAGE_SECRET_PREVIOUS
	HTTP         string // ENVSHARE_HTTP_SECRET
	HTTPPrevious string // ENVSHARE_HTTP_SECRET_PREVIOUS
}

// KeysFrom applies the configuration rule of docs/confirmation-pages.md. The current key is the
// page secret when set, else a key derived from the HTTP secret, else none (Enabled is false).
// Still accepted: the previous page secret; the key derived from the previous HTTP secret (a
// rotation of the HTTP secret); and, while a page secret is set without a previous one, the key
// derived from the HTTP secret (the move from derived pages to a page secret). Setting a previous
// page secret ends that last one.
func KeysFrom(s Secrets) Keys {
	var k Keys
	switch {
	case s.Page != "":
		k.Current = []byte(s.Page)
	case s.HTTP != "":
		k.Current = DeriveKey([]byte(s.HTTP))
	}
	if s.PagePrevious != "" {
		k.Previous = append(k.Previous, []byte(s.PagePrevious))
	}
	if s.Page != "" && s.PagePrevious == "" && s.HTTP != "" {
		k.Previous = append(k.Previous, DeriveKey([]byte(s.HTTP)))
	}
	if s.HTTPPrevious != "" {
		k.Previous = append(k.Previous, DeriveKey([]byte(s.HTTPPrevious)))
	}
	return k
}

// Enabled reports whether pages can be made and served.
func (k Keys) Enabled() bool { return len(k.Current) >= MinKeyLen }

// Link is what a page shows.
type Link struct {
	Env, AppID, ConfirmURL string
	// Made is when the confirmation link was received; kept to the second.
	Made time.Time
}

// Token makes the token of a page showing l until l.Made + ttl.
// ttl is at least a second and at most MaxTTL.
func (k Keys) Token(l Link, ttl time.Duration) (string, error) {
	if !k.Enabled() {
		return "", ErrNoKey
	}
	if err := checkLink(l); err != nil {
		return "", err
	}
	if ttl < time.Second || ttl > MaxTTL {
		return "", fmt.Errorf("%w: page lifetime %s is not within 1s..%s", ErrLink, ttl, MaxTTL)
	}
	p := make([]byte, 0, 1+2*binary.MaxVarintLen64+4+len(l.Env)+len(l.AppID)+len(l.ConfirmURL)+sha256.Size)
	p = append(p, version)
	p = binary.AppendUvarint(p, uint64(l.Made.Unix()))
	p = binary.AppendUvarint(p, uint64(ttl/time.Second))
	p = binary.AppendUvarint(p, uint64(len(l.Env)))
	p = append(p, l.Env...)
	p = binary.AppendUvarint(p, uint64(len(l.AppID)))
	p = append(p, l.AppID...)
	p = append(p, l.ConfirmURL...)
	return seal(k.Current, p), nil
}

func checkLink(l Link) error {
	for _, f := range []struct{ name, v string }{{"env", l.Env}, {"appid", l.AppID}} {
		if f.v == "" || len(f.v) > maxField || !utf8.ValidString(f.v) {
			return fmt.Errorf("%w: %s is empty, longer than %d bytes or not UTF-8", ErrLink, f.name, maxField)
		}
	}
	if l.Made.Unix() < 0 {
		return fmt.Errorf("%w: made before 1970", ErrLink)
	}
	if len(l.ConfirmURL) > MaxConfirmURL || !utf8.ValidString(l.ConfirmURL) {
		return fmt.Errorf("%w: confirm_url longer than %d bytes or not UTF-8", ErrLink, MaxConfirmURL)
	}
	// Only http(s): the page links to it, and a javascript: URL must never
	// become a link, whoever produced it.
	u, err := url.Parse(l.ConfirmURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%w: confirm_url is not an absolute http(s) URL", ErrLink)
	}
	return nil
}

// seal appends the MAC and encodes. The fuzz test calls it to reach the parser.
func seal(key, payload []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(payload)
	return base64.RawURLEncoding.EncodeToString(m.Sum(payload))
}

// Open verifies a token at now and returns the page's link and expiry.
// Errors: ErrInvalid, ErrExpired (the page was genuine but is past its expiry).
func (k Keys) Open(token string, now time.Time) (l Link, expires time.Time, err error) {
	payload, ok := k.unseal(token)
	if !ok {
		return Link{}, time.Time{}, ErrInvalid
	}
	l, lifetime, ok := parse(payload)
	if !ok {
		return Link{}, time.Time{}, ErrInvalid
	}
	expires = l.Made.Add(lifetime)
	if !now.Before(expires) {
		return Link{}, time.Time{}, ErrExpired
	}
	return l, expires, nil
}

// unseal decodes a token and returns its payload when its MAC is that of an accepted key.
func (k Keys) unseal(token string) ([]byte, bool) {
	if len(token) > maxToken {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(raw) < 1+sha256.Size {
		return nil, false
	}
	payload, mac := raw[:len(raw)-sha256.Size], raw[len(raw)-sha256.Size:]
	return payload, k.verify(payload, mac)
}

// verify checks the MAC under every accepted key; each check is constant-time.
func (k Keys) verify(payload, mac []byte) bool {
	for _, key := range append([][]byte{k.Current}, k.Previous...) {
		if len(key) < MinKeyLen {
			continue
		}
		m := hmac.New(sha256.New, key)
		m.Write(payload)
		if hmac.Equal(m.Sum(nil), mac) {
			return true
		}
	}
	return false
}

// parse reads a payload whose MAC has been checked. It holds the limits Token
// holds, so a token signed by some other writer of the same key is no wider.
func parse(p []byte) (l Link, lifetime time.Duration, ok bool) {
	if len(p) == 0 || p[0] != version {
		return Link{}, 0, false
	}
	p = p[1:]
	uvarint := func(max uint64) (uint64, bool) {
		v, n := binary.Uvarint(p)
		if n <= 0 || v > max {
			return 0, false
		}
		p = p[n:]
		return v, true
	}
	field := func() (string, bool) {
		n, ok := uvarint(maxField)
		if !ok || n == 0 || n > uint64(len(p)) {
			return "", false
		}
		s := string(p[:n])
		p = p[n:]
		return s, utf8.ValidString(s)
	}
	made, ok := uvarint(1 << 40) // year 36812: far enough, and no overflow below
	if !ok {
		return Link{}, 0, false
	}
	secs, ok := uvarint(uint64(MaxTTL / time.Second))
	if !ok || secs == 0 {
		return Link{}, 0, false
	}
	env, ok := field()
	if !ok {
		return Link{}, 0, false
	}
	appid, ok := field()
	if !ok {
		return Link{}, 0, false
	}
	l = Link{Env: env, AppID: appid, ConfirmURL: string(p), Made: time.Unix(int64(made), 0).UTC()}
	if checkLink(l) != nil {
		return Link{}, 0, false
	}
	return l, time.Duration(secs) * time.Second, true
}
