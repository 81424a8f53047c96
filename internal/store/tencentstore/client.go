package tencentstore

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/envshare/envshare/internal/store"
	"github.com/envshare/envshare/pkg/tcapi"
)

// DefaultRegion is used when TENCENTCLOUD_REGION is unset (SCF always sets it).
const DefaultRegion = tcapi.DefaultRegion

// api names one Tencent Cloud API: its service (the host's and the signature's name) and version.
type api struct{ service, version string }

var (
	ssmAPI = api{"ssm", "2019-09-23"}
	scfAPI = api{"scf", "2018-04-16"}
)

// client makes calls to one API through the SDK's common client (package tcapi).
type client struct {
	api       api
	opts      store.Options
	transport http.RoundTripper // the one transport of every call
	endpoint  tcapi.Endpoint    // zero: the SDK's default (https://<service>.tencentcloudapi.com)
}

func newClient(a api, opts []Option) (*client, error) {
	c := &client{api: a, opts: store.NewOptions(opts)}
	if e := c.opts.Endpoint; e != "" {
		var err error
		if c.endpoint, err = tcapi.ParseEndpoint(e, a.service); err != nil {
			return nil, fmt.Errorf("tencentstore: the endpoint option %w", err)
		}
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

// call sends action with params and gives the answer's "Response", retrying transient
// failures. secret, when not empty, is redacted from the API's error messages
// (store.Options.Call).
func call[T any](ctx context.Context, c *client, action, id string, params map[string]any, secret string) (*T, error) {
	out, err := retry[T](ctx, c, action, params, secret)
	if err != nil {
		return nil, fmt.Errorf("%s.%s %q: %w", c.api.service, action, id, err)
	}
	return out, nil
}

func retry[T any](ctx context.Context, c *client, action string, params map[string]any, secret string) (*T, error) {
	creds, err := readEnv()
	if err != nil {
		return nil, err
	}
	r := tcapi.Request{Service: c.api.service, Version: c.api.version, Action: action, Params: params,
		Region: tcapi.EnvRegion(), Credentials: creds, Endpoint: c.endpoint, Transport: c.transport}
	var out *T
	err = c.opts.Call(ctx, transient, secret, func(ctx context.Context) error {
		var err error
		out, err = tcapi.Call[T](ctx, r)
		if e, ok := errors.AsType[*tcapi.Error](err); ok {
			return (*Error)(e)
		}
		return err
	})
	return out, err
}

// readEnv reads the credentials at the moment; missing ones name the variables.
func readEnv() (tcapi.Credentials, error) {
	creds := tcapi.EnvCredentials()
	var missing []string
	if creds.SecretID == "" {
		missing = append(missing, "TENCENTCLOUD_SECRETID")
	}
	if creds.SecretKey == "" {
		missing = append(missing, "TENCENTCLOUD_SECRETKEY")
	}
	if len(missing) > 0 {
		return tcapi.Credentials{}, fmt.Errorf("%w: %s not set (SCF sets them from the function's execution role)",
			store.ErrMissingCredentials, strings.Join(missing, " and "))
	}
	return creds, nil
}

// Error is a failed call (tcapi.Error): the API's error code and message and the request id,
// or, for the SDK's own client errors (code ClientError.*), the HTTP status instead of the
// SDK's message.
type Error tcapi.Error

func (e *Error) Error() string { return (*tcapi.Error)(e).Error() }

// ServiceMessage gives the API's message (store.ServiceError), to redact.
func (e *Error) ServiceMessage() *string { return &e.Message }

// Unwrap gives store.ErrNotFound when the secret or its version does not exist.
func (e *Error) Unwrap() error {
	if e.Code == "ResourceNotFound" || strings.HasPrefix(e.Code, "ResourceNotFound.") {
		return store.ErrNotFound
	}
	return nil
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
