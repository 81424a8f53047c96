package share

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/envshare/envshare/pkg/wechat"
)

// callError is why one upstream call failed, as the entries of its chunk report it.
type callError struct {
	entry      EntryError
	api        *wechat.APIError // WeChat's errcode answer, when there was one
	retryAfter time.Time        // quota_exhausted: when WeChat resets the API's daily quota
}

// exhausted reports whether the call found the API's daily quota used up (45009).
func (ce *callError) exhausted() bool { return ce != nil && ce.entry.Code == CodeQuotaExhausted }

// notStarted is the failure of a call that was not sent because the context was done.
var notStarted = &callError{entry: EntryError{Code: CodeDeadlineExceeded,
	Message: "not sent: the invocation's deadline had passed or it was canceled"}}

// classify maps an upstream error to an entry error code (docs/results.md),
// through wechat.Classify.
func (s *Service) classify(ctx context.Context, err error) *callError {
	var api *wechat.APIError
	errors.As(err, &api)
	ce := &callError{api: api}
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) { // this invocation's own deadline
		ce.entry = deadlineError(ctx.Err())
		return ce
	}
	var quota *wechat.QuotaExhaustedError
	switch wechat.Classify(err) {
	case wechat.Exhausted:
		errors.As(err, &quota)
		ce.retryAfter = quota.RetryAfter
		ce.entry = EntryError{Code: CodeQuotaExhausted, Message: s.upstreamText(fmt.Sprintf(
			"WeChat's daily quota of %s is used up (errcode %d): no further call of it before %s",
			quota.Endpoint, wechat.ErrcodeDailyQuota, quota.RetryAfter.Format(time.RFC3339)))}
	case wechat.Unavailable:
		ce.entry = EntryError{Code: CodeUpstreamUnavailable, Message: s.upstreamText(err.Error())}
	case wechat.Stopped:
		ce.entry = deadlineError(err)
	default:
		msg, hint := err.Error(), ""
		if api != nil {
			msg, hint = fmt.Sprintf("WeChat %s answered errcode %d: %s", api.Endpoint, api.Code, api.Msg), ErrcodeHint(api.Code)
		}
		ce.entry = EntryError{Code: CodeUpstreamError, Message: s.upstreamText(msg) + hint}
	}
	return ce
}

func deadlineError(err error) EntryError {
	if errors.Is(err, context.Canceled) {
		return EntryError{Code: CodeDeadlineExceeded, Message: "the invocation was canceled before WeChat answered"}
	}
	return EntryError{Code: CodeDeadlineExceeded, Message: "the invocation's deadline passed before WeChat answered"}
}

// wholeFailure applies the whole-failure rule to the calls that were attempted (nil = the call
// succeeded): when every one failed with the same code, the whole request failed with it,
// carrying the errcode of the first failed call.
func (s *Service) wholeFailure(calls []*callError) *Error {
	if len(calls) == 0 {
		return nil
	}
	first := calls[0]
	for _, c := range calls {
		if c == nil || c.entry.Code != first.entry.Code {
			return nil
		}
	}
	e := &Error{Code: first.entry.Code, Message: "every upstream call failed: " + first.entry.Message, RetryAfter: first.retryAfter}
	if first.api != nil {
		code := first.api.Code
		e.WechatErrcode, e.WechatErrmsg = &code, s.upstreamText(first.api.Msg)
	}
	return e
}

// ErrcodeIPNotWhitelisted is WeChat's answer to a caller outside the third-party platform's IP
// whitelist.
const ErrcodeIPNotWhitelisted = 61004

// ErrcodeHint is what to do about a WeChat errcode whose cause lies in the deployment, to be
// appended to the message that reports it (" (...)"); "" for the others.
func ErrcodeHint(code int) string {
	if code == ErrcodeIPNotWhitelisted {
		return " (caller IP not whitelisted: add the function's fixed egress IP to the third-party platform's " +
			"IP whitelist in the Open Platform console; AWS: the EgressIp output of EnableFixedEgressIp=true, " +
			"SCF: eip: true in serverless.yml, its IP in the function's configuration)"
	}
	return ""
}
