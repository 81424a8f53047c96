package trigger

import (
	"net/http"

	"github.com/envshare/envshare/pkg/share"
)

// The transport's own error codes (the core's are in package share).
const (
	CodeUnauthorized      share.Code = "unauthorized"
	CodeNotFound          share.Code = "not_found"
	CodeMethodNotAllowed  share.Code = "method_not_allowed"
	CodePayloadTooLarge   share.Code = "payload_too_large"
	CodeAuthNotConfigured share.Code = "auth_not_configured"
)

// ErrorBody is the contract's error object: {"ok": false, "error": {...}}.
type ErrorBody struct {
	OK    bool         `json:"ok"`
	Error *share.Error `json:"error"`
}

// statusOf maps an error code to its HTTP status (docs/results.md).
func statusOf(code share.Code) int {
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
	case share.CodeQuotaExhausted:
		return http.StatusTooManyRequests
	default: // internal, auth_not_configured
		return http.StatusInternalServerError
	}
}

func internalError() *share.Error {
	return &share.Error{Code: share.CodeInternal, Message: "internal error; see the function's log"}
}

func invalid(details ...string) *share.Error {
	return &share.Error{Code: share.CodeInvalidRequest, Message: "invalid request", Details: details}
}
