package awsstore

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/envshare/envshare/internal/store"
)

// Error is an answer that is not a success: the HTTP status, the AWS error code and message
// (both empty when the answer is not an AWS error, such as a proxy's page) and the request id.
// It never holds the rest of the answer.
type Error struct {
	Status    int
	Code      string
	Message   string
	RequestID string
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP status %d", e.Status)
	if e.Code != "" {
		b.WriteString(", " + e.Code)
		if e.Message != "" {
			b.WriteString(": " + e.Message)
		}
	} else {
		b.WriteString(", not an AWS error answer")
	}
	if e.RequestID != "" {
		b.WriteString(" (request id " + e.RequestID + ")")
	}
	return b.String()
}

// ServiceMessage gives AWS's message (store.ServiceError), to redact.
func (e *Error) ServiceMessage() *string { return &e.Message }

// Unwrap gives store.ErrNotFound when the secret, parameter or queue does not exist.
func (e *Error) Unwrap() error {
	switch e.Code {
	case "ResourceNotFoundException", "ParameterNotFound", "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue":
		return store.ErrNotFound
	}
	return nil
}

// noAnswerError is a failure to send the request or to read the answer.
type noAnswerError struct{ err error }

func (e *noAnswerError) Error() string { return e.err.Error() }
func (e *noAnswerError) Unwrap() error { return e.err }

// parseError reads an AWS JSON error answer: the code is in the X-Amzn-Errortype header or the
// body's "__type" (or "code"), the message in "message" (or "Message").
func parseError(resp *http.Response, body []byte) error {
	var e struct {
		Type    string `json:"__type"`
		Code    string `json:"code"`
		Message string `json:"message"`
		Upper   string `json:"Message"`
	}
	_ = json.Unmarshal(body, &e) // not JSON: not an AWS error, reported by status alone
	code := errorCode(cmp.Or(resp.Header.Get("X-Amzn-Errortype"), e.Type, e.Code))
	out := &Error{Status: resp.StatusCode, Code: code, RequestID: resp.Header.Get("X-Amzn-Requestid")}
	if code != "" {
		out.Message = cmp.Or(e.Message, e.Upper)
	}
	return out
}

// errorCode strips what AWS may put around an error code: a namespace
// ("com.amazonaws.sqs#QueueDoesNotExist") or a trailing URL ("ParameterNotFound:http://...").
func errorCode(s string) string {
	if i := strings.IndexByte(s, ':'); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '#'); i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimSpace(s)
}

// retryableCodes are the codes the SDK's standard retryer repeats (throttling and timeouts),
// and SSM's TooManyUpdates, a concurrent write of the same parameter that goes away.
var retryableCodes = map[string]bool{
	"Throttling": true, "ThrottlingException": true, "ThrottledException": true,
	"RequestThrottledException": true, "TooManyRequestsException": true,
	"ProvisionedThroughputExceededException": true, "TransactionInProgressException": true,
	"RequestLimitExceeded": true, "BandwidthLimitExceeded": true, "LimitExceededException": true,
	"RequestThrottled": true, "SlowDown": true, "PriorRequestNotComplete": true,
	"EC2ThrottledException": true, "RequestTimeout": true, "RequestTimeoutException": true,
	"TooManyUpdates": true,
}

// transient reports whether a call may succeed when made again: no answer, HTTP 5xx or 429,
// throttling.
func transient(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Status >= 500 || e.Status == http.StatusTooManyRequests || retryableCodes[e.Code]
	}
	var n *noAnswerError
	return errors.As(err, &n)
}
