package storetest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// maxSkew is how far a request's X-Amz-Date may be from the fake's clock, as AWS allows.
const maxSkew = 5 * time.Minute

const sigv4Mismatch = "The request signature we calculated does not match the signature you provided. " +
	"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."

// verifySigV4 checks r's Authorization header as AWS does, computing the signature again by
// hand: canonical request, string to sign, signing key. It gives the HTTP status, AWS error
// code and message of the first problem, or an empty code.
func verifySigV4(r *http.Request, body []byte, service string, now time.Time) (int, string, string) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return 400, "MissingAuthenticationTokenException", "Missing Authentication Token"
	}
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return 400, "IncompleteSignatureException", "Unsupported AWS 'algorithm'"
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	credential, signedList, signature := fields["Credential"], fields["SignedHeaders"], fields["Signature"]
	scope := strings.Split(credential, "/")
	if len(scope) != 5 || signedList == "" || signature == "" {
		return 400, "IncompleteSignatureException", "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters."
	}
	keyID, date, region, svc, terminator := scope[0], scope[1], scope[2], scope[3], scope[4]

	// The identity: the access key, and the session token that goes with it.
	if keyID != AWSAccessKeyID {
		return 400, "UnrecognizedClientException", "The security token included in the request is invalid."
	}
	if r.Header.Get("X-Amz-Security-Token") != AWSSessionToken {
		return 400, "UnrecognizedClientException", "The security token included in the request is invalid."
	}

	// The scope: date, region, service.
	amzDate := r.Header.Get("X-Amz-Date")
	at, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil {
		return 400, "IncompleteSignatureException", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
	}
	if date != amzDate[:8] {
		return 400, "InvalidSignatureException", fmt.Sprintf("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s'", date, amzDate[:8])
	}
	if d := now.Sub(at); d > maxSkew || d < -maxSkew {
		return 400, "InvalidSignatureException", fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 5 min.)",
			amzDate, now.Add(-maxSkew).UTC().Format("20060102T150405Z"), now.UTC().Format("20060102T150405Z"))
	}
	if region != AWSRegion {
		return 400, "InvalidSignatureException", fmt.Sprintf("Credential should be scoped to a valid region, not '%s'.", region)
	}
	if svc != service {
		return 400, "InvalidSignatureException", fmt.Sprintf("Credential should be scoped to correct service: '%s'.", service)
	}
	if terminator != "aws4_request" {
		return 400, "InvalidSignatureException", "Credential should be scoped with a valid terminator: 'aws4_request'."
	}

	// The signed headers: sorted, lower case, and covering host and every X-Amz-* header.
	signed := strings.Split(signedList, ";")
	if !slices.IsSorted(signed) || strings.ToLower(signedList) != signedList {
		return 400, "InvalidSignatureException", "SignedHeaders must be sorted and lower case."
	}
	if !slices.Contains(signed, "host") {
		return 400, "InvalidSignatureException", "'Host' must be a 'SignedHeader' in the AWS Authorization."
	}
	for name := range r.Header {
		if lower := strings.ToLower(name); strings.HasPrefix(lower, "x-amz-") && !slices.Contains(signed, lower) {
			return 400, "InvalidSignatureException", fmt.Sprintf("'%s' must be a 'SignedHeader' in the AWS Authorization.", name)
		}
	}

	payload := sha256Hex(body)
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" && h != payload {
		return 400, "InvalidSignatureException", "The provided 'x-amz-content-sha256' header does not match what was computed."
	}

	var canonical strings.Builder
	canonical.WriteString(r.Method + "\n")
	canonical.WriteString(awsURIEncode(r.URL.EscapedPath(), false) + "\n") // encoded twice, as every service but S3
	canonical.WriteString(canonicalQuery(r.URL.Query()) + "\n")
	for _, name := range signed {
		canonical.WriteString(name + ":" + headerValue(r, name) + "\n")
	}
	canonical.WriteString("\n" + signedList + "\n" + payload)

	credentialScope := strings.Join(scope[1:], "/")
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + credentialScope + "\n" + sha256Hex([]byte(canonical.String()))
	key := hmacSHA256([]byte("AWS4"+AWSSecretAccessKey), date)
	key = hmacSHA256(key, region)
	key = hmacSHA256(key, svc)
	key = hmacSHA256(key, "aws4_request")
	want := hex.EncodeToString(hmacSHA256(key, toSign))
	if !hmac.Equal([]byte(want), []byte(signature)) {
		return 400, "InvalidSignatureException", sigv4Mismatch
	}
	return 0, "", ""
}

// headerValue gives a header's canonical value: the values joined by commas, each trimmed and
// with runs of spaces made one.
func headerValue(r *http.Request, name string) string {
	if name == "host" {
		return r.Host
	}
	values := r.Header.Values(name)
	for i, v := range values {
		values[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(values, ",")
}

// canonicalQuery encodes every name and value and sorts the pairs.
func canonicalQuery(q url.Values) string {
	var pairs []string
	for name, values := range q {
		for _, v := range values {
			pairs = append(pairs, awsURIEncode(name, true)+"="+awsURIEncode(v, true))
		}
	}
	slices.Sort(pairs)
	return strings.Join(pairs, "&")
}

// awsURIEncode percent-encodes all but the unreserved characters (and '/', unless encodeSlash).
func awsURIEncode(s string, encodeSlash bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~', c == '/' && !encodeSlash:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}
