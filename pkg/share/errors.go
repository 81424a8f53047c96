package share

import (
	"strings"
	"time"
)

// Code is an error code of the contract: of a whole request (Error) or of one entry
// (EntryError).
type Code string

// Error codes of the core (docs/results.md). The function's transport adds
// its own (below) and maps codes to HTTP statuses.
const (
	CodeInvalidRequest Code = "invalid_request"
	CodeRejected       Code = "rejected" // entry-level only: WeChat listed the entry in err_list
	// CodeDifferentEntity is entry-level only: WeChat listed the entry in err_list because the
	// env's and the appid's entities (主体) differ. It is permanent: no retry will change it.
	CodeDifferentEntity     Code = "different_entity"
	CodeUpstreamError       Code = "upstream_error"
	CodeUpstreamUnavailable Code = "upstream_unavailable"
	CodeDeadlineExceeded    Code = "deadline_exceeded"
	CodeInternal            Code = "internal"
	// CodeQuotaExhausted: WeChat's daily quota of an API is used up (errcode 45009). A whole
	// request fails with it (HTTP 429, with RetryAfter) when nothing succeeded; a bindings
	// entry carries it; share and reconcile entries are deferred instead, with
	// ReasonQuotaExhausted.
	CodeQuotaExhausted Code = "quota_exhausted"
)

// Error codes of the function's HTTP transport, which adds them to the core's (docs/results.md):
// defined here, once, for the function that answers them and pkg/client that reads them.
const (
	CodeUnauthorized      Code = "unauthorized"
	CodeNotFound          Code = "not_found"
	CodeMethodNotAllowed  Code = "method_not_allowed"
	CodePayloadTooLarge   Code = "payload_too_large"
	CodeAuthNotConfigured Code = "auth_not_configured"
)

// Error is a request that could not be processed: invalid input, or a whole request that
// failed upstream. It encodes as the contract's error object.
type Error struct {
	Code          Code     `json:"code"`
	Message       string   `json:"message"`
	Details       []string `json:"details,omitempty"`
	WechatErrcode *int     `json:"wechat_errcode,omitempty"`
	WechatErrmsg  string   `json:"wechat_errmsg,omitempty"`
	// RetryAfter is when the request may succeed again (quota_exhausted: the next 00:00
	// Asia/Shanghai, when WeChat resets its daily quotas).
	RetryAfter time.Time `json:"retry_after,omitzero"`
}

func (e *Error) Error() string {
	msg := string(e.Code) + ": " + e.Message
	if len(e.Details) > 0 {
		msg += ": " + strings.Join(e.Details, "; ")
	}
	if !e.RetryAfter.IsZero() {
		msg += "; retry after " + e.RetryAfter.Format(time.RFC3339)
	}
	return msg
}

// Transient reports whether retrying the whole action later may succeed: the platform's
// async retry and dead-letter handling should then apply.
func (e *Error) Transient() bool {
	return e.Code == CodeUpstreamUnavailable || e.Code == CodeDeadlineExceeded
}

// errInternal is the answer to anything unexpected; its cause goes to the log only.
func errInternal() *Error { return &Error{Code: CodeInternal, Message: "internal error"} }

// differentEntityWordings are the errmsg wordings, matched as case-insensitive substrings, by
// which WeChat says that an env and an appid belong to different entities: "main body not
// same" since 2023, and the others seen in its answers and docs.
var differentEntityWordings = []string{"main body not same", "different subject", "belong to different", "主体不一致", "主体不同"}

// rejectionCode is the code of an err_list entry with errmsg msg: different_entity when msg
// says the entities differ, else rejected.
func rejectionCode(msg string) Code {
	lower := strings.ToLower(msg)
	for _, w := range differentEntityWordings {
		if strings.Contains(lower, w) {
			return CodeDifferentEntity
		}
	}
	return CodeRejected
}
