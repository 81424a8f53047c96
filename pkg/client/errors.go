package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/envshare/envshare/pkg/share"
)

// The contract's error codes that the function's transport adds to the core's (share.CodeInvalidRequest,
// CodeUpstreamError, CodeUpstreamUnavailable, CodeDeadlineExceeded and CodeInternal), named
// here too so that a caller needs only this package.
const (
	CodeUnauthorized      = share.CodeUnauthorized
	CodeNotFound          = share.CodeNotFound
	CodeMethodNotAllowed  = share.CodeMethodNotAllowed
	CodePayloadTooLarge   = share.CodePayloadTooLarge
	CodeAuthNotConfigured = share.CodeAuthNotConfigured
	CodeQuotaExhausted    = share.CodeQuotaExhausted // WeChat's daily quota (45009), with RetryAfter
)

// Error is a request the deployment did not carry out: its error object, or an invocation that
// failed. Callers branch on Code with errors.As:
//
//	var e *client.Error
//	if errors.As(err, &e) && e.Code == client.CodeUnauthorized { ... }
//
// An answer that is not envshare's (a gateway's 502 page, an API Gateway throttle) has Code ""
// and its Status.
type Error struct {
	Code    share.Code // the contract's code; "" when the answer carried none
	Message string
	Details []string // invalid_request: every problem, each naming its field
	Status  int      // the HTTP status; 0 for an invocation (Invoke transports)
	// WechatErrcode and WechatErrmsg are WeChat's answer when it refused the whole request
	// (upstream_error; also quota_exhausted).
	WechatErrcode *int
	WechatErrmsg  string
	// RetryAfter is when trying again may succeed: the error object's retry_after
	// (quota_exhausted: the next 00:00 Asia/Shanghai), or a 429's Retry-After header.
	RetryAfter time.Time
	// FunctionError is set when an invocation failed (Invoke transports): the function returned
	// an error, so that the platform's retry and dead-letter handling apply.
	FunctionError bool
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("envshare: ")
	if e.Code != "" {
		b.WriteString(string(e.Code))
	} else {
		b.WriteString("unexpected answer")
	}
	switch {
	case e.Status != 0:
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	case e.FunctionError:
		b.WriteString(" (function error)")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if len(e.Details) > 0 {
		b.WriteString(": " + strings.Join(e.Details, "; "))
	}
	if e.WechatErrcode != nil {
		fmt.Fprintf(&b, " (WeChat errcode %d", *e.WechatErrcode)
		if e.WechatErrmsg != "" {
			b.WriteString(": " + e.WechatErrmsg)
		}
		b.WriteByte(')')
	}
	if !e.RetryAfter.IsZero() {
		b.WriteString("; retry after " + e.RetryAfter.Format(time.RFC3339))
	}
	return b.String()
}

// Transient reports whether the same request may succeed later: upstream_unavailable,
// deadline_exceeded, quota_exhausted (after RetryAfter), and the gateways' own 429, 503 and 504
// answers. The Client retries only these.
func (e *Error) Transient() bool {
	switch e.Code {
	case share.CodeUpstreamUnavailable, share.CodeDeadlineExceeded, CodeQuotaExhausted:
		return true
	case "":
		return e.Status == http.StatusTooManyRequests || e.Status == http.StatusServiceUnavailable ||
			e.Status == http.StatusGatewayTimeout
	}
	return false
}

// CodeOf returns the contract's code of err when it is (or wraps) an *Error, else "".
func CodeOf(err error) share.Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// errorObject is the contract's error object: {"ok": false, "error": {...}}.
type errorObject struct {
	Error *struct {
		Code          share.Code `json:"code"`
		Message       string     `json:"message"`
		Details       []string   `json:"details"`
		WechatErrcode *int       `json:"wechat_errcode"`
		WechatErrmsg  string     `json:"wechat_errmsg"`
		RetryAfter    string     `json:"retry_after"`
	} `json:"error"`
}

// decodeError reads an error object; nil when body is not one.
func decodeError(body []byte, status int) *Error {
	var obj errorObject
	if json.Unmarshal(body, &obj) != nil || obj.Error == nil || obj.Error.Code == "" {
		return nil
	}
	o := obj.Error
	e := &Error{Code: o.Code, Message: o.Message, Details: o.Details, Status: status,
		WechatErrcode: o.WechatErrcode, WechatErrmsg: o.WechatErrmsg}
	if t, err := time.Parse(time.RFC3339, o.RetryAfter); err == nil {
		e.RetryAfter = t
	}
	return e
}

// knownCodes are the codes a function error's message may start with ("code: message").
var knownCodes = []share.Code{share.CodeInvalidRequest, share.CodeUpstreamError, share.CodeUpstreamUnavailable,
	share.CodeDeadlineExceeded, share.CodeInternal, CodeAuthNotConfigured, CodeQuotaExhausted}

// functionError turns a failed invocation's message into an *Error. The function's messages
// start with the contract's code ("upstream_unavailable: ..."); anything else (a runtime's
// timeout, a crash) has Code "".
func functionError(message string) *Error {
	e := &Error{Message: message, FunctionError: true}
	for _, c := range knownCodes {
		if rest, ok := strings.CutPrefix(message, string(c)+": "); ok {
			e.Code, e.Message = c, rest
			break
		}
	}
	return e
}

// retryAfterHeader reads a Retry-After header in seconds or as an HTTP date.
func retryAfterHeader(v string, now time.Time) time.Time {
	if v == "" {
		return time.Time{}
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return now.Add(time.Duration(s) * time.Second)
	}
	if t, err := http.ParseTime(v); err == nil {
		return t
	}
	return time.Time{}
}
