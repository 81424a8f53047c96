package trigger

import (
	"context"
	"strings"
	"testing"

	"github.com/envshare/envshare/pkg/share"
)

func TestEveryInvocationWritesOneSummaryLine(t *testing.T) {
	f := setup(t, nil)
	ctx := WithInvocation(context.Background(), Invocation{RequestID: "req-1", Trigger: TriggerHTTP})
	f.app.HTTP(ctx, post("/prod/share", shareBody))
	f.app.HTTP(WithInvocation(context.Background(), Invocation{RequestID: "req-2"}), HTTPRequest{Method: "GET", Path: "/nope"})
	f.app.Message(WithInvocation(context.Background(), Invocation{RequestID: "req-3", Trigger: TriggerSQS, MessageID: "m-1"}), []byte(`{"action":"share"}`))
	f.app.Scheduled(context.Background())

	var lines []map[string]any
	for _, l := range f.logs.Lines(t) {
		if l["msg"] == "invocation" {
			lines = append(lines, l)
		}
	}
	if len(lines) != 4 {
		t.Fatalf("want 4 summary lines, got %d: %s", len(lines), f.logs.String())
	}
	first := lines[0]
	want := map[string]any{"request_id": "req-1", "platform": "aws", "trigger": "http", "action": "share",
		"route": "/share", "status": 200.0, "cold_start": true, "upstream_calls": 1.0, "retries": 0.0, "token_reloads": 0.0}
	for k, v := range want {
		if first[k] != v {
			t.Errorf("%s = %v, want %v", k, first[k], v)
		}
	}
	if _, ok := first["duration_ms"].(float64); !ok {
		t.Errorf("no duration_ms: %v", first)
	}
	if sum, _ := first["summary"].(map[string]any); sum["shared"] != 1.0 || sum["failed"] != 0.0 {
		t.Errorf("summary = %v", first["summary"])
	}
	if lines[1]["cold_start"] != false || lines[1]["status"] != 404.0 || lines[1]["error_code"] != string(share.CodeNotFound) {
		t.Errorf("second line = %v", lines[1])
	}
	if lines[2]["trigger"] != "sqs" || lines[2]["message_id"] != "m-1" || lines[2]["status"] != 400.0 {
		t.Errorf("message line = %v", lines[2])
	}
	if lines[3]["trigger"] != "schedule" || lines[3]["action"] != "reconcile" {
		t.Errorf("schedule line = %v", lines[3])
	}
}

func TestEMFLinesOnAWSOnly(t *testing.T) {
	f := setup(t, nil)
	f.app.HTTP(context.Background(), post("/share", shareBody))
	lines := f.emf.Lines(t)
	if len(lines) != 1 {
		t.Fatalf("want one EMF line, got %s", f.emf.String())
	}
	l := lines[0]
	aws, _ := l["_aws"].(map[string]any)
	cwm, _ := aws["CloudWatchMetrics"].([]any)
	if len(cwm) != 1 {
		t.Fatalf("no CloudWatchMetrics: %v", l)
	}
	m := cwm[0].(map[string]any)
	if m["Namespace"] != "envshare" || !strings.Contains(toJSON(t, m["Dimensions"]), `[["Action"]]`) {
		t.Errorf("directive = %v", m)
	}
	for _, name := range []string{"Shared", "PendingConfirmation", "Failed", "UpstreamCalls", "Retries", "TokenReloads"} {
		if !strings.Contains(toJSON(t, m["Metrics"]), `"Name":"`+name+`"`) {
			t.Errorf("metric %s not declared", name)
		}
		if _, ok := l[name].(float64); !ok {
			t.Errorf("metric %s has no value", name)
		}
	}
	if l["Action"] != "share" || l["Shared"] != 1.0 || l["UpstreamCalls"] != 1.0 {
		t.Errorf("values = %v", l)
	}
	if _, ok := aws["Timestamp"].(float64); !ok {
		t.Errorf("no timestamp")
	}

	f.app.platform = PlatformSCF
	f.app.HTTP(context.Background(), post("/share", shareBody))
	if n := len(f.emf.Lines(t)); n != 1 {
		t.Errorf("SCF must not print EMF lines, have %d", n)
	}
}

func toJSON(t *testing.T, v any) string {
	t.Helper()
	s, err := encodeJSON(v)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
