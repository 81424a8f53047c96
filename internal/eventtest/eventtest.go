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
	"flag"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/trigger"
	"github.com/envshare/envshare/pkg/wxemu"
)

var update = flag.Bool("update", false, "rewrite the golden files of the sample events")

// Test credentials of the sample events. The hmac-signed samples are signed with TestSecret.
const (
	TestSecret = "envshare-test-secret"
	TestToken  = "test-component-access-token"
	// EmulatorURL replaces the emulator's address (random port) in answers.
	EmulatorURL = "http://wxemu.test"
	// Now is the default clock of the HMAC check (2023-11-14T22:13:20Z).
	Now int64 = 1_700_000_000
)

// Sidecar is the optional <name>.env.json beside a sample event.
type Sidecar struct {
	Env    map[string]string `json:"env"`    // ENVSHARE_* variables on top of the defaults
	Now    int64             `json:"now"`    // unix seconds of the HMAC check's clock (default Now)
	Faults []wxemu.Fault     `json:"faults"` // faults injected into the emulator
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

// Run runs every sample of a.Dir against a fresh emulator seeded with wxemu.DemoState and
// compares the answer with its golden.
func Run(t *testing.T, a Adapter) {
	for _, path := range Samples(t, a.Dir) {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			payload, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got := Invoke(t, a, name, payload, readSidecar(t, path))
			compareGolden(t, GoldenOf(path), got, *update)
		})
	}
}

// Invoke runs one payload through a new App of the adapter against a fresh emulator and
// returns the answer as the runtime would encode it, normalised.
func Invoke(t *testing.T, a Adapter, name string, payload []byte, sc Sidecar) []byte {
	t.Helper()
	emu := wxemu.New(wxemu.Options{Tokens: []string{TestToken}, Strict: true})
	if err := emu.Seed(wxemu.DemoState()); err != nil {
		t.Fatal(err)
	}
	for _, f := range sc.Faults {
		if err := emu.AddFault(f); err != nil {
			t.Fatal(err)
		}
	}
	base := emu.ServeTest(t)
	env := Env(base, a.Dir, sc.Env)
	SetEnv(t, env)

	now := sc.Now
	if now == 0 {
		now = Now
	}
	// Every log line down to debug and every EMF line is kept for the secret scan; warnings
	// and errors also go to the test log.
	var logs, emf Output
	app := trigger.New(trigger.Options{
		Platform: a.Platform,
		Logger: slog.New(slog.NewMultiHandler(
			slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}),
			slog.NewJSONHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))),
		Now:        func() time.Time { return time.Unix(now, 0) },
		MetricsOut: &emf,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, err := a.Handler(app)(a.Context(ctx, "req-"+name), payload)
	answer := Encode(v, err)
	CheckNoSecrets(t, SecretsOf(env), map[string]string{
		"the logs": logs.String(), "the EMF lines": emf.String(), "the answer": string(answer)})
	return Normalise(answer, base)
}

// SecretsOf lists the secret values a sample runs with: the test token and secret, and the
// token, HTTP secret and notification secret of its environment.
func SecretsOf(env map[string]string) []string {
	secrets := []string{TestToken, TestSecret}
	for _, k := range []string{"ENVSHARE_COMPONENT_ACCESS_TOKEN", "ENVSHARE_HTTP_SECRET", "ENVSHARE_NOTIFY_SECRET"} {
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
// TestToken, the emulator at base and events/manifest.json as the manifest; extra on top.
func Env(base, dir string, extra map[string]string) map[string]string {
	manifest, _ := filepath.Abs(filepath.Join(dir, "..", "manifest.json"))
	env := map[string]string{
		"ENVSHARE_WECHAT_BASE_URL":        base,
		"ENVSHARE_TOKEN_MODE":             "env",
		"ENVSHARE_COMPONENT_ACCESS_TOKEN": TestToken,
		"ENVSHARE_HTTP_AUTH":              "bearer",
		"ENVSHARE_HTTP_SECRET":            TestSecret,
		"ENVSHARE_MANIFEST":               manifest,
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
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

var confirmID = regexp.MustCompile(`/__emu/confirm/[A-Za-z0-9]+`)

// Normalise replaces the emulator's address and confirmation ids (whose order depends on
// concurrent calls) with fixed placeholders.
func Normalise(answer []byte, base string) []byte {
	s := strings.ReplaceAll(string(answer), base, EmulatorURL)
	return []byte(confirmID.ReplaceAllString(s, "/__emu/confirm/ID"))
}

func readSidecar(t *testing.T, path string) Sidecar {
	t.Helper()
	var sc Sidecar
	b, err := os.ReadFile(strings.TrimSuffix(path, ".json") + ".env.json")
	if os.IsNotExist(err) {
		return sc
	}
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sc); err != nil {
		t.Fatalf("sidecar of %s: %v", path, err)
	}
	return sc
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
