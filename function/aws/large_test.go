package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/envshare/envshare/internal/eventtest"
	"github.com/envshare/envshare/internal/trigger"
)

// The largest answer the settings allow fits what each AWS source takes (issue 23 #1), counted
// as the bytes the runtime returns (aws-lambda-go encodes the handler's value with
// encoding/json, HTML not escaped), envelope included: 6,000,000 bytes, an ALB's 1,000,000.
func TestTheLargestAnswersFitThePlatform(t *testing.T) {
	body := eventtest.LargeShareBody()
	quoted, _ := json.Marshal(body)
	const auth = `"headers":{"authorization":"Bearer envshare-test-secret"}`
	for _, tc := range []struct {
		name, payload string
		limit         int
	}{
		{"API Gateway REST", `{"httpMethod":"POST","path":"/prod/share","requestContext":{"stage":"prod"},` + auth + `,"body":` + string(quoted) + `}`, 6_000_000},
		{"HTTP API", `{"version":"2.0","rawPath":"/share","requestContext":{"http":{"method":"POST"}},` + auth + `,"body":` + string(quoted) + `}`, 6_000_000},
		{"Function URL", `{"version":"2.0","rawPath":"/share","requestContext":{"http":{"method":"POST"},"domainName":"x.lambda-url.us-east-1.on.aws"},` + auth + `,"body":` + string(quoted) + `}`, 6_000_000},
		{"ALB", `{"requestContext":{"elb":{"targetGroupArn":"a"}},"httpMethod":"POST","path":"/share",` + auth + `,"body":` + string(quoted) + `}`, 1_000_000},
		{"a direct invocation", `{"action":"share",` + body[1:], 6_000_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := handler{app: eventtest.NewLargeAnswerApp(t, trigger.PlatformAWS)}
			v, err := h.handle(context.Background(), json.RawMessage(tc.payload))
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			enc := json.NewEncoder(&out)
			enc.SetEscapeHTML(false) // as aws-lambda-go's runtime
			if err := enc.Encode(v); err != nil {
				t.Fatal(err)
			}
			if out.Len()-1 > tc.limit {
				t.Fatalf("the runtime would return %d bytes, more than %d", out.Len()-1, tc.limit)
			}
			eventtest.CheckLargeAnswer(t, v)
		})
	}
}
