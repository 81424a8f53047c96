// Package tencentstate reads envshare's state record from Tencent Cloud SSM (凭据管理系统), for
// package statetoken: the store of envshare's mode tencent-ssm, read only. It is a public
// package; it calls SSM through the Tencent Cloud SDK's common client.
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
	"net/url"
	"os"
	"strings"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tcerr "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
)

// Defaults of Options.
const (
	DefaultRegion    = "ap-guangzhou"
	DefaultVersionID = "v1"
)

// Credentials are Tencent Cloud credentials (a role's temporary ones carry a session token).
type Credentials struct {
	SecretID, SecretKey, SessionToken string
}

// Options configure the store; the zero value reads the environment.
type Options struct {
	Region    string // default TENCENTCLOUD_REGION, else DefaultRegion
	Endpoint  string // default https://ssm.tencentcloudapi.com
	VersionID string // the state record's version; default DefaultVersionID
	// Credentials, when nil, are TENCENTCLOUD_SECRETID, TENCENTCLOUD_SECRETKEY and
	// TENCENTCLOUD_SESSIONTOKEN.
	Credentials func(ctx context.Context) (Credentials, error)
	// HTTPClient's transport carries the calls (nil: the SDK's own).
	HTTPClient *http.Client
}

// ErrNotFound is wrapped when the secret or its version does not exist.
var ErrNotFound = errors.New("tencentstate: record not found")

// Error is a failed call: the API's error code and message. The SDK's own client errors,
// which can quote the answer, keep their code only.
type Error struct {
	Code, Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

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
	cpf := profile.NewClientProfile()
	cpf.HttpProfile.ReqTimeout = 0 // the context bounds the call
	cpf.Language = "en-US"
	if s.o.Endpoint != "" {
		u, err := url.Parse(s.o.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", errors.New("Options.Endpoint is not an http(s) URL such as https://ssm.tencentcloudapi.com")
		}
		cpf.HttpProfile.Scheme, cpf.HttpProfile.Endpoint = strings.ToUpper(u.Scheme), u.Host
	}
	region := cmp.Or(s.o.Region, os.Getenv("TENCENTCLOUD_REGION"), DefaultRegion)
	client := common.NewCommonClient(common.NewTokenCredential(creds.SecretID, creds.SecretKey, creds.SessionToken), region, cpf)
	if s.o.HTTPClient != nil && s.o.HTTPClient.Transport != nil {
		client.WithHttpTransport(s.o.HTTPClient.Transport)
	}
	req := tchttp.NewCommonRequest("ssm", "2019-09-23", "GetSecretValue")
	if err := req.SetActionParameters(map[string]any{"SecretName": name, "VersionId": cmp.Or(s.o.VersionID, DefaultVersionID)}); err != nil {
		return "", err
	}
	req.SetContext(ctx)
	out := &answer{BaseResponse: &tchttp.BaseResponse{}}
	if err := client.Send(req, out); err != nil {
		var e *tcerr.TencentCloudSDKError
		if !errors.As(err, &e) {
			return "", err
		}
		msg := e.Message
		if strings.HasPrefix(e.Code, "ClientError") && e.Code != "ClientError.NetworkError" {
			msg = "the SDK's message is withheld as it may quote the answer"
		}
		return "", &Error{Code: e.Code, Message: msg}
	}
	switch r := out.Response; {
	case r == nil:
		return "", errors.New("the answer holds no Response")
	case r.SecretString != nil && *r.SecretString != "":
		return *r.SecretString, nil
	case r.SecretBinary != nil && *r.SecretBinary != "":
		b, err := base64.StdEncoding.DecodeString(*r.SecretBinary)
		if err != nil {
			return "", errors.New("SecretBinary is not base64")
		}
		return string(b), nil
	}
	return "", errors.New("the version has no value")
}

// answer is GetSecretValue's answer.
type answer struct {
	*tchttp.BaseResponse
	Response *struct{ SecretString, SecretBinary *string }
}

func (s *SSM) credentials(ctx context.Context) (Credentials, error) {
	if s.o.Credentials != nil {
		return s.o.Credentials(ctx)
	}
	c := Credentials{os.Getenv("TENCENTCLOUD_SECRETID"), os.Getenv("TENCENTCLOUD_SECRETKEY"), os.Getenv("TENCENTCLOUD_SESSIONTOKEN")}
	if c.SecretID == "" || c.SecretKey == "" {
		return Credentials{}, errors.New("no credentials: set Options.Credentials, or TENCENTCLOUD_SECRETID and TENCENTCLOUD_SECRETKEY")
	}
	return c, nil
}
