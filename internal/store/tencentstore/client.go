package tencentstore

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

	"github.com/envshare/envshare/internal/store"
)

// DefaultRegion is used when TENCENTCLOUD_REGION is unset (SCF always sets it).
const DefaultRegion = "ap-guangzhou"

// api names one Tencent Cloud API: its service (the host's and the signature's name) and version.
type api struct{ service, version string }

var (
	ssmAPI = api{"ssm", "2019-09-23"}
	scfAPI = api{"scf", "2018-04-16"}
)

// client makes calls to one API through the SDK's common client.
type client struct {
	api       api
	opts      store.Options
	transport http.RoundTripper // the one transport of every call
	scheme    string            // "" = the SDK's default (HTTPS)
	host      string            // "" = the SDK's default (<service>.tencentcloudapi.com)
}

func newClient(a api, opts []Option) (*client, error) {
	c := &client{api: a, opts: store.NewOptions(opts)}
	if e := c.opts.Endpoint; e != "" {
		u, err := url.Parse(e)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return nil, fmt.Errorf("tencentstore: the endpoint option is not an http(s) URL such as https://%s.tencentcloudapi.com", a.service)
		}
		c.scheme, c.host = strings.ToUpper(u.Scheme), u.Host
	}
	switch hc := c.opts.HTTPClient; {
	case hc == nil:
		// One transport for every call, so connections are reused across invocations.
		c.transport = http.DefaultTransport.(*http.Transport).Clone()
	case hc.Transport == nil:
		c.transport = http.DefaultTransport // as the client itself would
	default:
		c.transport = hc.Transport
	}
	return c, nil
}

// answer is the shape of every Tencent Cloud API v3 answer; errors are parsed by BaseResponse.
type answer[T any] struct {
	*tchttp.BaseResponse
	Response *T
}

// call sends action with params and gives the answer's "Response", retrying transient
// failures. secret, when not empty, is redacted from the API's error messages
// (store.Options.Call).
func call[T any](ctx context.Context, c *client, action, id string, params map[string]any, secret string) (*T, error) {
	out := &answer[T]{BaseResponse: &tchttp.BaseResponse{}}
	err := c.retry(ctx, action, params, out, secret)
	if err == nil && out.Response == nil {
		err = errors.New("the answer holds no Response")
	}
	if err != nil {
		return nil, fmt.Errorf("%s.%s %q: %w", c.api.service, action, id, err)
	}
	return out.Response, nil
}

func (c *client) retry(ctx context.Context, action string, params map[string]any, out tchttp.Response, secret string) error {
	cred, region, err := readEnv()
	if err != nil {
		return err
	}
	return c.opts.Call(ctx, transient, secret, func(ctx context.Context) error {
		return c.once(ctx, cred, region, action, params, out)
	})
}

// once makes one attempt with a client of its own: building one is cheap (no I/O), and its
// transport then records the HTTP status of this attempt alone.
func (c *client) once(ctx context.Context, cred *common.Credential, region, action string, params map[string]any, out tchttp.Response) error {
	cpf := profile.NewClientProfile()
	cpf.HttpProfile.ReqTimeout = 0 // the context bounds the attempt
	cpf.Language = "en-US"
	if c.host != "" {
		cpf.HttpProfile.Scheme, cpf.HttpProfile.Endpoint = c.scheme, c.host
	}
	client := common.NewCommonClient(cred, region, cpf)
	status := &statusTransport{base: c.transport}
	client.WithHttpTransport(status)

	req := tchttp.NewCommonRequest(c.api.service, c.api.version, action)
	if err := req.SetActionParameters(params); err != nil {
		return fmt.Errorf("encode the request: %w", err)
	}
	req.SetContext(ctx)
	return redact(client.Send(req, out), int(status.status.Load()))
}

// readEnv reads the credentials and region at the moment; missing credentials name the variables.
func readEnv() (*common.Credential, string, error) {
	id, key := os.Getenv("TENCENTCLOUD_SECRETID"), os.Getenv("TENCENTCLOUD_SECRETKEY")
	var missing []string
	if id == "" {
		missing = append(missing, "TENCENTCLOUD_SECRETID")
	}
	if key == "" {
		missing = append(missing, "TENCENTCLOUD_SECRETKEY")
	}
	if len(missing) > 0 {
		return nil, "", fmt.Errorf("%w: %s not set (SCF sets them from the function's execution role)",
			store.ErrMissingCredentials, strings.Join(missing, " and "))
	}
	region := cmp.Or(os.Getenv("TENCENTCLOUD_REGION"), DefaultRegion)
	return common.NewTokenCredential(id, key, os.Getenv("TENCENTCLOUD_SESSIONTOKEN")), region, nil
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

// ServiceMessage gives the API's message (store.ServiceError), to redact.
func (e *Error) ServiceMessage() *string { return &e.Message }

// Unwrap gives store.ErrNotFound when the secret or its version does not exist.
func (e *Error) Unwrap() error {
	if e.Code == "ResourceNotFound" || strings.HasPrefix(e.Code, "ResourceNotFound.") {
		return store.ErrNotFound
	}
	return nil
}

// withheld replaces the SDK's message for its own client errors.
const withheld = "the SDK's message is withheld as it may quote the answer"

// redact turns the SDK's error into an *Error. The SDK's client errors (ParseJsonError,
// HttpStatusCodeError, IOError) quote the answer's body, which can hold the secret: their text
// is dropped. A network error's text names the endpoint and the cause only, and is kept.
func redact(err error, status int) error {
	var e *tcerr.TencentCloudSDKError
	if err == nil || !errors.As(err, &e) {
		return err
	}
	out := &Error{Code: e.Code, Message: e.Message, RequestID: e.RequestId, Status: status}
	if strings.HasPrefix(e.Code, "ClientError") && e.Code != "ClientError.NetworkError" {
		out.Message = withheld
	}
	return out
}

// transient reports whether a call may succeed when made again: no answer, HTTP 5xx or 429,
// internal errors and rate limiting.
func transient(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests ||
		e.Code == "ClientError.NetworkError" || e.Code == "ClientError.IOError" ||
		e.Code == "InternalError" || strings.HasPrefix(e.Code, "InternalError.") ||
		strings.HasPrefix(e.Code, "RequestLimitExceeded")
}
