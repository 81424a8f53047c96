// Package signature implements the contract's HMAC scheme, used both to verify HTTP requests
// (ENVSHARE_HTTP_AUTH=hmac) and to sign the confirmation-link notifications we send:
//
//	X-Envshare-Timestamp: <unix seconds>
//	X-Envshare-Signature: sha256=<lowercase hex HMAC-SHA256(secret, timestamp + "." + body)>
package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
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

// ErrInvalid is the only error Verify returns: callers must not tell which part failed.
var ErrInvalid = errors.New("invalid signature")

// Sign returns the X-Envshare-Signature value for body at timestamp ts (unix seconds).
func Sign(secret string, ts int64, body []byte) string {
	return "sha256=" + hex.EncodeToString(mac(secret, strconv.FormatInt(ts, 10), body))
}

// Verify checks a timestamp header and a signature header against body, at time now.
// The comparison is constant-time.
func Verify(secret, timestamp, sig string, body []byte, now time.Time) error {
	ts, err := strconv.ParseInt(strings.TrimSpace(timestamp), 10, 64)
	if err != nil {
		return ErrInvalid
	}
	if d := now.Sub(time.Unix(ts, 0)); d > Window || d < -Window {
		return ErrInvalid
	}
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(sig), "sha256=")
	if !ok {
		return ErrInvalid
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return ErrInvalid
	}
	// Sign over the timestamp exactly as sent, so that "0123" and "123" are not confused.
	if !hmac.Equal(got, mac(secret, strings.TrimSpace(timestamp), body)) {
		return ErrInvalid
	}
	return nil
}

func mac(secret, timestamp string, body []byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(timestamp))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}
