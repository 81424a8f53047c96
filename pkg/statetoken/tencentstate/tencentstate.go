// Package tencentstate reads envshare's state record from Tencent Cloud SSM (凭据管理系统), for
// package statetoken: the store of envshare's mode tencent-ssm, read only. It is a public
// package; it calls SSM through package tcapi (the Tencent Cloud SDK's common client).
//
// By default it reads the environment as SCF sets it: TENCENTCLOUD_SECRETID,
// TENCENTCLOUD_SECRETKEY, TENCENTCLOUD_SESSIONTOKEN and TENCENTCLOUD_REGION (default
// ap-guangzhou); elsewhere pass Options.Credentials. It reads one version of the secret,
// VersionID (default v1, envshare's ENVSHARE_TENCENT_SSM_STATE_VERSION_ID), so that the CAM
// policy of a reader grants ssm:GetSecretValue on the state record alone (docs/tokens-and-events.md).
//
//	ssm := tencentstate.NewSSM(tencentstate.Options{})
//	tok, err := statetoken.Read(ctx, ssm, "envshare-state")
package tencentstate

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/envshare/envshare/pkg/tcapi"
)

// Defaults of Options.
const (
	DefaultRegion    = tcapi.DefaultRegion
	DefaultVersionID = "v1"
)

// Credentials are Tencent Cloud credentials (a role's temporary ones carry a session token).
type Credentials = tcapi.Credentials

// Options configure the store; the zero value reads the environment.
type Options struct {
	Region    string // default TENCENTCLOUD_REGION, else DefaultRegion
	Endpoint  string // default https://ssm.tencentcloudapi.com
	VersionID string // the state record's version; default DefaultVersionID
	// Credentials, when nil, are TENCENTCLOUD_SECRETID, TENCENTCLOUD_SECRETKEY and
	// TENCENTCLOUD_SESSIONTOKEN.
	Credentials func(ctx context.Context) (Credentials, error)
	// HTTPClient's transport carries the calls (nil: http.DefaultTransport).
	HTTPClient *http.Client
}

// ErrNotFound is wrapped when the secret or its version does not exist.
var ErrNotFound = errors.New("tencentstate: record not found")

// Error is a failed call (tcapi.Error): the API's error code and message and the request id.
// The SDK's own client errors, which can quote the answer, keep their code and the HTTP status.
type Error tcapi.Error

func (e *Error) Error() string { return (*tcapi.Error)(e).Error() }

// Unwrap gives ErrNotFound for a missing secret or version.
func (e *Error) Unwrap() error {
	if strings.HasPrefix(e.Code, "ResourceNotFound") {
		return ErrNotFound
	}
	return nil
}

// SSM reads one version of a Tencent Cloud SSM secret: the id is the secret's name. It needs
// ssm:GetSecretValue.
type SSM struct{ o Options }

// NewSSM returns the store; it does no I/O.
func NewSSM(o Options) *SSM { return &SSM{o} }

// Get reads the secret's value.
func (s *SSM) Get(ctx context.Context, name string) (string, error) {
	out, err := s.get(ctx, name)
	if err != nil {
		return "", fmt.Errorf("ssm.GetSecretValue %q: %w", name, err)
	}
	return out, nil
}

func (s *SSM) get(ctx context.Context, name string) (string, error) {
	creds, err := s.credentials(ctx)
	if err != nil {
		return "", err
	}
	r := tcapi.Request{Service: "ssm", Version: "2019-09-23", Action: "GetSecretValue",
		Params:      map[string]any{"SecretName": name, "VersionId": cmp.Or(s.o.VersionID, DefaultVersionID)},
		Region:      cmp.Or(s.o.Region, tcapi.EnvRegion()),
		Credentials: creds,
	}
	if s.o.Endpoint != "" {
		if r.Endpoint, err = tcapi.ParseEndpoint(s.o.Endpoint, "ssm"); err != nil {
			return "", fmt.Errorf("Options.Endpoint %w", err)
		}
	}
	if s.o.HTTPClient != nil {
		r.Transport = s.o.HTTPClient.Transport
	}
	out, err := tcapi.Call[struct{ SecretString, SecretBinary *string }](ctx, r)
	if e, ok := errors.AsType[*tcapi.Error](err); ok {
		return "", (*Error)(e)
	}
	switch {
	case err != nil:
		return "", err
	case out.SecretString != nil && *out.SecretString != "":
		return *out.SecretString, nil
	case out.SecretBinary != nil && *out.SecretBinary != "":
		b, err := base64.StdEncoding.DecodeString(*out.SecretBinary)
		if err != nil {
			return "", errors.New("SecretBinary is not base64")
		}
		return string(b), nil
	}
	return "", errors.New("the version has no value")
}

func (s *SSM) credentials(ctx context.Context) (Credentials, error) {
	if s.o.Credentials != nil {
		return s.o.Credentials(ctx)
	}
	c := tcapi.EnvCredentials()
	if c.SecretID == "" || c.SecretKey == "" {
		return Credentials{}, errors.New("no credentials: set Options.Credentials, or TENCENTCLOUD_SECRETID and TENCENTCLOUD_SECRETKEY")
	}
	return c, nil
}
