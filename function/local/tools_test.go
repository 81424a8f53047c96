package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/eventtest"
	"github.com/envshare/envshare/pkg/signature"
)

func TestResignKeepsTheSamplesAge(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	event := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "..", "events", "aws", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	check := func(ev []byte) error {
		var m map[string]any
		if err := json.Unmarshal(ev, &m); err != nil {
			t.Fatal(err)
		}
		req, ok := signedRequest(m)
		if !ok {
			t.Fatal("not a signed request")
		}
		return signature.VerifyRequest(eventtest.TestSecret, eventHeader(m, signature.TimestampHeader),
			eventHeader(m, signature.SignatureHeader), req, now)
	}

	fresh, note, err := resign(event("httpapi-v2-hmac-signed"), eventtest.TestSecret, 1_700_000_042, now)
	if err != nil || !strings.Contains(note, "42 s ago") || check(fresh) != nil {
		t.Errorf("the signed sample: %v, %q; valid now: %v", err, note, check(fresh))
	}
	stale, note, err := resign(event("httpapi-v2-hmac-stale"), eventtest.TestSecret, 1_700_000_000, now)
	if err != nil || !strings.Contains(note, "600 s ago") || check(stale) == nil {
		t.Errorf("the stale sample must stay stale: %v, %q", err, note)
	}
	// A signature made with another secret is no signature of the sample's: left as it is.
	wrong, note, err := resign(event("httpapi-v2-hmac-signed"), "another-secret-entirely", 1_700_000_042, now)
	if err != nil || !bytes.Equal(wrong, event("httpapi-v2-hmac-signed")) || !strings.Contains(note, "does not verify") {
		t.Errorf("a wrong signature was re-signed: %v, %q", err, note)
	}
	plain, note, err := resign(event("httpapi-v2-share"), eventtest.TestSecret, 1_700_000_000, now)
	if err != nil || note != "" || !bytes.Equal(plain, event("httpapi-v2-share")) {
		t.Errorf("an unsigned sample was changed: %v, %q", err, note)
	}
}

// make invoke on the sample: re-signed at the real time, its answer is its golden.
// Also a sample whose invocation is an error, and one of SCF.
func TestInvokeAnswersTheGoldens(t *testing.T) {
	if testing.Short() {
		t.Skip("builds both function binaries")
	}
	for _, sample := range []string{"aws/httpapi-v2-hmac-signed", "aws/httpapi-v2-hmac-stale",
		"aws/direct-bindings-upstream-busy", "scf/apigw-share"} {
		t.Run(sample, func(t *testing.T) {
			isolateEnv(t, nil)
			var out bytes.Buffer
			err := invoke(context.Background(), &out, []string{filepath.Join("..", "..", "events", sample+".json")})
			if err != nil || !strings.Contains(out.String(), "The answer matches") {
				t.Errorf("invoke: %v\n%s", err, out.String())
			}
		})
	}
}

func TestADifferentAnswerIsShownAsADiff(t *testing.T) {
	golden := filepath.Join(t.TempDir(), "x.golden.json")
	os.WriteFile(golden, []byte(`{"statusCode":200,"body":"{\"ok\":true,\"summary\":{\"shared\":1,\"failed\":0}}"}`), 0o644)
	var out bytes.Buffer
	err := compareGolden(&out, golden, []byte(`{"statusCode":200,"body":"{\"ok\":false,\"summary\":{\"shared\":0,\"failed\":1}}"}`))
	if err == nil {
		t.Fatal("a different answer matched")
	}
	for _, want := range []string{"--- " + golden, "+++ answer", `-     "ok": true,`, `+     "ok": false,`, `-       "shared": 1,`, `+       "failed": 1`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the diff lacks %q:\n%s", want, out.String())
		}
	}
}
