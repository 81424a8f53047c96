package awsstore

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/envshare/envshare/internal/store"
	"github.com/envshare/envshare/pkg/statetoken/awsstate"
)

// SecretsManager is the Store of mode aws-secretsmanager: the id is a secret's name or ARN.
type SecretsManager struct{ c *client }

var _ store.Store = (*SecretsManager)(nil)

// NewSecretsManager checks the options; the environment is read at every call.
func NewSecretsManager(opts ...Option) (*SecretsManager, error) {
	c, err := newClient(secretsManager, opts)
	if err != nil {
		return nil, err
	}
	return &SecretsManager{c}, nil
}

// Get reads the AWSCURRENT version's SecretString, or its SecretBinary as bytes.
// Needs secretsmanager:GetSecretValue (and kms:Decrypt when the secret has its own key).
func (s *SecretsManager) Get(ctx context.Context, id string) (string, error) {
	var out awsstate.SecretValue
	if err := s.c.call(ctx, "secretsmanager.GetSecretValue", id, struct{ SecretId string }{id}, &out, ""); err != nil {
		return "", err
	}
	if v, ok := out.Value(); ok {
		return v, nil
	}
	return "", fmt.Errorf("secretsmanager.GetSecretValue %q: the secret version has no value", id)
}

// Put writes value as the SecretString of a new version, which becomes AWSCURRENT. The version's
// id (ClientRequestToken) is chosen once per Put, so an attempt repeated after a lost answer
// does not make a second version. A secret that does not exist wraps store.ErrNotFound.
// Needs secretsmanager:PutSecretValue (and kms:GenerateDataKey when the secret has its own key).
func (s *SecretsManager) Put(ctx context.Context, id, value string) error {
	in := struct {
		SecretId           string
		SecretString       string
		ClientRequestToken string
	}{id, value, newToken()}
	var out struct{ VersionId string }
	return s.c.call(ctx, "secretsmanager.PutSecretValue", id, in, &out, value)
}

// newToken gives a random UUID (version 4), the form the SDK fills idempotency tokens with.
func newToken() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
