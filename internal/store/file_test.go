package store_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/envshare/envshare/internal/store"
)

func writeFile(t testing.TB, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // past the umask
		t.Fatal(err)
	}
}

func TestFileGet(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name    string
		content string
		want    string
		wantErr error
	}{
		{"a value is read whole", "line 1\nline 2\n", "line 1\nline 2\n", nil},
		{"an empty file is an empty value", "", "", nil},
		{"the largest value allowed", strings.Repeat("x", store.MaxFileBytes), strings.Repeat("x", store.MaxFileBytes), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			writeFile(t, path, tc.content, 0o600)
			got, err := store.File{}.Get(t.Context(), path)
			if err != nil || got != tc.want {
				t.Errorf("Get = %.20q, %v; want %.20q", got, err, tc.want)
			}
		})
	}

	t.Run("a missing file is ErrNotFound naming the path", func(t *testing.T) {
		path := filepath.Join(dir, "absent")
		_, err := store.File{}.Get(t.Context(), path)
		if !errors.Is(err, store.ErrNotFound) || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
			t.Errorf("Get error = %v, want ErrNotFound naming %s", err, path)
		}
	})

	t.Run("a huge file is refused without printing it", func(t *testing.T) {
		path := filepath.Join(dir, "huge")
		writeFile(t, path, strings.Repeat("SECRETPART", store.MaxFileBytes/10+1), 0o600)
		_, err := store.File{}.Get(t.Context(), path)
		if err == nil || strings.Contains(err.Error(), "SECRETPART") || !strings.Contains(err.Error(), path) {
			t.Errorf("Get error = %v", err)
		}
	})

	t.Run("a cancelled context reads nothing", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := (store.File{}).Get(ctx, filepath.Join(dir, "absent")); !errors.Is(err, context.Canceled) {
			t.Errorf("Get error = %v, want the context's", err)
		}
		if err := (store.File{}).Put(ctx, filepath.Join(dir, "absent"), "x"); !errors.Is(err, context.Canceled) {
			t.Errorf("Put error = %v, want the context's", err)
		}
	})
}

func TestFilePut(t *testing.T) {
	t.Run("put then get, keeping the mode and leaving no temporary file", func(t *testing.T) {
		for _, mode := range []os.FileMode{0o600, 0o640, 0o644} {
			dir := t.TempDir()
			path := filepath.Join(dir, "state.json")
			writeFile(t, path, "{}", mode)
			if err := (store.File{}).Put(t.Context(), path, `{"a":1}`); err != nil {
				t.Fatal(err)
			}
			got, err := store.File{}.Get(t.Context(), path)
			if err != nil || got != `{"a":1}` {
				t.Errorf("Get = %q, %v", got, err)
			}
			info, err := os.Stat(path)
			if err != nil || info.Mode().Perm() != mode {
				t.Errorf("mode = %v, %v; want %v", info.Mode().Perm(), err, mode)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Errorf("the directory holds %d entries, want 1", len(entries))
			}
		}
	})

	t.Run("a symbolic link is written through and stays a link", func(t *testing.T) {
		dir := t.TempDir()
		real := filepath.Join(dir, "real")
		link := filepath.Join(dir, "link")
		writeFile(t, real, "{}", 0o600)
		if err := os.Symlink(real, link); err != nil {
			t.Skip(err)
		}
		if err := (store.File{}).Put(t.Context(), link, "new"); err != nil {
			t.Fatal(err)
		}
		if info, err := os.Lstat(link); err != nil || info.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("the link is gone: %v", err)
		}
		if b, _ := os.ReadFile(real); string(b) != "new" {
			t.Errorf("the link's target holds %q", b)
		}
	})

	t.Run("a missing file is ErrNotFound and is not created", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "absent")
		err := store.File{}.Put(t.Context(), path, "SECRETPART")
		if !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "SECRETPART") {
			t.Errorf("Put error = %v", err)
		}
		if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Put created the file: %v", err)
		}
	})

	t.Run("a value too large for Get is refused without printing it", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "state")
		writeFile(t, path, "{}", 0o600)
		err := store.File{}.Put(t.Context(), path, strings.Repeat("SECRETPART", store.MaxFileBytes/10+1))
		if err == nil || strings.Contains(err.Error(), "SECRETPART") {
			t.Errorf("Put error = %v", err)
		}
		if got, _ := (store.File{}).Get(t.Context(), path); got != "{}" {
			t.Errorf("the file holds %.20q, want it unchanged", got)
		}
	})

	t.Run("a directory is refused", func(t *testing.T) {
		dir := t.TempDir()
		if err := (store.File{}).Put(t.Context(), dir, "x"); err == nil || !strings.Contains(err.Error(), dir) {
			t.Errorf("Put error = %v", err)
		}
	})

	t.Run("concurrent gets see the old value or the new one, never a mix", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "state")
		old, next := strings.Repeat("a", 8<<10), strings.Repeat("b", 8<<10)
		writeFile(t, path, old, 0o600)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 50 {
					got, err := store.File{}.Get(t.Context(), path)
					if err != nil || (got != old && got != next) {
						t.Errorf("Get = %.10q (%d bytes), %v", got, len(got), err)
						return
					}
				}
			})
		}
		for i := range 20 {
			v := old
			if i%2 == 0 {
				v = next
			}
			if err := (store.File{}).Put(t.Context(), path, v); err != nil {
				t.Error(err)
			}
		}
		wg.Wait()
	})
}
