package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/envshare/envshare/internal/eventtest"
)

// The largest answer the settings allow fits what each AWS source takes (issue 23 #1), counted
// as the bytes the runtime returns (aws-lambda-go encodes the handler's value with
// encoding/json, HTML not escaped), envelope included: 6,000,000 bytes, an ALB's 1,000,000.
func TestTheLargestAnswersFitThePlatform(t *testing.T) {
	quoted, _ := json.Marshal(eventtest.LargeShareBody())
	const auth = `"headers":{"authorization":"Bearer envshare-test-secret"}`
	adapter.CheckLargeAnswers(t, encodeAsTheRuntime, []eventtest.LargeAnswer{
		{Name: "API Gateway REST", Payload: `{"httpMethod":"POST","path":"/prod/share","requestContext":{"stage":"prod"},` + auth + `,"body":` + string(quoted) + `}`, Limit: 6_000_000},
		{Name: "HTTP API", Payload: `{"version":"2.0","rawPath":"/share","requestContext":{"http":{"method":"POST"}},` + auth + `,"body":` + string(quoted) + `}`, Limit: 6_000_000},
		{Name: "Function URL", Payload: `{"version":"2.0","rawPath":"/share","requestContext":{"http":{"method":"POST"},"domainName":"x.lambda-url.us-east-1.on.aws"},` + auth + `,"body":` + string(quoted) + `}`, Limit: 6_000_000},
		{Name: "ALB", Payload: `{"requestContext":{"elb":{"targetGroupArn":"a"}},"httpMethod":"POST","path":"/share",` + auth + `,"body":` + string(quoted) + `}`, Limit: 1_000_000},
	})
}

// encodeAsTheRuntime encodes v as aws-lambda-go's runtime does: encoding/json, HTML not escaped.
func encodeAsTheRuntime(v any) ([]byte, error) {
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return bytes.TrimSuffix(out.Bytes(), []byte("\n")), err
}
