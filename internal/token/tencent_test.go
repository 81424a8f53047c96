package token

import (
	"errors"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/envshare/envshare/internal/config"
)

const tcSecretName = "envshare-component-token"

// newTencentSource starts a Tencent SSM fake and returns a Source reading tcSecretName from it;
// version "" reads the newest version.
func newTencentSource(t *testing.T, version string, m Minter, opts ...Option) (*Source, *tencentFake) {
	t.Helper()
	isolateTencent(t)
	fake := newTencentFake(t)
	opts = append([]Option{WithLogger(discard), WithBackoff(noBackoff)}, opts...)
	s, err := NewSource(config.Config{TokenMode: "tencent-ssm", TokenSecretID: tcSecretName,
		TencentSSMEndpoint: fake.srv.URL, TencentSSMVersionID: version, Attempts: 3}, m, opts...)
	if err != nil {
		t.Fatalf("NewSource: %v", err)
	}
	return s, fake
}

func TestTencentSSM(t *testing.T) {
	t.Run("each value format gives a token", func(t *testing.T) {
		for _, f := range []struct{ value, want string }{
			{"bare-token-1", "bare-token-1"},
			{`{"component_access_token":"json-token-1"}`, "json-token-1"},
			{credsJSON("wxcomponent0001"), "minted-1"},
		} {
			s, fake := newTencentSource(t, "", &fakeMinter{expiresIn: 7200})
			fake.put(tcSecretName, "v1", f.value)
			mustToken(t, s, f.want)
		}
	})

	t.Run("without a version the newest one is read", func(t *testing.T) {
		s, fake := newTencentSource(t, "", nil)
		fake.put(tcSecretName, "v1", "old-token")
		fake.put(tcSecretName, "v2", "new-token")
		mustToken(t, s, "new-token")
		want := []string{"ListSecretVersionIds ", "GetSecretValue v2"}
		if !slices.Equal(fake.requests, want) {
			t.Errorf("requests = %q, want %q", fake.requests, want)
		}
	})

	t.Run("a configured version is read directly", func(t *testing.T) {
		s, fake := newTencentSource(t, "v1", nil)
		fake.put(tcSecretName, "v1", "old-token")
		fake.put(tcSecretName, "v2", "new-token")
		mustToken(t, s, "old-token")
		if want := []string{"GetSecretValue v1"}; !slices.Equal(fake.requests, want) {
			t.Errorf("requests = %q, want %q", fake.requests, want)
		}
	})

	t.Run("a new version is picked up by Reload", func(t *testing.T) {
		s, fake := newTencentSource(t, "", nil)
		fake.put(tcSecretName, "v1", "old-token")
		mustToken(t, s, "old-token")
		fake.put(tcSecretName, "v2", "new-token")
		mustReload(t, s, "old-token", "new-token")
	})

	t.Run("a version updated in place is picked up by Reload", func(t *testing.T) {
		s, fake := newTencentSource(t, "v1", nil)
		fake.put(tcSecretName, "v1", "old-token")
		mustToken(t, s, "old-token")
		fake.put(tcSecretName, "v1", "new-token")
		mustReload(t, s, "old-token", "new-token")
	})

	t.Run("a stale secret answers ErrStaleToken to 100 concurrent reloads with one read", func(t *testing.T) {
		s, fake := newTencentSource(t, "v1", nil)
		fake.put(tcSecretName, "v1", "old-token")
		mustToken(t, s, "old-token")
		assertStaleReloadReadsOnce(t, s, fake.hits.Load)
	})

	t.Run("requests are signed for the function's region", func(t *testing.T) {
		s, fake := newTencentSource(t, "", nil)
		fake.put(tcSecretName, "v1", "tok")
		mustToken(t, s, "tok")
		for _, r := range fake.regions {
			if r != testTCRegion {
				t.Errorf("X-TC-Region = %q, want %q", r, testTCRegion)
			}
		}
	})

	t.Run("without TENCENTCLOUD_REGION the default region is used", func(t *testing.T) {
		s, fake := newTencentSource(t, "v1", nil)
		os.Unsetenv("TENCENTCLOUD_REGION")
		fake.put(tcSecretName, "v1", "tok")
		mustToken(t, s, "tok")
		if !slices.Equal(fake.regions, []string{DefaultTencentRegion}) {
			t.Errorf("regions = %q, want %q", fake.regions, DefaultTencentRegion)
		}
	})

	t.Run("a wrong secret key fails the signature check", func(t *testing.T) {
		s, fake := newTencentSource(t, "v1", nil)
		t.Setenv("TENCENTCLOUD_SECRETKEY", "wrong-key")
		fake.put(tcSecretName, "v1", "tok")
		_, err := s.Token(t.Context())
		if err == nil || !strings.Contains(err.Error(), "AuthFailure.SignatureFailure") {
			t.Errorf("Token error = %v, want AuthFailure.SignatureFailure", err)
		}
	})

	t.Run("missing credentials are named, then read again on the next load", func(t *testing.T) {
		s, fake := newTencentSource(t, "v1", nil)
		fake.put(tcSecretName, "v1", "tok")
		os.Unsetenv("TENCENTCLOUD_SECRETID")
		os.Unsetenv("TENCENTCLOUD_SECRETKEY")
		_, err := s.Token(t.Context())
		if !errors.Is(err, ErrMissingCredentials) ||
			!strings.Contains(err.Error(), "TENCENTCLOUD_SECRETID and TENCENTCLOUD_SECRETKEY not set") {
			t.Errorf("Token error = %v, want ErrMissingCredentials naming both variables", err)
		}
		if got := fake.hits.Load(); got != 0 {
			t.Errorf("fake hit %d times, want 0", got)
		}

		isolateTencent(t) // SCF delivers the credentials with the next invocation
		mustToken(t, s, "tok")
	})

	t.Run("a missing secret names the API's error", func(t *testing.T) {
		s, _ := newTencentSource(t, "", nil)
		_, err := s.Token(t.Context())
		if err == nil || !strings.Contains(err.Error(), "ResourceNotFound.SecretNotExist") {
			t.Errorf("Token error = %v", err)
		}
	})

	t.Run("a malformed value is refused without printing it", func(t *testing.T) {
		s, fake := newTencentSource(t, "v1", nil)
		fake.put(tcSecretName, "v1", "two SECRETPART words")
		_, err := s.Token(t.Context())
		if !errors.Is(err, ErrMalformedSecret) || strings.Contains(err.Error(), "SECRETPART") {
			t.Errorf("Token error = %v", err)
		}
	})

	t.Run("an answer that is not JSON does not leak its body", func(t *testing.T) {
		s, fake := newTencentSource(t, "v1", nil)
		fake.misbehave(0, `{"Response": {"SecretString": "SECRETPART`)
		_, err := s.Token(t.Context())
		if err == nil || !strings.Contains(err.Error(), "ClientError.ParseJsonError") || strings.Contains(err.Error(), "SECRETPART") {
			t.Errorf("Token error = %v", err)
		}
	})

	t.Run("a failing service is attempted three times and its body is not quoted", func(t *testing.T) {
		s, fake := newTencentSource(t, "v1", nil)
		fake.misbehave(502, "")
		_, err := s.Token(t.Context())
		if err == nil || !strings.Contains(err.Error(), "502") || strings.Contains(err.Error(), "injected") {
			t.Errorf("Token error = %v", err)
		}
		if got := fake.hits.Load(); got != 3 {
			t.Errorf("fake hit %d times, want 3", got)
		}
	})

	t.Run("an unreachable service is an error", func(t *testing.T) {
		isolateTencent(t)
		closed := httptest.NewServer(nil)
		closed.Close()
		s, err := NewSource(config.Config{TokenMode: "tencent-ssm", TokenSecretID: tcSecretName,
			TencentSSMEndpoint: closed.URL, Attempts: 3}, nil, WithLogger(discard), WithBackoff(noBackoff))
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Token(t.Context())
		if err == nil || !strings.Contains(err.Error(), "ClientError.NetworkError") {
			t.Errorf("Token error = %v, want a network error", err)
		}
	})

	t.Run("errors never carry the credentials", func(t *testing.T) {
		s, _ := newTencentSource(t, "", nil)
		t.Setenv("TENCENTCLOUD_SECRETKEY", "wrong-key")
		_, err := s.Token(t.Context())
		if err == nil || strings.Contains(err.Error(), "wrong-key") || strings.Contains(err.Error(), testTCSession) {
			t.Errorf("Token error = %v", err)
		}
	})
}
