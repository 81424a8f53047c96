// Package awsjson makes one call of an AWS service's JSON protocol (AWS JSON 1.0 and 1.1:
// Secrets Manager, SSM, SQS, DynamoDB) signed with smithy-go's SigV4 signer, the SDK's
// endpoint precedence and error shape, and nothing else of AWS. It is a public package: the one
// copy of that request for pkg/statetoken/awsstate and envshare's own stores, which add their
// operations, retries and error types on top.
package awsjson

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/aws/smithy-go/aws-http-auth/credentials"
	"github.com/aws/smithy-go/aws-http-auth/sigv4"
	v4 "github.com/aws/smithy-go/aws-http-auth/v4"
)

// Credentials are AWS credentials (temporary ones carry a session token).
type Credentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
}

// EnvCredentials reads AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, as
// Lambda sets them from the execution role; the caller says what is missing.
func EnvCredentials() Credentials {
	return Credentials{os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SESSION_TOKEN")}
}

// EnvRegion reads AWS_REGION, else AWS_DEFAULT_REGION.
func EnvRegion() string { return cmp.Or(os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION")) }

// Endpoint gives the URL a service's requests are posted to, with the SDK's precedence: option,
// the service's variable (such as AWS_ENDPOINT_URL_SSM), AWS_ENDPOINT_URL (both variables
// ignored when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true), the region's public endpoint of
// service (its host prefix). A variable that is no http(s) URL is an error naming it.
func Endpoint(option, service, serviceVar, region string) (string, error) {
	base := option
	if base == "" && !strings.EqualFold(os.Getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true") {
		for _, name := range []string{serviceVar, "AWS_ENDPOINT_URL"} {
			if v := os.Getenv(name); v != "" {
				if err := CheckEndpoint(v); err != nil {
					return "", fmt.Errorf("%s %w", name, err)
				}
				base = v
				break
			}
		}
	}
	if base == "" {
		base = "https://" + service + "." + region + ".amazonaws.com"
		if strings.HasPrefix(region, "cn-") {
			base += ".cn"
		}
	}
	// The operation's path is "/", after whatever path the endpoint has.
	return strings.TrimRight(base, "/") + "/", nil
}

// CheckEndpoint refuses what is not an http(s) URL; the message does not quote the value.
func CheckEndpoint(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return errors.New("is not an http(s) URL such as https://ssm.us-east-1.amazonaws.com")
	}
	return nil
}

// Request is one call.
type Request struct {
	Endpoint    string // the URL posted to (Endpoint gives it)
	Service     string // the SigV4 signing name, such as "ssm"
	Region      string
	ContentType string // application/x-amz-json-1.0 or application/x-amz-json-1.1
	Target      string // X-Amz-Target, such as "AmazonSSM.GetParameter"
	Body        []byte // the JSON input
	Credentials Credentials
}

// MaxErrorBytes bounds what is read of an answer that is not a success.
const MaxErrorBytes = 64 << 10

// signer signs Content-Type besides what SigV4 requires (Host, X-Amz-*), as the SDK does.
var signer = sigv4.New(func(o *v4.SignerOptions) { o.HeaderRules = signedHeaders{} })

type signedHeaders struct{}

func (signedHeaders) IsSigned(h string) bool {
	return h == "host" || h == "content-type" || strings.HasPrefix(h, "x-amz-")
}

// NoAnswerError is a failure to send the request or to read the answer: the call may succeed
// when made again. Its text names the endpoint and the cause, never a credential.
type NoAnswerError struct{ Err error }

func (e *NoAnswerError) Error() string { return e.Err.Error() }
func (e *NoAnswerError) Unwrap() error { return e.Err }

// Answer is a service's answer: its status, headers and body (at most the maxBody given to
// Send plus one byte, so that Decode tells a larger one; at most MaxErrorBytes of a failure).
type Answer struct {
	Status int
	Header http.Header
	Body   []byte

	maxBody int
}

// Send signs r, posts it with client and reads the answer. An error is a *NoAnswerError when
// the request was built and signed but no whole answer came back.
func Send(ctx context.Context, client *http.Client, r Request, maxBody int) (*Answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.Endpoint, bytes.NewReader(r.Body))
	if err != nil {
		return nil, fmt.Errorf("build the request: %w", err)
	}
	req.Header.Set("Content-Type", r.ContentType)
	req.Header.Set("X-Amz-Target", r.Target)
	hash := sha256.Sum256(r.Body)
	creds := credentials.Credentials{AccessKeyID: r.Credentials.AccessKeyID, SecretAccessKey: r.Credentials.SecretAccessKey,
		SessionToken: r.Credentials.SessionToken}
	if err := signer.SignRequest(&sigv4.SignRequestInput{
		Request: req, PayloadHash: hash[:], Credentials: creds, Service: r.Service, Region: r.Region,
	}); err != nil {
		return nil, fmt.Errorf("sign the request: %w", err)
	}

	resp, err := client.Do(req)
	if err != nil {
		return nil, &NoAnswerError{err} // *url.Error: names the endpoint, never a credential
	}
	defer resp.Body.Close()
	a := &Answer{Status: resp.StatusCode, Header: resp.Header, maxBody: maxBody}
	limit := int64(maxBody) + 1
	if !a.OK() {
		limit = MaxErrorBytes
	}
	if a.Body, err = io.ReadAll(io.LimitReader(resp.Body, limit)); err != nil {
		return nil, &NoAnswerError{fmt.Errorf("read the answer (HTTP status %d): %w", resp.StatusCode, err)}
	}
	return a, nil
}

// OK reports a success (HTTP 2xx).
func (a *Answer) OK() bool { return a.Status >= 200 && a.Status <= 299 }

// RequestID is AWS's id of the request, for support.
func (a *Answer) RequestID() string { return a.Header.Get("X-Amzn-Requestid") }

// Decode decodes a successful answer's body into out. Its errors never quote the body, which
// holds what was read (a secret).
func (a *Answer) Decode(out any) error {
	if len(a.Body) > a.maxBody {
		return fmt.Errorf("the answer is larger than %d KiB (HTTP status %d, request id %s)", a.maxBody>>10, a.Status, a.RequestID())
	}
	if err := json.Unmarshal(a.Body, out); err != nil {
		return fmt.Errorf("the answer is not the expected JSON (HTTP status %d, request id %s)", a.Status, a.RequestID())
	}
	return nil
}

// ErrorCode reads an AWS JSON error answer: the code is in the X-Amzn-Errortype header or the
// body's "__type" (or "code"), the message in "message" (or "Message"). Both are empty when the
// answer is not an AWS error (such as a proxy's page).
func (a *Answer) ErrorCode() (code, message string) {
	var e struct {
		Type    string `json:"__type"`
		Code    string `json:"code"`
		Message string `json:"message"`
		Upper   string `json:"Message"`
	}
	_ = json.Unmarshal(a.Body, &e) // not JSON: not an AWS error, reported by status alone
	code = errorCode(cmp.Or(a.Header.Get("X-Amzn-Errortype"), e.Type, e.Code))
	if code == "" {
		return "", ""
	}
	return code, cmp.Or(e.Message, e.Upper)
}

// errorCode strips what AWS may put around an error code: a namespace
// ("com.amazonaws.sqs#QueueDoesNotExist") or a trailing URL ("ParameterNotFound:http://...").
func errorCode(s string) string {
	if i := strings.IndexByte(s, ':'); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '#'); i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimSpace(s)
}
