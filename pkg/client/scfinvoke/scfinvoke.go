// Package scfinvoke is the client.Transport that invokes envshare's Tencent SCF function
// directly (SCF's Invoke API, InvocationType RequestResponse) through the Tencent Cloud SDK's
// common client, which signs with TC3-HMAC-SHA256. It is a public package, apart from
// pkg/client so that HTTP users do not link the Tencent Cloud SDK.
//
//	cred := common.NewCredential(secretID, secretKey) // github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common
//	tc := common.NewCommonClient(cred, "ap-guangzhou", profile.NewClientProfile())
//	c := client.New(scfinvoke.New(tc, "envshare"), client.Options{})
//	res, err := c.Bindings(ctx, []string{"wx5fe6bb43205e9e07"})
//
// An invocation needs scf:InvokeFunction on the function, not ENVSHARE_HTTP_AUTH. Its answer is
// the function's direct-invocation answer (Result.RetMsg): the result object, or the error
// object as the value (invalid input); a transient failure is a function error
// (Result.InvokeResult not 0, Result.ErrMsg), which the Client maps to an *client.Error with
// the contract's code and FunctionError set.
package scfinvoke

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"

	"github.com/envshare/envshare/pkg/client"
)

// DefaultNamespace is SCF's namespace when none is given.
const DefaultNamespace = "default"

// Transport invokes one function synchronously with each call's message.
type Transport struct {
	tc        *common.Client
	function  string
	namespace string
	qualifier string
}

// New returns the transport that invokes function (in DefaultNamespace) through tc, a client
// of the function's region: common.NewCommonClient(cred, region, profile). A profile's
// HttpProfile.Endpoint replaces scf.tencentcloudapi.com.
func New(tc *common.Client, function string) *Transport {
	return &Transport{tc: tc, function: function, namespace: DefaultNamespace}
}

// WithNamespace invokes the function of another namespace.
func (t *Transport) WithNamespace(namespace string) *Transport {
	c := *t
	c.namespace = namespace
	return &c
}

// WithQualifier invokes a version or alias of the function instead of $LATEST.
func (t *Transport) WithQualifier(qualifier string) *Transport {
	c := *t
	c.qualifier = qualifier
	return &c
}

// invokeAnswer is the Invoke API's answer (its errors are read by BaseResponse).
type invokeAnswer struct {
	*tchttp.BaseResponse
	Response *struct {
		Result *struct {
			RetMsg            string
			ErrMsg            string
			InvokeResult      int64
			FunctionRequestId string
		}
		RequestId string
	}
}

// RoundTrip invokes the function with call's message and returns its answer.
func (t *Transport) RoundTrip(ctx context.Context, call client.Call) (client.Answer, error) {
	params := map[string]any{
		"FunctionName":   t.function,
		"Namespace":      t.namespace,
		"InvocationType": "RequestResponse",
		"ClientContext":  string(call.Body),
	}
	if t.qualifier != "" {
		params["Qualifier"] = t.qualifier
	}
	req := tchttp.NewCommonRequest("scf", "2018-04-16", "Invoke")
	if err := req.SetActionParameters(params); err != nil {
		return client.Answer{}, fmt.Errorf("envshare: scf Invoke %s: %w", t.function, err)
	}
	req.SetContext(ctx)
	out := &invokeAnswer{BaseResponse: &tchttp.BaseResponse{}}
	if err := t.tc.Send(req, out); err != nil {
		return client.Answer{}, fmt.Errorf("envshare: scf Invoke %s: %w", t.function, err)
	}
	if out.Response == nil || out.Response.Result == nil {
		return client.Answer{}, fmt.Errorf("envshare: scf Invoke %s: the answer holds no Result", t.function)
	}
	r := out.Response.Result
	if r.InvokeResult != 0 {
		return client.Answer{FunctionError: errorMessage(r.ErrMsg, r.InvokeResult)}, nil
	}
	return client.Answer{Body: []byte(r.RetMsg)}, nil
}

// errorMessage reads a failed invocation's ErrMsg: the runtime's {"errorMessage": ...} or the
// message itself.
func errorMessage(errMsg string, result int64) string {
	var e struct {
		Message string `json:"errorMessage"`
	}
	if json.Unmarshal([]byte(errMsg), &e) == nil && e.Message != "" {
		return e.Message
	}
	if errMsg != "" {
		return errMsg
	}
	return fmt.Sprintf("function error (InvokeResult %d)", result)
}
