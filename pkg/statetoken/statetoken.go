package statetoken

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"
)

// Store reads a record by id: a file path, a secret's or a parameter's name. File, awsstate's
// and tencentstate's stores implement it; so does any store with this method. Its errors must
// not quote the record.
type Store interface {
	Get(ctx context.Context, id string) (string, error)
}

// Token is the component access token of the state record and when it expires (zero: the
// record does not say). It never shows its value when printed, logged or encoded: use Value.
type Token struct {
	Value     string
	ExpiresAt time.Time
}

const redacted = "[redacted]"

// String describes the token without its value.
func (t Token) String() string {
	return fmt.Sprintf("statetoken.Token{Value: %s, ExpiresAt: %s}", redacted, t.ExpiresAt.UTC().Format(time.RFC3339))
}

// GoString is String, for %#v.
func (t Token) GoString() string { return t.String() }

// LogValue logs the expiry only.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(slog.String("value", redacted), slog.Time("expires_at", t.ExpiresAt))
}

// MarshalJSON encodes the expiry only.
func (t Token) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"value": redacted, "expires_at": t.ExpiresAt})
}

// Errors of Read; test them with errors.Is.
var (
	// ErrNoToken: the record holds no token (yet): envshare's refresh has not run.
	ErrNoToken = errors.New("statetoken: the state record holds no component_access_token (has envshare's refresh run?)")
	// ErrExpired: the record's token has expired: envshare's refresh schedule is not running.
	ErrExpired = errors.New("statetoken: the state record's component_access_token has expired (is envshare's refresh schedule running?)")
	// ErrMalformed: the record is not the JSON object of the contract's section 6.
	ErrMalformed = errors.New("statetoken: the state record is not a JSON object with string fields component_access_token and expires_at (RFC 3339)")
)

// Read reads the state record id from store and returns its token, as of now. A record
// without a token is ErrNoToken, an expired token ErrExpired. Errors never hold the record's
// content.
func Read(ctx context.Context, store Store, id string) (Token, error) {
	return read(ctx, store, id, time.Now())
}

func read(ctx context.Context, store Store, id string, now time.Time) (Token, error) {
	raw, err := store.Get(ctx, id)
	if err != nil {
		return Token{}, fmt.Errorf("statetoken: read the state record %q: %w", id, err)
	}
	var rec struct {
		Token     *string `json:"component_access_token"`
		ExpiresAt *string `json:"expires_at"`
	}
	// The decoder's message is dropped: it can quote the record.
	if json.Unmarshal([]byte(strings.TrimSpace(raw)), &rec) != nil || !strings.HasPrefix(strings.TrimSpace(raw), "{") {
		return Token{}, fmt.Errorf("%w (record %q)", ErrMalformed, id)
	}
	var t Token
	if rec.ExpiresAt != nil && *rec.ExpiresAt != "" {
		if t.ExpiresAt, err = time.Parse(time.RFC3339Nano, *rec.ExpiresAt); err != nil {
			return Token{}, fmt.Errorf("%w (record %q: expires_at)", ErrMalformed, id)
		}
	}
	if rec.Token == nil || *rec.Token == "" {
		return Token{}, fmt.Errorf("%w (record %q)", ErrNoToken, id)
	}
	if !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) {
		return Token{}, fmt.Errorf("%w (record %q: at %s)", ErrExpired, id, t.ExpiresAt.UTC().Format(time.RFC3339))
	}
	t.Value = *rec.Token
	return t, nil
}

// DefaultMaxAge is how long a Reader serves a token before it reads the record again: well
// within the 5 minutes WeChat keeps a token valid after envshare minted its successor.
const DefaultMaxAge = time.Minute

// Reader serves the token of one state record to many callers: it reads the record at most
// once per MaxAge, never serves a token past its expiry, and reads again once the token was
// rejected. It is safe for concurrent use; set its fields before the first call.
type Reader struct {
	Store  Store
	ID     string
	MaxAge time.Duration    // default DefaultMaxAge
	Now    func() time.Time // default time.Now

	mu       sync.Mutex
	token    Token
	readAt   time.Time
	rejected string
}

// Token returns the current token, reading the record when the one held is older than MaxAge,
// expired, or rejected.
func (r *Reader) Token(ctx context.Context) (Token, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	maxAge := r.MaxAge
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	held := r.token.Value != "" && now.Sub(r.readAt) < maxAge && (r.token.ExpiresAt.IsZero() || now.Before(r.token.ExpiresAt))
	if !held {
		t, err := read(ctx, r.Store, r.ID, now)
		if err != nil {
			return Token{}, err
		}
		r.token, r.readAt = t, now
	}
	if r.token.Value == r.rejected {
		return Token{}, ErrRejected // until the record holds another, read again after MaxAge
	}
	return r.token, nil
}

// ErrRejected: the state record still holds the token WeChat rejected.
var ErrRejected = errors.New("statetoken: the state record still holds the token WeChat rejected: run envshare's refresh with force")

// Rejected tells the Reader that WeChat rejected value (errcode 40001, 40014 or 42001): the
// next Token reads the record again, and answers ErrRejected while the record still holds it.
func (r *Reader) Rejected(value string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rejected = value
	if r.token.Value == value {
		r.readAt = time.Time{}
	}
}

func (r *Reader) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// MaxFileBytes bounds what File reads: a state record is a few hundred bytes, so anything
// much larger is the wrong file.
const MaxFileBytes = 64 << 10

// File is the Store of a state record kept in a file (envshare's mode file): the id is its
// path. The zero value is ready; each Get reads the file again.
type File struct{}

// Get reads the whole file, at most MaxFileBytes. Its errors name the path, never the
// content.
func (File) Get(ctx context.Context, path string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > MaxFileBytes {
		return "", fmt.Errorf("read %s: the file is larger than %d KiB", path, MaxFileBytes>>10)
	}
	return string(b), nil
}
