package tencentstore_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/store"
	"github.com/envshare/envshare/internal/store/storetest"
	"github.com/envshare/envshare/internal/store/tencentstore"
	"github.com/envshare/envshare/pkg/retry"
)

const secretName = "envshare-state"

// setup starts a fake and opens an SSM store on it.
func setup(t testing.TB, opts ...tencentstore.Option) (*tencentstore.SSM, *storetest.Tencent) {
	t.Helper()
	f := storetest.NewTencent(t)
	f.SetEnv(t)
	s, err := tencentstore.NewSSM(append([]tencentstore.Option{store.WithEndpoint(f.URL),
		store.WithBackoff(0, 0)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s, f
}

// fixed is the option of the state record's store.
var fixed = tencentstore.WithVersionID(tencentstore.DefaultStateVersionID)

func mustGet(t testing.TB, s store.Store, want string) {
	t.Helper()
	got, err := s.Get(context.Background(), secretName)
	if err != nil || got != want {
		t.Fatalf("Get = %q, %v; want %q", got, err, want)
	}
}

// assertClean fails when err holds a credential or any of the given texts.
func assertClean(t testing.TB, err error, texts ...string) {
	t.Helper()
	for _, s := range append(texts, storetest.TencentSecretKey, storetest.TencentSessionToken) {
		if err != nil && strings.Contains(err.Error(), s) {
			t.Errorf("the error %q holds %q", err, s)
		}
	}
}

func ops(f *storetest.Tencent) []string {
	var out []string
	for _, r := range f.Requests() {
		out = append(out, strings.TrimSpace(r.Op+" "+r.Version))
	}
	return out
}

func TestSSMGet(t *testing.T) {
	t.Run("a fixed version is read directly", func(t *testing.T) {
		s, f := setup(t, fixed)
		f.SetSecret(secretName, "v1", "old")
		f.SetSecret(secretName, "v2", "new")
		mustGet(t, s, "old")
		if want := []string{"ssm.GetSecretValue v1"}; !slices.Equal(ops(f), want) {
			t.Errorf("requests = %q, want %q", ops(f), want)
		}
	})

	t.Run("without a version the newest one is read", func(t *testing.T) {
		s, f := setup(t)
		f.SetSecret(secretName, "v1", "old")
		f.SetSecret(secretName, "v2", "new")
		mustGet(t, s, "new")
		if want := []string{"ssm.ListSecretVersionIds", "ssm.GetSecretValue v2"}; !slices.Equal(ops(f), want) {
			t.Errorf("requests = %q, want %q", ops(f), want)
		}
	})

	t.Run("requests go to the function's region, or the default one", func(t *testing.T) {
		for _, tc := range []struct{ env, want string }{{storetest.TencentRegion, storetest.TencentRegion}, {"", tencentstore.DefaultRegion}} {
			s, f := setup(t, fixed)
			t.Setenv("TENCENTCLOUD_REGION", tc.env)
			f.SetSecret(secretName, "v1", "tok")
			mustGet(t, s, "tok")
			if r := f.Requests(); len(r) != 1 || r[0].Region != tc.want {
				t.Errorf("requests = %+v, want region %s", r, tc.want)
			}
		}
	})

	t.Run("a missing secret or version is ErrNotFound naming the secret and the code", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			opts []tencentstore.Option
			add  bool
		}{{"no secret, fixed version", []tencentstore.Option{fixed}, false}, {"no secret, newest", nil, false}, {"no such version", []tencentstore.Option{tencentstore.WithVersionID("v9")}, true}} {
			t.Run(tc.name, func(t *testing.T) {
				s, f := setup(t, tc.opts...)
				if tc.add {
					f.SetSecret(secretName, "v1", "x")
				}
				_, err := s.Get(t.Context(), secretName)
				if !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), secretName) || !strings.Contains(err.Error(), "ResourceNotFound") {
					t.Errorf("Get error = %v", err)
				}
				if got := f.Calls(""); got != 1 {
					t.Errorf("%d calls, want 1", got)
				}
			})
		}
	})
}

func TestSSMPut(t *testing.T) {
	t.Run("put then get, at the fixed version", func(t *testing.T) {
		s, f := setup(t, fixed)
		f.SetSecret(secretName, "v1", "{}")
		if err := s.Put(t.Context(), secretName, `{"ticket":"t2"}`); err != nil {
			t.Fatal(err)
		}
		if got, _ := f.Secret(secretName, "v1"); got != `{"ticket":"t2"}` {
			t.Errorf("the fake holds %q", got)
		}
		mustGet(t, s, `{"ticket":"t2"}`)
		if want := []string{"ssm.UpdateSecret v1", "ssm.GetSecretValue v1"}; !slices.Equal(ops(f), want) {
			t.Errorf("requests = %q, want %q", ops(f), want)
		}
	})

	t.Run("without a fixed version put is refused without a call", func(t *testing.T) {
		s, f := setup(t)
		f.SetSecret(secretName, "v1", "{}")
		if err := s.Put(t.Context(), secretName, "x"); err == nil || f.Hits() != 0 {
			t.Errorf("Put = %v after %d hits", err, f.Hits())
		}
	})

	t.Run("a missing secret or version is ErrNotFound and nothing is created", func(t *testing.T) {
		s, f := setup(t, fixed)
		err := s.Put(t.Context(), secretName, "SECRETPART")
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Put error = %v", err)
		}
		assertClean(t, err, "SECRETPART")
		f.SetSecret(secretName, "v2", "{}")
		if err := s.Put(t.Context(), secretName, "SECRETPART"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Put error = %v", err)
		}
		if _, ok := f.Secret(secretName, "v1"); ok {
			t.Error("the version was created")
		}
	})

	t.Run("a value written is never quoted back by an error message", func(t *testing.T) {
		s, f := setup(t, fixed)
		f.SetSecret(secretName, "v1", "{}")
		f.Fail(1, storetest.Fault{Code: "InvalidParameterValue", Message: `SecretString {"t":"SECRETPART"} is invalid`})
		err := s.Put(t.Context(), secretName, `{"t":"SECRETPART"}`)
		if err == nil || !strings.Contains(err.Error(), "[redacted]") {
			t.Errorf("Put error = %v", err)
		}
		assertClean(t, err, "SECRETPART")
	})

	t.Run("a put followed by concurrent gets", func(t *testing.T) {
		s, f := setup(t, fixed)
		f.SetSecret(secretName, "v1", "{}")
		if err := s.Put(t.Context(), secretName, "v2"); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				if got, err := s.Get(t.Context(), secretName); err != nil || got != "v2" {
					t.Errorf("Get = %q, %v", got, err)
				}
			})
		}
		wg.Wait()
		if got := f.Calls("ssm.GetSecretValue"); got != 16 {
			t.Errorf("%d gets reached the fake, want 16", got)
		}
	})
}

func TestSSMFailures(t *testing.T) {
	t.Run("transient failures are retried", func(t *testing.T) {
		for _, fault := range []storetest.Fault{
			{Drop: true},
			{Status: 502},
			{Status: 429},
			{Code: "InternalError", Message: "try later"},
			{Code: "RequestLimitExceeded", Message: "slow down"},
			{Status: 503, Body: `{"Response": {"Error": {"Code": "InternalError", "Message": "x"}, "RequestId": "r"}}`},
		} {
			t.Run(fmt.Sprintf("%+v", fault), func(t *testing.T) {
				s, f := setup(t, fixed)
				f.SetSecret(secretName, "v1", "v")
				f.Fail(2, fault)
				mustGet(t, s, "v")
				f.Fail(2, fault)
				if err := s.Put(t.Context(), secretName, "w"); err != nil {
					t.Errorf("Put = %v", err)
				}
				if g, p := f.Calls("ssm.GetSecretValue"), f.Calls("ssm.UpdateSecret"); g != 3 || p != 3 {
					t.Errorf("%d gets and %d puts, want 3 each", g, p)
				}
			})
		}
	})

	t.Run("a failing service is attempted three times, or as configured", func(t *testing.T) {
		for _, tc := range []struct {
			opts []tencentstore.Option
			want int
		}{{nil, 3}, {[]tencentstore.Option{store.WithAttempts(4)}, 4}} {
			s, f := setup(t, append(tc.opts, fixed)...)
			f.SetSecret(secretName, "v1", "v")
			f.Fail(10, storetest.Fault{Status: 502})
			_, err := s.Get(t.Context(), secretName)
			var e *tencentstore.Error
			if !errors.As(err, &e) || e.Status != 502 || !strings.Contains(err.Error(), "502") {
				t.Errorf("Get error = %v", err)
			}
			assertClean(t, err, "injected")
			if got := f.Calls(""); got != tc.want {
				t.Errorf("%d calls, want %d", got, tc.want)
			}
		}
	})

	t.Run("permanent failures are not retried and name the code, message and request id", func(t *testing.T) {
		for _, code := range []string{"UnauthorizedOperation", "AuthFailure.UnauthorizedOperation", "InvalidParameterValue", "ResourceUnavailable.ResourceDisabled"} {
			s, f := setup(t, fixed)
			f.SetSecret(secretName, "v1", "v")
			f.Fail(1, storetest.Fault{Code: code, Message: "not allowed here"})
			_, err := s.Get(t.Context(), secretName)
			var e *tencentstore.Error
			if !errors.As(err, &e) || e.Code != code || e.RequestID == "" {
				t.Fatalf("Get error = %#v", err)
			}
			for _, want := range []string{code, "not allowed here", e.RequestID, secretName, "ssm.GetSecretValue"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Get error %q does not hold %q", err, want)
				}
			}
			if got := f.Calls(""); got != 1 {
				t.Errorf("%d calls, want 1", got)
			}
		}
	})

	t.Run("a context cancelled during the backoff ends the call", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		s, f := setup(t, fixed, store.WithBackoff(time.Hour, time.Hour), store.WithWait(cancelThenSleep(cancel)))
		f.SetSecret(secretName, "v1", "v")
		f.Fail(1, storetest.Fault{Code: "InternalError"})
		done := make(chan error, 1)
		go func() { _, err := s.Get(ctx, secretName); done <- err }()
		select {
		case err := <-done:
			var e *tencentstore.Error
			if !errors.Is(err, context.Canceled) || !errors.As(err, &e) || e.Code != "InternalError" {
				t.Errorf("Get error = %v, want the context's error and the last failure", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Get did not return when the context was cancelled")
		}
	})

	t.Run("a context past its deadline is reported as such", func(t *testing.T) {
		s, f := setup(t, fixed)
		f.SetSecret(secretName, "v1", "v")
		ctx, cancel := context.WithTimeout(t.Context(), -time.Second)
		defer cancel()
		if _, err := s.Get(ctx, secretName); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Get error = %v, want DeadlineExceeded", err)
		}
	})

	t.Run("an attempt that gets no answer in time is attempted again", func(t *testing.T) {
		// In a synctest bubble, over the fake served in process: the attempt's 50ms run out on
		// the bubble's clock, and the next attempt has all the time it needs.
		_, f := setup(t, fixed)
		f.SetSecret(secretName, "v1", "v")
		s, err := tencentstore.NewSSM(store.WithEndpoint(f.URL), store.WithHTTPClient(f.InProcess()), fixed,
			store.WithBackoff(0, 0), store.WithAttemptTimeout(50*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		f.CheckTimeoutThenAnswer(t, 50*time.Millisecond, func(ctx context.Context) (string, error) { return s.Get(ctx, secretName) }, "v")
	})

	t.Run("missing credentials are named, then read again at the next call", func(t *testing.T) {
		s, f := setup(t, fixed)
		f.SetSecret(secretName, "v1", "tok")
		os.Unsetenv("TENCENTCLOUD_SECRETID")
		os.Unsetenv("TENCENTCLOUD_SECRETKEY")
		_, err := s.Get(t.Context(), secretName)
		if !errors.Is(err, store.ErrMissingCredentials) ||
			!strings.Contains(err.Error(), "TENCENTCLOUD_SECRETID and TENCENTCLOUD_SECRETKEY not set") {
			t.Errorf("Get error = %v", err)
		}
		if f.Hits() != 0 {
			t.Errorf("the fake was called %d times", f.Hits())
		}
		f.SetEnv(t) // SCF delivers the credentials with the next invocation
		mustGet(t, s, "tok")
	})

	t.Run("a wrong secret key fails the signature and is not retried", func(t *testing.T) {
		s, f := setup(t, fixed)
		f.SetSecret(secretName, "v1", "tok")
		t.Setenv("TENCENTCLOUD_SECRETKEY", "wrong-key")
		_, err := s.Get(t.Context(), secretName)
		if err == nil || !strings.Contains(err.Error(), "AuthFailure.SignatureFailure") || f.Hits() != 1 {
			t.Errorf("Get error = %v after %d hits", err, f.Hits())
		}
		assertClean(t, err, "wrong-key")
	})

	t.Run("an answer's body never appears in an error", func(t *testing.T) {
		for _, fault := range []storetest.Fault{
			{Body: `{"Response": {"SecretString": "SECRETPART`},
			{Body: `<html>SECRETPART</html>`},
			{Status: 502, Body: "<html>SECRETPART</html>"},
			{Status: 403, Body: `{"Response": {"SecretString": "SECRETPART"}}`},
		} {
			s, f := setup(t, fixed)
			f.SetSecret(secretName, "v1", "v")
			f.Fail(5, fault)
			_, err := s.Get(t.Context(), secretName)
			if err == nil {
				t.Errorf("Get succeeded on %+v", fault)
			}
			assertClean(t, err, "SECRETPART")
		}
	})

	t.Run("an unreachable service is a network error", func(t *testing.T) {
		storetest.SetTencentEnv(t)
		closed := httptest.NewServer(nil)
		closed.Close()
		s, err := tencentstore.NewSSM(store.WithEndpoint(closed.URL), fixed, store.WithBackoff(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(t.Context(), secretName); err == nil || !strings.Contains(err.Error(), "ClientError.NetworkError") {
			t.Errorf("Get error = %v", err)
		}
	})

	t.Run("the HTTP client option carries every call", func(t *testing.T) {
		ct := &countingTransport{}
		s, f := setup(t, store.WithHTTPClient(&http.Client{Transport: ct}))
		f.SetSecret(secretName, "v1", "tok")
		mustGet(t, s, "tok")
		if ct.n.Load() != 2 {
			t.Errorf("the client carried %d requests, want 2", ct.n.Load())
		}
	})

	t.Run("an endpoint option that is not a URL is refused at once", func(t *testing.T) {
		for _, e := range []string{"ssm.tencentcloudapi.com", "ftp://host", "https://host/path"} {
			if _, err := tencentstore.NewSSM(store.WithEndpoint(e)); err == nil {
				t.Errorf("%q accepted", e)
			}
		}
	})
}

type countingTransport struct{ n atomic.Int64 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

func TestInvoker(t *testing.T) {
	setupInvoker := func(t *testing.T, namespace string, opts ...tencentstore.Option) (*tencentstore.Invoker, *storetest.Tencent) {
		f := storetest.NewTencent(t)
		f.SetEnv(t)
		f.AddFunction("default", "envshare")
		f.AddFunction("prod", "envshare")
		i, err := tencentstore.NewInvoker("envshare", namespace, append([]tencentstore.Option{
			store.WithEndpoint(f.URL), store.WithBackoff(0, 0)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		return i, f
	}
	const msg = `{"action":"share","data":[{"env":"e1","appids":["wx0123456789abcdef"]}]}`

	t.Run("an asynchronous invocation carries the message as its event", func(t *testing.T) {
		for _, tc := range []struct {
			namespace, want string
			opts            []tencentstore.Option
			qualifier       string
		}{{"", "default", nil, ""}, {"prod", "prod", []tencentstore.Option{tencentstore.WithQualifier("$LATEST")}, "$LATEST"}} {
			i, f := setupInvoker(t, tc.namespace, tc.opts...)
			if err := i.Invoke(t.Context(), msg); err != nil {
				t.Fatal(err)
			}
			want := []storetest.Invocation{{FunctionName: "envshare", Namespace: tc.want, Qualifier: tc.qualifier,
				InvocationType: "Event", ClientContext: msg, Region: storetest.TencentRegion}}
			if got := f.Invocations(); !slices.Equal(got, want) {
				t.Errorf("invocations = %+v, want %+v", got, want)
			}
		}
	})

	t.Run("a transient failure is retried", func(t *testing.T) {
		i, f := setupInvoker(t, "")
		f.Fail(2, storetest.Fault{Code: "InternalError.System"})
		if err := i.Invoke(t.Context(), msg); err != nil {
			t.Fatal(err)
		}
		if got := f.Calls("scf.Invoke"); got != 3 || len(f.Invocations()) != 1 {
			t.Errorf("%d calls, %d invocations", got, len(f.Invocations()))
		}
	})

	t.Run("a missing function is not retried", func(t *testing.T) {
		i, f := setupInvoker(t, "staging")
		err := i.Invoke(t.Context(), msg)
		if err == nil || !strings.Contains(err.Error(), "ResourceNotFound.Function") || f.Calls("") != 1 {
			t.Errorf("Invoke error = %v after %d calls", err, f.Calls(""))
		}
	})

	t.Run("an error message quoting the event is redacted", func(t *testing.T) {
		i, f := setupInvoker(t, "")
		f.Fail(1, storetest.Fault{Code: "InvalidParameterValue.ClientContext", Message: "bad ClientContext " + msg})
		err := i.Invoke(t.Context(), msg)
		if err == nil || strings.Contains(err.Error(), "wx0123456789abcdef") {
			t.Errorf("Invoke error = %v", err)
		}
	})

	t.Run("a message that is not JSON is refused without a call", func(t *testing.T) {
		i, f := setupInvoker(t, "")
		if err := i.Invoke(t.Context(), "share e1"); err == nil || f.Hits() != 0 {
			t.Errorf("Invoke = %v after %d hits", err, f.Hits())
		}
	})

	t.Run("missing credentials are named", func(t *testing.T) {
		i, f := setupInvoker(t, "")
		os.Unsetenv("TENCENTCLOUD_SECRETKEY")
		err := i.Invoke(t.Context(), msg)
		if !errors.Is(err, store.ErrMissingCredentials) || !strings.Contains(err.Error(), "TENCENTCLOUD_SECRETKEY not set") || f.Hits() != 0 {
			t.Errorf("Invoke error = %v", err)
		}
	})

	t.Run("an empty function name is refused", func(t *testing.T) {
		if _, err := tencentstore.NewInvoker("", ""); err == nil {
			t.Error("accepted")
		}
	})
}

func BenchmarkGet(b *testing.B) {
	for _, tc := range []struct {
		name string
		opts []tencentstore.Option
	}{{"fixed-version", []tencentstore.Option{fixed}}, {"newest-version", nil}} {
		b.Run(tc.name, func(b *testing.B) {
			s, f := setup(b, tc.opts...)
			f.SetSecret(secretName, "v1", `{"component_access_token":"tok","expires_at":"2026-01-02T03:04:05Z"}`)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Get(ctx, secretName); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// cancelThenSleep is a wait that cancels the call's context, then sleeps as a store would.
func cancelThenSleep(cancel context.CancelFunc) func(ctx context.Context, d time.Duration) error {
	return func(ctx context.Context, d time.Duration) error {
		cancel()
		return retry.Sleep(ctx, d)
	}
}
