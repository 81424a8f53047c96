package token

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/store"
	"github.com/envshare/envshare/internal/testkit"
	"github.com/envshare/envshare/pkg/wechat"
	"github.com/envshare/envshare/pkg/wxemu"
)

// The platform's values in these tests. Each secret is long enough for the redactor (8 bytes)
// and distinct, so that a scan for it finds only a leak.
const (
	testAppID     = "wxcomponent0000001"
	testAppSecret = "app-secret-0123456789abcdef"
	seedTicket    = "ticket@@@seed-0123456789"
	storedTicket  = "ticket@@@stored-abcdef012"
	testMsgToken  = "message-token-4242"
	testAESKey    = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG" // 43 characters
	testPrevKey   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefg"
	storedToken   = "stored-token-0001"
	// Tokens the fake issuer mints are "minted-token-001", "minted-token-002", ...
	mintedPrefix = "minted-token-"
)

// secretTexts are the texts that must never appear in an error or a log line.
var secretTexts = []string{testAppSecret, seedTicket, storedTicket, testMsgToken, testAESKey, testPrevKey,
	storedToken, "stored-token-", mintedPrefix}

// t0 is when every test clock starts.
var t0 = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)

// newClock returns a clock at t0 that moves only when the test says so.
func newClock() *wxemu.Clock { return wxemu.NewClock(t0) }

// memStore is a Store in memory that counts calls and can fail or hold them. Like the real
// stores, Put never creates a record.
type memStore struct {
	mu       sync.Mutex
	values   map[string]string
	gets     int
	puts     int
	failGets int   // the next failGets Gets fail with failErr
	failPuts int   // the next failPuts Puts fail with failErr
	failErr  error // default errStoreDown
	// hook runs before each call, outside the lock, with op "get" or "put": a hook that blocks
	// holds that call (and that call alone) back. A call whose context has ended by the time its
	// hook returns does nothing, as a request the client gave up before sending.
	hook func(ctx context.Context, op, id string)
}

var errStoreDown = errors.New("store unavailable (HTTP 503)")

// newMemStore returns a store holding id, value pairs.
func newMemStore(idValues ...string) *memStore {
	m := &memStore{values: map[string]string{}}
	for i := 0; i+1 < len(idValues); i += 2 {
		m.values[idValues[i]] = idValues[i+1]
	}
	return m
}

func (m *memStore) Get(ctx context.Context, id string) (string, error) {
	m.runHook(ctx, "get", id)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gets++
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if m.failGets > 0 {
		m.failGets--
		return "", m.failure()
	}
	v, ok := m.values[id]
	if !ok {
		return "", fmt.Errorf("%w: %s", store.ErrNotFound, id)
	}
	return v, nil
}

func (m *memStore) Put(ctx context.Context, id, value string) error {
	m.runHook(ctx, "put", id)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.puts++
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.failPuts > 0 {
		m.failPuts--
		return m.failure()
	}
	if _, ok := m.values[id]; !ok {
		return fmt.Errorf("%w: %s", store.ErrNotFound, id)
	}
	m.values[id] = value
	return nil
}

func (m *memStore) runHook(ctx context.Context, op, id string) {
	m.mu.Lock()
	hook := m.hook
	m.mu.Unlock()
	if hook != nil {
		hook(ctx, op, id)
	}
}

func (m *memStore) failure() error {
	if m.failErr != nil {
		return m.failErr
	}
	return errStoreDown
}

func (m *memStore) set(id, value string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.values[id] = value
}

func (m *memStore) value(id string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.values[id]
}

// failPut makes the nth Put from now (counting from 1) fail, and only that one.
func (m *memStore) failPut(n int) {
	puts := 0
	m.setHook(func(_ context.Context, op, _ string) {
		if op != "put" {
			return
		}
		if puts++; puts == n {
			m.mu.Lock()
			m.failPuts = 1
			m.mu.Unlock()
		}
	})
}

// instant is a Refresher's Wait that does not wait.
func instant(ctx context.Context, _ time.Duration) error { return ctx.Err() }

func (m *memStore) setHook(hook func(ctx context.Context, op, id string)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hook = hook
}

func (m *memStore) counts() (gets, puts int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.gets, m.puts
}

// fakeIssuer mints "minted-token-001", "minted-token-002", ... and records the requests.
type fakeIssuer struct {
	mu        sync.Mutex
	reqs      []wechat.ComponentTokenRequest
	err       error // answered instead of a token
	expiresIn int   // default 7200
}

func (f *fakeIssuer) ComponentToken(ctx context.Context, req *wechat.ComponentTokenRequest) (*wechat.ComponentTokenResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, *req)
	if f.err != nil {
		return nil, f.err
	}
	in := f.expiresIn
	if in == 0 {
		in = 7200
	}
	return &wechat.ComponentTokenResponse{ComponentAccessToken: fmt.Sprintf("%s%03d", mintedPrefix, len(f.reqs)), ExpiresIn: in}, nil
}

func (f *fakeIssuer) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reqs)
}

func (f *fakeIssuer) last() wechat.ComponentTokenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) == 0 {
		return wechat.ComponentTokenRequest{}
	}
	return f.reqs[len(f.reqs)-1]
}

func (f *fakeIssuer) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

// newLogger logs everything, debug included, as JSON lines into the returned buffer. It does
// not redact: what the package logs must be clean by itself.
func newLogger() (*slog.Logger, *testkit.Buffer) {
	l := &testkit.Buffer{}
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug})), l
}

var discard = slog.New(slog.DiscardHandler)

// credsJSON is a credentials secret; an empty ticket leaves the field out.
func credsJSON(ticket string) string {
	m := map[string]string{"component_appid": testAppID, "component_appsecret": testAppSecret}
	if ticket != "" {
		m["component_verify_ticket"] = ticket
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// recordJSON is a state record: times are written RFC 3339, empty values are left out, and
// any other field is written as given.
func recordJSON(fields map[string]any) string {
	out := map[string]any{}
	for k, v := range fields {
		switch v := v.(type) {
		case time.Time:
			if !v.IsZero() {
				out[k] = v.UTC().Format(time.RFC3339)
			}
		case string:
			if v != "" {
				out[k] = v
			}
		default:
			out[k] = v
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// decodeRecord reads a state record's JSON as a map, for assertions on its fields.
func decodeRecord(t testing.TB, raw string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatalf("the state record %q is not JSON: %v", raw, err)
	}
	return m
}

// assertClean fails when any secret text appears in the errors or the logs.
func assertClean(t testing.TB, logs string, errs ...error) {
	t.Helper()
	for _, s := range secretTexts {
		for _, err := range errs {
			if err != nil && strings.Contains(err.Error(), s) {
				t.Errorf("the error %q holds %q", err, s)
			}
		}
		if strings.Contains(logs, s) {
			t.Errorf("the logs hold %q:\n%s", s, logs)
		}
	}
}
