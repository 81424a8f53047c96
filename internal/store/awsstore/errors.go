package awsstore

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/envshare/envshare/internal/store"
	"github.com/envshare/envshare/pkg/awsjson"
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

// newError reads an AWS JSON error answer (awsjson.Answer.ErrorCode).
func newError(a *awsjson.Answer) *Error {
	code, message := a.ErrorCode()
	return &Error{Status: a.Status, Code: code, Message: message, RequestID: a.RequestID()}
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
	var n *awsjson.NoAnswerError
	return errors.As(err, &n)
}
