package awsjson

import (
	"net/http"
	"testing"
)

// TestErrorCode: the code is stripped of a namespace and a trailing URL, from the header first.
func TestErrorCode(t *testing.T) {
	for in, want := range map[string]string{
		"ParameterNotFound":                                     "ParameterNotFound",
		"com.amazonaws.sqs#QueueDoesNotExist":                   "QueueDoesNotExist",
		"ResourceNotFoundException:http://internal.amazon.com/": "ResourceNotFoundException",
		" ThrottlingException ":                                 "ThrottlingException",
		"":                                                      "Other", // the body's __type
	} {
		a := &Answer{Status: 400, Header: http.Header{"X-Amzn-Errortype": {in}}, Body: []byte(`{"__type":"Other","message":"m"}`)}
		if got, msg := a.ErrorCode(); got != want || msg != "m" {
			t.Errorf("ErrorCode of X-Amzn-Errortype %q = %q, %q; want %q, %q", in, got, msg, want, "m")
		}
	}
}

// TestNotAnAWSError: a proxy's page has no code and no message, whatever it says.
func TestNotAnAWSError(t *testing.T) {
	a := &Answer{Status: 502, Header: http.Header{}, Body: []byte("<html>Bad Gateway message</html>")}
	if code, msg := a.ErrorCode(); code != "" || msg != "" {
		t.Errorf("ErrorCode = %q, %q", code, msg)
	}
}
