package token

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envshare/envshare/internal/config"
)

func newFileSource(t *testing.T, path string) *Source {
	t.Helper()
	s, err := NewSource(config.Config{TokenMode: "file", TokenFile: path}, &fakeMinter{expiresIn: 7200}, WithLogger(discard))
	if err != nil {
		t.Fatalf("NewSource: %v", err)
	}
	return s
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestFileMode(t *testing.T) {
	t.Run("each value format gives a token", func(t *testing.T) {
		for _, f := range []struct{ content, want string }{
			{"file-token\n", "file-token"},
			{"{\n  \"component_access_token\": \"json-token\"\n}\n", "json-token"},
			{credsJSON("wx1"), "minted-1"},
		} {
			path := filepath.Join(t.TempDir(), "token")
			writeFile(t, path, f.content)
			mustToken(t, newFileSource(t, path), f.want)
		}
	})

	t.Run("a rewritten file is picked up by Reload", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "token")
		writeFile(t, path, "old-token\n")
		s := newFileSource(t, path)
		mustToken(t, s, "old-token")
		writeFile(t, path, "new-token\n")
		mustToken(t, s, "old-token") // cached until rejected
		mustReload(t, s, "old-token", "new-token")
	})

	t.Run("a missing file names the path", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "absent")
		_, err := newFileSource(t, path).Token(t.Context())
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
			t.Errorf("Token error = %v, want a not-exist error naming %s", err, path)
		}
	})

	t.Run("a huge file is refused without printing it", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "token")
		writeFile(t, path, strings.Repeat("SECRETPART", maxFileBytes/10+1))
		_, err := newFileSource(t, path).Token(t.Context())
		if !errors.Is(err, ErrMalformedSecret) || strings.Contains(err.Error(), "SECRETPART") {
			t.Errorf("Token error = %v", err)
		}
	})
}
