package trigger

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"strings"

	"github.com/envshare/envshare/pkg/signature"
)

// Reasons an HTTP authentication fails, for the function's log only: the answer is the same
// opaque 401 whatever failed. None names the secret, the token or the signature sent.
const (
	authMissingHeader    = "missing_header"   // no Authorization, or no timestamp / signature header
	authAmbiguousHeader  = "ambiguous_header" // the header arrived with two different values
	authWrongScheme      = "wrong_scheme"     // Authorization is not "Bearer <token>"
	authBadToken         = "bad_token"        // bearer: another token
	authExpiredTimestamp = "expired_timestamp"
	authBadTimestamp     = "malformed_timestamp"
	authBadSignature     = "bad_signature"       // hmac: another secret, or other bytes signed
	authMalformedSig     = "malformed_signature" // hmac: not sha256= and 64 lowercase hex digits
	authUnknownMode      = "unknown_mode"
)

// authorized checks the request's credentials. It returns "" when they pass, else the reason
// class they failed for, which only the log may show.
func (a *App) authorized(mode, secret string, req HTTPRequest, rt route, method string, body []byte) string {
	switch mode {
	case "none":
		return ""
	case "bearer":
		value, problem := header(req, "Authorization")
		if problem != "" {
			return problem
		}
		scheme, token, ok := strings.Cut(strings.TrimSpace(value), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return authWrongScheme
		}
		// Compare digests so that neither the content nor the length of the secret leaks.
		got, want := sha256.Sum256([]byte(strings.TrimSpace(token))), sha256.Sum256([]byte(secret))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			return authBadToken
		}
		return ""
	case "hmac":
		ts, problem := header(req, signature.TimestampHeader)
		sig, sigProblem := header(req, signature.SignatureHeader)
		if problem == "" {
			problem = sigProblem
		}
		if problem != "" {
			return problem
		}
		signed := signature.Request{Method: method, Route: rt.suffix, Query: req.Query}
		if method != "GET" {
			signed.Body = body
		}
		return hmacReason(signature.VerifyRequest(secret, ts, sig, signed, a.now()))
	default:
		return authUnknownMode
	}
}

// hmacReason names the class of a signature check's failure ("" for none).
func hmacReason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, signature.ErrMissing):
		return authMissingHeader
	case errors.Is(err, signature.ErrExpired):
		return authExpiredTimestamp
	case errors.Is(err, signature.ErrMalformedTime):
		return authBadTimestamp
	case errors.Is(err, signature.ErrMalformedMAC):
		return authMalformedSig
	default:
		return authBadSignature
	}
}

// header returns the value of a header, matching its name case-insensitively across Headers
// and MultiValueHeaders, or why there is none: authMissingHeader, or authAmbiguousHeader for a
// header that arrives with two different values (two spellings of its name, or several
// values), so that credentials built from it fail closed, the same way on every run: no
// dependence on map order.
func header(req HTTPRequest, name string) (string, string) {
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
	switch {
	case n == 0:
		return "", authMissingHeader
	case n > 1:
		return "", authAmbiguousHeader
	}
	return value, ""
}
