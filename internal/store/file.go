package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/envshare/envshare/pkg/statetoken"
)

// MaxFileBytes bounds what a file may hold; more is surely the wrong file.
const MaxFileBytes = statetoken.MaxFileBytes

// File is the Store of mode "file": the id is a file's path, the value its whole content. The
// zero value is ready to use. Errors name the path, never the content.
type File struct{}

// Get reads the whole file on every call, so a rotated file is picked up at once: the public
// reader of pkg/statetoken, which other services use on the same files.
func (File) Get(ctx context.Context, path string) (string, error) {
	v, err := statetoken.File{}.Get(ctx, path)
	return v, notFound(err) // *fs.PathError: names the path, not the content
}

// Put replaces the file's content atomically: a reader sees the old content or the new one,
// never a mix, and a crash leaves one of them. The value goes to a temporary file in the same
// directory (so the rename cannot cross file systems), which is synced, given the file's mode
// and renamed over it. A symbolic link is followed, so a mounted secret's link stays in place.
// Like the cloud stores, Put never creates the record: a missing file wraps ErrNotFound.
func (File) Put(ctx context.Context, path, value string) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(value) > MaxFileBytes {
		return fmt.Errorf("write %s: the value is larger than %d KiB", path, MaxFileBytes>>10)
	}
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return notFound(err)
	}
	info, err := os.Stat(target)
	if err != nil {
		return notFound(err)
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("write %s: not a regular file", path)
	}

	dir := filepath.Dir(target)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(target)+".*.tmp") // mode 0600
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := io.WriteString(tmp, value); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(info.Mode().Perm()); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// Make the rename itself durable. Some file systems cannot sync a directory; the new content
	// is in place either way, so that failure is not the caller's concern.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// notFound adds ErrNotFound to an error that says the file does not exist.
func notFound(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}
