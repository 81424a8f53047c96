package trigger

import (
	"errors"
	"net/http"

	"github.com/envshare/envshare/pkg/share"
)

// The transport's own error codes (the core's are in package share).
const (
	CodeUnauthorized      = "unauthorized"
	CodeNotFound          = "not_found"
	CodeMethodNotAllowed  = "method_not_allowed"
	CodePayloadTooLarge   = "payload_too_large"
	CodeAuthNotConfigured = "auth_not_configured"
)

// statusOf maps an error code to its HTTP status (the README's "Results and errors").
func statusOf(code string) int {
	switch code {
	case share.CodeInvalidRequest:
		return http.StatusBadRequest
	case CodeUnauthorized:
		return http.StatusUnauthorized
	case CodeNotFound:
		return http.StatusNotFound
	case CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case CodePayloadTooLarge:
		return http.StatusRequestEntityTooLarge
	case share.CodeUpstreamError:
		return http.StatusBadGateway
	case share.CodeUpstreamUnavailable:
		return http.StatusServiceUnavailable
	case share.CodeDeadlineExceeded:
		return http.StatusGatewayTimeout
	default: // internal, auth_not_configured
		return http.StatusInternalServerError
	}
}

// errorOf makes any error an error object: a *share.Error passes unchanged, anything else is
// an internal error (its text was not written for callers).
func errorOf(err error) *share.Error {
	var se *share.Error
	if errors.As(err, &se) && se != nil {
		return se
	}
	return internalError()
}

func internalError() *share.Error {
	return &share.Error{Code: share.CodeInternal, Message: "internal error; see the function's log"}
}

func invalid(details ...string) *share.Error {
	return &share.Error{Code: share.CodeInvalidRequest, Message: "invalid request", Details: details}
}
