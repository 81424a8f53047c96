package store

import (
	"context"
	"errors"
	"os"
)

// Store holds secret values by id: the credentials secret (read) and the state record (read and write).
type Store interface {
	Get(ctx context.Context, id string) (string, error)
	Put(ctx context.Context, id, value string) error
}

// ErrNotFound is wrapped when the record does not exist. Put never creates a record (the
// operator or the template does), except where a store's API cannot avoid it (SSM, see awsstore).
var ErrNotFound = errors.New("record not found")

// ErrMissingCredentials is wrapped when the cloud credentials or region a store needs are not in
// the environment; the error names the variables, never their values.
var ErrMissingCredentials = errors.New("missing cloud credentials or region")

// CredentialVariables name the secret halves of the cloud credentials the stores (and the
// ledger's DynamoDB engine) read from the environment: AWS Lambda sets them at start, Tencent
// SCF with every invocation. The key ids (AWS_ACCESS_KEY_ID, TENCENTCLOUD_SECRETID) are not
// secret.
var CredentialVariables = []string{"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "TENCENTCLOUD_SECRETKEY", "TENCENTCLOUD_SESSIONTOKEN"}

// Credentials returns the values of CredentialVariables now (empty ones included), for the
// redactor.
func Credentials() []string {
	values := make([]string, len(CredentialVariables))
	for i, name := range CredentialVariables {
		values[i] = os.Getenv(name)
	}
	return values
}

// Value is a Store holding one fixed value whatever the id (mode env: the value of
// ENVSHARE_COMPONENT_ACCESS_TOKEN as read at configuration time). Put is refused.
type Value string

// Get returns the value.
func (v Value) Get(ctx context.Context, _ string) (string, error) { return string(v), ctx.Err() }

// Put refuses: a variable cannot be written.
func (Value) Put(context.Context, string, string) error {
	return errors.New("an environment variable cannot be written")
}
