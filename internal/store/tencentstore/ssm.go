package tencentstore

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/envshare/envshare/internal/store"
)

// DefaultStateVersionID is the suggested version of the state record's secret: the operator
// creates the secret with this version holding "{}", and the function updates it in place.
const DefaultStateVersionID = "v1"

// SSM is the Store of mode tencent-ssm: the id is a Tencent Cloud SSM secret's name.
type SSM struct{ c *client }

var _ store.Store = (*SSM)(nil)

// NewSSM checks the options; the environment is read at every call.
func NewSSM(opts ...Option) (*SSM, error) {
	c, err := newClient(ssmAPI, opts)
	if err != nil {
		return nil, err
	}
	return &SSM{c}, nil
}

// Get reads the configured version's SecretString (or SecretBinary, decoded), or without one
// the newest version's. Needs ssm:GetSecretValue (and ssm:ListSecretVersionIds without a
// version; kms:Decrypt when the secret has a key of its own).
func (s *SSM) Get(ctx context.Context, name string) (string, error) {
	version := s.c.opts.VersionID
	if version == "" {
		var err error
		if version, err = s.newestVersion(ctx, name); err != nil {
			return "", err
		}
	}
	out, err := call[struct{ SecretString, SecretBinary *string }](ctx, s.c, "GetSecretValue", name,
		map[string]any{"SecretName": name, "VersionId": version}, "")
	if err != nil {
		return "", err
	}
	switch {
	case out.SecretString != nil && *out.SecretString != "":
		return *out.SecretString, nil
	case out.SecretBinary != nil && *out.SecretBinary != "":
		b, err := base64.StdEncoding.DecodeString(*out.SecretBinary)
		if err != nil {
			return "", fmt.Errorf("ssm.GetSecretValue %q: SecretBinary is not base64", name)
		}
		return string(b), nil
	}
	return "", fmt.Errorf("ssm.GetSecretValue %q: the version %q has no value", name, version)
}

// newestVersion finds the most recently created version of the secret.
func (s *SSM) newestVersion(ctx context.Context, name string) (string, error) {
	out, err := call[struct {
		Versions []struct {
			VersionId  *string
			CreateTime *uint64
		}
	}](ctx, s.c, "ListSecretVersionIds", name, map[string]any{"SecretName": name}, "")
	if err != nil {
		return "", err
	}
	var newest string
	var newestAt uint64
	for _, v := range out.Versions {
		if v.VersionId == nil {
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
	if newest == "" {
		return "", fmt.Errorf("ssm.ListSecretVersionIds %q: the secret has no versions", name)
	}
	return newest, nil
}

// errNoVersion refuses a Put without a fixed version: UpdateSecret changes one version in place.
var errNoVersion = errors.New("tencentstore: Put needs a fixed version (WithVersionID)")

// Put replaces the SecretString of the configured version with UpdateSecret. A secret or
// version that does not exist wraps store.ErrNotFound: Put never creates either.
// Needs ssm:UpdateSecret (and kms:Encrypt when the secret has a key of its own).
func (s *SSM) Put(ctx context.Context, name, value string) error {
	version := s.c.opts.VersionID
	if version == "" {
		return errNoVersion
	}
	_, err := call[struct{ VersionId string }](ctx, s.c, "UpdateSecret", name,
		map[string]any{"SecretName": name, "VersionId": version, "SecretString": value}, value)
	return err
}
