package trigger

import (
	"crypto/sha256"
	"crypto/subtle"
	"strings"

	"github.com/envshare/envshare/pkg/signature"
)

// authorized checks the request's credentials; it never tells which part failed.
func (a *App) authorized(mode, secret string, req HTTPRequest, rt route, method string, body []byte) bool {
	switch mode {
	case "none":
		return true
	case "bearer":
		scheme, token, ok := strings.Cut(strings.TrimSpace(header(req, "Authorization")), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return false
		}
		// Compare digests so that neither the content nor the length of the secret leaks.
		got, want := sha256.Sum256([]byte(strings.TrimSpace(token))), sha256.Sum256([]byte(secret))
		return subtle.ConstantTimeCompare(got[:], want[:]) == 1
	case "hmac":
		ts, sig := header(req, signature.TimestampHeader), header(req, signature.SignatureHeader)
		signed := signature.Request{Method: method, Route: rt.suffix, Query: req.Query}
		if method != "GET" {
			signed.Body = body
		}
		return signature.VerifyRequest(secret, ts, sig, signed, a.now()) == nil
	default:
		return false
	}
}

// header returns the value of a header, matching its name case-insensitively across Headers
// and MultiValueHeaders. A header that arrives with two different values (two spellings of its
// name, or several values) counts as absent, so that credentials built from it fail closed,
// the same way on every run: no dependence on map order.
func header(req HTTPRequest, name string) string {
	var value string
	n := 0
	see := func(v string) {
		if n == 0 || v != value {
			value = v
			n++
		}
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			see(v)
		}
	}
	for k, vs := range req.MultiValueHeaders {
		if strings.EqualFold(k, name) {
			for _, v := range vs {
				see(v)
			}
		}
	}
	if n != 1 {
		return ""
	}
	return value
}
