package storetest_test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/store"
	"github.com/envshare/envshare/internal/store/awsstore"
	"github.com/envshare/envshare/internal/store/storetest"
	"github.com/envshare/envshare/internal/store/tencentstore"
)

// tamper changes each request after it was signed, before it is sent.
type tamper func(r *http.Request)

func (f tamper) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	f(r)
	if b, ok := r.Body.(interface{ Len() int }); ok {
		r.ContentLength = int64(b.Len())
	}
	return http.DefaultTransport.RoundTrip(r)
}

// setHeader replaces a header whatever the spelling of its name: the Tencent SDK sets X-TC-*
// names as they are, not in canonical form.
func setHeader(r *http.Request, name, value string) {
	for k := range r.Header {
		if strings.EqualFold(k, name) {
			delete(r.Header, k)
		}
	}
	if value != "" {
		r.Header[name] = []string{value}
	}
}

func getHeader(r *http.Request, name string) string {
	for k, v := range r.Header {
		if strings.EqualFold(k, name) {
			return v[0]
		}
	}
	return ""
}

func setBody(r *http.Request, s string) {
	r.Body = io.NopCloser(strings.NewReader(s))
	r.ContentLength = int64(len(s))
}

// signatureCase is a request made with other credentials (env) or changed after it was signed
// (tamper), and what the fake's refusal says (empty: it passes).
type signatureCase struct {
	name   string
	env    map[string]string
	tamper func(r *http.Request)
	want   string
}

// checkSignatures reads the secret "s", which holds "v", once per case through the store
// newStore makes (with opts, which carry the tampering transport). A refused request never
// counts as a call of the fake.
func checkSignatures(t *testing.T, cases []signatureCase, newStore func(t *testing.T, opts ...store.Option) (store.Store, interface{ Calls(string) int })) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := []store.Option{store.WithAttempts(1)}
			if tc.tamper != nil {
				opts = append(opts, store.WithHTTPClient(&http.Client{Transport: tamper(tc.tamper)}))
			}
			s, fake := newStore(t, opts...)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			got, err := s.Get(t.Context(), "s")
			switch {
			case tc.want == "" && (err != nil || got != "v"):
				t.Errorf("Get = %q, %v", got, err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Get error = %v, want %q", err, tc.want)
			}
			if tc.want != "" && fake.Calls("") != 0 {
				t.Errorf("a rejected request counts as a call")
			}
		})
	}
}

func TestAWSFakeChecksTheSignature(t *testing.T) {
	checkSignatures(t, []signatureCase{
		{"an untouched request passes", nil, func(*http.Request) {}, ""},
		{"a wrong secret key", map[string]string{"AWS_SECRET_ACCESS_KEY": "other"}, nil, "InvalidSignatureException: The request signature we calculated does not match"},
		{"an unknown access key", map[string]string{"AWS_ACCESS_KEY_ID": "AKIDOTHER"}, nil, "UnrecognizedClientException"},
		{"a wrong session token", map[string]string{"AWS_SESSION_TOKEN": "other"}, nil, "UnrecognizedClientException"},
		{"another region in the scope", map[string]string{"AWS_REGION": "eu-west-1"}, nil, "Credential should be scoped to a valid region"},
		{"a changed body", nil, func(r *http.Request) { setBody(r, `{"SecretId":"other"}`) }, "does not match"},
		{"a changed signed header", nil, func(r *http.Request) {
			d := []byte(r.Header.Get("X-Amz-Date")) // another second of the same minute
			d[14] = '0' + (d[14]-'0'+1)%6
			r.Header.Set("X-Amz-Date", string(d))
		}, "does not match"},
		{"another content type", nil, func(r *http.Request) { r.Header.Set("Content-Type", "application/x-amz-json-1.0") }, "SerializationException"},
		{"another operation of another service", nil, func(r *http.Request) { r.Header.Set("X-Amz-Target", "AmazonSSM.GetParameter") }, "Credential should be scoped to correct service: 'ssm'"},
		{"another operation of the same service", nil, func(r *http.Request) { r.Header.Set("X-Amz-Target", "secretsmanager.PutSecretValue") }, "does not match"},
		{"an unsigned X-Amz-* header", nil, func(r *http.Request) { r.Header.Set("X-Amz-Extra", "1") }, "'X-Amz-Extra' must be a 'SignedHeader'"},
		{"the session token removed", nil, func(r *http.Request) { r.Header.Del("X-Amz-Security-Token") }, "UnrecognizedClientException"},
		{"a date out of the scope", nil, func(r *http.Request) {
			r.Header.Set("X-Amz-Date", time.Now().UTC().Add(48*time.Hour).Format("20060102T150405Z"))
		}, "Date in Credential scope does not match"},
		{"a skewed date", nil, func(r *http.Request) {
			d := r.Header.Get("X-Amz-Date")
			at, _ := time.Parse("20060102T150405Z", d)
			at = at.Add(-10 * time.Minute)
			if at.Format("20060102") != d[:8] { // keep the scope's day, whatever the hour
				at = at.Add(20 * time.Minute)
			}
			r.Header.Set("X-Amz-Date", at.Format("20060102T150405Z"))
		}, "Signature expired"},
		{"a changed host", nil, func(r *http.Request) { r.Host = "localhost:" + strings.Split(r.URL.Host, ":")[1] }, "does not match"},
		{"a query added", nil, func(r *http.Request) { r.URL.RawQuery = "a=b" }, "does not match"},
		{"no signature", nil, func(r *http.Request) { r.Header.Del("Authorization") }, "MissingAuthenticationTokenException"},
		{"host not signed", nil, func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), ";host;", ";", 1))
		}, "'Host' must be a 'SignedHeader'"},
	}, func(t *testing.T, opts ...store.Option) (store.Store, interface{ Calls(string) int }) {
		f := storetest.NewAWS(t)
		f.SetEnv(t)
		f.SetSecret("s", "v")
		s, err := awsstore.NewSecretsManager(opts...)
		if err != nil {
			t.Fatal(err)
		}
		return s, f
	})
}

func TestTencentFakeChecksTheSignature(t *testing.T) {
	checkSignatures(t, []signatureCase{
		{"an untouched request passes", nil, func(*http.Request) {}, ""},
		{"a wrong secret key", map[string]string{"TENCENTCLOUD_SECRETKEY": "other"}, nil, "AuthFailure.SignatureFailure"},
		{"an unknown secret id", map[string]string{"TENCENTCLOUD_SECRETID": "AKIDother"}, nil, "AuthFailure.SecretIdNotFound"},
		{"a wrong session token", map[string]string{"TENCENTCLOUD_SESSIONTOKEN": "other"}, nil, "AuthFailure.TokenFailure"},
		{"a changed body", nil, func(r *http.Request) { setBody(r, `{"SecretName":"other","VersionId":"v1"}`) }, "AuthFailure.SignatureFailure"},
		{"a changed host", nil, func(r *http.Request) { r.Host = "localhost:" + strings.Split(r.URL.Host, ":")[1] }, "AuthFailure.SignatureFailure"},
		{"a skewed timestamp", nil, func(r *http.Request) {
			ts, _ := strconv.ParseInt(getHeader(r, "X-TC-Timestamp"), 10, 64)
			setHeader(r, "X-TC-Timestamp", strconv.FormatInt(ts-600, 10))
		}, "AuthFailure.SignatureExpire"},
		{"a shifted timestamp", nil, func(r *http.Request) {
			ts, _ := strconv.ParseInt(getHeader(r, "X-TC-Timestamp"), 10, 64)
			setHeader(r, "X-TC-Timestamp", strconv.FormatInt(ts-1, 10))
		}, "AuthFailure.SignatureFailure"},
		{"another service's version", nil, func(r *http.Request) { setHeader(r, "X-TC-Version", "2018-04-16") }, "InvalidAction"},
		{"no region", nil, func(r *http.Request) { setHeader(r, "X-TC-Region", "") }, "MissingParameter"},
	}, func(t *testing.T, opts ...store.Option) (store.Store, interface{ Calls(string) int }) {
		f := storetest.NewTencent(t)
		f.SetEnv(t)
		f.SetSecret("s", "v1", "v")
		s, err := tencentstore.NewSSM(append(opts, store.WithEndpoint(f.URL), tencentstore.WithVersionID("v1"))...)
		if err != nil {
			t.Fatal(err)
		}
		return s, f
	})

	t.Run("scf is signed for scf, not ssm", func(t *testing.T) {
		f := storetest.NewTencent(t)
		f.SetEnv(t)
		f.AddFunction("default", "fn")
		i, err := tencentstore.NewInvoker("fn", "", store.WithEndpoint(f.URL), store.WithAttempts(1),
			store.WithHTTPClient(&http.Client{Transport: tamper(func(r *http.Request) {
				setHeader(r, "Authorization", strings.Replace(getHeader(r, "Authorization"), "/scf/", "/ssm/", 1))
			})}))
		if err != nil {
			t.Fatal(err)
		}
		if err := i.Invoke(t.Context(), "{}"); err == nil || !strings.Contains(err.Error(), "credential scope must be <date>/scf/tc3_request") {
			t.Errorf("Invoke error = %v", err)
		}
	})
}

func TestFaults(t *testing.T) {
	f := storetest.NewAWS(t)
	f.SetEnv(t)
	f.SetSecret("s", "v")
	f.SetParameter("/p", "v")
	sm, _ := awsstore.NewSecretsManager(store.WithAttempts(1))
	ps, _ := awsstore.NewParameters(store.WithAttempts(1))

	f.Fail(1, storetest.Fault{Op: "AmazonSSM.GetParameter", Code: "ThrottlingException"})
	if _, err := sm.Get(t.Context(), "s"); err != nil {
		t.Errorf("a fault for another operation hit this one: %v", err)
	}
	if _, err := ps.Get(t.Context(), "/p"); err == nil || !strings.Contains(err.Error(), "ThrottlingException") {
		t.Errorf("Get error = %v, want the fault", err)
	}
	if _, err := ps.Get(t.Context(), "/p"); err != nil {
		t.Errorf("the fault outlived its count: %v", err)
	}
	want := []storetest.Request{
		{Op: "secretsmanager.GetSecretValue", ID: "s", Region: storetest.AWSRegion},
		{Op: "AmazonSSM.GetParameter", ID: "/p", Region: storetest.AWSRegion},
		{Op: "AmazonSSM.GetParameter", ID: "/p", Region: storetest.AWSRegion},
	}
	if got := f.Requests(); len(got) != 3 || got[0] != want[0] || got[2] != want[2] {
		t.Errorf("requests = %+v", got)
	}
	if f.Hits() != 3 || f.Calls("AmazonSSM.GetParameter") != 2 {
		t.Errorf("hits %d, calls %d", f.Hits(), f.Calls("AmazonSSM.GetParameter"))
	}
}

// TestOnCallInterleavesWriters shows how a test holds one call back to interleave two
// read-modify-write cycles: the hook stops the first writer's Put until the second is done.
func TestOnCallInterleavesWriters(t *testing.T) {
	f := storetest.NewTencent(t)
	f.SetEnv(t)
	f.SetSecret("state", "v1", "{}")
	s, err := tencentstore.NewSSM(store.WithEndpoint(f.URL), tencentstore.WithVersionID("v1"))
	if err != nil {
		t.Fatal(err)
	}
	held, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	f.OnCall(func(op, id string) {
		if op == "ssm.UpdateSecret" {
			once.Do(func() { close(held); <-release })
		}
	})
	done := make(chan error, 1)
	go func() { done <- s.Put(t.Context(), "state", "first") }()
	<-held
	f.OnCall(nil)
	if err := s.Put(t.Context(), "state", "second"); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, _ := f.Secret("state", "v1"); got != "first" {
		t.Errorf("the record holds %q, want the held writer's value, written last", got)
	}
}

func TestEnvHelpersClearOtherVariables(t *testing.T) {
	t.Setenv("AWS_PROFILE", "someone")
	t.Setenv("AWS_ENDPOINT_URL_SSM", "http://elsewhere")
	t.Setenv("TENCENTCLOUD_ENDPOINT", "elsewhere")
	storetest.SetAWSEnv(t)
	storetest.SetTencentEnv(t)
	for _, name := range []string{"AWS_PROFILE", "AWS_ENDPOINT_URL_SSM", "TENCENTCLOUD_ENDPOINT"} {
		if v, ok := os.LookupEnv(name); ok {
			t.Errorf("%s = %q, want it unset", name, v)
		}
	}
	if v, _ := os.LookupEnv("AWS_SESSION_TOKEN"); v != storetest.AWSSessionToken {
		t.Errorf("AWS_SESSION_TOKEN = %q", v)
	}
}
