package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envshare/envshare/internal/eventtest"
)

// TestAWSOwnSampleEventsGetAContractAnswer runs every sample event that aws-lambda-go ships
// (events/testdata of the module in go.mod) through the handler: the function is checked from
// outside with such events. Each must be recognised and answered as the contract says (an HTTP
// envelope, a batch response or the error object), never with an invocation error or a panic.
func TestAWSOwnSampleEventsGetAContractAnswer(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/aws-lambda-go").Output()
	if err != nil {
		t.Fatalf("locate the aws-lambda-go module (run `go mod download`): %v", err)
	}
	files, err := filepath.Glob(filepath.Join(strings.TrimSpace(string(out)), "events", "testdata", "*.json"))
	if err != nil || len(files) < 50 {
		t.Fatalf("aws-lambda-go's sample events not found (%d files): %v", len(files), err)
	}
	h, doer := newFake(t)
	for _, f := range files {
		name := filepath.Base(f)
		payload := eventtest.Must(os.ReadFile(f))
		v, err := h.handle(context.Background(), json.RawMessage(payload))
		if err != nil {
			t.Errorf("%s: invocation error %v", name, err)
			continue
		}
		answer := string(eventtest.Must(json.Marshal(v)))
		switch kindOf(payload) {
		case kindREST, kindHTTPAPI, kindFunctionURL, kindALB:
			if !strings.Contains(answer, `"statusCode":`) || !strings.Contains(answer, `"isBase64Encoded":false`) {
				t.Errorf("%s: not a full HTTP envelope: %s", name, answer)
			}
		case kindSQS:
			if !strings.HasPrefix(answer, `{"batchItemFailures":`) {
				t.Errorf("%s: not a batch response: %s", name, answer)
			}
		default: // not one of our triggers: a direct message that is not ours is invalid
			if !strings.Contains(answer, `"code":"invalid_request"`) {
				t.Errorf("%s: answered %s, want invalid_request", name, answer)
			}
		}
	}
	// aws-lambda-go's HTTP samples use paths of their own (/hello/world, ...): none is a route
	// of ours, and nothing may have reached the core.
	if len(doer.Reqs) != 0 {
		t.Errorf("a sample that is none of our requests reached the core: %+v", doer.Reqs)
	}
}
