package awsstore

import (
	"context"
	"fmt"

	"github.com/envshare/envshare/internal/store"
)

// Parameters is the Store of mode aws-ssm: the id is an SSM parameter's name (or ARN), read
// decrypted and written as a SecureString.
type Parameters struct{ c *client }

var _ store.Store = (*Parameters)(nil)

// NewParameters checks the options; the environment is read at every call.
func NewParameters(opts ...Option) (*Parameters, error) {
	c, err := newClient(ssm, opts)
	if err != nil {
		return nil, err
	}
	return &Parameters{c}, nil
}

// Get reads the parameter's value, decrypted.
// Needs ssm:GetParameter, and kms:Decrypt on the parameter's key.
func (p *Parameters) Get(ctx context.Context, name string) (string, error) {
	in := struct {
		Name           string
		WithDecryption bool
	}{name, true}
	var out struct {
		Parameter *struct{ Value *string }
	}
	if err := p.c.call(ctx, "AmazonSSM.GetParameter", name, in, &out, ""); err != nil {
		return "", err
	}
	if out.Parameter == nil || out.Parameter.Value == nil {
		return "", fmt.Errorf("AmazonSSM.GetParameter %q: the answer holds no value", name)
	}
	return *out.Parameter.Value, nil
}

// Put writes value as a new version of the SecureString parameter (Overwrite), encrypted with
// the WithKMSKeyID key or SSM's default key. Unlike the other stores, SSM's PutParameter cannot
// be told not to create: a missing parameter is created (Get reports it missing first, and the
// IAM policy names the one parameter that may be written).
// Needs ssm:PutParameter, and kms:Encrypt on a key of your own (not for alias/aws/ssm).
func (p *Parameters) Put(ctx context.Context, name, value string) error {
	in := struct {
		Name      string
		Value     string
		Type      string
		Overwrite bool
		KeyId     string `json:",omitempty"`
	}{name, value, "SecureString", true, p.c.opts.KMSKeyID}
	var out struct{ Version int64 }
	return p.c.call(ctx, "AmazonSSM.PutParameter", name, in, &out, value)
}
