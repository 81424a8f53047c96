package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/envshare/envshare/internal/eventtest"
	"github.com/envshare/envshare/internal/store/storetest"
	"github.com/envshare/envshare/internal/trigger"
	"github.com/envshare/envshare/pkg/share"
)

var adapter = eventtest.AWSAdapter(func(app *trigger.App) eventtest.Handler { return handler{app: app}.handle })

// TestSampleEvents runs every events/aws/*.json through the handler against the emulator and
// compares the answer with its golden file (go test -update rewrites them).
func TestSampleEvents(t *testing.T) { eventtest.Run(t, adapter) }

// newFake returns a handler whose core calls a fake Doer, with bearer auth.
func newFake(t *testing.T) (handler, *eventtest.FakeDoer) {
	t.Helper()
	app, doer := eventtest.NewFakeApp(t, trigger.PlatformAWS)
	return handler{app: app}, doer
}

func sample(t *testing.T, name string) []byte { return adapter.Sample(t, name) }

func TestEventsAreRecognisedByShape(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    kind
	}{
		{"an SQS batch", `{"Records":[{"eventSource":"aws:sqs","body":"{}"}]}`, kindSQS},
		{"an S3 notification is not SQS", `{"Records":[{"eventSource":"aws:s3"}]}`, kindDirect},
		{"an ALB request", `{"requestContext":{"elb":{"targetGroupArn":"arn"}},"httpMethod":"GET","path":"/healthz"}`, kindALB},
		{"an HTTP API 2.0 request", `{"version":"2.0","routeKey":"$default","rawPath":"/","requestContext":{"http":{"method":"GET"},"domainName":"id.execute-api.us-east-1.amazonaws.com"}}`, kindHTTPAPI},
		{"a Function URL request", `{"version":"2.0","rawPath":"/","requestContext":{"http":{"method":"GET"},"domainName":"abc.lambda-url.us-west-2.on.aws"}}`, kindFunctionURL},
		{"a REST API request", `{"resource":"/{proxy+}","path":"/share","httpMethod":"POST","requestContext":{"stage":"prod"}}`, kindREST},
		{"an HTTP API 1.0 request", `{"version":"1.0","path":"/share","httpMethod":"POST","requestContext":{"stage":"$default"}}`, kindREST},
		{"an EventBridge scheduled event", `{"version":"0","source":"aws.events","detail-type":"Scheduled Event","detail":{}}`, kindScheduled},
		{"another EventBridge event is a message", `{"version":"0","source":"aws.ec2","detail-type":"EC2 Instance State-change Notification"}`, kindDirect},
		{"a direct message", `{"action":"share","env":"e","appids":["wx0123456789abcdef"]}`, kindDirect},
		{"a JSON array", `[1,2]`, kindDirect},
		{"a JSON string", `"share"`, kindDirect},
		{"malformed JSON", `{"action":`, kindDirect},
		// Names match as encoding/json matches a struct's fields, and a field of the wrong type
		// makes the event a message (as when kindOf decoded a struct).
		{"names in another case", `{"records":[{"EVENTSOURCE":"aws:sqs"}]}`, kindSQS},
		{"a field of the wrong type", `{"Records":[{"eventSource":"aws:sqs"}],"version":2}`, kindDirect},
		{"a later record of the wrong type", `{"Records":[{"eventSource":"aws:sqs"},{"eventSource":1}]}`, kindDirect},
		{"a request context that is not an object", `{"httpMethod":"GET","requestContext":[]}`, kindDirect},
		{"a null request context", `{"httpMethod":"GET","requestContext":null}`, kindDirect},
		{"a null elb", `{"httpMethod":"GET","requestContext":{"elb":null}}`, kindALB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := kindOf([]byte(tt.payload)); got != tt.want {
				t.Errorf("kindOf = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEverySampleIsRecognised(t *testing.T) {
	want := map[string]kind{"apigw-v1": kindREST, "httpapi-v2": kindHTTPAPI, "functionurl": kindFunctionURL,
		"alb": kindALB, "sqs": kindSQS, "eventbridge": kindScheduled, "direct": kindDirect, "scheduler": kindDirect}
	adapter.EachSample(t, func(name string, b []byte) {
		found := false
		for prefix, k := range want {
			if strings.HasPrefix(name, prefix) {
				found = true
				if got := kindOf(b); got != k {
					t.Errorf("%s: kind %v, want %v", name, got, k)
				}
			}
		}
		if !found {
			t.Errorf("%s: name says no trigger", name)
		}
	})
}

// TestEventsRoundTrip decodes a sample of each event type into its aws-lambda-go struct,
// encodes it and decodes it again: nothing may be lost or changed.
func TestEventsRoundTrip(t *testing.T) {
	adapter.RoundTrip(t, map[string]func() any{
		"apigw-v1-share":               func() any { return new(events.APIGatewayProxyRequest) },
		"httpapi-v2-share":             func() any { return new(events.APIGatewayV2HTTPRequest) },
		"functionurl-reconcile-dryrun": func() any { return new(events.LambdaFunctionURLRequest) },
		"alb-bindings":                 func() any { return new(events.ALBTargetGroupRequest) },
		"sqs-batch":                    func() any { return new(events.SQSEvent) },
		"eventbridge-scheduled":        func() any { return new(events.CloudWatchEvent) },
	})
}

// TestMalformedEvents: a recognised event whose fields do not decode fails the invocation
// (the platform never sends one); malformed JSON is a direct message, answered as invalid.
func TestMalformedEvents(t *testing.T) {
	h, doer := newFake(t)
	ctx := context.Background()
	t.Run("an HTTP-shaped event with a field of the wrong type gets the contract's 400, naming the field", func(t *testing.T) {
		answers := map[string]func() (any, error){
			"rest": func() (any, error) { return h.rest(ctx, []byte(`{"httpMethod":1}`)) },
			"http api": func() (any, error) {
				return h.httpAPI(ctx, []byte(`{"version":"2.0","requestContext":{"http":{"method":"POST"}},"body":1}`))
			},
			"function url": func() (any, error) {
				return h.functionURL(ctx, []byte(`{"version":"2.0","requestContext":{"http":{}},"headers":[1]}`))
			},
			"alb": func() (any, error) { return h.alb(ctx, []byte(`{"requestContext":{"elb":{}},"body":false}`)) },
		}
		fields := map[string]string{"rest": "httpMethod", "http api": "body", "function url": "headers", "alb": "body"}
		for name, fn := range answers {
			v, err := fn()
			if err != nil {
				t.Errorf("%s: invocation error %v", name, err)
				continue
			}
			m := eventtest.AsMap(t, v)
			body, _ := m["body"].(string)
			if m["statusCode"] != float64(400) || !strings.Contains(body, `"code":"invalid_request"`) || !strings.Contains(body, "event: "+fields[name]+":") {
				t.Errorf("%s: %v", name, m)
			}
		}
		if len(doer.Reqs) != 0 {
			t.Error("a malformed event reached the core")
		}
	})
	t.Run("a malformed SQS event is an invocation error: it names no record to fail", func(t *testing.T) {
		if _, err := h.sqs(ctx, []byte(`{"Records":{}}`)); err == nil {
			t.Error("decoded without error")
		}
	})
	t.Run("malformed JSON is an invalid direct message", func(t *testing.T) {
		v, err := h.handle(ctx, json.RawMessage(`{"action":`))
		if err != nil || eventtest.AsMap(t, v)["ok"] != false || len(doer.Reqs) != 0 {
			t.Errorf("malformed JSON: %v, %v", v, err)
		}
	})
}

// TestAHeaderGivenTwiceFailsClosedOnEveryRun: the sample holds Authorization twice, one right
// and one wrong; headers are a map, read in a random order each time, so one run proves little.
func TestAHeaderGivenTwiceFailsClosedOnEveryRun(t *testing.T) {
	h, doer := newFake(t)
	for range 50 {
		v, err := h.handle(context.Background(), sample(t, "httpapi-v2-authorization-twice"))
		if m := eventtest.AsMap(t, v); err != nil || m["statusCode"] != float64(401) {
			t.Fatalf("answer %v, %v", m, err)
		}
	}
	if len(doer.Requests()) != 0 {
		t.Error("a request with an ambiguous credential reached the core")
	}
}

func TestEveryHTTPAnswerIsTheFullEnvelope(t *testing.T) {
	for _, name := range []string{"apigw-v1-share", "httpapi-v2-share", "functionurl-reconcile-dryrun", "alb-bindings", "httpapi-v2-not-found"} {
		t.Run(name, func(t *testing.T) {
			h, _ := newFake(t)
			v, err := h.handle(context.Background(), sample(t, name))
			if err != nil {
				t.Fatal(err)
			}
			m := eventtest.AsMap(t, v)
			if _, ok := m["statusCode"].(float64); !ok {
				t.Errorf("no statusCode: %v", m)
			}
			if m["isBase64Encoded"] != false {
				t.Errorf("isBase64Encoded must be present and false: %v", m)
			}
			if hd, _ := m["headers"].(map[string]any); hd["Content-Type"] != "application/json" {
				t.Errorf("headers = %v", m["headers"])
			}
			if _, ok := m["body"].(string); !ok {
				t.Errorf("no body: %v", m)
			}
			for k, v := range m {
				if v == nil {
					t.Errorf("%s is null", k)
				}
			}
		})
	}
}

func TestALBAnswers(t *testing.T) {
	t.Run("with multi-value headers the answer has them too, and the query is decoded", func(t *testing.T) {
		h, doer := newFake(t)
		resp, err := h.alb(context.Background(), sample(t, "alb-bindings"))
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusDescription != "200 OK" || !slices.Equal(resp.MultiValueHeaders["Content-Type"], []string{"application/json"}) {
			t.Errorf("answer = %+v", resp)
		}
		want := []string{"wx5fe6bb43205e9e07", "wx7e57d0c0ffee1234", "wx0f1e2d3c4b5a6978"}
		if len(doer.Reqs) != 1 || !slices.Equal(doer.Reqs[0].AppIDs, want) {
			t.Errorf("Doer saw %+v", doer.Reqs)
		}
	})
	t.Run("without multi-value headers the answer has single-value headers only", func(t *testing.T) {
		h, _ := newFake(t)
		resp, err := h.alb(context.Background(), sample(t, "alb-share"))
		if err != nil {
			t.Fatal(err)
		}
		if resp.MultiValueHeaders != nil || resp.StatusDescription != "200 OK" {
			t.Errorf("answer = %+v", resp)
		}
		if _, ok := eventtest.AsMap(t, resp)["multiValueHeaders"]; ok {
			t.Errorf("multiValueHeaders must be absent")
		}
	})
	t.Run("an error status has its description", func(t *testing.T) {
		h, _ := newFake(t)
		resp, _ := h.alb(context.Background(), []byte(`{"requestContext":{"elb":{"targetGroupArn":"a"}},"httpMethod":"GET","path":"/nope","body":""}`))
		if resp.StatusCode != 404 || resp.StatusDescription != "404 Not Found" {
			t.Errorf("answer = %+v", resp)
		}
	})
}

func TestQueriesOfEachHTTPSource(t *testing.T) {
	const a, b = "wx5fe6bb43205e9e07", "wx1a2b3c4d5e6f7081"
	tests := []struct {
		name    string
		payload string
	}{
		{"REST prefers multi-value parameters", `{"httpMethod":"GET","path":"/bindings","requestContext":{},"headers":{"Authorization":"Bearer envshare-test-secret"},
			"queryStringParameters":{"appids":"` + b + `"},"multiValueQueryStringParameters":{"appids":["` + a + `","` + b + `"]}}`},
		{"HTTP API reads the raw query string, which keeps repeats apart", `{"version":"2.0","rawPath":"/bindings","requestContext":{"http":{"method":"GET"}},"headers":{"authorization":"Bearer envshare-test-secret"},
			"rawQueryString":"appids=` + a + `&appids=` + b + `","queryStringParameters":{"appids":"` + a + `,` + b + `"}}`},
		{"HTTP API falls back to queryStringParameters", `{"version":"2.0","rawPath":"/bindings","requestContext":{"http":{"method":"GET"}},"headers":{"authorization":"Bearer envshare-test-secret"},
			"queryStringParameters":{"appids":"` + a + `,` + b + `"}}`},
		{"HTTP API falls back to the raw query string", `{"version":"2.0","rawPath":"/bindings","requestContext":{"http":{"method":"GET"}},"headers":{"authorization":"Bearer envshare-test-secret"},
			"rawQueryString":"appids=` + a + `%2C` + b + `"}`},
		{"a Function URL behind a base path", `{"version":"2.0","rawPath":"/api/bindings","requestContext":{"http":{"method":"GET"},"domainName":"x.lambda-url.us-east-1.on.aws"},"headers":{"authorization":"Bearer envshare-test-secret"},
			"queryStringParameters":{"appids":"` + a + `,` + b + `"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, doer := newFake(t)
			v, err := h.handle(context.Background(), json.RawMessage(tt.payload))
			if err != nil {
				t.Fatal(err)
			}
			if len(doer.Reqs) != 1 || !slices.Equal(doer.Reqs[0].AppIDs, []string{a, b}) {
				t.Fatalf("Doer saw %+v; answer %v", doer.Reqs, eventtest.AsMap(t, v))
			}
		})
	}
}

func TestSQSBatches(t *testing.T) {
	record := func(id, body string, fifo bool) events.SQSMessage {
		arn := "arn:aws:sqs:ap-east-1:123456789012:envshare"
		if fifo {
			arn += ".fifo"
		}
		return events.SQSMessage{MessageId: id, Body: body, EventSource: "aws:sqs", EventSourceARN: arn}
	}
	const good = `{"action":"bindings","appids":["wx5fe6bb43205e9e07"]}`
	const partial = `{"action":"share","env":"e","appids":["wx5fe6bb43205e9e07"]}`
	const transient = `{"action":"unshare","env":"e","appids":["wx5fe6bb43205e9e07"]}`
	answer := func(req share.Request) (*share.Result, error) {
		switch req.Action {
		case share.ActionShare: // carried out, some entries rejected
			return &share.Result{OK: false, Action: req.Action}, nil
		case share.ActionUnshare:
			return nil, &share.Error{Code: share.CodeUpstreamUnavailable, Message: "busy"}
		}
		return &share.Result{OK: true, Action: req.Action}, nil
	}
	tests := []struct {
		name      string
		records   []events.SQSMessage
		wantFail  []string
		wantCalls int
	}{
		{"good and partly rejected records are done", []events.SQSMessage{record("1", good, false), record("2", partial, false)}, nil, 2},
		{"invalid and transiently failed records are reported", []events.SQSMessage{record("1", `{"action":"share","dryrun":true}`, false), record("2", transient, false), record("3", good, false)}, []string{"1", "2"}, 2},
		{"on a FIFO queue the records after a failure are reported unattempted", []events.SQSMessage{record("1", good, true), record("2", transient, true), record("3", good, true)}, []string{"2", "3"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, doer := newFake(t)
			doer.Answer = answer
			payload, _ := json.Marshal(events.SQSEvent{Records: tt.records})
			v, err := h.handle(context.Background(), payload)
			if err != nil {
				t.Fatal(err)
			}
			resp := v.(events.SQSEventResponse)
			var got []string
			for _, f := range resp.BatchItemFailures {
				got = append(got, f.ItemIdentifier)
			}
			if !slices.Equal(got, tt.wantFail) || len(doer.Reqs) != tt.wantCalls {
				t.Errorf("failures %v (want %v), calls %d (want %d)", got, tt.wantFail, len(doer.Reqs), tt.wantCalls)
			}
			if !strings.Contains(string(eventtest.Must(json.Marshal(resp))), `"batchItemFailures":[`) {
				t.Errorf("batchItemFailures must be a list, even empty")
			}
		})
	}
}

func TestDirectAndScheduledInvocations(t *testing.T) {
	h, doer := newFake(t)
	doer.Answer = func(req share.Request) (*share.Result, error) {
		if req.Action == share.ActionBindings {
			return nil, &share.Error{Code: share.CodeDeadlineExceeded, Message: "late"}
		}
		return &share.Result{OK: true, Action: req.Action}, nil
	}
	if v, err := h.handle(context.Background(), sample(t, "eventbridge-scheduled")); err != nil || eventtest.AsMap(t, v)["action"] != "reconcile" {
		t.Errorf("scheduled: %v %v", v, err)
	}
	if v, err := h.handle(context.Background(), sample(t, "direct-invalid")); err != nil || eventtest.AsMap(t, v)["ok"] != false {
		t.Errorf("invalid: %v %v", v, err)
	}
	if _, err := h.handle(context.Background(), json.RawMessage(`{"action":"bindings","appids":["wx5fe6bb43205e9e07"]}`)); err == nil {
		t.Errorf("a transient failure must fail the invocation")
	}
	if doer.Reqs[0].Action != share.ActionReconcile || doer.Reqs[0].Envs != nil {
		t.Errorf("a scheduled event must reconcile the configured manifest: %+v", doer.Reqs[0])
	}
}

// FuzzHandle: whatever the payload, the handler neither panics nor answers a non-JSON value.
func FuzzHandle(f *testing.F) {
	adapter.Fuzz(f, []byte(`{"version":"2.0","requestContext":{"http":{}}}`))
}

// A comma the client percent-encoded once (%2C) separates appids; one it encoded twice
// (%252C, a literal %2C once the platform has decoded the query) does not: whatever each
// source delivers, decoded (REST, HTTP API's parameters) or not (ALB, HTTP API's raw query).
func TestOnlyACommaTheClientEncodedOnceSeparatesAppIDs(t *testing.T) {
	const a, b = "wx5fe6bb43205e9e07", "wx1a2b3c4d5e6f7081"
	const auth = `"headers":{"authorization":"Bearer envshare-test-secret"}`
	rest := func(value string) string {
		return `{"httpMethod":"GET","path":"/bindings","requestContext":{},` + auth + `,"multiValueQueryStringParameters":{"appids":["` + value + `"]}}`
	}
	httpAPI := func(raw string) string {
		return `{"version":"2.0","rawPath":"/bindings","requestContext":{"http":{"method":"GET"}},` + auth + `,"rawQueryString":"appids=` + raw + `"}`
	}
	alb := func(raw string) string {
		return `{"requestContext":{"elb":{"targetGroupArn":"a"}},"httpMethod":"GET","path":"/bindings",` + auth + `,"queryStringParameters":{"appids":"` + raw + `"}}`
	}
	two := []string{a, b}
	tests := []struct {
		name    string
		payload string
		want    []string // nil: one value that is no appid, answered 400
	}{
		{"REST, ?appids=a%2Cb (delivered decoded)", rest(a + "," + b), two},
		{"REST, ?appids=a%252Cb (delivered decoded)", rest(a + "%2C" + b), nil},
		{"HTTP API, ?appids=a%2Cb (raw)", httpAPI(a + "%2C" + b), two},
		{"HTTP API, ?appids=a%252Cb (raw)", httpAPI(a + "%252C" + b), nil},
		{"ALB, ?appids=a%2Cb (raw)", alb(a + "%2C" + b), two},
		{"ALB, ?appids=a%252Cb (raw)", alb(a + "%252C" + b), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, doer := newFake(t)
			eventtest.CheckAppIDs(t, h.handle, doer, tt.payload, tt.want)
		})
	}
}

// A record stopped by WeChat's daily quota is reported failed and hidden until the quota resets
// (at most 12 hours, SQS's longest visibility timeout): the queue does not deliver it again
// before then, and its redrive policy still ends it in the dead-letter queue.
func TestSQSRecordsStoppedByTheDailyQuotaWaitForItsReset(t *testing.T) {
	for _, tt := range []struct {
		name  string
		reset time.Duration
		want  time.Duration
	}{
		{"a reset in two hours", 2 * time.Hour, 2 * time.Hour},
		{"a reset in twenty hours waits the longest SQS allows", 20 * time.Hour, 12 * time.Hour},
	} {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
			app, doer := eventtest.NewFakeApp(t, trigger.PlatformAWS, func(o *trigger.Options) {
				o.WeChatClock = func() time.Time { return now }
			})
			h := handler{app: app}
			retryAfter := now.Add(tt.reset)
			doer.Answer = func(req share.Request) (*share.Result, error) {
				if req.Action == share.ActionReconcile {
					return nil, &share.Error{Code: share.CodeQuotaExhausted, Message: "daily quota used up", RetryAfter: retryAfter}
				}
				return &share.Result{OK: true, Action: req.Action}, nil
			}
			type hidden struct {
				arn, receipt string
				d            time.Duration
			}
			var got []hidden
			h.hide = func(_ context.Context, arn, receipt string, d time.Duration) error {
				got = append(got, hidden{arn, receipt, d})
				return nil
			}
			arn := "arn:aws:sqs:ap-east-1:123456789012:envshare"
			payload, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{
				{MessageId: "1", ReceiptHandle: "rh-1", Body: `{"action":"reconcile"}`, EventSource: "aws:sqs", EventSourceARN: arn},
				{MessageId: "2", ReceiptHandle: "rh-2", Body: `{"action":"bindings","appids":["wx5fe6bb43205e9e07"]}`, EventSource: "aws:sqs", EventSourceARN: arn},
			}})
			v, err := h.handle(context.Background(), payload)
			if err != nil {
				t.Fatal(err)
			}
			resp := v.(events.SQSEventResponse)
			if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "1" {
				t.Fatalf("failures %+v, want record 1", resp.BatchItemFailures)
			}
			if len(got) != 1 || got[0].arn != arn || got[0].receipt != "rh-1" || got[0].d != tt.want {
				t.Fatalf("hidden %+v, want record 1 for %v", got, tt.want)
			}
		})
	}
}

func TestHideRecordChangesTheRecordsVisibilityOnItsQueue(t *testing.T) {
	f := storetest.NewAWS(t)
	f.SetEnv(t)
	url := f.AddQueue("envshare")
	arn := "arn:aws:sqs:" + storetest.AWSRegion + ":" + storetest.AWSAccountID + ":envshare"
	if err := hideRecord(t.Context(), arn, "rh-1", 3*time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := f.Visibilities(); len(got) != 1 || got[0] != (storetest.Visibility{QueueURL: url, ReceiptHandle: "rh-1", Timeout: 10800}) {
		t.Fatalf("calls %+v", got)
	}
	if err := hideRecord(t.Context(), "arn:aws:sns:x:1:topic", "rh-1", time.Hour); err == nil {
		t.Fatal("an SNS ARN was taken for a queue")
	}
}

// TestInvokeAnswersAsAPlainHandlerWould: the binary is started with handler.Invoke (a
// lambda.Handler); its bytes and errors are those of aws-lambda-go's reflective call of
// handle, the plain func it replaces: a direct answer whose URL holds & and <, an HTTP event's
// answer, and an invocation error.
func TestInvokeAnswersAsAPlainHandlerWould(t *testing.T) {
	h, doer := newFake(t)
	doer.Answer = func(req share.Request) (*share.Result, error) {
		if req.Action == share.ActionUnshare {
			return nil, &share.Error{Code: share.CodeUpstreamUnavailable, Message: "WeChat busy"}
		}
		return &share.Result{OK: true, Action: req.Action, SourceType: 1, Results: []share.Outcome{{
			Env: "prod-1", AppID: "wx0123456789abcdef", Status: share.StatusAwaitingConfirmation,
			ConfirmURL: "https://weixin.qq.com/confirm?a=1&b=<2>"}}}, nil
	}
	plain := lambda.NewHandler(h.handle)
	for _, payload := range []string{
		`{"action":"share","env":"prod-1","appids":["wx0123456789abcdef"]}`,
		string(sample(t, "httpapi-v2-share")),
		`{"action":"unshare","env":"prod-1","appids":["wx0123456789abcdef"]}`,
	} {
		ctx := context.Background()
		got, gotErr := h.Invoke(ctx, []byte(payload))
		want, wantErr := plain.Invoke(ctx, []byte(payload))
		if string(got) != string(want) || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Errorf("%.40s...: Invoke = %q, %v; the plain handler = %q, %v", payload, got, gotErr, want, wantErr)
		}
		if gotErr == nil && !strings.Contains(string(got), "a=1&b=<2>") && strings.Contains(payload, `"share"`) {
			t.Errorf("the answer %s escapes HTML", got)
		}
	}
	// What is not JSON reaches the core, which answers it as the contract's invalid request
	// (the plain handler's decoder failed the invocation instead).
	got, err := h.Invoke(context.Background(), []byte(`share please`))
	if err != nil || !strings.Contains(string(got), `"code":"invalid_request"`) {
		t.Errorf("a payload that is not JSON: %s, %v", got, err)
	}
}
