package share

import (
	"fmt"
	"strings"
)

// Code is an error code of the contract: of a whole request (Error) or of one entry
// (EntryError).
type Code string

// Error codes of the core (the README's "Results and errors"). The function's transport adds
// its own (unauthorized, not_found, ...) and maps codes to HTTP statuses.
const (
	CodeInvalidRequest      Code = "invalid_request"
	CodeRejected            Code = "rejected" // entry-level only: WeChat listed the entry in err_list
	CodeUpstreamError       Code = "upstream_error"
	CodeUpstreamUnavailable Code = "upstream_unavailable"
	CodeDeadlineExceeded    Code = "deadline_exceeded"
	CodeInternal            Code = "internal"
)

// Error is a request that could not be processed: invalid input, or a whole request that
// failed upstream. It encodes as the contract's error object.
type Error struct {
	Code          Code     `json:"code"`
	Message       string   `json:"message"`
	Details       []string `json:"details,omitempty"`
	WechatErrcode *int     `json:"wechat_errcode,omitempty"`
	WechatErrmsg  string   `json:"wechat_errmsg,omitempty"`
}

func (e *Error) Error() string {
	if len(e.Details) > 0 {
		return fmt.Sprintf("%s: %s: %s", e.Code, e.Message, strings.Join(e.Details, "; "))
	}
	return string(e.Code) + ": " + e.Message
}

// Transient reports whether retrying the whole action later may succeed: the platform's
// async retry and dead-letter handling should then apply.
func (e *Error) Transient() bool {
	return e.Code == CodeUpstreamUnavailable || e.Code == CodeDeadlineExceeded
}

// errInternal is the answer to anything unexpected; its cause goes to the log only.
func errInternal() *Error { return &Error{Code: CodeInternal, Message: "internal error"} }
