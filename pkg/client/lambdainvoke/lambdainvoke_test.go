package lambdainvoke_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/envshare/envshare/pkg/client"
	"github.com/envshare/envshare/pkg/client/lambdainvoke"
)

// fakeLambda answers Invoke as Lambda does: the value, or X-Amz-Function-Error with the
// runtime's error payload.
type fakeLambda struct {
	in  []*lambda.InvokeInput
	out *lambda.InvokeOutput
	err error
}

func (f *fakeLambda) Invoke(_ context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	f.in = append(f.in, in)
	return f.out, f.err
}

func TestAnswers(t *testing.T) {
	unhandled := "Unhandled"
	tests := []struct {
		name string
		out  *lambda.InvokeOutput
		want client.Answer
	}{
		{"a value", &lambda.InvokeOutput{StatusCode: 200, Payload: []byte(`{"ok":true,"action":"quota","quotas":[]}`)},
			client.Answer{Body: []byte(`{"ok":true,"action":"quota","quotas":[]}`)}},
		{"a function error", &lambda.InvokeOutput{StatusCode: 200, FunctionError: &unhandled,
			Payload: []byte(`{"errorMessage":"upstream_unavailable: busy","errorType":"Error"}`)},
			client.Answer{FunctionError: "upstream_unavailable: busy"}},
		{"a function error without a payload", &lambda.InvokeOutput{StatusCode: 200, FunctionError: &unhandled},
			client.Answer{FunctionError: "function error Unhandled"}},
		{"a value that mentions errorMessage", &lambda.InvokeOutput{StatusCode: 200, Payload: []byte(`{"ok":false,"error":{"code":"invalid_request","message":"\"errorMessage\""}}`)},
			client.Answer{Body: []byte(`{"ok":false,"error":{"code":"invalid_request","message":"\"errorMessage\""}}`)}},
	}
	for _, tc := range tests {
		f := &fakeLambda{out: tc.out}
		got, err := lambdainvoke.New(f, "envshare").WithQualifier("live").RoundTrip(context.Background(),
			client.Call{Action: "quota", Body: []byte(`{"action":"quota"}`)})
		if err != nil || string(got.Body) != string(tc.want.Body) || got.FunctionError != tc.want.FunctionError {
			t.Errorf("%s: %+v %v", tc.name, got, err)
		}
		in := f.in[0]
		if *in.FunctionName != "envshare" || *in.Qualifier != "live" || in.InvocationType != types.InvocationTypeRequestResponse ||
			string(in.Payload) != `{"action":"quota"}` {
			t.Errorf("%s: input %+v", tc.name, in)
		}
	}
	f := &fakeLambda{err: errors.New("AccessDeniedException")}
	if _, err := lambdainvoke.New(f, "envshare").RoundTrip(context.Background(), client.Call{Action: "quota"}); err == nil {
		t.Error("an Invoke API error is no answer")
	}
}
