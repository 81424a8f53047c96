package statetoken_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envshare/envshare/pkg/statetoken"
)

const secretToken = "component-token-never-shown-0123"

// memStore holds records in memory and counts reads.
type memStore struct {
	mu     sync.Mutex
	values map[string]string
	reads  int
}

func (m *memStore) Get(_ context.Context, id string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	v, ok := m.values[id]
	if !ok {
		return "", errors.New("no such record")
	}
	return v, nil
}

func (m *memStore) set(id, v string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.values[id] = v
}

func record(tok string, expires time.Time) string {
	b, _ := json.Marshal(map[string]string{"component_verify_ticket": "ticket@@@x", "component_access_token": tok,
		"expires_at": expires.UTC().Format(time.RFC3339), "minted_at": expires.Add(-2 * time.Hour).UTC().Format(time.RFC3339)})
	return string(b)
}

func TestRead(t *testing.T) {
	future := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	for _, tt := range []struct {
		name, value string
		want        error // nil: the token
	}{
		{"the token and its expiry", record(secretToken, future), nil},
		{"an empty record", `{}`, statetoken.ErrNoToken},
		{"an expired token", record(secretToken, time.Now().Add(-time.Second)), statetoken.ErrExpired},
		{"not JSON", "not json " + secretToken, statetoken.ErrMalformed},
		{"an array", `["` + secretToken + `"]`, statetoken.ErrMalformed},
		{"a token that is no string", `{"component_access_token": {"v": "` + secretToken + `"}}`, statetoken.ErrMalformed},
		{"an expiry that is no time", `{"component_access_token": "` + secretToken + `", "expires_at": "soon"}`, statetoken.ErrMalformed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := &memStore{values: map[string]string{"state": tt.value}}
			tok, err := statetoken.Read(t.Context(), s, "state")
			if tt.want == nil {
				if err != nil || tok.Value != secretToken || !tok.ExpiresAt.Equal(future) {
					t.Fatalf("Read = %v, %v", tok, err)
				}
				return
			}
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), `"state"`) || strings.Contains(err.Error(), secretToken) {
				t.Fatalf("Read error = %v, want %v naming the record, never its content", err, tt.want)
			}
		})
	}
}

func TestATokenNeverShowsItsValue(t *testing.T) {
	tok := statetoken.Token{Value: secretToken, ExpiresAt: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("token", "token", tok)
	encoded, _ := json.Marshal(tok)
	for _, out := range []string{tok.String(), fmt.Sprint(tok), fmt.Sprintf("%v %+v %#v %s", tok, tok, tok, tok), logged.String(), string(encoded)} {
		if strings.Contains(out, secretToken) || !strings.Contains(out, "2026-12-01T10:00:00") {
			t.Errorf("%s", out)
		}
	}
}

func TestReader(t *testing.T) {
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	s := &memStore{values: map[string]string{"state": record("token-0001", now.Add(2*time.Hour))}}
	r := &statetoken.Reader{Store: s, ID: "state", Now: func() time.Time { return now }}
	want := func(value string, reads int) {
		t.Helper()
		tok, err := r.Token(t.Context())
		if err != nil || tok.Value != value || s.reads != reads {
			t.Fatalf("Token = %q, %v after %d reads; want %q after %d", tok.Value, err, s.reads, value, reads)
		}
	}
	want("token-0001", 1)
	want("token-0001", 1) // held
	s.set("state", record("token-0002", now.Add(2*time.Hour)))
	now = now.Add(statetoken.DefaultMaxAge)
	want("token-0002", 2) // read again after a minute: envshare minted meanwhile

	r.Rejected("token-0002") // WeChat said 40001, and envshare has not minted another
	if _, err := r.Token(t.Context()); !errors.Is(err, statetoken.ErrRejected) || s.reads != 3 {
		t.Fatalf("Token after a rejection = %v after %d reads", err, s.reads)
	}
	if _, err := r.Token(t.Context()); !errors.Is(err, statetoken.ErrRejected) || s.reads != 3 {
		t.Fatalf("the rejected token was read again at once (%d reads): %v", s.reads, err)
	}
	s.set("state", record("token-0003", now.Add(2*time.Hour)))
	now = now.Add(statetoken.DefaultMaxAge)
	want("token-0003", 4)

	now = now.Add(statetoken.DefaultMaxAge)
	s.set("state", record("token-0004", now.Add(time.Second)))
	want("token-0004", 5)
	now = now.Add(time.Second) // never served past its expiry
	if _, err := r.Token(t.Context()); !errors.Is(err, statetoken.ErrExpired) {
		t.Fatalf("an expired token: %v", err)
	}
}

func TestFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, []byte(record(secretToken, time.Now().Add(time.Hour))), 0o600); err != nil {
		t.Fatal(err)
	}
	if tok, err := statetoken.Read(t.Context(), statetoken.File{}, path); err != nil || tok.Value != secretToken {
		t.Fatalf("Read = %v, %v", tok, err)
	}
	if err := os.WriteFile(path, bytes.Repeat([]byte(" "), 65<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := statetoken.Read(t.Context(), statetoken.File{}, path); err == nil || !strings.Contains(err.Error(), "larger than 64 KiB") {
		t.Fatalf("a large file: %v", err)
	}
	if _, err := statetoken.Read(t.Context(), statetoken.File{}, path+".missing"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a missing file: %v", err)
	}
}

// Example reads the token of a state record kept in a file (envshare's mode file); on AWS or
// Tencent Cloud pass awsstate's or tencentstate's store instead of File.
func Example() {
	dir, _ := os.MkdirTemp("", "statetoken")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "state.json")
	os.WriteFile(path, []byte(`{"component_access_token":"token-from-envshare","expires_at":"2999-01-01T00:00:00Z"}`), 0o600)

	r := &statetoken.Reader{Store: statetoken.File{}, ID: path}
	tok, err := r.Token(context.Background())
	if err != nil {
		panic(err)
	}
	fmt.Println(tok)                     // never the value
	fmt.Println(len(tok.Value) > 0, err) // the value, for the call
	// Output:
	// statetoken.Token{Value: [redacted], ExpiresAt: 2999-01-01T00:00:00Z}
	// true <nil>
}
