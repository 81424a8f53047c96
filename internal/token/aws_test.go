package token

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/envshare/envshare/internal/config"
)

// awsModes describes, per AWS mode, its fake and how its endpoint variable is named.
var awsModes = []struct {
	mode, service, endpointVar, id string
}{
	{"aws-secretsmanager", "secretsmanager", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "envshare/component-token"},
	{"aws-ssm", "ssm", "AWS_ENDPOINT_URL_SSM", "/envshare/component-token"},
}

// newAWSSource starts the mode's fake, points the SDK at it through its AWS_ENDPOINT_URL_*
// variable, and returns a Source reading secret id.
func newAWSSource(t *testing.T, mode, service, endpointVar, id string, m Minter, opts ...Option) (*Source, *awsFake) {
	t.Helper()
	isolateAWS(t)
	fake := newAWSFake(t, service)
	t.Setenv(endpointVar, fake.srv.URL)
	opts = append([]Option{WithLogger(discard), WithBackoff(noBackoff)}, opts...)
	s, err := NewSource(config.Config{TokenMode: mode, TokenSecretID: id, Attempts: 3}, m, opts...)
	if err != nil {
		t.Fatalf("NewSource: %v", err)
	}
	return s, fake
}

func TestAWSModes(t *testing.T) {
	for _, am := range awsModes {
		t.Run(am.mode, func(t *testing.T) {
			t.Run("each value format gives a token", func(t *testing.T) {
				for _, f := range []struct{ value, want string }{
					{"bare-token-1\n", "bare-token-1"},
					{`{"component_access_token":"json-token-1"}`, "json-token-1"},
					{credsJSON("wxcomponent0001"), "minted-1"},
				} {
					s, fake := newAWSSource(t, am.mode, am.service, am.endpointVar, am.id, &fakeMinter{expiresIn: 7200})
					fake.set(am.id, f.value)
					mustToken(t, s, f.want)
					if got := fake.hits.Load(); got != 1 {
						t.Errorf("fake hit %d times, want 1", got)
					}
				}
			})

			t.Run("the generic AWS_ENDPOINT_URL is honoured too", func(t *testing.T) {
				_, fake := newAWSSource(t, am.mode, am.service, am.endpointVar, am.id, nil)
				os.Unsetenv(am.endpointVar)
				t.Setenv("AWS_ENDPOINT_URL", fake.srv.URL)
				s, err := NewSource(config.Config{TokenMode: am.mode, TokenSecretID: am.id}, nil, WithLogger(discard))
				if err != nil {
					t.Fatal(err)
				}
				fake.set(am.id, "tok")
				mustToken(t, s, "tok")
			})

			t.Run("the endpoint option wins over the environment", func(t *testing.T) {
				_, fake := newAWSSource(t, am.mode, am.service, am.endpointVar, am.id, nil)
				t.Setenv(am.endpointVar, "http://127.0.0.1:1")
				s, err := NewSource(config.Config{TokenMode: am.mode, TokenSecretID: am.id}, nil,
					WithLogger(discard), WithAWSEndpoint(fake.srv.URL))
				if err != nil {
					t.Fatal(err)
				}
				fake.set(am.id, "tok")
				mustToken(t, s, "tok")
			})

			t.Run("a rotated secret is picked up by Reload", func(t *testing.T) {
				s, fake := newAWSSource(t, am.mode, am.service, am.endpointVar, am.id, nil)
				fake.set(am.id, "old-token")
				mustToken(t, s, "old-token")
				fake.set(am.id, `{"component_access_token":"new-token"}`)
				mustReload(t, s, "old-token", "new-token")
				if got := fake.hits.Load(); got != 2 {
					t.Errorf("fake hit %d times, want 2", got)
				}
			})

			t.Run("a stale secret answers ErrStaleToken to 100 concurrent reloads with one read", func(t *testing.T) {
				s, fake := newAWSSource(t, am.mode, am.service, am.endpointVar, am.id, nil)
				fake.set(am.id, "old-token")
				mustToken(t, s, "old-token")
				assertStaleReloadReadsOnce(t, s, fake.hits.Load)
			})

			t.Run("a malformed value is refused without printing it", func(t *testing.T) {
				s, fake := newAWSSource(t, am.mode, am.service, am.endpointVar, am.id, nil)
				fake.set(am.id, `{"component_appid":"wx1","component_appsecret":"SECRETPART"}`)
				_, err := s.Token(t.Context())
				if !errors.Is(err, ErrMalformedSecret) || strings.Contains(err.Error(), "SECRETPART") {
					t.Errorf("Token error = %v", err)
				}
			})

			t.Run("a missing secret names the service's error", func(t *testing.T) {
				s, _ := newAWSSource(t, am.mode, am.service, am.endpointVar, am.id, nil)
				_, err := s.Token(t.Context())
				want := map[string]string{"secretsmanager": "ResourceNotFoundException", "ssm": "ParameterNotFound"}[am.service]
				if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), am.id) {
					t.Errorf("Token error = %v, want %s naming %s", err, want, am.id)
				}
			})

			t.Run("an answer that is not JSON does not leak its body", func(t *testing.T) {
				s, fake := newAWSSource(t, am.mode, am.service, am.endpointVar, am.id, nil)
				fake.misbehave(0, `{"SecretString": "SECRETPART`)
				_, err := s.Token(t.Context())
				if err == nil || strings.Contains(err.Error(), "SECRETPART") {
					t.Errorf("Token error = %v", err)
				}
			})

			t.Run("a failing service is attempted three times", func(t *testing.T) {
				s, fake := newAWSSource(t, am.mode, am.service, am.endpointVar, am.id, nil)
				fake.misbehave(500, "")
				if _, err := s.Token(t.Context()); err == nil {
					t.Fatal("Token succeeded against a failing service")
				}
				if got := fake.hits.Load(); got != 3 {
					t.Errorf("fake hit %d times, want 3", got)
				}
			})

			t.Run("an unreachable service is an error", func(t *testing.T) {
				isolateAWS(t)
				closed := httptest.NewServer(nil)
				closed.Close()
				t.Setenv(am.endpointVar, closed.URL)
				s, err := NewSource(config.Config{TokenMode: am.mode, TokenSecretID: am.id, Attempts: 3}, nil,
					WithLogger(discard), WithBackoff(noBackoff))
				if err != nil {
					t.Fatal(err)
				}
				_, err = s.Token(t.Context())
				if err == nil || !strings.Contains(err.Error(), "connect") {
					t.Errorf("Token error = %v, want a connection error", err)
				}
			})

			t.Run("missing credentials are named", func(t *testing.T) {
				s, fake := newAWSSource(t, am.mode, am.service, am.endpointVar, am.id, nil)
				os.Unsetenv("AWS_SECRET_ACCESS_KEY")
				_, err := s.Token(t.Context())
				if !errors.Is(err, ErrMissingCredentials) || !strings.Contains(err.Error(), "AWS_SECRET_ACCESS_KEY not set") {
					t.Errorf("Token error = %v, want ErrMissingCredentials naming AWS_SECRET_ACCESS_KEY", err)
				}
				if got := fake.hits.Load(); got != 0 {
					t.Errorf("fake hit %d times, want 0", got)
				}
			})

			t.Run("a missing region is named", func(t *testing.T) {
				s, _ := newAWSSource(t, am.mode, am.service, am.endpointVar, am.id, nil)
				os.Unsetenv("AWS_REGION")
				_, err := s.Token(t.Context())
				if !errors.Is(err, ErrMissingCredentials) || !strings.Contains(err.Error(), "AWS_REGION") {
					t.Errorf("Token error = %v, want an error naming AWS_REGION", err)
				}
			})

			t.Run("errors never carry the test credentials", func(t *testing.T) {
				s, fake := newAWSSource(t, am.mode, am.service, am.endpointVar, am.id, nil)
				fake.misbehave(403, "")
				_, err := s.Token(t.Context())
				if err == nil || strings.Contains(err.Error(), testAWSSecret) || strings.Contains(err.Error(), testAWSSession) {
					t.Errorf("Token error = %v", err)
				}
			})
		})
	}
}

// countingTransport counts the requests that pass through it.
type countingTransport struct{ n atomic.Int64 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

func TestHTTPClientOptionCarriesEveryCall(t *testing.T) {
	for _, am := range awsModes {
		t.Run(am.mode, func(t *testing.T) {
			ct := &countingTransport{}
			s, fake := newAWSSource(t, am.mode, am.service, am.endpointVar, am.id, nil,
				WithHTTPClient(&http.Client{Transport: ct}))
			fake.set(am.id, "tok")
			mustToken(t, s, "tok")
			if ct.n.Load() != 1 {
				t.Errorf("the HTTP client carried %d requests, want 1", ct.n.Load())
			}
		})
	}
	t.Run("tencent-ssm", func(t *testing.T) {
		ct := &countingTransport{}
		s, fake := newTencentSource(t, "", nil, WithHTTPClient(&http.Client{Transport: ct}))
		fake.put(tcSecretName, "v1", "tok")
		mustToken(t, s, "tok")
		if ct.n.Load() != 2 {
			t.Errorf("the HTTP client carried %d requests, want 2", ct.n.Load())
		}
	})
}
