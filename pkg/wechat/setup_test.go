package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// fixture is a client wired to an httptest fake of the WeChat API on 127.0.0.1.
type fixture struct {
	client *Client
	mux    *http.ServeMux
	url    string
	server *httptest.Server
	tokens *fakeTokens
	waits  *waitLog

	mu       sync.Mutex
	hits     map[string]int // requests per path
	newConns int            // TCP connections the server accepted
}

// setup starts a fake and a client whose waits are instant and recorded (go-github style).
// opts come after the fixture's own, so a test can override them.
func setup(t *testing.T, opts ...Option) *fixture {
	t.Helper()
	f := &fixture{
		mux:    http.NewServeMux(),
		tokens: &fakeTokens{tokens: []string{"tok-1", "tok-2", "tok-3"}},
		waits:  &waitLog{},
		hits:   map[string]int{},
	}
	f.server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.hits[r.URL.Path]++
		f.mu.Unlock()
		f.mux.ServeHTTP(w, r)
	}))
	f.server.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			f.mu.Lock()
			f.newConns++
			f.mu.Unlock()
		}
	}
	f.server.Start()
	t.Cleanup(f.server.Close)
	f.url = f.server.URL

	all := append([]Option{
		WithHTTPClient(NewHTTPClient(5 * time.Second)),
		WithWait(f.waits.wait),
		WithLogger(slog.New(slog.DiscardHandler)),
	}, opts...)
	f.client = New(f.url, f.tokens, all...)
	t.Cleanup(f.client.http.CloseIdleConnections)
	return f
}

// hitsOf returns how many requests reached path.
func (f *fixture) hitsOf(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[path]
}

func (f *fixture) conns() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.newConns
}

// fakeTokens hands out tokens in order: Token gives the current one, Reload the next.
type fakeTokens struct {
	mu        sync.Mutex
	tokens    []string
	i         int
	tokenErr  error
	reloadErr error
	rejected  []string // arguments of Reload
}

func (s *fakeTokens) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tokenErr != nil {
		return "", s.tokenErr
	}
	return s.tokens[s.i], nil
}

func (s *fakeTokens) Reload(ctx context.Context, rejected string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejected = append(s.rejected, rejected)
	if s.reloadErr != nil {
		return "", s.reloadErr
	}
	s.i = min(s.i+1, len(s.tokens)-1)
	return s.tokens[s.i], nil
}

func (s *fakeTokens) reloads() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.rejected...)
}

var _ TokenSource = (*fakeTokens)(nil)

// waitLog is an instant wait that records what it was asked to wait.
type waitLog struct {
	mu sync.Mutex
	ds []time.Duration
}

func (l *waitLog) wait(ctx context.Context, d time.Duration) error {
	l.mu.Lock()
	l.ds = append(l.ds, d)
	l.mu.Unlock()
	return ctx.Err()
}

func (l *waitLog) all() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Duration(nil), l.ds...)
}

// sequence answers the n-th request with handlers[n], repeating the last one.
func sequence(handlers ...http.HandlerFunc) http.HandlerFunc {
	var mu sync.Mutex
	n := 0
	return func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := handlers[min(n, len(handlers)-1)]
		n++
		mu.Unlock()
		h(w, r)
	}
}

// reply answers with a JSON body.
func reply(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}
}

// status answers with an HTTP status and a body.
func status(code int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

// hangUp closes the connection without answering.
func hangUp(w http.ResponseWriter, r *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	_ = conn.Close()
}

// errcode answers a WeChat error.
func errcode(code int) http.HandlerFunc {
	b, _ := json.Marshal(map[string]any{"errcode": code, "errmsg": "fake error"})
	return reply(string(b))
}

var ok = reply(`{"errcode":0,"errmsg":"ok"}`)

func shareReq() *ShareEnvRequest {
	return &ShareEnvRequest{Data: []EnvAppIDs{{Env: "e1", AppIDs: []string{"wx0000000000000001"}}}, SourceType: 1}
}

// asAPIError returns err's *APIError or fails.
func asAPIError(t *testing.T, err error) *APIError {
	t.Helper()
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v (%T) is not an *APIError", err, err)
	}
	return apiErr
}

// counts is a ClientTrace that counts what a call did, as the function's metrics do.
type counts struct {
	mu                                sync.Mutex
	calls, retries, reloads, rejected int
}

func (c *counts) context() context.Context {
	return WithClientTrace(context.Background(), &ClientTrace{
		AttemptStart: func(info AttemptStartInfo) {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.calls++
			if info.Attempt > 1 {
				c.retries++
			}
		},
		TokenReload: func(string) {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.reloads++
		},
		TokenRejected: func(string) {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.rejected++
		},
	})
}

// tokenRejected returns how often the calls ended with the token rejected for good.
func (c *counts) tokenRejected() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rejected
}

// get returns the calls, retries and reloads counted.
func (c *counts) get() (calls, retries, reloads int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls, c.retries, c.reloads
}

// maxJitter draws the largest pause, so that waits are exact.
func maxJitter(ceiling time.Duration) time.Duration { return ceiling }
