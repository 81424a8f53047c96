package token

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/config"
	"github.com/envshare/envshare/pkg/wechat"
)

// fakeLoader is a source whose value the test sets; it counts reads.
type fakeLoader struct {
	hits atomic.Int64

	mu    sync.Mutex
	value string
	err   error
	gate  chan struct{} // when non-nil, a read waits for it to close
}

func (l *fakeLoader) Load(ctx context.Context) (string, error) {
	l.hits.Add(1)
	l.mu.Lock()
	gate := l.gate
	l.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.value, l.err
}

func (l *fakeLoader) set(value string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.value, l.err = value, err
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func newTestSource(t testing.TB, l Loader, m Minter, c *clock, opts ...Option) *Source {
	t.Helper()
	opts = append([]Option{WithLoader(l), WithNow(c.Now), WithLogger(discard)}, opts...)
	s, err := NewSource(config.Config{TokenMode: "file", TokenFile: "/run/token"}, m, opts...)
	if err != nil {
		t.Fatalf("NewSource: %v", err)
	}
	return s
}

func TestSourceValueFormats(t *testing.T) {
	tests := []struct {
		name   string
		value  string
		want   string
		minted bool
	}{
		{"a bare token is used as is", "tok-123_ABC", "tok-123_ABC", false},
		{"a file's final newline is ignored", "tok-123\n", "tok-123", false},
		{"surrounding spaces and a byte order mark are ignored", "\ufeff  tok-123 \r\n", "tok-123", false},
		{"JSON with component_access_token gives that token", `{"component_access_token": "tok-json"}`, "tok-json", false},
		{"JSON with other fields beside the token gives the token", `{"component_access_token":"tok-json","note":"x"}`, "tok-json", false},
		{"the token wins over credentials in the same JSON", `{"component_access_token":"tok-json","component_appid":"wx1","component_appsecret":"s","component_verify_ticket":"t"}`, "tok-json", false},
		{"JSON with the platform's credentials is minted", credsJSON("wxcomponent0001"), "minted-1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &fakeLoader{value: tt.value}
			m := &fakeMinter{expiresIn: 7200}
			s := newTestSource(t, l, m, newClock())

			got, err := s.Token(t.Context())
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			if got != tt.want {
				t.Errorf("Token() = %q, want %q", got, tt.want)
			}
			if minted := m.calls.Load() > 0; minted != tt.minted {
				t.Errorf("minted = %v, want %v", minted, tt.minted)
			}
			if tt.minted {
				want := wechat.ComponentTokenRequest{ComponentAppID: "wxcomponent0001",
					ComponentAppSecret: testAppSecret, ComponentVerifyTicket: testVerifyTicket}
				if got := *m.last.Load(); got != want {
					t.Errorf("minted with %+v, want %+v", got, want)
				}
			}
		})
	}
}

func TestSourceRejectsMalformedValuesWithoutPrintingThem(t *testing.T) {
	const secretPart = "SECRETPART"
	tests := []struct {
		name   string
		value  string
		reason string
	}{
		{"an empty value", "", "empty"},
		{"a value of white space", " \n\t", "empty"},
		{"white space inside a bare token", "tok " + secretPart, "white space"},
		{"a control character inside a bare token", "tok\x00" + secretPart, "control"},
		{"a non-ASCII bare token", "tök" + secretPart, "non-ASCII"},
		{"a quoted bare token", `"` + secretPart + `"`, "quotes"},
		{"a very long bare token", strings.Repeat(secretPart, 200), "longer than"},
		{"truncated JSON", `{"component_access_token": "` + secretPart, "not a JSON object"},
		{"JSON that is not an object", `{` + secretPart + `}`, "not a JSON object"},
		{"JSON with a number for a string", `{"component_appid": 12, "component_appsecret": "` + secretPart + `"}`, "not a JSON object"},
		{"JSON with an empty token", `{"component_access_token": ""}`, "empty"},
		{"JSON with white space inside the token", `{"component_access_token": "a ` + secretPart + `"}`, "white space"},
		{"JSON missing the verify ticket", `{"component_appid":"wx1","component_appsecret":"` + secretPart + `"}`, "component_verify_ticket"},
		{"JSON with none of the fields", `{"token":"` + secretPart + `"}`, "component_appid, component_appsecret, component_verify_ticket"},
		{"JSON with a blank app secret", `{"component_appid":"wx1","component_appsecret":" ","component_verify_ticket":"` + secretPart + `"}`, "component_appsecret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			s := newTestSource(t, &fakeLoader{value: tt.value}, &fakeMinter{}, newClock(),
				WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))

			_, err := s.Token(t.Context())
			if !errors.Is(err, ErrMalformedSecret) {
				t.Fatalf("Token error = %v, want ErrMalformedSecret", err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q does not say %q", err, tt.reason)
			}
			if strings.Contains(err.Error(), secretPart) || strings.Contains(logs.String(), secretPart) {
				t.Errorf("the value leaked:\nerror: %v\nlogs: %s", err, logs.String())
			}
			if !strings.Contains(err.Error(), `token source file "/run/token"`) {
				t.Errorf("error %q does not name the source", err)
			}
		})
	}
}

func TestSourceCachesTheToken(t *testing.T) {
	l := &fakeLoader{value: "tok-1"}
	c := newClock()
	s := newTestSource(t, l, nil, c)
	for range 10 {
		if _, err := s.Token(t.Context()); err != nil {
			t.Fatalf("Token: %v", err)
		}
		c.Advance(24 * time.Hour)
	}
	if got := l.hits.Load(); got != 1 {
		t.Errorf("source read %d times, want 1", got)
	}
}

func TestSourceMintedTokenExpiry(t *testing.T) {
	tests := []struct {
		name      string
		expiresIn int
		refreshAt time.Duration // after minting
	}{
		{"a two-hour token is replaced five minutes early", 7200, 7200*time.Second - 5*time.Minute},
		{"a short-lived token is replaced a tenth of its life early", 60, 54 * time.Second},
		{"an answer without expires_in counts as two hours", 0, DefaultTokenTTL - 5*time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &fakeLoader{value: credsJSON("wx1")}
			m := &fakeMinter{expiresIn: tt.expiresIn}
			c := newClock()
			s := newTestSource(t, l, m, c)

			mustToken(t, s, "minted-1")
			c.Advance(tt.refreshAt - time.Second)
			mustToken(t, s, "minted-1")
			c.Advance(time.Second)
			mustToken(t, s, "minted-2")
			if l.hits.Load() != 2 || m.calls.Load() != 2 {
				t.Errorf("source read %d times and minted %d times, want 2 and 2", l.hits.Load(), m.calls.Load())
			}
		})
	}
}

func TestSourceServesAMintedTokenWhileRefreshFails(t *testing.T) {
	l := &fakeLoader{value: credsJSON("wx1")}
	m := &fakeMinter{expiresIn: 7200}
	c := newClock()
	s := newTestSource(t, l, m, c)
	mustToken(t, s, "minted-1")

	l.set("", errors.New("secret store unreachable"))
	c.Advance(7200*time.Second - 5*time.Minute)
	mustToken(t, s, "minted-1") // refresh failed; the token has 5 minutes left
	mustToken(t, s, "minted-1") // no new read before refreshRetry
	if got := l.hits.Load(); got != 2 {
		t.Errorf("source read %d times, want 2", got)
	}

	c.Advance(5 * time.Minute) // expired
	if _, err := s.Token(t.Context()); err == nil || !strings.Contains(err.Error(), "secret store unreachable") {
		t.Errorf("Token after expiry = %v, want the source's error", err)
	}

	l.set(credsJSON("wx1"), nil)
	mustToken(t, s, "minted-2")
}

func TestSourceMintingFailures(t *testing.T) {
	tests := []struct {
		name   string
		minter Minter
		check  func(t *testing.T, err error)
	}{
		{"without a minter the error says so", nil, func(t *testing.T, err error) {
			if !strings.Contains(err.Error(), "no WeChat client") {
				t.Errorf("error %q does not say a client is missing", err)
			}
		}},
		{"a client error is wrapped", MinterFunc(func(context.Context, *wechat.ComponentTokenRequest) (*wechat.ComponentTokenResponse, error) {
			return nil, &wechat.APIError{Endpoint: "api_component_token", Code: 61004, Msg: "api forbidden for ip"}
		}), func(t *testing.T, err error) {
			var apiErr *wechat.APIError
			if !errors.As(err, &apiErr) || apiErr.Code != 61004 {
				t.Errorf("error %v does not wrap the *wechat.APIError", err)
			}
		}},
		{"an errcode in the answer becomes an *APIError", MinterFunc(func(context.Context, *wechat.ComponentTokenRequest) (*wechat.ComponentTokenResponse, error) {
			return &wechat.ComponentTokenResponse{ErrCode: 40013, ErrMsg: "invalid appid"}, nil
		}), func(t *testing.T, err error) {
			var apiErr *wechat.APIError
			if !errors.As(err, &apiErr) || apiErr.Code != 40013 {
				t.Errorf("error %v does not wrap errcode 40013", err)
			}
		}},
		{"a malformed minted token is refused without printing it", MinterFunc(func(context.Context, *wechat.ComponentTokenRequest) (*wechat.ComponentTokenResponse, error) {
			return &wechat.ComponentTokenResponse{ComponentAccessToken: "bad SECRETPART", ExpiresIn: 7200}, nil
		}), func(t *testing.T, err error) {
			if !strings.Contains(err.Error(), "white space") || strings.Contains(err.Error(), "SECRETPART") {
				t.Errorf("error %q", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestSource(t, &fakeLoader{value: credsJSON("wx1")}, tt.minter, newClock())
			_, err := s.Token(t.Context())
			if err == nil {
				t.Fatal("Token succeeded, want an error")
			}
			if strings.Contains(err.Error(), testAppSecret) || strings.Contains(err.Error(), testVerifyTicket) {
				t.Errorf("error leaks a credential: %v", err)
			}
			tt.check(t, err)
		})
	}
}

func TestSourceReload(t *testing.T) {
	t.Run("a rotated secret brings the new token in", func(t *testing.T) {
		l := &fakeLoader{value: "old"}
		s := newTestSource(t, l, nil, newClock())
		mustToken(t, s, "old")

		l.set("new", nil)
		mustReload(t, s, "old", "new")
		mustToken(t, s, "new")
		mustReload(t, s, "old", "new") // a late caller with the old token gets the new one
		if got := l.hits.Load(); got != 2 {
			t.Errorf("source read %d times, want 2", got)
		}
	})

	t.Run("a rejected minted token is minted again", func(t *testing.T) {
		l := &fakeLoader{value: credsJSON("wx1")}
		m := &fakeMinter{expiresIn: 7200}
		s := newTestSource(t, l, m, newClock())
		mustToken(t, s, "minted-1")
		mustReload(t, s, "minted-1", "minted-2")
		if l.hits.Load() != 2 || m.calls.Load() != 2 {
			t.Errorf("source read %d times and minted %d times, want 2 and 2", l.hits.Load(), m.calls.Load())
		}
	})

	t.Run("a source that still holds the rejected token answers ErrStaleToken and backs off", func(t *testing.T) {
		l := &fakeLoader{value: "old"}
		c := newClock()
		s := newTestSource(t, l, nil, c)
		mustToken(t, s, "old")

		for range 3 {
			if _, err := s.Reload(t.Context(), "old"); !errors.Is(err, ErrStaleToken) {
				t.Fatalf("Reload error = %v, want ErrStaleToken", err)
			}
		}
		if got := l.hits.Load(); got != 2 {
			t.Errorf("source read %d times within the backoff, want 2", got)
		}
		mustToken(t, s, "old") // Token still answers; only reloads are refused

		c.Advance(StaleBackoff)
		if _, err := s.Reload(t.Context(), "old"); !errors.Is(err, ErrStaleToken) {
			t.Fatalf("Reload error = %v, want ErrStaleToken", err)
		}
		if got := l.hits.Load(); got != 3 {
			t.Errorf("source read %d times after the backoff, want 3", got)
		}

		l.set("new", nil)
		c.Advance(StaleBackoff)
		mustReload(t, s, "old", "new")
	})

	t.Run("the stale error is clear and names the source", func(t *testing.T) {
		s := newTestSource(t, &fakeLoader{value: "old-token"}, nil, newClock())
		mustToken(t, s, "old-token")
		_, err := s.Reload(t.Context(), "old-token")
		want := `token source file "/run/token": the token source still holds the token WeChat rejected; update the secret`
		if err == nil || err.Error() != want {
			t.Errorf("Reload error = %v, want %q", err, want)
		}
	})

	t.Run("a reload before any token loads it", func(t *testing.T) {
		s := newTestSource(t, &fakeLoader{value: "tok"}, nil, newClock())
		mustReload(t, s, "other", "tok")
	})
}

func TestSourceConcurrency(t *testing.T) {
	t.Run("concurrent first calls share one read", func(t *testing.T) {
		l := &fakeLoader{value: "tok", gate: make(chan struct{})}
		s := newTestSource(t, l, nil, newClock())
		errs := run(100, func(int) error {
			tok, err := s.Token(t.Context())
			if err == nil && tok != "tok" {
				err = fmt.Errorf("got %q", tok)
			}
			return err
		}, func() { close(l.gate) })
		for _, err := range errs {
			t.Error(err)
		}
		if got := l.hits.Load(); got != 1 {
			t.Errorf("source read %d times, want 1", got)
		}
	})

	t.Run("concurrent reloads of a stale token read the source once", func(t *testing.T) {
		l := &fakeLoader{value: "old"}
		s := newTestSource(t, l, nil, newClock())
		mustToken(t, s, "old")
		errs := run(100, func(int) error {
			_, err := s.Reload(t.Context(), "old")
			if !errors.Is(err, ErrStaleToken) {
				return fmt.Errorf("Reload error = %v, want ErrStaleToken", err)
			}
			return nil
		}, nil)
		for _, err := range errs {
			t.Error(err)
		}
		if got := l.hits.Load(); got != 2 {
			t.Errorf("source read %d times, want 2 (first load and one reload)", got)
		}
	})

	t.Run("concurrent reloads after rotation read the source once", func(t *testing.T) {
		l := &fakeLoader{value: "old"}
		s := newTestSource(t, l, nil, newClock())
		mustToken(t, s, "old")
		l.set("new", nil)
		errs := run(100, func(int) error {
			tok, err := s.Reload(t.Context(), "old")
			if err == nil && tok != "new" {
				err = fmt.Errorf("got %q", tok)
			}
			return err
		}, nil)
		for _, err := range errs {
			t.Error(err)
		}
		if got := l.hits.Load(); got != 2 {
			t.Errorf("source read %d times, want 2", got)
		}
	})

	t.Run("a mix of Token and Reload under rotation stays consistent", func(t *testing.T) {
		var version atomic.Int64
		l := LoaderFunc(func(context.Context) (string, error) {
			return fmt.Sprintf("tok-%d", version.Load()), nil
		})
		c := newClock()
		s := newTestSource(t, l, nil, c)
		errs := run(100, func(i int) error {
			for range 20 {
				tok, err := s.Token(t.Context())
				if err != nil {
					return err
				}
				if i%10 == 0 {
					version.Add(1)
				}
				if i%3 == 0 {
					c.Advance(time.Second)
					if _, err := s.Reload(t.Context(), tok); err != nil && !errors.Is(err, ErrStaleToken) {
						return err
					}
				}
			}
			return nil
		}, nil)
		for _, err := range errs {
			t.Error(err)
		}
	})

	t.Run("a caller whose context ends while another loads gives up", func(t *testing.T) {
		l := &fakeLoader{value: "tok", gate: make(chan struct{})}
		s := newTestSource(t, l, nil, newClock())
		loaded := make(chan error)
		go func() {
			_, err := s.Token(context.Background())
			loaded <- err
		}()
		for l.hits.Load() == 0 { // the first caller holds the load
			waitABit()
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := s.Token(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Token error = %v, want context.Canceled", err)
		}
		close(l.gate)
		if err := <-loaded; err != nil {
			t.Errorf("first Token: %v", err)
		}
	})
}

func TestSourceFailuresAreNotCached(t *testing.T) {
	l := &fakeLoader{err: errors.New("connection refused")}
	s := newTestSource(t, l, nil, newClock())
	if _, err := s.Token(t.Context()); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("Token error = %v, want the source's error", err)
	}
	l.set("tok", nil)
	mustToken(t, s, "tok")
}

func TestSourceNeverLogsSecrets(t *testing.T) {
	var logs bytes.Buffer
	l := &fakeLoader{value: credsJSON("wx1")}
	c := newClock()
	s := newTestSource(t, l, &fakeMinter{expiresIn: 7200}, c,
		WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))

	mustToken(t, s, "minted-1")
	mustReload(t, s, "minted-1", "minted-2")
	l.set("", errors.New("unreachable"))
	c.Advance(2 * time.Hour)
	s.Token(t.Context())
	l.set("bare-token-77", nil)
	mustToken(t, s, "bare-token-77")
	s.Reload(t.Context(), "bare-token-77")

	out := logs.String()
	for _, secret := range []string{"minted-1", "minted-2", "bare-token-77", testAppSecret, testVerifyTicket} {
		if strings.Contains(out, secret) {
			t.Errorf("logs contain %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{`"token_mode":"file"`, `"token_source":"/run/token"`, `"duration_ms"`, "token loaded"} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %s:\n%s", want, out)
		}
	}
}

func TestNewSource(t *testing.T) {
	t.Run("an unknown mode lists the modes", func(t *testing.T) {
		_, err := NewSource(config.Config{TokenMode: "vault"}, nil)
		if err == nil || !strings.Contains(err.Error(), "env, file, aws-secretsmanager, aws-ssm, tencent-ssm") {
			t.Errorf("NewSource error = %v", err)
		}
	})
	for _, mode := range []string{"aws-secretsmanager", "aws-ssm", "tencent-ssm"} {
		t.Run("mode "+mode+" needs a secret id", func(t *testing.T) {
			_, err := NewSource(config.Config{TokenMode: mode}, nil)
			if err == nil || !strings.Contains(err.Error(), "ENVSHARE_TOKEN_SECRET_ID") {
				t.Errorf("NewSource error = %v", err)
			}
		})
	}
	t.Run("mode file needs a path", func(t *testing.T) {
		_, err := NewSource(config.Config{TokenMode: "file"}, nil)
		if err == nil || !strings.Contains(err.Error(), "ENVSHARE_TOKEN_FILE") {
			t.Errorf("NewSource error = %v", err)
		}
	})
	t.Run("a bad Tencent endpoint is refused", func(t *testing.T) {
		_, err := NewSource(config.Config{TokenMode: "tencent-ssm", TokenSecretID: "s", TencentSSMEndpoint: "127.0.0.1:1"}, nil)
		if err == nil || !strings.Contains(err.Error(), "ENVSHARE_TENCENT_SSM_ENDPOINT") {
			t.Errorf("NewSource error = %v", err)
		}
	})
	t.Run("the constructor reads nothing", func(t *testing.T) {
		isolateAWS(t)
		isolateTencent(t)
		sm, ssm, tc := newAWSFake(t, "secretsmanager"), newAWSFake(t, "ssm"), newTencentFake(t)
		t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", sm.srv.URL)
		t.Setenv("AWS_ENDPOINT_URL_SSM", ssm.srv.URL)
		for _, cfg := range []config.Config{
			{TokenMode: "aws-secretsmanager", TokenSecretID: "s"},
			{TokenMode: "aws-ssm", TokenSecretID: "/p"},
			{TokenMode: "tencent-ssm", TokenSecretID: "s", TencentSSMEndpoint: tc.srv.URL},
			{TokenMode: "file", TokenFile: "/does/not/exist"},
		} {
			if _, err := NewSource(cfg, nil); err != nil {
				t.Errorf("NewSource(%s): %v", cfg.TokenMode, err)
			}
		}
		if n := sm.hits.Load() + ssm.hits.Load() + tc.hits.Load(); n != 0 {
			t.Errorf("the constructors made %d requests, want 0", n)
		}
	})
}

func TestEnvMode(t *testing.T) {
	t.Run("the configured token is served", func(t *testing.T) {
		s, err := NewSource(config.Config{TokenMode: "env", ComponentAccessToken: "env-token"}, nil, WithLogger(discard))
		if err != nil {
			t.Fatal(err)
		}
		mustToken(t, s, "env-token")
	})
	t.Run("a rejected env token cannot be reloaded", func(t *testing.T) {
		s, _ := NewSource(config.Config{TokenMode: "env", ComponentAccessToken: "env-token"}, nil, WithLogger(discard))
		mustToken(t, s, "env-token")
		_, err := s.Reload(t.Context(), "env-token")
		if !errors.Is(err, ErrStaleToken) || !strings.Contains(err.Error(), "ENVSHARE_COMPONENT_ACCESS_TOKEN") {
			t.Errorf("Reload error = %v, want ErrStaleToken naming the variable", err)
		}
	})
	t.Run("an empty token is malformed", func(t *testing.T) {
		s, _ := NewSource(config.Config{TokenMode: "env"}, nil, WithLogger(discard))
		if _, err := s.Token(t.Context()); !errors.Is(err, ErrMalformedSecret) {
			t.Errorf("Token error = %v, want ErrMalformedSecret", err)
		}
	})
}

func mustToken(t *testing.T, s *Source, want string) {
	t.Helper()
	got, err := s.Token(t.Context())
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	if got != want {
		t.Fatalf("Token() = %q, want %q", got, want)
	}
}

func mustReload(t *testing.T, s *Source, rejected, want string) {
	t.Helper()
	got, err := s.Reload(t.Context(), rejected)
	if err != nil {
		t.Fatalf("Reload(%q): %v", rejected, err)
	}
	if got != want {
		t.Fatalf("Reload(%q) = %q, want %q", rejected, got, want)
	}
}

// run calls f from n goroutines at once, then release (if any), and returns their errors.
func run(n int, f func(i int) error, release func()) []error {
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			if err := f(i); err != nil {
				errs <- err
			}
		})
	}
	close(start)
	if release != nil {
		release()
	}
	wg.Wait()
	close(errs)
	var out []error
	for err := range errs {
		out = append(out, err)
	}
	return out
}

// waitABit yields to other goroutines while polling for a condition (no timed sleep).
func waitABit() { runtime.Gosched() }

func TestHungSourcesHonourTheCallersContext(t *testing.T) {
	// hang answers nothing until the client goes away, and says when a request arrived.
	hang := func(t *testing.T) (url string, received chan struct{}) {
		received = make(chan struct{}, 10)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body) // the server notices a closed connection only after the body
			received <- struct{}{}
			<-r.Context().Done()
		}))
		t.Cleanup(srv.Close)
		return srv.URL, received
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, url string) config.Config
	}{
		{"aws-secretsmanager", func(t *testing.T, url string) config.Config {
			isolateAWS(t)
			t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", url)
			return config.Config{TokenMode: "aws-secretsmanager", TokenSecretID: "s"}
		}},
		{"aws-ssm", func(t *testing.T, url string) config.Config {
			isolateAWS(t)
			t.Setenv("AWS_ENDPOINT_URL_SSM", url)
			return config.Config{TokenMode: "aws-ssm", TokenSecretID: "/p"}
		}},
		{"tencent-ssm", func(t *testing.T, url string) config.Config {
			isolateTencent(t)
			return config.Config{TokenMode: "tencent-ssm", TokenSecretID: "s", TencentSSMEndpoint: url}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, received := hang(t)
			s, err := NewSource(tt.setup(t, url), nil, WithLogger(discard))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			go func() {
				<-received
				cancel()
			}()
			if _, err := s.Token(ctx); !errors.Is(err, context.Canceled) {
				t.Errorf("Token error = %v, want context.Canceled", err)
			}
		})
	}
}

// assertStaleReloadReadsOnce checks that 100 concurrent reloads of a token the source still
// holds all answer ErrStaleToken after one read of the source (hits: the fake's reads in all,
// the first load included).
func assertStaleReloadReadsOnce(t *testing.T, s *Source, hits func() int64) {
	t.Helper()
	errs := run(100, func(int) error {
		if _, err := s.Reload(t.Context(), "old-token"); !errors.Is(err, ErrStaleToken) {
			return err
		}
		return nil
	}, nil)
	for _, err := range errs {
		t.Errorf("Reload: %v", err)
	}
	if got := hits(); got != 2 {
		t.Errorf("fake hit %d times, want 2", got)
	}
}
