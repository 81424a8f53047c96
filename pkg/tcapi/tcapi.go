// Package tcapi makes one call of a Tencent Cloud API (v3, TC3-HMAC-SHA256) through the
// Tencent Cloud SDK's common client, so that no per-service package of the SDK is linked. It
// is a public package: the one copy of that call for pkg/statetoken/tencentstate and
// envshare's own stores, which add their actions, retries and error types on top.
//
// The SDK's own client errors (ParseJsonError, HttpStatusCodeError, IOError) quote the
// answer's body, which can hold a secret: an *Error keeps their code and the HTTP status, and
// withholds their text.
package tcapi

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tcerr "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
)

// DefaultRegion is the region when TENCENTCLOUD_REGION is unset (SCF always sets it).
const DefaultRegion = "ap-guangzhou"

// Credentials are Tencent Cloud credentials (a role's temporary ones carry a session token).
type Credentials struct {
	SecretID, SecretKey, SessionToken string
}

// EnvCredentials reads TENCENTCLOUD_SECRETID, TENCENTCLOUD_SECRETKEY and
// TENCENTCLOUD_SESSIONTOKEN, as SCF sets them from the execution role; the caller says what is
// missing.
func EnvCredentials() Credentials {
	return Credentials{os.Getenv("TENCENTCLOUD_SECRETID"), os.Getenv("TENCENTCLOUD_SECRETKEY"), os.Getenv("TENCENTCLOUD_SESSIONTOKEN")}
}

// EnvRegion reads TENCENTCLOUD_REGION, else DefaultRegion.
func EnvRegion() string { return cmp.Or(os.Getenv("TENCENTCLOUD_REGION"), DefaultRegion) }

// Endpoint is where the calls go instead of https://<service>.tencentcloudapi.com.
type Endpoint struct {
	Scheme string // "HTTP" or "HTTPS"
	Host   string
}

// ParseEndpoint checks an http(s) URL without a path, such as http://127.0.0.1:9000; the
// message does not quote the value.
func ParseEndpoint(s, service string) (Endpoint, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return Endpoint{}, fmt.Errorf("is not an http(s) URL such as https://%s.tencentcloudapi.com", service)
	}
	return Endpoint{strings.ToUpper(u.Scheme), u.Host}, nil
}

// Request is one call.
type Request struct {
	Service, Version, Action string // such as "ssm", "2019-09-23", "GetSecretValue"
	Params                   map[string]any
	Region                   string
	Credentials              Credentials
	Endpoint                 Endpoint          // zero: the SDK's default
	Transport                http.RoundTripper // nil: the SDK's default
}

// Error is a failed call: the API's error code and message and the request id, or, for the
// SDK's own client errors (code ClientError.*), the HTTP status instead of the SDK's message.
type Error struct {
	Code      string
	Message   string
	RequestID string
	Status    int // HTTP status of the answer; 0 when there was none
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Code)
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Status != 0 && e.Status != http.StatusOK {
		fmt.Fprintf(&b, " (HTTP status %d)", e.Status)
	}
	if e.RequestID != "" {
		b.WriteString(" (request id " + e.RequestID + ")")
	}
	return b.String()
}

// Withheld replaces the SDK's message for its own client errors.
const Withheld = "the SDK's message is withheld as it may quote the answer"

// answer is the shape of every Tencent Cloud API v3 answer; errors are parsed by BaseResponse.
type answer[T any] struct {
	*tchttp.BaseResponse
	Response *T
}

// Call makes r with a client of its own (building one is cheap, no I/O; its transport then
// records the HTTP status of this call alone) and gives the answer's "Response". The
// context bounds the call. An error the SDK reports is an *Error.
func Call[T any](ctx context.Context, r Request) (*T, error) {
	cpf := profile.NewClientProfile()
	cpf.HttpProfile.ReqTimeout = 0 // the context bounds the call
	cpf.Language = "en-US"
	if r.Endpoint.Host != "" {
		cpf.HttpProfile.Scheme, cpf.HttpProfile.Endpoint = r.Endpoint.Scheme, r.Endpoint.Host
	}
	cred := common.NewTokenCredential(r.Credentials.SecretID, r.Credentials.SecretKey, r.Credentials.SessionToken)
	client := common.NewCommonClient(cred, r.Region, cpf)
	status := &statusTransport{base: r.Transport}
	if status.base == nil {
		status.base = http.DefaultTransport
	}
	client.WithHttpTransport(status)

	req := tchttp.NewCommonRequest(r.Service, r.Version, r.Action)
	if err := req.SetActionParameters(r.Params); err != nil {
		return nil, fmt.Errorf("encode the request: %w", err)
	}
	req.SetContext(ctx)
	out := &answer[T]{BaseResponse: &tchttp.BaseResponse{}}
	if err := client.Send(req, out); err != nil {
		return nil, sdkError(err, int(status.status.Load()))
	}
	if out.Response == nil {
		return nil, errors.New("the answer holds no Response")
	}
	return out.Response, nil
}

// sdkError turns the SDK's error into an *Error, its client errors' text dropped. A network
// error's text names the endpoint and the cause only, and is kept.
func sdkError(err error, status int) error {
	var e *tcerr.TencentCloudSDKError
	if !errors.As(err, &e) {
		return err
	}
	out := &Error{Code: e.Code, Message: e.Message, RequestID: e.RequestId, Status: status}
	if strings.HasPrefix(e.Code, "ClientError") && e.Code != "ClientError.NetworkError" {
		out.Message = Withheld
	}
	return out
}

// statusTransport remembers the HTTP status of the answer: the SDK reports a 5xx whose body is
// not JSON (a gateway's page) only as a JSON parse error.
type statusTransport struct {
	base   http.RoundTripper
	status atomic.Int32
}

func (t *statusTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if resp != nil {
		t.status.Store(int32(resp.StatusCode))
	}
	return resp, err
}
