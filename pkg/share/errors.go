package share

import (
	"fmt"
	"strings"
)

// Error codes of the core (the README's "Results and errors"). The transport codes
// (unauthorized, not_found, ...) and the HTTP statuses belong to the function's HTTP layer.
const (
	CodeInvalidRequest      = "invalid_request"
	CodeRejected            = "rejected" // entry-level only: WeChat listed the entry in err_list
	CodeUpstreamError       = "upstream_error"
	CodeUpstreamUnavailable = "upstream_unavailable"
	CodeDeadlineExceeded    = "deadline_exceeded"
	CodeInternal            = "internal"
)

// Error is a request that could not be processed: invalid input, or a whole request that
// failed upstream. It encodes as the contract's error object.
type Error struct {
	Code          string   `json:"code"`
	Message       string   `json:"message"`
	Details       []string `json:"details,omitempty"`
	WechatErrcode *int     `json:"wechat_errcode,omitempty"`
	WechatErrmsg  string   `json:"wechat_errmsg,omitempty"`
}

func (e *Error) Error() string {
	if len(e.Details) > 0 {
		return fmt.Sprintf("%s: %s: %s", e.Code, e.Message, strings.Join(e.Details, "; "))
	}
	return e.Code + ": " + e.Message
}

// Transient reports whether retrying the whole action later may succeed: the platform's
// async retry and dead-letter handling should then apply.
func (e *Error) Transient() bool {
	return e.Code == CodeUpstreamUnavailable || e.Code == CodeDeadlineExceeded
}

// ErrorBody is the contract's error object: {"ok": false, "error": {...}}.
type ErrorBody struct {
	OK    bool   `json:"ok"`
	Error *Error `json:"error"`
}

// errInternal is the answer to anything unexpected; its cause goes to the log only.
func errInternal() *Error { return &Error{Code: CodeInternal, Message: "internal error"} }
