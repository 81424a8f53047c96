package token

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/envshare/envshare/pkg/wechat"
)

// Test credentials: fakes check that requests carry them, signed as the real services expect.
const (
	testAWSKeyID     = "AKIDENVSHARETEST"
	testAWSSecret    = "aws-secret-key-for-tests"
	testAWSSession   = "aws-session-token-for-tests"
	testAWSRegion    = "us-east-1"
	testTCSecretID   = "AKIDtencentfortests"
	testTCSecretKey  = "tencent-secret-key-for-tests"
	testTCSession    = "tencent-session-token-for-tests"
	testTCRegion     = "ap-shanghai"
	testAppSecret    = "APPSECRET-b71c0d"
	testVerifyTicket = "TICKET-3e9a44"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// noBackoff retries secret store calls at once.
func noBackoff(int) time.Duration { return 0 }

// credsJSON is a secret value holding the platform's credentials.
func credsJSON(appID string) string {
	return fmt.Sprintf(`{"component_appid":%q,"component_appsecret":%q,"component_verify_ticket":%q}`,
		appID, testAppSecret, testVerifyTicket)
}

// fakeMinter answers api_component_token with "minted-1", "minted-2", ... and counts calls.
type fakeMinter struct {
	calls     atomic.Int64
	expiresIn int
	last      atomic.Pointer[wechat.ComponentTokenRequest]
}

func (m *fakeMinter) ComponentToken(_ context.Context, req *wechat.ComponentTokenRequest) (*wechat.ComponentTokenResponse, error) {
	n := m.calls.Add(1)
	m.last.Store(req)
	return &wechat.ComponentTokenResponse{ComponentAccessToken: fmt.Sprintf("minted-%d", n), ExpiresIn: m.expiresIn}, nil
}

// isolateAWS points the AWS SDK at nothing but what the test sets: no shared files, no instance
// metadata, static test credentials.
func isolateAWS(t testing.TB) {
	t.Helper()
	for _, name := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL_SSM", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CA_BUNDLE",
		"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"} {
		t.Setenv(name, "")
		os.Unsetenv(name)
	}
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_REGION", testAWSRegion)
	t.Setenv("AWS_ACCESS_KEY_ID", testAWSKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", testAWSSecret)
	t.Setenv("AWS_SESSION_TOKEN", testAWSSession)
}

// awsFake speaks the AWS JSON 1.1 protocol of Secrets Manager (GetSecretValue) and SSM
// (GetParameter) on 127.0.0.1.
type awsFake struct {
	t       testing.TB
	service string // "secretsmanager" or "ssm": the SigV4 signing name
	srv     *httptest.Server
	hits    atomic.Int64

	mu     sync.Mutex
	values map[string]string
	status int    // when non-zero, every answer has this HTTP status
	raw    string // when non-empty, every answer is this body, as is
}

func newAWSFake(t testing.TB, service string) *awsFake {
	f := &awsFake{t: t, service: service, values: map[string]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *awsFake) set(id, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.values[id] = value
}

// misbehave makes every answer HTTP status (when non-zero) or the raw body (when non-empty).
func (f *awsFake) misbehave(status int, raw string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.raw = status, raw
}

func (f *awsFake) serve(w http.ResponseWriter, r *http.Request) {
	f.hits.Add(1)
	target := map[string]string{"secretsmanager": "secretsmanager.GetSecretValue", "ssm": "AmazonSSM.GetParameter"}[f.service]
	fail := func(status int, typ, msg string) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-Requestid", "req-1")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
	}
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/":
		fail(404, "UnknownOperationException", "bad method or path")
		return
	case r.Header.Get("Content-Type") != "application/x-amz-json-1.1":
		fail(400, "SerializationException", "bad content type "+r.Header.Get("Content-Type"))
		return
	case r.Header.Get("X-Amz-Target") != target:
		fail(400, "UnknownOperationException", "bad target "+r.Header.Get("X-Amz-Target"))
		return
	case !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential="+testAWSKeyID+"/") ||
		!strings.Contains(r.Header.Get("Authorization"), "/"+testAWSRegion+"/"+f.service+"/aws4_request"):
		fail(403, "UnrecognizedClientException", "bad signature scope")
		return
	case r.Header.Get("X-Amz-Security-Token") != testAWSSession:
		fail(403, "UnrecognizedClientException", "bad security token")
		return
	}
	f.mu.Lock()
	status, raw := f.status, f.raw
	f.mu.Unlock()
	if status != 0 {
		fail(status, "InternalServiceError", "injected failure")
		return
	}
	if raw != "" {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		io.WriteString(w, raw)
		return
	}

	var in struct {
		SecretID       string `json:"SecretId"`
		Name           string
		WithDecryption bool
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		fail(400, "SerializationException", err.Error())
		return
	}
	f.mu.Lock()
	value, ok := f.values[in.SecretID+in.Name]
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	switch f.service {
	case "secretsmanager":
		if !ok {
			fail(400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
			return
		}
		json.NewEncoder(w).Encode(map[string]any{
			"ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + in.SecretID + "-AbCdEf", "Name": in.SecretID,
			"SecretString": value, "VersionId": "v-1", "VersionStages": []string{"AWSCURRENT"}, "CreatedDate": 1.7e9,
		})
	case "ssm":
		if !ok {
			fail(400, "ParameterNotFound", "")
			return
		}
		if !in.WithDecryption {
			value = "AQICAHhEncryptedBlobNotTheValue=="
		}
		json.NewEncoder(w).Encode(map[string]any{"Parameter": map[string]any{
			"Name": in.Name, "Type": "SecureString", "Value": value, "Version": 1, "DataType": "text",
			"ARN": "arn:aws:ssm:us-east-1:123456789012:parameter" + in.Name, "LastModifiedDate": 1.7e9,
		}})
	}
}

// isolateTencent sets the credentials SCF gives a function's execution role.
func isolateTencent(t testing.TB) {
	t.Helper()
	t.Setenv("TENCENTCLOUD_SECRETID", testTCSecretID)
	t.Setenv("TENCENTCLOUD_SECRETKEY", testTCSecretKey)
	t.Setenv("TENCENTCLOUD_SESSIONTOKEN", testTCSession)
	t.Setenv("TENCENTCLOUD_REGION", testTCRegion)
}

// tencentFake speaks Tencent Cloud API v3 for SSM (GetSecretValue, ListSecretVersionIds) on
// 127.0.0.1 and checks each request's TC3-HMAC-SHA256 signature.
type tencentFake struct {
	t    testing.TB
	srv  *httptest.Server
	hits atomic.Int64

	mu       sync.Mutex
	secrets  map[string][]tcVersion // name → versions, oldest first
	status   int                    // when non-zero, every answer has this HTTP status
	raw      string                 // when non-empty, every answer is this body, as is
	regions  []string               // X-TC-Region of each request
	requests []string               // action and VersionId of each request
}

type tcVersion struct {
	id      string
	value   string
	created uint64
}

func newTencentFake(t testing.TB) *tencentFake {
	f := &tencentFake{t: t, secrets: map[string][]tcVersion{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// put adds a version (or replaces the value of an existing one, as UpdateSecret does).
func (f *tencentFake) put(name, version, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	vs := f.secrets[name]
	for i := range vs {
		if vs[i].id == version {
			vs[i].value = value
			return
		}
	}
	f.secrets[name] = append(vs, tcVersion{id: version, value: value, created: uint64(1700000000 + len(vs))})
}

// misbehave makes every answer HTTP status (when non-zero) or the raw body (when non-empty).
func (f *tencentFake) misbehave(status int, raw string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.raw = status, raw
}

func (f *tencentFake) serve(w http.ResponseWriter, r *http.Request) {
	f.hits.Add(1)
	body, _ := io.ReadAll(r.Body)
	answer := func(v map[string]any) {
		v["RequestId"] = "tc-req-1"
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"Response": v})
	}
	fail := func(code, msg string) {
		answer(map[string]any{"Error": map[string]string{"Code": code, "Message": msg}})
	}
	action := r.Header.Get("X-TC-Action")
	f.mu.Lock()
	f.regions = append(f.regions, r.Header.Get("X-TC-Region"))
	status, raw := f.status, f.raw
	f.mu.Unlock()

	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/" || r.Header.Get("Content-Type") != "application/json":
		fail("InvalidParameter", "bad method, path or content type")
		return
	case r.Header.Get("X-TC-Version") != "2019-09-23":
		fail("InvalidParameter", "bad version")
		return
	case r.Header.Get("X-TC-Token") != testTCSession:
		fail("AuthFailure.TokenFailure", "bad token")
		return
	case r.Header.Get("Authorization") != tc3Authorization(r, body, testTCSecretID, testTCSecretKey):
		fail("AuthFailure.SignatureFailure", "The provided credentials could not be validated.")
		return
	case status != 0:
		w.WriteHeader(status)
		io.WriteString(w, "<html>injected failure</html>")
		return
	case raw != "":
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, raw)
		return
	}

	var in struct{ SecretName, VersionId string }
	if err := json.Unmarshal(body, &in); err != nil {
		fail("InvalidParameter", "body is not JSON")
		return
	}
	f.mu.Lock()
	f.requests = append(f.requests, action+" "+in.VersionId)
	versions := append([]tcVersion(nil), f.secrets[in.SecretName]...)
	f.mu.Unlock()
	if versions == nil {
		fail("ResourceNotFound.SecretNotExist", "secret does not exist")
		return
	}
	switch action {
	case "ListSecretVersionIds":
		var list []map[string]any
		for _, v := range versions {
			list = append(list, map[string]any{"VersionId": v.id, "CreateTime": v.created})
		}
		answer(map[string]any{"SecretName": in.SecretName, "Versions": list})
	case "GetSecretValue":
		for _, v := range versions {
			if v.id == in.VersionId {
				answer(map[string]any{"SecretName": in.SecretName, "VersionId": v.id, "SecretString": v.value})
				return
			}
		}
		fail("ResourceNotFound", "version does not exist")
	default:
		fail("InvalidAction", "unknown action")
	}
}

// tc3Authorization computes the Authorization header Tencent Cloud API v3 expects for r.
func tc3Authorization(r *http.Request, body []byte, secretID, secretKey string) string {
	ts := r.Header.Get("X-TC-Timestamp")
	var sec int64
	fmt.Sscan(ts, &sec)
	date := time.Unix(sec, 0).UTC().Format("2006-01-02")
	canonical := fmt.Sprintf("POST\n/\n\ncontent-type:%s\nhost:%s\n\ncontent-type;host\n%s",
		r.Header.Get("Content-Type"), r.Host, sha256Hex(body))
	scope := date + "/ssm/tc3_request"
	toSign := "TC3-HMAC-SHA256\n" + ts + "\n" + scope + "\n" + sha256Hex([]byte(canonical))
	key := hmacSHA256([]byte("TC3"+secretKey), date)
	key = hmacSHA256(key, "ssm")
	key = hmacSHA256(key, "tc3_request")
	sig := hex.EncodeToString(hmacSHA256(key, toSign))
	return fmt.Sprintf("TC3-HMAC-SHA256 Credential=%s/%s, SignedHeaders=content-type;host, Signature=%s", secretID, scope, sig)
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}
