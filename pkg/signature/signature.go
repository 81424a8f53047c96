// Package signature implements envshare's two HMAC-SHA256 schemes, both sent as
//
//	X-Envshare-Timestamp: <unix seconds>
//	X-Envshare-Signature: sha256=<lowercase hex HMAC-SHA256(secret, S)>
//
// Requests to the HTTP routes (ENVSHARE_HTTP_AUTH=hmac) sign the whole request, so that a signature
// made for POST /share can never be replayed on /unshare and a signed GET /bindings cannot be
// re-pointed at other appids (docs/triggers.md, Authentication):
//
//	S = timestamp "\n" METHOD "\n" route "\n" canonical_query "\n" body
//
// The notifications the function sends sign timestamp "." body: their receiver owns its URL.
//
// It is a public package, the published form of both schemes: the function's HTTP
// authentication and its notifier use it, and so may a client of a deployed envshare or the
// receiver of its notifications.
package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Header names (case-insensitive on the wire).
const (
	TimestampHeader = "X-Envshare-Timestamp"
	SignatureHeader = "X-Envshare-Signature"
)

// Window is how far a timestamp may be from now.
const Window = 300 * time.Second

// ErrInvalid is wrapped by every error the checks return. A server answers every one of them
// the same way (401, saying nothing about which part failed); the finer reasons below are for
// its own log, so that an operator learns why requests are refused.
var ErrInvalid = errors.New("invalid signature")

// The reasons a check fails; each wraps ErrInvalid. None holds the secret, the signature or
// the timestamp sent.
var (
	ErrMissing          error = reason("timestamp or signature missing")
	ErrExpired          error = reason("timestamp more than 5m0s away from now") // Window
	ErrMalformedTime    error = reason("timestamp is not unix seconds")
	ErrMalformedMAC     error = reason("signature is not sha256= and 64 lowercase hex digits")
	ErrSignatureInvalid error = reason("signature does not match (another secret, or other bytes signed)")
)

// reason is one of those errors: "invalid signature: " and why, and ErrInvalid to errors.Is.
// (Constants rather than fmt.Errorf values: the package's initialisation is part of every
// cold start.)
type reason string

func (r reason) Error() string { return ErrInvalid.Error() + ": " + string(r) }
func (r reason) Unwrap() error { return ErrInvalid }

// Request is what a request signature covers.
type Request struct {
	Method string              // upper case on the wire; compared upper-cased
	Route  string              // the matched route, such as "/share", whatever prefix stood before it
	Query  map[string][]string // decoded query parameters
	Body   []byte              // the bytes the client sent (after base64 decoding); empty for GET
}

// head is S between the timestamp and the body; the body is hashed as it is, never copied.
func (r Request) head() []byte {
	return []byte(strings.ToUpper(r.Method) + "\n" + r.Route + "\n" + CanonicalQuery(r.Query) + "\n")
}

// SignRequest returns the X-Envshare-Signature value of r at timestamp ts (unix seconds).
func SignRequest(secret string, ts int64, r Request) string {
	return "sha256=" + hex.EncodeToString(mac(secret, strconv.FormatInt(ts, 10), '\n', r.head(), r.Body))
}

// VerifyRequest checks the timestamp and signature headers of r at time now, in constant time.
func VerifyRequest(secret, timestamp, sig string, r Request, now time.Time) error {
	return verify(secret, timestamp, sig, '\n', now, r.head(), r.Body)
}

// Sign returns the X-Envshare-Signature value of a notification body at timestamp ts.
func Sign(secret string, ts int64, body []byte) string {
	return "sha256=" + hex.EncodeToString(mac(secret, strconv.FormatInt(ts, 10), '.', body))
}

// Verify checks a notification's headers against its body at time now (for receivers and
// tests), in constant time.
func Verify(secret, timestamp, sig string, body []byte, now time.Time) error {
	return verify(secret, timestamp, sig, '.', now, body)
}

func verify(secret, timestamp, sig string, sep byte, now time.Time, payload ...[]byte) error {
	timestamp, sig = strings.TrimSpace(timestamp), strings.TrimSpace(sig)
	if timestamp == "" || sig == "" {
		return ErrMissing
	}
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return ErrMalformedTime
	}
	if d := now.Sub(time.Unix(ts, 0)); d > Window || d < -Window {
		return ErrExpired
	}
	hexSig, ok := strings.CutPrefix(sig, "sha256=")
	if !ok || !lowerHex(hexSig) {
		return ErrMalformedMAC
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return ErrMalformedMAC
	}
	// Sign over the timestamp exactly as sent, so that "0123" and "123" are not confused.
	if !hmac.Equal(got, mac(secret, timestamp, sep, payload...)) {
		return ErrSignatureInvalid
	}
	return nil
}

// lowerHex reports whether s is 64 lowercase hex digits: one spelling per signature.
func lowerHex(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// mac is HMAC-SHA256(secret, timestamp sep payload...).
func mac(secret, timestamp string, sep byte, payload ...[]byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(timestamp))
	h.Write([]byte{sep})
	for _, p := range payload {
		h.Write(p)
	}
	return h.Sum(nil)
}

// CanonicalQuery writes decoded query parameters as the signature covers them: one name=value
// pair per value of a repeated name, sorted by name then value (byte order), each part
// percent-encoded as RFC 3986 says (A-Za-z0-9-._~ kept, every other byte %XX in upper case),
// joined by "&"; "" when there are none. ?appids=wx1,wx2 gives appids=wx1%2Cwx2.
func CanonicalQuery(query map[string][]string) string {
	var pairs [][2]string
	for name, values := range query {
		for _, v := range values {
			pairs = append(pairs, [2]string{escape(name), escape(v)})
		}
	}
	slices.SortFunc(pairs, func(a, b [2]string) int {
		if c := strings.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return strings.Compare(a[1], b[1])
	})
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = p[0] + "=" + p[1]
	}
	return strings.Join(parts, "&")
}

// escape percent-encodes s as RFC 3986 section 2 says.
func escape(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}
