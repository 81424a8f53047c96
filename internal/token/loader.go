package token

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// Loader reads the current secret value from its source. Errors never include the value.
type Loader interface {
	Load(ctx context.Context) (string, error)
}

// LoaderFunc adapts a function to Loader.
type LoaderFunc func(ctx context.Context) (string, error)

// Load calls f.
func (f LoaderFunc) Load(ctx context.Context) (string, error) { return f(ctx) }

// ErrMissingCredentials is wrapped when the cloud credentials or region a source needs are not
// in the environment; the error names the variables.
var ErrMissingCredentials = errors.New("missing cloud credentials or region")

// envLoader gives the value of ENVSHARE_COMPONENT_ACCESS_TOKEN as read at configuration time.
type envLoader struct{ value string }

func (l envLoader) Load(context.Context) (string, error) { return l.value, nil }

// maxFileBytes bounds what a token file may hold; more is surely the wrong file.
const maxFileBytes = 64 << 10

// fileLoader reads the whole file on every load, so a rotated file is picked up by Reload.
type fileLoader struct{ path string }

func (l fileLoader) Load(context.Context) (string, error) {
	f, err := os.Open(l.path)
	if err != nil {
		return "", err // *fs.PathError: names the path, not the contents
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return "", fmt.Errorf("read: %w", err)
	}
	if len(b) > maxFileBytes {
		return "", fmt.Errorf("%w: the file is larger than %d KiB", ErrMalformedSecret, maxFileBytes>>10)
	}
	return string(b), nil
}
