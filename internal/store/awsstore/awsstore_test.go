package awsstore_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/store"
	"github.com/envshare/envshare/internal/store/awsstore"
	"github.com/envshare/envshare/internal/store/storetest"
	"github.com/envshare/envshare/pkg/retry"
)

// kind describes one of the two stores and how the fake holds its records.
type kind struct {
	name        string
	id          string
	getOp       string
	putOp       string
	endpointVar string
	notFound    string
	open        func(...awsstore.Option) (store.Store, error)
	set         func(f *storetest.AWS, id, value string)
	read        func(f *storetest.AWS, id string) (string, bool)
}

var kinds = []kind{
	{
		name: "secretsmanager", id: "envshare/state",
		getOp: "secretsmanager.GetSecretValue", putOp: "secretsmanager.PutSecretValue",
		endpointVar: "AWS_ENDPOINT_URL_SECRETS_MANAGER", notFound: "ResourceNotFoundException",
		open: func(o ...awsstore.Option) (store.Store, error) { return awsstore.NewSecretsManager(o...) },
		set:  (*storetest.AWS).SetSecret,
		read: (*storetest.AWS).Secret,
	},
	{
		name: "ssm", id: "/envshare/state",
		getOp: "AmazonSSM.GetParameter", putOp: "AmazonSSM.PutParameter",
		endpointVar: "AWS_ENDPOINT_URL_SSM", notFound: "ParameterNotFound",
		open: func(o ...awsstore.Option) (store.Store, error) { return awsstore.NewParameters(o...) },
		set:  (*storetest.AWS).SetParameter,
		read: func(f *storetest.AWS, id string) (string, bool) { p, ok := f.Parameter(id); return p.Value, ok },
	},
}

// setup starts a fake, points the environment at it and opens the kind's store on it.
func setup(t testing.TB, k kind, opts ...awsstore.Option) (store.Store, *storetest.AWS) {
	t.Helper()
	f := storetest.NewAWS(t)
	f.SetEnv(t)
	s, err := k.open(append([]awsstore.Option{store.WithBackoff(0, 0)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s, f
}

func mustGet(t testing.TB, s store.Store, id, want string) {
	t.Helper()
	got, err := s.Get(context.Background(), id)
	if err != nil || got != want {
		t.Fatalf("Get(%q) = %q, %v; want %q", id, got, err, want)
	}
}

// assertClean fails when err holds a credential or any of the given texts.
func assertClean(t testing.TB, err error, texts ...string) {
	t.Helper()
	for _, s := range append(texts, storetest.AWSSecretAccessKey, storetest.AWSSessionToken) {
		if err != nil && strings.Contains(err.Error(), s) {
			t.Errorf("the error %q holds %q", err, s)
		}
	}
}

func TestStores(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Run("get", func(t *testing.T) {
				s, f := setup(t, k)
				k.set(f, k.id, `{"component_access_token":"tok"}`)
				mustGet(t, s, k.id, `{"component_access_token":"tok"}`)
				if got := f.Calls(k.getOp); got != 1 {
					t.Errorf("%d calls, want 1", got)
				}
			})

			t.Run("put then get", func(t *testing.T) {
				s, f := setup(t, k)
				k.set(f, k.id, "{}")
				if err := s.Put(t.Context(), k.id, `{"ticket":"t2"}`); err != nil {
					t.Fatal(err)
				}
				if got, _ := k.read(f, k.id); got != `{"ticket":"t2"}` {
					t.Errorf("the fake holds %q", got)
				}
				mustGet(t, s, k.id, `{"ticket":"t2"}`)
			})

			t.Run("get of a missing record is ErrNotFound naming the record and the code", func(t *testing.T) {
				s, f := setup(t, k)
				_, err := s.Get(t.Context(), k.id)
				if !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), k.id) || !strings.Contains(err.Error(), k.notFound) {
					t.Errorf("Get error = %v", err)
				}
				if got := f.Calls(""); got != 1 {
					t.Errorf("%d calls, want 1 (not found is not retried)", got)
				}
			})

			t.Run("transient failures are retried", func(t *testing.T) {
				for _, fault := range []storetest.Fault{
					{Drop: true},
					{Status: 500},
					{Status: 503, Code: "ServiceUnavailable", Message: "try later"},
					{Status: 429},
					{Code: "ThrottlingException", Message: "Rate exceeded"},
					{Code: "InternalServiceError", Status: 500},
					{Code: "RequestTimeoutException"},
				} {
					t.Run(fmt.Sprintf("%+v", fault), func(t *testing.T) {
						s, f := setup(t, k)
						k.set(f, k.id, "v")
						f.Fail(2, fault)
						mustGet(t, s, k.id, "v")
						if got := f.Calls(k.getOp); got != 3 {
							t.Errorf("%d calls, want 3", got)
						}
						f.Fail(2, fault)
						if err := s.Put(t.Context(), k.id, "w"); err != nil {
							t.Errorf("Put = %v", err)
						}
						if got := f.Calls(k.putOp); got != 3 {
							t.Errorf("%d put calls, want 3", got)
						}
					})
				}
			})

			t.Run("a failing service is attempted three times, or as configured", func(t *testing.T) {
				for _, tc := range []struct {
					opts []awsstore.Option
					want int
				}{{nil, 3}, {[]awsstore.Option{store.WithAttempts(5)}, 5}, {[]awsstore.Option{store.WithAttempts(1)}, 1}} {
					s, f := setup(t, k, tc.opts...)
					k.set(f, k.id, "v")
					f.Fail(10, storetest.Fault{Status: 502})
					_, err := s.Get(t.Context(), k.id)
					var e *awsstore.Error
					if !errors.As(err, &e) || e.Status != 502 || !strings.Contains(err.Error(), "502") {
						t.Errorf("Get error = %v, want HTTP status 502", err)
					}
					if got := f.Calls(k.getOp); got != tc.want {
						t.Errorf("%d calls, want %d", got, tc.want)
					}
				}
			})

			t.Run("permanent failures are not retried and name the code, message, status and request id", func(t *testing.T) {
				for _, code := range []string{"AccessDeniedException", "ValidationException", "InvalidParameterException"} {
					s, f := setup(t, k)
					k.set(f, k.id, "v")
					f.Fail(1, storetest.Fault{Code: code, Message: "not allowed here"})
					_, err := s.Get(t.Context(), k.id)
					var e *awsstore.Error
					if !errors.As(err, &e) || e.Code != code || e.Status != 400 || e.RequestID == "" {
						t.Fatalf("Get error = %#v", err)
					}
					for _, want := range []string{code, "not allowed here", "400", e.RequestID, k.id, k.getOp} {
						if !strings.Contains(err.Error(), want) {
							t.Errorf("Get error %q does not hold %q", err, want)
						}
					}
					if errors.Is(err, store.ErrNotFound) {
						t.Errorf("%s is not ErrNotFound", code)
					}
					if got := f.Calls(""); got != 1 {
						t.Errorf("%d calls, want 1", got)
					}
				}
			})

			t.Run("a context cancelled during the backoff ends the call", func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				s, f := setup(t, k, store.WithBackoff(time.Hour, time.Hour), store.WithWait(cancelThenSleep(cancel)))
				k.set(f, k.id, "v")
				f.Fail(1, storetest.Fault{Status: 500})
				done := make(chan error, 1)
				go func() { _, err := s.Get(ctx, k.id); done <- err }()
				select {
				case err := <-done:
					var e *awsstore.Error
					if !errors.Is(err, context.Canceled) || !errors.As(err, &e) {
						t.Errorf("Get error = %v, want the context's error and the last failure", err)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("Get did not return when the context was cancelled")
				}
				if got := f.Calls(""); got != 1 {
					t.Errorf("%d calls, want 1", got)
				}
			})

			t.Run("a context past its deadline is reported as such", func(t *testing.T) {
				s, f := setup(t, k)
				k.set(f, k.id, "v")
				ctx, cancel := context.WithTimeout(t.Context(), -time.Second)
				defer cancel()
				if _, err := s.Get(ctx, k.id); !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("Get error = %v, want DeadlineExceeded", err)
				}
			})

			t.Run("an attempt that gets no answer in time is attempted again", func(t *testing.T) {
				// In a synctest bubble, over the fake served in process: the attempt's 50ms run
				// out on the bubble's clock, and the next attempt has all the time it needs.
				_, f := setup(t, k)
				k.set(f, k.id, "v")
				s, err := k.open(store.WithEndpoint(f.URL), store.WithHTTPClient(f.InProcess()),
					store.WithBackoff(0, 0), store.WithAttemptTimeout(50*time.Millisecond))
				if err != nil {
					t.Fatal(err)
				}
				f.CheckTimeoutThenAnswer(t, 50*time.Millisecond, func(ctx context.Context) (string, error) { return s.Get(ctx, k.id) }, "v")
			})

			t.Run("missing credentials or region name the variables, not their values", func(t *testing.T) {
				for _, tc := range []struct {
					unset []string
					want  string
				}{
					{[]string{"AWS_ACCESS_KEY_ID"}, "AWS_ACCESS_KEY_ID not set"},
					{[]string{"AWS_SECRET_ACCESS_KEY"}, "AWS_SECRET_ACCESS_KEY not set"},
					{[]string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY not set"},
					{[]string{"AWS_REGION"}, "AWS_REGION (or AWS_DEFAULT_REGION) not set"},
				} {
					s, f := setup(t, k)
					k.set(f, k.id, "v")
					for _, name := range tc.unset {
						os.Unsetenv(name)
					}
					_, err := s.Get(t.Context(), k.id)
					if !errors.Is(err, store.ErrMissingCredentials) || !strings.Contains(err.Error(), tc.want) {
						t.Errorf("Get error = %v, want ErrMissingCredentials naming %s", err, tc.want)
					}
					assertClean(t, err, storetest.AWSAccessKeyID, storetest.AWSRegion)
					if f.Hits() != 0 {
						t.Errorf("the fake was called %d times", f.Hits())
					}
				}
			})

			t.Run("AWS_DEFAULT_REGION stands in for AWS_REGION", func(t *testing.T) {
				s, f := setup(t, k)
				k.set(f, k.id, "v")
				os.Unsetenv("AWS_REGION")
				t.Setenv("AWS_DEFAULT_REGION", storetest.AWSRegion)
				mustGet(t, s, k.id, "v")
			})

			t.Run("a session token is not required of long-term keys, but the fake requires one", func(t *testing.T) {
				s, f := setup(t, k)
				k.set(f, k.id, "v")
				os.Unsetenv("AWS_SESSION_TOKEN")
				_, err := s.Get(t.Context(), k.id)
				if err == nil || !strings.Contains(err.Error(), "UnrecognizedClientException") || errors.Is(err, store.ErrMissingCredentials) {
					t.Errorf("Get error = %v, want the service's refusal", err)
				}
			})

			t.Run("a wrong secret key fails the signature and is not retried", func(t *testing.T) {
				s, f := setup(t, k)
				k.set(f, k.id, "v")
				t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-key")
				_, err := s.Get(t.Context(), k.id)
				if err == nil || !strings.Contains(err.Error(), "InvalidSignatureException") || f.Hits() != 1 {
					t.Errorf("Get error = %v after %d hits", err, f.Hits())
				}
				assertClean(t, err, "wrong-secret-key")
			})

			t.Run("endpoint precedence", func(t *testing.T) {
				dead := httptest.NewServer(nil)
				dead.Close()
				for _, tc := range []struct {
					name   string
					env    map[string]string
					option bool
				}{
					{"the option wins over every variable", map[string]string{k.endpointVar: dead.URL, "AWS_ENDPOINT_URL": dead.URL}, true},
					{"the service's variable wins over the generic one", map[string]string{k.endpointVar: "FAKE", "AWS_ENDPOINT_URL": dead.URL}, false},
					{"the generic variable alone", map[string]string{"AWS_ENDPOINT_URL": "FAKE"}, false},
					{"the other service's variable is ignored", map[string]string{"AWS_ENDPOINT_URL_SQS": dead.URL, "AWS_ENDPOINT_URL": "FAKE"}, false},
				} {
					t.Run(tc.name, func(t *testing.T) {
						f := storetest.NewAWS(t)
						storetest.SetAWSEnv(t)
						for name, v := range tc.env {
							t.Setenv(name, strings.ReplaceAll(v, "FAKE", f.URL))
						}
						opts := []awsstore.Option{store.WithAttempts(1)}
						if tc.option {
							opts = append(opts, store.WithEndpoint(f.URL))
						}
						s, err := k.open(opts...)
						if err != nil {
							t.Fatal(err)
						}
						k.set(f, k.id, "v")
						mustGet(t, s, k.id, "v")
					})
				}
			})

			t.Run("a bad endpoint variable is named, not quoted", func(t *testing.T) {
				s, _ := setup(t, k)
				t.Setenv(k.endpointVar, "ftp://user:SECRETPART@host")
				_, err := s.Get(t.Context(), k.id)
				if err == nil || !strings.Contains(err.Error(), k.endpointVar) {
					t.Errorf("Get error = %v", err)
				}
				assertClean(t, err, "SECRETPART")
			})

			t.Run("an answer's body never appears in an error", func(t *testing.T) {
				for _, fault := range []storetest.Fault{
					{Body: `{"SecretString": "SECRETPART`},                           // 200, truncated
					{Body: `{"Parameter": "SECRETPART"}`},                            // 200, the wrong shape
					{Status: 500, Body: "<html>SECRETPART</html>"},                   // a proxy's page
					{Status: 403, Body: `{"detail": "SECRETPART"}`},                  // JSON, not an AWS error
					{Status: 400, Body: `{"__type": "Oops", "Value": "SECRETPART"}`}, // an AWS error: only its message is kept
				} {
					s, f := setup(t, k)
					k.set(f, k.id, "v")
					f.Fail(5, fault)
					_, err := s.Get(t.Context(), k.id)
					if err == nil {
						t.Errorf("Get succeeded on %+v", fault)
					}
					assertClean(t, err, "SECRETPART")
				}
			})

			t.Run("a value written is never quoted back by an error message", func(t *testing.T) {
				s, f := setup(t, k)
				k.set(f, k.id, "{}")
				f.Fail(1, storetest.Fault{Code: "ValidationException", Message: `Value '{"t":"SECRETPART"}' at 'value' failed`})
				err := s.Put(t.Context(), k.id, `{"t":"SECRETPART"}`)
				if err == nil || !strings.Contains(err.Error(), "[redacted]") {
					t.Errorf("Put error = %v", err)
				}
				assertClean(t, err, "SECRETPART")
			})

			t.Run("a put followed by concurrent gets", func(t *testing.T) {
				s, f := setup(t, k)
				k.set(f, k.id, "{}")
				if err := s.Put(t.Context(), k.id, "v2"); err != nil {
					t.Fatal(err)
				}
				var wg sync.WaitGroup
				for range 16 {
					wg.Go(func() {
						if got, err := s.Get(t.Context(), k.id); err != nil || got != "v2" {
							t.Errorf("Get = %q, %v", got, err)
						}
					})
				}
				wg.Wait()
				if got := f.Calls(k.getOp); got != 16 {
					t.Errorf("%d gets reached the fake, want 16", got)
				}
			})

			t.Run("an endpoint option that is not a URL is refused at once", func(t *testing.T) {
				if _, err := k.open(store.WithEndpoint("localhost:4566")); err == nil {
					t.Error("accepted")
				}
			})
		})
	}
}

func TestSecretsManager(t *testing.T) {
	k := kinds[0]

	t.Run("a binary secret is given as its bytes", func(t *testing.T) {
		s, f := setup(t, k)
		f.SetSecretBinary(k.id, []byte("binary\x00value"))
		mustGet(t, s, k.id, "binary\x00value")
	})

	t.Run("the secret's ARN is an id too", func(t *testing.T) {
		s, f := setup(t, k)
		f.SetSecret(k.id, "v")
		mustGet(t, s, storetest.SecretARN(k.id), "v")
	})

	t.Run("each put makes one new version, retried attempts included", func(t *testing.T) {
		s, f := setup(t, k)
		f.SetSecret(k.id, "{}")
		f.Fail(1, storetest.Fault{Op: k.putOp, Drop: true})
		if err := s.Put(t.Context(), k.id, "v2"); err != nil {
			t.Fatal(err)
		}
		if got := f.SecretVersions(k.id); got != 2 {
			t.Errorf("%d versions, want 2", got)
		}
	})

	t.Run("a put to a missing secret is ErrNotFound and creates nothing", func(t *testing.T) {
		s, f := setup(t, k)
		err := s.Put(t.Context(), k.id, "SECRETPART")
		if !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), k.id) {
			t.Errorf("Put error = %v", err)
		}
		assertClean(t, err, "SECRETPART")
		if _, ok := f.Secret(k.id); ok {
			t.Error("the secret was created")
		}
	})
}

func TestParameters(t *testing.T) {
	k := kinds[1]

	t.Run("put writes a SecureString under SSM's key, or the configured one", func(t *testing.T) {
		for _, tc := range []struct {
			opts []awsstore.Option
			want string
		}{{nil, "alias/aws/ssm"}, {[]awsstore.Option{awsstore.WithKMSKeyID("alias/envshare")}, "alias/envshare"}} {
			s, f := setup(t, k, tc.opts...)
			f.SetParameter(k.id, "{}")
			if err := s.Put(t.Context(), k.id, "v2"); err != nil {
				t.Fatal(err)
			}
			p, _ := f.Parameter(k.id)
			if p.Type != "SecureString" || p.KeyID != tc.want || p.Version != 2 || p.Value != "v2" {
				t.Errorf("parameter = %+v, want a SecureString under %s, version 2", p, tc.want)
			}
		}
	})

	t.Run("a value too large for the standard tier names the service's reason", func(t *testing.T) {
		s, f := setup(t, k)
		f.SetParameter(k.id, "{}")
		err := s.Put(t.Context(), k.id, strings.Repeat("SECRETPART", 500))
		if err == nil || !strings.Contains(err.Error(), "4096") || f.Calls(k.putOp) != 1 {
			t.Errorf("Put error = %v", err)
		}
		assertClean(t, err, "SECRETPART")
	})
}

func TestQueue(t *testing.T) {
	setupQueue := func(t *testing.T, opts ...awsstore.Option) (*awsstore.Queue, *storetest.AWS, string) {
		f := storetest.NewAWS(t)
		f.SetEnv(t)
		url := f.AddQueue("envshare-retry")
		q, err := awsstore.NewQueue(url, append([]awsstore.Option{store.WithBackoff(0, 0)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		return q, f, url
	}

	t.Run("messages are sent in order", func(t *testing.T) {
		q, f, url := setupQueue(t)
		for _, body := range []string{`{"action":"share","env":"e1","appids":["wx1"]}`, `{"action":"share","n":2}`} {
			if err := q.Send(t.Context(), body); err != nil {
				t.Fatal(err)
			}
		}
		if got := f.Messages(url); len(got) != 2 || got[1] != `{"action":"share","n":2}` {
			t.Errorf("messages = %q", got)
		}
	})

	t.Run("a transient failure is retried", func(t *testing.T) {
		q, f, url := setupQueue(t)
		f.Fail(2, storetest.Fault{Code: "RequestThrottled", Status: 400})
		if err := q.Send(t.Context(), "{}"); err != nil {
			t.Fatal(err)
		}
		if got := f.Calls("AmazonSQS.SendMessage"); got != 3 || len(f.Messages(url)) != 1 {
			t.Errorf("%d calls, %d messages", got, len(f.Messages(url)))
		}
	})

	t.Run("a missing queue is not retried", func(t *testing.T) {
		f := storetest.NewAWS(t)
		f.SetEnv(t)
		q, err := awsstore.NewQueue("https://sqs.us-east-1.amazonaws.com/123456789012/absent", store.WithBackoff(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		err = q.Send(t.Context(), "{}")
		if err == nil || !strings.Contains(err.Error(), "QueueDoesNotExist") || f.Calls("") != 1 {
			t.Errorf("Send error = %v after %d calls", err, f.Calls(""))
		}
	})

	t.Run("AWS_ENDPOINT_URL_SQS is honoured", func(t *testing.T) {
		f := storetest.NewAWS(t)
		storetest.SetAWSEnv(t)
		t.Setenv("AWS_ENDPOINT_URL_SQS", f.URL)
		url := f.AddQueue("q")
		q, err := awsstore.NewQueue(url)
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Send(t.Context(), "{}"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a received message is hidden for the timeout, at most 12 hours", func(t *testing.T) {
		q, f, url := setupQueue(t)
		for _, d := range []time.Duration{90*time.Minute + 500*time.Millisecond, 30 * time.Hour, -time.Second} {
			if err := q.ChangeVisibility(t.Context(), "receipt-1", d); err != nil {
				t.Fatal(err)
			}
		}
		want := []storetest.Visibility{{QueueURL: url, ReceiptHandle: "receipt-1", Timeout: 5400},
			{QueueURL: url, ReceiptHandle: "receipt-1", Timeout: 43200}, {QueueURL: url, ReceiptHandle: "receipt-1", Timeout: 0}}
		if got := f.Visibilities(); !slices.Equal(got, want) {
			t.Errorf("calls %+v, want %+v", got, want)
		}
		if err := q.ChangeVisibility(t.Context(), "", time.Hour); err == nil || f.Calls("AmazonSQS.ChangeMessageVisibility") != 3 {
			t.Errorf("an empty receipt handle: %v", err)
		}
	})

	t.Run("a queue's URL from its ARN", func(t *testing.T) {
		for arn, want := range map[string]string{
			"arn:aws:sqs:ap-east-1:123456789012:envshare":   "https://sqs.ap-east-1.amazonaws.com/123456789012/envshare",
			"arn:aws-cn:sqs:cn-north-1:123456789012:q.fifo": "https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q.fifo",
			"arn:aws:sns:ap-east-1:123456789012:topic":      "",
			"arn:aws:sqs:ap-east-1:123456789012":            "",
		} {
			got, err := awsstore.QueueURL(arn)
			if got != want || (err != nil) != (want == "") {
				t.Errorf("QueueURL(%q) = %q, %v; want %q", arn, got, err, want)
			}
		}
	})

	t.Run("an empty message or a bad queue URL is refused without a call", func(t *testing.T) {
		q, f, _ := setupQueue(t)
		if err := q.Send(t.Context(), ""); err == nil || f.Hits() != 0 {
			t.Errorf("Send(\"\") = %v", err)
		}
		if _, err := awsstore.NewQueue("not a url"); err == nil {
			t.Error("NewQueue accepted a bad URL")
		}
	})
}

func BenchmarkGet(b *testing.B) {
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			s, f := setup(b, k)
			k.set(f, k.id, `{"component_access_token":"tok","expires_at":"2026-01-02T03:04:05Z"}`)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Get(ctx, k.id); err != nil {
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
