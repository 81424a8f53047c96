package trigger

import (
	"net/http"

	"github.com/envshare/envshare/pkg/share"
)

// ErrorBody is the contract's error object: {"ok": false, "error": {...}}.
type ErrorBody struct {
	OK    bool         `json:"ok"`
	Error *share.Error `json:"error"`
}

// statuses are the HTTP statuses of the error codes (docs/results.md); any other code
// (internal, auth_not_configured) is a 500.
var statuses = map[share.Code]int{
	share.CodeInvalidRequest:      http.StatusBadRequest,
	share.CodeUnauthorized:        http.StatusUnauthorized,
	share.CodeNotFound:            http.StatusNotFound,
	share.CodeMethodNotAllowed:    http.StatusMethodNotAllowed,
	share.CodePayloadTooLarge:     http.StatusRequestEntityTooLarge,
	share.CodeUpstreamError:       http.StatusBadGateway,
	share.CodeUpstreamUnavailable: http.StatusServiceUnavailable,
	share.CodeDeadlineExceeded:    http.StatusGatewayTimeout,
	share.CodeQuotaExhausted:      http.StatusTooManyRequests,
}

// statusOf is the HTTP status of an error code.
func statusOf(code share.Code) int {
	if status, ok := statuses[code]; ok {
		return status
	}
	return http.StatusInternalServerError
}

func internalError() *share.Error {
	return &share.Error{Code: share.CodeInternal, Message: "internal error; see the function's log"}
}

func invalid(details ...string) *share.Error {
	return &share.Error{Code: share.CodeInvalidRequest, Message: "invalid request", Details: details}
}
