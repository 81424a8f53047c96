package token

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tcerr "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
	tcssm "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/ssm/v20190923"
)

// DefaultTencentRegion is used when TENCENTCLOUD_REGION is unset (SCF always sets it).
const DefaultTencentRegion = "ap-guangzhou"

// tencentLoader reads a Tencent Cloud SSM secret with GetSecretValue. Credentials are read from
// the environment on every load: SCF delivers the execution role's temporary credentials
// (TENCENTCLOUD_SECRETID, TENCENTCLOUD_SECRETKEY, TENCENTCLOUD_SESSIONTOKEN) with each
// invocation, so they may change during the instance's life.
type tencentLoader struct {
	name      string
	version   string // "" = the newest version, found with ListSecretVersionIds
	scheme    string // "" = the SDK's default (https)
	host      string // "" = the SDK's default (ssm.tencentcloudapi.com)
	transport http.RoundTripper
	timeout   time.Duration
	attempts  int
	backoff   func(n int) time.Duration
}

func newTencentLoader(name, version, endpoint string, o options, timeout time.Duration, attempts int) (*tencentLoader, error) {
	l := &tencentLoader{name: name, version: version, timeout: timeout, attempts: attempts, backoff: o.backoff}
	if endpoint != "" {
		u, err := url.Parse(endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, errors.New("ENVSHARE_TENCENT_SSM_ENDPOINT must be an http(s) URL such as https://ssm.tencentcloudapi.com")
		}
		l.scheme, l.host = u.Scheme, u.Host
	}
	switch {
	case o.httpClient != nil && o.httpClient.Transport != nil:
		l.transport = o.httpClient.Transport
	case o.httpClient != nil:
		l.transport = http.DefaultTransport
	default:
		// One transport for every load, so connections are reused across invocations.
		l.transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	if l.backoff == nil {
		l.backoff = func(n int) time.Duration { return min(200*time.Millisecond<<(n-1), 2*time.Second) }
	}
	return l, nil
}

func (l *tencentLoader) Load(ctx context.Context) (string, error) {
	client, status, err := l.client()
	if err != nil {
		return "", err
	}
	version := l.version
	if version == "" {
		if version, err = l.newestVersion(ctx, client, status); err != nil {
			return "", err
		}
	}

	var resp *tcssm.GetSecretValueResponse
	err = l.retry(ctx, status, func() error {
		req := tcssm.NewGetSecretValueRequest()
		req.SecretName = common.StringPtr(l.name)
		req.VersionId = common.StringPtr(version)
		var err error
		resp, err = client.GetSecretValueWithContext(ctx, req)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("GetSecretValue: %w", err)
	}
	p := resp.Response
	switch {
	case p == nil:
		return "", errors.New("GetSecretValue: empty answer")
	case p.SecretString != nil && *p.SecretString != "":
		return *p.SecretString, nil
	case p.SecretBinary != nil && *p.SecretBinary != "":
		b, err := base64.StdEncoding.DecodeString(*p.SecretBinary)
		if err != nil {
			return "", errors.New("GetSecretValue: SecretBinary is not base64")
		}
		return string(b), nil
	}
	return "", errors.New("GetSecretValue: the secret version has no value")
}

// newestVersion finds the most recently created version of the secret.
func (l *tencentLoader) newestVersion(ctx context.Context, client *tcssm.Client, status *statusTransport) (string, error) {
	var resp *tcssm.ListSecretVersionIdsResponse
	err := l.retry(ctx, status, func() error {
		req := tcssm.NewListSecretVersionIdsRequest()
		req.SecretName = common.StringPtr(l.name)
		var err error
		resp, err = client.ListSecretVersionIdsWithContext(ctx, req)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("ListSecretVersionIds: %w", err)
	}
	var newest string
	var newestAt uint64
	if resp.Response != nil {
		for _, v := range resp.Response.Versions {
			if v == nil || v.VersionId == nil {
				continue
			}
			var at uint64
			if v.CreateTime != nil {
				at = *v.CreateTime
			}
			if newest == "" || at >= newestAt {
				newest, newestAt = *v.VersionId, at
			}
		}
	}
	if newest == "" {
		return "", errors.New("ListSecretVersionIds: the secret has no versions")
	}
	return newest, nil
}

// client builds a client with the credentials of the moment. Building one is cheap (no I/O).
func (l *tencentLoader) client() (*tcssm.Client, *statusTransport, error) {
	id, key := os.Getenv("TENCENTCLOUD_SECRETID"), os.Getenv("TENCENTCLOUD_SECRETKEY")
	if id == "" || key == "" {
		return nil, nil, fmt.Errorf("%w: no Tencent Cloud credentials%s; SCF sets them from the function's execution role",
			ErrMissingCredentials, unsetVars("TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRETKEY"))
	}
	region := os.Getenv("TENCENTCLOUD_REGION")
	if region == "" {
		region = DefaultTencentRegion
	}
	cpf := profile.NewClientProfile()
	if l.host != "" {
		cpf.HttpProfile.Scheme = strings.ToUpper(l.scheme)
		cpf.HttpProfile.Endpoint = l.host
	}
	if l.timeout > 0 {
		cpf.HttpProfile.ReqTimeout = int(math.Ceil(l.timeout.Seconds()))
	}
	cred := common.NewTokenCredential(id, key, os.Getenv("TENCENTCLOUD_SESSIONTOKEN"))
	client, err := tcssm.NewClient(cred, region, cpf)
	if err != nil {
		return nil, nil, fmt.Errorf("tencent cloud client: %w", err)
	}
	status := &statusTransport{base: l.transport}
	client.WithHttpTransport(status)
	return client, status, nil
}

// statusTransport remembers the HTTP status of the latest answer: the SDK reports a 5xx whose
// body is not JSON (a gateway's error page) only as a JSON parse error.
type statusTransport struct {
	base   http.RoundTripper
	status atomic.Int32
}

func (t *statusTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	t.status.Store(0)
	if resp != nil {
		t.status.Store(int32(resp.StatusCode))
	}
	return resp, err
}

// retry runs call up to l.attempts times while it fails transiently. Every error it returns
// has passed through redactTencent.
func (l *tencentLoader) retry(ctx context.Context, status *statusTransport, call func() error) error {
	var err error
	for n := 1; ; n++ {
		err = redactTencent(call(), int(status.status.Load()))
		if err != nil && ctx.Err() != nil {
			// The SDK flattens errors to strings; keep the context's error recognisable.
			return fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		if err == nil || n >= l.attempts || !tencentTransient(err) {
			return err
		}
		if werr := wait(ctx, l.backoff(n)); werr != nil {
			return fmt.Errorf("%w (%v)", werr, err)
		}
	}
}

// tencentTransient reports whether a call may succeed when repeated: network failures, HTTP
// 5xx, internal errors and rate limiting.
func tencentTransient(err error) bool {
	var e *tcerr.TencentCloudSDKError
	if !errors.As(err, &e) {
		return false
	}
	return e.Code == "ClientError.NetworkError" || e.Code == "InternalError" ||
		strings.HasPrefix(e.Code, "RequestLimitExceeded") || e.Code == codeHTTP5xx
}

// codeHTTP5xx replaces the SDK's client error for an HTTP 5xx answer.
const codeHTTP5xx = "ClientError.HTTP5xx"

// redactTencent drops what the SDK's own client errors quote of the answer's body, which can
// hold the secret (ParseJsonError and HttpStatusCodeError include it), and keeps the HTTP
// status instead. Errors answered by the API keep their code and message.
func redactTencent(err error, status int) error {
	var e *tcerr.TencentCloudSDKError
	if err == nil || !errors.As(err, &e) || !strings.HasPrefix(e.Code, "ClientError.") ||
		e.Code == "ClientError.NetworkError" {
		return err
	}
	code := e.Code
	if status >= 500 {
		code = codeHTTP5xx
	}
	return &tcerr.TencentCloudSDKError{Code: code, RequestId: e.RequestId,
		Message: fmt.Sprintf("HTTP status %d; the SDK's message is withheld as it may quote the answer", status)}
}

// wait pauses for d, or until ctx is done.
func wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
