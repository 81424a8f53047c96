package store

import (
	"context"
	"errors"
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
