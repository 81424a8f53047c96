// Package eventtest runs the sample events in events/<platform>/ through an adapter's handler
// against the WeChat emulator and compares each answer with the golden file beside the event.
// Every run also scans the App's logs (debug level), EMF lines and answer for the sample's
// secrets. It is used by the adapters' tests only.
//
// For events/aws/httpapi-v2-share.json the golden is httpapi-v2-share.golden.json and an
// optional sidecar httpapi-v2-share.env.json (see Sidecar) adjusts the configuration. A sample
// without a golden fails; `go test -update` rewrites the goldens.
package eventtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/config"
	"github.com/envshare/envshare/internal/ledger"
	"github.com/envshare/envshare/internal/testkit"
	"github.com/envshare/envshare/internal/trigger"
	"github.com/envshare/envshare/pkg/wxemu"
)

var update = flag.Bool("update", false, "rewrite the golden files of the sample events")

// Test credentials of the sample events. The hmac-signed samples are signed with TestSecret;
// the pushes to /wechat/events are sealed (wxcrypt.Seal) with TestComponentToken,
// TestComponentAESKey and TestComponentAppID.
const (
	TestSecret = "envshare-test-secret"
	TestToken  = "test-component-access-token"

	// The third-party platform's own values (CONTRACT.md sections 5 and 6).
	TestComponentAppID     = "wx9f8e7d6c5b4a3921"
	TestComponentAppSecret = "envshare-test-component-appsecret"
	TestComponentToken     = "envshare-test-message-token"
	TestComponentAESKey    = "EnvshareTestEncodingAESKey0123456789abcdefg" // 43 characters
	// TestTicket is the ticket the emulator issues at its start, seeded in the credentials of
	// the refresh samples: a refresh mints with it.
	TestTicket = "ticket@@@envshare-test-seed-ticket"
	// TestPushedTicket is the ticket the sample ticket pushes carry.
	TestPushedTicket = "ticket@@@envshare-test-pushed-ticket"

	// EmulatorURL replaces the emulator's address (random port) in answers.
	EmulatorURL = "http://wxemu.test"
	// Now is the default clock of the HMAC check and the confirmation pages
	// (2023-11-14T22:13:20Z).
	Now int64 = 1_700_000_000
)

// PublicURLs are the ENVSHARE_PUBLIC_URL of the samples, by events directory: the HTTP API's
// URL ($default stage) on AWS, the API Gateway service's URL with its stage on SCF.
var PublicURLs = map[string]string{
	"aws": "https://k7m2p9q4r1.execute-api.ap-east-1.amazonaws.com/",
	"scf": "https://service-f94sy04v-1250000000.gz.apigw.tencentcs.com/release/",
}

// Sidecar is the optional <name>.env.json beside a sample event.
type Sidecar struct {
	Env    map[string]string `json:"env"`    // ENVSHARE_* variables on top of the defaults ("" unsets)
	Now    int64             `json:"now"`    // unix seconds of the HMAC check's and the pages' clock (default Now)
	Faults []wxemu.Fault     `json:"faults"` // faults injected into the emulator
	// Apps are Mini Programs added to the emulator's wxemu.DemoState, such as one that
	// authorizes the platform in the sample.
	Apps map[string]wxemu.App `json:"apps"`
	// Credentials, when set, is the content of the credentials secret: the sample runs in mode
	// file, with it in a temporary file (ENVSHARE_TOKEN_MODE=file, ENVSHARE_TOKEN_FILE), and
	// without the variables of mode env, which mode file refuses (ENVSHARE_COMPONENT_*).
	Credentials map[string]string `json:"credentials"`
	// StateRecord, when set, is the initial content of the state record, in a temporary file
	// named by ENVSHARE_STATE_ID ({} is the empty record the operator creates). It needs
	// Credentials: the record lives in the credentials' store.
	StateRecord map[string]string `json:"state_record"`
	// WantStateRecord lists fields the state record must hold after the invocation.
	WantStateRecord map[string]string `json:"want_state_record"`
	// WantCalls is how many calls of each endpoint (e.g. "batchshareenv") the emulator must
	// have seen by the end of the invocation.
	WantCalls map[string]int `json:"want_calls"`
	// Ledger, when set, is what the fleet ledger knows before the invocation: an SQLite file
	// in the temporary directory, named by ENVSHARE_LEDGER (sqlite:PATH).
	Ledger *LedgerRecords `json:"ledger"`
	// WantLedger lists records the ledger must hold after the invocation, as JSON objects
	// (an authorizer by its appid, a pair by its env and appid): each field given must have
	// the value given, the others are not compared.
	WantLedger *WantLedger `json:"want_ledger"`
	// WantForwarded, when above 0, starts a local receiver of forwarded pushes, names it in
	// ENVSHARE_FORWARD_URL, and wants that many pushes forwarded to it, each a POST that passes
	// WeChat's signature check with the test platform's token.
	WantForwarded int `json:"want_forwarded"`
	// Quotas change the emulator's quotas before the invocation (limits, calls used today, an
	// API's quota used up).
	Quotas []wxemu.QuotaChange `json:"quotas"`
	// WantMessages, when set, gives the instance a platform retry (the queue, an asynchronous
	// self-invocation) that keeps what it is handed, and is what it must have been handed, in
	// order: the shard messages of a planned reconcile ("RUN" stands for the run's id).
	WantMessages []string `json:"want_messages"`
}

// WantLedger is what the ledger must hold after a sample.
type WantLedger struct {
	Authorizers []map[string]any `json:"authorizers"`
	Pairs       []map[string]any `json:"pairs"`
}

// LedgerRecords are fleet ledger records, as the ledger stores them (internal/ledger's JSON).
type LedgerRecords struct {
	Authorizers []ledger.Authorizer `json:"authorizers"`
	Pairs       []ledger.Pair       `json:"pairs"`
}

// Handler is an adapter's handler.
type Handler func(ctx context.Context, payload json.RawMessage) (any, error)

// Adapter describes the adapter under test.
type Adapter struct {
	Dir      string // the events directory, e.g. "../../events/aws"
	Platform string // trigger.PlatformAWS or trigger.PlatformSCF
	// Handler returns the adapter's handler for app.
	Handler func(app *trigger.App) Handler
	// Context adds the platform's invocation context (request id) to ctx.
	Context func(ctx context.Context, requestID string) context.Context
}

// Samples lists the sample events of dir: every *.json but goldens and sidecars.
func Samples(t testing.TB, dir string) []string {
	t.Helper()
	all, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range all {
		if !strings.HasSuffix(p, ".golden.json") && !strings.HasSuffix(p, ".env.json") {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no sample events in %s", dir)
	}
	return out
}

// Run runs every sample of a.Dir against a fresh emulator seeded with wxemu.DemoState, compares
// the answer with its golden, and checks what the sidecar says the invocation must leave.
func Run(t *testing.T, a Adapter) {
	for _, path := range Samples(t, a.Dir) {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			payload, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f := NewFixture(t, a.Dir, name)
			got := Invoke(t, a, f, name, payload)
			compareGolden(t, GoldenOf(path), got, *update)
			f.CheckAfter(t)
		})
	}
}

// Invoke runs one payload through a new App of the adapter, configured by f and on f's clock,
// and returns the answer as the runtime would encode it, normalised.
func Invoke(t *testing.T, a Adapter, f *Fixture, name string, payload []byte) []byte {
	t.Helper()
	SetEnv(t, f.Env)
	clock := f.Sidecar.Clock()
	// Every log line down to debug and every EMF line is kept for the secret scan; warnings
	// and errors also go to the test log.
	var logs, emf testkit.Buffer
	app := trigger.New(trigger.Options{
		Platform: a.Platform,
		Cloud:    f.Cloud(),
		Logger: slog.New(slog.NewMultiHandler(
			slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}),
			slog.NewJSONHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))),
		Now:        func() time.Time { return clock },
		MetricsOut: &emf,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, err := a.Handler(app)(a.Context(ctx, "req-"+name), payload)
	answer := Encode(v, err)
	CheckNoSecrets(t, f.Secrets(t), map[string]string{
		"the logs": logs.String(), "the EMF lines": emf.String(), "the answer": string(answer)})
	return Normalise(answer, f.Base)
}

// Fixture is what one sample runs against: its sidecar, a fresh emulator seeded for it, and
// its configuration.
type Fixture struct {
	Sidecar Sidecar
	Emu     *wxemu.Emulator
	Base    string            // the emulator's address
	Env     map[string]string // the ENVSHARE_* variables
	// Forwards is the receiver of forwarded pushes (Sidecar.WantForwarded), else nil.
	Forwards *ForwardReceiver

	mu       sync.Mutex
	messages []string // handed to the platform's retry (Sidecar.WantMessages)
}

// NewFixture prepares the sample dir/name.json: it reads the sidecar, serves a new emulator
// seeded for the sample until the test ends, and writes the sample's files into a temporary
// directory.
func NewFixture(t *testing.T, dir, name string) *Fixture {
	t.Helper()
	sc, err := ReadSidecar(filepath.Join(dir, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	emu := NewEmulator()
	if err := emu.Seed(sc.EmulatorState()); err != nil {
		t.Fatal(err)
	}
	for _, f := range sc.Faults {
		if err := emu.AddFault(f); err != nil {
			t.Fatal(err)
		}
	}
	base := emu.ServeTest(t)
	env, err := sc.Configure(base, dir, t.TempDir())
	if err != nil {
		t.Fatalf("sidecar of %s: %v", name, err)
	}
	for _, q := range sc.Quotas {
		if _, err := emu.ChangeQuota(q); err != nil {
			t.Fatal(err)
		}
	}
	f := &Fixture{Sidecar: sc, Emu: emu, Base: base, Env: env}
	if sc.WantForwarded > 0 {
		f.Forwards = StartForwardReceiver(t)
		env["ENVSHARE_FORWARD_URL"] = f.Forwards.URL
	}
	return f
}

// Cloud is what the sample's instance links: Cloud, with a platform retry that keeps its
// messages when the sidecar wants messages.
func (f *Fixture) Cloud() trigger.Cloud {
	c := Cloud
	if f.Sidecar.WantMessages != nil {
		c.Retry = func(config.Config) (trigger.Retry, error) {
			return func(_ context.Context, message string) error {
				f.mu.Lock()
				defer f.mu.Unlock()
				f.messages = append(f.messages, message)
				return nil
			}, nil
		}
	}
	return c
}

// NewEmulator returns the samples' emulator: it accepts TestToken, and knows the platform's
// test credentials and TestTicket, issued when it starts (by the real clock), so that a
// refresh can mint.
func NewEmulator() *wxemu.Emulator {
	return wxemu.New(wxemu.Options{Tokens: []string{TestToken}, Strict: true,
		ComponentAppID: TestComponentAppID, ComponentAppSecret: TestComponentAppSecret,
		ComponentVerifyTicket: TestTicket})
}

// EmulatorState is the world a sample runs in: wxemu.DemoState and the sidecar's apps.
func (sc Sidecar) EmulatorState() wxemu.State {
	s := wxemu.DemoState()
	maps.Copy(s.Apps, sc.Apps)
	return s
}

// Configure returns the configuration of a sample: Env's defaults, the sidecar's credentials
// secret and state record written under tmp (mode file), and the sidecar's variables on top.
func (sc Sidecar) Configure(base, dir, tmp string) (map[string]string, error) {
	env := Env(base, dir)
	if sc.Credentials != nil {
		for _, k := range []string{"ENVSHARE_COMPONENT_ACCESS_TOKEN", "ENVSHARE_COMPONENT_APPID",
			"ENVSHARE_COMPONENT_TOKEN", "ENVSHARE_COMPONENT_AES_KEY"} {
			delete(env, k)
		}
		path, err := writeJSON(filepath.Join(tmp, "credentials.json"), sc.Credentials)
		if err != nil {
			return nil, err
		}
		env["ENVSHARE_TOKEN_MODE"], env["ENVSHARE_TOKEN_FILE"] = "file", path
	}
	if sc.Ledger != nil {
		value := "sqlite:" + filepath.Join(tmp, "ledger.db")
		if err := seedLedger(value, *sc.Ledger); err != nil {
			return nil, fmt.Errorf("ledger: %w", err)
		}
		env["ENVSHARE_LEDGER"] = value
	}
	if sc.StateRecord != nil {
		if sc.Credentials == nil {
			return nil, fmt.Errorf("state_record needs credentials: the state record lives in the credentials' store")
		}
		path, err := writeJSON(filepath.Join(tmp, "state.json"), sc.StateRecord)
		if err != nil {
			return nil, err
		}
		env["ENVSHARE_STATE_ID"] = path
	}
	maps.Copy(env, sc.Env)
	return env, nil
}

func writeJSON(path string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return path, os.WriteFile(path, b, 0o600)
}

// Clock is the sample's fixed clock of the HMAC check and the pages: the sidecar's now, or Now.
func (sc Sidecar) Clock() time.Time {
	if sc.Now != 0 {
		return time.Unix(sc.Now, 0)
	}
	return time.Unix(Now, 0)
}

// Secrets lists the secret values of the sample: SecretsOf its configuration, every value of
// its credentials secret but the appid (which is no secret), and what its state record holds
// now, such as the token a refresh minted.
func (f *Fixture) Secrets(t testing.TB) []string {
	t.Helper()
	secrets := SecretsOf(f.Env)
	add := func(v string) {
		if v != "" && !slices.Contains(secrets, v) {
			secrets = append(secrets, v)
		}
	}
	for k, v := range f.Sidecar.Credentials {
		if k != "component_appid" {
			add(v)
		}
	}
	if record, ok := f.stateRecord(t); ok {
		add(record["component_access_token"])
		add(record["component_verify_ticket"])
	}
	return secrets
}

// CheckAfter checks what the invocation must have left: the state record's fields (the value
// "*": present, whatever it is) and the emulator's calls that the sidecar names.
func (f *Fixture) CheckAfter(t testing.TB) {
	t.Helper()
	if len(f.Sidecar.WantStateRecord) > 0 {
		record, ok := f.stateRecord(t)
		if !ok {
			t.Fatalf("want_state_record: the sample has no state record")
		}
		for _, k := range slices.Sorted(maps.Keys(f.Sidecar.WantStateRecord)) {
			want, got := f.Sidecar.WantStateRecord[k], record[k]
			if got == "" || want != "*" && got != want {
				t.Errorf("state record: %s = %q, want %q", k, got, want)
			}
		}
	}
	if want := f.Sidecar.WantLedger; want != nil {
		checkLedger(t, f.Env["ENVSHARE_LEDGER"], *want)
	}
	if f.Forwards != nil {
		f.Forwards.Check(t, f.Sidecar.WantForwarded)
	}
	if want := f.Sidecar.WantMessages; want != nil {
		f.mu.Lock()
		got := Normalise([]byte(strings.Join(f.messages, "\n")), f.Base)
		f.mu.Unlock()
		if string(got) != strings.Join(want, "\n") {
			t.Errorf("messages handed to the platform's retry:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
		}
	}
	for _, ep := range slices.Sorted(maps.Keys(f.Sidecar.WantCalls)) {
		if got, want := f.Emu.Calls(ep), f.Sidecar.WantCalls[ep]; got != want {
			t.Errorf("the emulator saw %d calls of %s, want %d", got, ep, want)
		}
	}
}

// stateRecord reads the sample's state record, if it has one.
func (f *Fixture) stateRecord(t testing.TB) (map[string]string, bool) {
	t.Helper()
	path := f.Env["ENVSHARE_STATE_ID"]
	if path == "" {
		return nil, false
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var record map[string]string
	if err := json.Unmarshal(b, &record); err != nil {
		t.Fatalf("state record: %v", err)
	}
	return record, true
}

// SecretsOf lists the secret values a sample runs with: the test values above (but the appid)
// and the secrets of its environment.
func SecretsOf(env map[string]string) []string {
	secrets := []string{TestToken, TestSecret, TestComponentAppSecret, TestComponentToken, TestComponentAESKey,
		TestTicket, TestPushedTicket}
	for _, k := range []string{"ENVSHARE_COMPONENT_ACCESS_TOKEN", "ENVSHARE_HTTP_SECRET", "ENVSHARE_NOTIFY_SECRET",
		"ENVSHARE_PAGE_SECRET", "ENVSHARE_COMPONENT_TOKEN", "ENVSHARE_COMPONENT_AES_KEY", "ENVSHARE_COMPONENT_AES_KEY_PREVIOUS"} {
		if v := env[k]; v != "" && !slices.Contains(secrets, v) {
			secrets = append(secrets, v)
		}
	}
	return secrets
}

// CheckNoSecrets fails the test if any output (name → text) contains a secret, as is or
// URL-escaped (as in a request URL an error might quote). It names the secret by position and
// shows the offending line, so the report is readable; the values here are test values.
func CheckNoSecrets(t testing.TB, secrets []string, outputs map[string]string) {
	t.Helper()
	for _, name := range slices.Sorted(maps.Keys(outputs)) {
		for i, secret := range secrets {
			if secret == "" {
				continue
			}
			for _, form := range escapes(secret) {
				if line, found := lineWith(outputs[name], form); found {
					t.Errorf("secret #%d (%s) found in %s: %s", i, shorten(secret), name, line)
				}
			}
		}
	}
}

// escapes returns s and its distinct URL-escaped forms.
func escapes(s string) []string {
	forms := []string{s}
	for _, f := range []string{url.QueryEscape(s), url.PathEscape(s)} {
		if !slices.Contains(forms, f) {
			forms = append(forms, f)
		}
	}
	return forms
}

// lineWith returns the first line of text that contains s.
func lineWith(text, s string) (string, bool) {
	for line := range strings.Lines(text) {
		if strings.Contains(line, s) {
			return strings.TrimSpace(line), true
		}
	}
	return "", false
}

// shorten names a secret by its first characters.
func shorten(s string) string {
	if len(s) > 8 {
		return s[:8] + "..."
	}
	return s
}

// Env is the default configuration of the samples: bearer auth with TestSecret, the token
// TestToken, the platform's message token, key and appid (mode env), the emulator at base,
// events/manifest.json as the manifest and the public URL of dir's platform (PublicURLs), so
// that pending confirmations carry confirm_page.
func Env(base, dir string) map[string]string {
	manifest, _ := filepath.Abs(filepath.Join(dir, "..", "manifest.json"))
	return map[string]string{
		"ENVSHARE_WECHAT_BASE_URL":        base,
		"ENVSHARE_TOKEN_MODE":             "env",
		"ENVSHARE_COMPONENT_ACCESS_TOKEN": TestToken,
		"ENVSHARE_COMPONENT_APPID":        TestComponentAppID,
		"ENVSHARE_COMPONENT_TOKEN":        TestComponentToken,
		"ENVSHARE_COMPONENT_AES_KEY":      TestComponentAESKey,
		"ENVSHARE_HTTP_AUTH":              "bearer",
		"ENVSHARE_HTTP_SECRET":            TestSecret,
		"ENVSHARE_MANIFEST":               manifest,
		"ENVSHARE_PUBLIC_URL":             PublicURLs[filepath.Base(dir)],
	}
}

// SetEnv sets exactly env's ENVSHARE_* variables for the test: any other ENVSHARE_* variable
// of the caller's environment is unset, so that a developer's shell cannot change the answers.
func SetEnv(t *testing.T, env map[string]string) {
	t.Helper()
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "ENVSHARE_") && k != "ENVSHARE_RIE_BIN" {
			t.Setenv(k, "") // restored at cleanup
			os.Unsetenv(k)
		}
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
}

// Encode encodes a handler's answer as the runtime sends it: the value as JSON, or an error as
// {"errorMessage", "errorType"}.
func Encode(v any, err error) []byte {
	if err != nil {
		typ := reflect.TypeOf(err)
		if typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		v = map[string]string{"errorMessage": err.Error(), "errorType": typ.Name()}
	}
	b, mErr := json.Marshal(v)
	if mErr != nil {
		return []byte(`{"marshalError":` + quote(mErr.Error()) + `}`)
	}
	return b
}

// Placeholders of what differs from run to run in answers.
var (
	// Confirmation ids of the emulator: their order depends on concurrent calls.
	confirmID = regexp.MustCompile(`/__emu/confirm/[A-Za-z0-9]+`)
	// Confirmation page tokens (base64url, hundreds of characters; an emulator id is short):
	// a token embeds the confirm_url, which holds the emulator's address, and the time the
	// link was made, which in the binary tests is the real clock.
	pageToken = regexp.MustCompile(`/confirm/[A-Za-z0-9_-]{40,}`)
	// expires_at of a refresh answer, also inside an HTTP body (escaped quotes): the minter
	// stamps it from the real clock (token.Refresher is not given the App's clock), and a stored
	// token that is not due yet must expire after the real now too.
	expiresAt = regexp.MustCompile(`(\\?"expires_at\\?":\\?")[^"\\]*`)
	// A planned reconcile's run id: when it was planned (the real clock), the manifest's digest,
	// a random part.
	runID = regexp.MustCompile(`[0-9]{8}T[0-9]{6}Z-[0-9a-f]{12}-[0-9a-f]{6}`)
	// When WeChat resets its daily quotas (retry_after of quota_exhausted): the next 00:00
	// Asia/Shanghai by the real clock.
	dailyReset = regexp.MustCompile(`[0-9]{4}-[0-9]{2}-[0-9]{2}T00:00:00\+08:00`)
)

// Normalise replaces the emulator's address, confirmation ids, page tokens and refresh
// expiry times with fixed placeholders.
func Normalise(answer []byte, base string) []byte {
	s := strings.ReplaceAll(string(answer), base, EmulatorURL)
	s = confirmID.ReplaceAllString(s, "/__emu/confirm/ID")
	s = pageToken.ReplaceAllString(s, "/confirm/TOKEN")
	s = runID.ReplaceAllString(s, "RUN")
	s = dailyReset.ReplaceAllString(s, "RETRY_AFTER")
	return []byte(expiresAt.ReplaceAllString(s, "${1}EXPIRES_AT"))
}

// ReadSidecar reads the sidecar of a sample (the path of its .json), if it has one. Unknown
// fields are refused, so that a typo is never ignored silently.
func ReadSidecar(sample string) (Sidecar, error) {
	var sc Sidecar
	path := strings.TrimSuffix(sample, ".json") + ".env.json"
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return sc, nil
	}
	if err != nil {
		return sc, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sc); err != nil {
		return sc, fmt.Errorf("%s: %w", path, err)
	}
	return sc, nil
}

// GoldenOf names the golden file of a sample event.
func GoldenOf(sample string) string { return strings.TrimSuffix(sample, ".json") + ".golden.json" }

// MatchGolden compares an answer (normalised) with a golden file, as JSON values.
func MatchGolden(t *testing.T, golden string, got []byte) {
	t.Helper()
	compareGolden(t, golden, got, false)
}

// compareGolden compares got with the golden file (as JSON values), or rewrites it.
func compareGolden(t *testing.T, golden string, got []byte, rewrite bool) {
	t.Helper()
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, got, "", "  "); err != nil {
		t.Fatalf("answer is not JSON: %s", got)
	}
	pretty.WriteByte('\n')
	if rewrite {
		if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("every sample needs a golden answer: %v (run `go test -update` and review it)", err)
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("golden %s is not JSON: %v", golden, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("answer differs from %s\n--- got\n%s--- want\n%s", golden, pretty.Bytes(), want)
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// testWriter sends the App's warnings and errors to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
