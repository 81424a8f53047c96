package storetest

import (
	"crypto/hmac"
	"encoding/hex"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxTC3Skew is how far a request's X-TC-Timestamp may be from the fake's clock, as Tencent allows.
const maxTC3Skew = 5 * time.Minute

// verifyTC3 checks r's Authorization header as Tencent Cloud API v3 does, computing the
// TC3-HMAC-SHA256 signature again by hand for service (ssm, scf). It gives the error code and
// message of the first problem, or an empty code.
func verifyTC3(r *http.Request, body []byte, service string, now time.Time) (string, string) {
	rest, ok := strings.CutPrefix(r.Header.Get("Authorization"), "TC3-HMAC-SHA256 ")
	if !ok {
		return "AuthFailure.InvalidAuthorization", "The Authorization header is not TC3-HMAC-SHA256."
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	signedList, signature := fields["SignedHeaders"], fields["Signature"]
	if len(scope) != 4 || signedList == "" || signature == "" {
		return "AuthFailure.InvalidAuthorization", "Authorization needs Credential, SignedHeaders and Signature."
	}
	secretID, date, svc, terminator := scope[0], scope[1], scope[2], scope[3]
	if secretID != TencentSecretID {
		return "AuthFailure.SecretIdNotFound", "The SecretId is not found, please ensure that your SecretId is correct."
	}
	if r.Header.Get("X-TC-Token") != TencentSessionToken {
		return "AuthFailure.TokenFailure", "The token is invalid."
	}

	ts := r.Header.Get("X-TC-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "AuthFailure.InvalidAuthorization", "X-TC-Timestamp is not a Unix time."
	}
	at := time.Unix(sec, 0).UTC()
	if d := now.Sub(at); d > maxTC3Skew || d < -maxTC3Skew {
		return "AuthFailure.SignatureExpire", "The signature has expired: the request's timestamp is more than 5 minutes away from the server's time."
	}
	if date != at.Format("2006-01-02") {
		return "AuthFailure.InvalidAuthorization", "The date in the credential scope is not the timestamp's UTC date."
	}
	if svc != service || terminator != "tc3_request" {
		return "AuthFailure.InvalidAuthorization", "The credential scope must be <date>/" + service + "/tc3_request."
	}

	signed := strings.Split(signedList, ";")
	if !slices.IsSorted(signed) || !slices.Contains(signed, "content-type") || !slices.Contains(signed, "host") {
		return "AuthFailure.InvalidAuthorization", "SignedHeaders must be sorted and include content-type and host."
	}
	var headers strings.Builder
	for _, name := range signed {
		value := r.Header.Get(name)
		if name == "host" {
			value = r.Host
		}
		headers.WriteString(name + ":" + strings.ToLower(strings.TrimSpace(value)) + "\n")
	}
	canonical := r.Method + "\n/\n" + r.URL.RawQuery + "\n" + headers.String() + "\n" + signedList + "\n" + sha256Hex(body)
	credentialScope := date + "/" + svc + "/tc3_request"
	toSign := "TC3-HMAC-SHA256\n" + ts + "\n" + credentialScope + "\n" + sha256Hex([]byte(canonical))
	key := hmacSHA256([]byte("TC3"+TencentSecretKey), date)
	key = hmacSHA256(key, svc)
	key = hmacSHA256(key, "tc3_request")
	want := hex.EncodeToString(hmacSHA256(key, toSign))
	if !hmac.Equal([]byte(want), []byte(signature)) {
		return "AuthFailure.SignatureFailure", "The provided credentials could not be validated. Please check your signature is correct."
	}
	return "", ""
}
