// Package lambdainvoke is the client.Transport that invokes envshare's AWS Lambda function
// directly (Lambda's Invoke API, synchronously) through aws-sdk-go-v2's lambda client. It is a
// public package, apart from pkg/client so that HTTP users do not link the AWS SDK.
//
//	cfg, err := config.LoadDefaultConfig(ctx) // github.com/aws/aws-sdk-go-v2/config
//	c := client.New(lambdainvoke.New(lambda.NewFromConfig(cfg), "envshare"), client.Options{})
//	res, err := c.Bindings(ctx, []string{"wx5fe6bb43205e9e07"})
//
// An invocation needs lambda:InvokeFunction on the function, not ENVSHARE_HTTP_AUTH. Its answer
// is the function's direct-invocation answer: the result object, or the error object as the
// value (invalid input); a transient failure is a function error, which the Client maps to an
// *client.Error with the contract's code and FunctionError set.
package lambdainvoke

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/envshare/envshare/pkg/client"
)

// API is the method of *lambda.Client the transport uses (a test may stand in for it).
type API interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// Transport invokes one function synchronously with each call's message.
type Transport struct {
	api       API
	function  string
	qualifier string
}

// New returns the transport that invokes function (its name, ARN or partial ARN) through api,
// usually lambda.NewFromConfig(cfg).
func New(api API, function string) *Transport {
	return &Transport{api: api, function: function}
}

// WithQualifier invokes a version or alias of the function instead of $LATEST.
func (t *Transport) WithQualifier(qualifier string) *Transport {
	c := *t
	c.qualifier = qualifier
	return &c
}

// RoundTrip invokes the function with call's message and returns its answer.
func (t *Transport) RoundTrip(ctx context.Context, call client.Call) (client.Answer, error) {
	in := &lambda.InvokeInput{FunctionName: &t.function, InvocationType: types.InvocationTypeRequestResponse, Payload: call.Body}
	if t.qualifier != "" {
		in.Qualifier = &t.qualifier
	}
	out, err := t.api.Invoke(ctx, in)
	if err != nil {
		return client.Answer{}, fmt.Errorf("envshare: lambda Invoke %s: %w", t.function, err)
	}
	if out.FunctionError != nil {
		if msg, ok := errorMessage(out.Payload); ok {
			return client.Answer{FunctionError: msg}, nil
		}
		return client.Answer{FunctionError: "function error " + *out.FunctionError}, nil
	}
	// The runtime interface emulator answers a function error without X-Amz-Function-Error:
	// its payload alone tells (envshare's answers always carry "ok").
	if bytes.Contains(out.Payload, []byte(`"errorMessage"`)) {
		if msg, ok := errorMessage(out.Payload); ok {
			return client.Answer{FunctionError: msg}, nil
		}
	}
	return client.Answer{Body: out.Payload}, nil
}

// errorMessage reads a function error's payload, {"errorMessage": ..., "errorType": ...}; ok is
// false when the payload is not one.
func errorMessage(payload []byte) (string, bool) {
	var e struct {
		OK      *bool   `json:"ok"`
		Message *string `json:"errorMessage"`
	}
	if json.Unmarshal(payload, &e) != nil || e.OK != nil || e.Message == nil {
		return "", false
	}
	return *e.Message, true
}
