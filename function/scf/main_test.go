package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/tencentyun/scf-go-lib/events"

	"github.com/envshare/envshare/internal/eventtest"
	"github.com/envshare/envshare/internal/trigger"
	"github.com/envshare/envshare/pkg/share"
)

var adapter = eventtest.SCFAdapter(func(app *trigger.App) eventtest.Handler { return handler{app: app}.handle })

// TestSampleEvents runs every events/scf/*.json through the handler against the emulator and
// compares the answer with its golden file (go test -update rewrites them).
func TestSampleEvents(t *testing.T) { eventtest.Run(t, adapter) }

func newFake(t *testing.T) (handler, *eventtest.FakeDoer) {
	t.Helper()
	app, doer := eventtest.NewFakeApp(t, trigger.PlatformSCF)
	return handler{app: app}, doer
}

func TestEventsAreRecognisedByShape(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    kind
	}{
		{"an API Gateway request", `{"httpMethod":"GET","path":"/healthz","requestContext":{"serviceId":"service-1","path":"/"}}`, kindAPIGateway},
		{"a timer", `{"Type":"Timer","TriggerName":"t","Time":"2023-11-14T22:13:20Z","Message":""}`, kindTimer},
		{"a direct message", `{"action":"bindings","appids":["wx5fe6bb43205e9e07"]}`, kindDirect},
		{"a request context without service is a message", `{"httpMethod":"GET","requestContext":{}}`, kindDirect},
		{"a JSON array", `[]`, kindDirect},
		{"malformed JSON", `{"Type":`, kindDirect},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := kindOf([]byte(tt.payload)); got != tt.want {
				t.Errorf("kindOf = %v, want %v", got, tt.want)
			}
		})
	}
	adapter.EachSample(t, func(name string, b []byte) {
		want := map[string]kind{"apigw": kindAPIGateway, "timer": kindTimer, "direct": kindDirect}[strings.Split(name, "-")[0]]
		if got := kindOf(b); got != want {
			t.Errorf("%s: kind %v, want %v", name, got, want)
		}
	})
}

func TestEventsRoundTrip(t *testing.T) {
	adapter.RoundTrip(t, map[string]func() any{
		"apigw-share":        func() any { return new(apiGatewayRequest) },
		"apigw-bindings-get": func() any { return new(apiGatewayRequest) },
		"timer-json-message": func() any { return new(events.TimerEvent) },
	})
}

func TestMalformedEvents(t *testing.T) {
	h, doer := newFake(t)
	ctx := context.Background()
	v, err := h.apiGateway(ctx, []byte(`{"httpMethod":"POST","path":"/share","requestContext":{"serviceId":"s"},"body":1}`))
	if m := eventtest.AsMap(t, v); err != nil || m["statusCode"] != float64(400) || !strings.Contains(m["body"].(string), "event: body: must be a string") {
		t.Errorf("a malformed API Gateway event: %v, %v", v, err)
	}
	for _, q := range []string{`{"source_type":true}`, `{"source_type":1}`, `{"source_type":null}`, `{"source_type":[]}`} {
		v, err := h.apiGateway(ctx, []byte(`{"httpMethod":"GET","path":"/bindings","requestContext":{"serviceId":"s"},`+
			`"headers":{"Authorization":"Bearer `+eventtest.TestSecret+`"},"queryString":`+q+`}`))
		if m := eventtest.AsMap(t, v); err != nil || m["statusCode"] != float64(400) || !strings.Contains(m["body"].(string), "query parameter source_type: no value") {
			t.Errorf("queryString %s: %v, %v", q, v, err)
		}
	}
	if _, err := h.timer(ctx, []byte(`{"Type":"Timer","Message":5}`)); err == nil {
		t.Errorf("a malformed timer event decoded")
	}
	answer, err := h.handle(ctx, json.RawMessage(`{"action":`))
	if err != nil || eventtest.AsMap(t, answer)["ok"] != false || len(doer.Reqs) != 0 {
		t.Errorf("malformed JSON: %v, %v", answer, err)
	}
}

func TestAPIGatewayAnswers(t *testing.T) {
	const a, b = "wx5fe6bb43205e9e07", "wx1a2b3c4d5e6f7081"
	body := `{"appids":["` + a + `","` + b + `"]}`
	tests := []struct {
		name    string
		payload string
	}{
		{"queryString holds the query", `{"httpMethod":"GET","path":"/release/bindings","requestContext":{"serviceId":"s"},"headers":{"authorization":"Bearer envshare-test-secret"},"queryString":{"appids":"` + a + `,` + b + `"}}`},
		{"queryStringParameters is the fallback", `{"httpMethod":"GET","path":"/bindings","requestContext":{"serviceId":"s"},"headers":{"authorization":"Bearer envshare-test-secret"},"queryStringParameters":{"appids":"` + a + `,` + b + `"}}`},
		{"repeated parameters are joined", `{"httpMethod":"GET","path":"/bindings","requestContext":{"serviceId":"s"},"headers":{"authorization":"Bearer envshare-test-secret"},"queryString":{"appids":["` + a + `","` + b + `"]}}`},
		{"a base64 body is decoded", `{"httpMethod":"POST","path":"/bindings","requestContext":{"serviceId":"s"},"headers":{"Authorization":"Bearer envshare-test-secret"},"isBase64Encoded":true,"body":"` + base64.StdEncoding.EncodeToString([]byte(body)) + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, doer := newFake(t)
			v, err := h.handle(context.Background(), json.RawMessage(tt.payload))
			if err != nil {
				t.Fatal(err)
			}
			m := eventtest.AsMap(t, v)
			if m["statusCode"] != 200.0 || m["isBase64Encoded"] != false || m["headers"].(map[string]any)["Content-Type"] != "application/json" {
				t.Errorf("answer = %v", m)
			}
			if len(doer.Reqs) != 1 || !slices.Equal(doer.Reqs[0].AppIDs, []string{a, b}) {
				t.Errorf("Doer saw %+v", doer.Reqs)
			}
		})
	}
}

func TestTimers(t *testing.T) {
	tests := []struct {
		name       string
		message    string
		wantAction string
		wantErr    bool
		wantValue  string
	}{
		{"an empty message reconciles the configured manifest", "", share.ActionReconcile, false, `"action":"reconcile"`},
		{"a blank message reconciles the configured manifest", " \n", share.ActionReconcile, false, `"action":"reconcile"`},
		{"a JSON message is a direct message", `{"action":"bindings","appids":["wx5fe6bb43205e9e07"]}`, share.ActionBindings, false, `"action":"bindings"`},
		{"an invalid message answers the error object", `{"action":"reconcile","dryrun":true}`, "", false, `"invalid_request"`},
		{"a transient failure fails the invocation", `{"action":"unshare","env":"e","appids":["wx5fe6bb43205e9e07"]}`, share.ActionUnshare, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, doer := newFake(t)
			doer.Answer = func(req share.Request) (*share.Result, error) {
				if req.Action == share.ActionUnshare {
					return nil, &share.Error{Code: share.CodeUpstreamUnavailable, Message: "busy"}
				}
				return &share.Result{OK: true, Action: req.Action, SourceType: 1}, nil
			}
			payload, _ := json.Marshal(events.TimerEvent{Type: "Timer", TriggerName: "t", Time: "2023-11-14T22:13:20Z", Message: tt.message})
			v, err := h.handle(context.Background(), payload)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if tt.wantValue != "" && !strings.Contains(string(eventtest.Must(json.Marshal(v))), tt.wantValue) {
				t.Errorf("value %v", eventtest.AsMap(t, v))
			}
			if tt.wantAction == "" && len(doer.Reqs) != 0 || tt.wantAction != "" && (len(doer.Reqs) != 1 || doer.Reqs[0].Action != tt.wantAction) {
				t.Errorf("Doer saw %+v", doer.Reqs)
			}
			if tt.message == "" && doer.Reqs[0].Envs != nil {
				t.Errorf("an empty message must not carry a manifest")
			}
		})
	}
}

// FuzzHandle: whatever the payload, the handler neither panics nor answers a non-JSON value.
func FuzzHandle(f *testing.F) { adapter.Fuzz(f) }

// SCF's API Gateway delivers the query decoded: ?appids=a%2Cb arrives as "a,b" and is split,
// ?appids=a%252Cb (a comma the client encoded twice) as "a%2Cb", one value that is no appid.
func TestOnlyACommaTheClientEncodedOnceSeparatesAppIDs(t *testing.T) {
	const a, b = "wx5fe6bb43205e9e07", "wx1a2b3c4d5e6f7081"
	event := func(value string) string {
		return `{"httpMethod":"GET","path":"/release/bindings","requestContext":{"serviceId":"s"},` +
			`"headers":{"authorization":"Bearer envshare-test-secret"},"queryString":{"appids":"` + value + `"}}`
	}
	for _, tt := range []struct {
		name, value string
		want        []string // nil: one value that is no appid, answered 400
	}{
		{"?appids=a%2Cb", a + "," + b, []string{a, b}},
		{"?appids=a%252Cb", a + "%2C" + b, nil},
		{"?appids=a%252cb", a + "%2c" + b, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, doer := newFake(t)
			eventtest.CheckAppIDs(t, h.handle, doer, event(tt.value), tt.want)
		})
	}
}
