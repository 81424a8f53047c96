package wechat

import (
	"context"
	"errors"
	"fmt"
)

// Class says what a caller may do about a WeChat error code.
type Class int

const (
	// ClassPermanent: retrying the same request will not help (also every unknown code).
	ClassPermanent Class = iota
	// ClassRetryable: WeChat is busy; retry with backoff.
	ClassRetryable
	// ClassToken: the access token is missing, invalid or expired; reload it and retry once.
	ClassToken
	// ClassQuota: a call quota is used up; retrying now only burns more of it.
	ClassQuota
)

func (c Class) String() string {
	switch c {
	case ClassRetryable:
		return "retryable"
	case ClassToken:
		return "token"
	case ClassQuota:
		return "quota"
	default:
		return "permanent"
	}
}

// Codes documents every errcode this client knows, with its class and a short meaning.
// Unknown codes are permanent.
var Codes = map[int]struct {
	Class   Class
	Meaning string
}{
	-1:    {ClassRetryable, "system busy, retry later"},
	-1000: {ClassPermanent, "system error"},
	40001: {ClassToken, "invalid credential"},
	40014: {ClassToken, "invalid access token"},
	40097: {ClassPermanent, "invalid arguments"},
	40101: {ClassPermanent, "missing parameter"},
	41001: {ClassPermanent, "access token missing"},
	42001: {ClassToken, "access token expired"},
	43002: {ClassPermanent, "POST required"},
	44002: {ClassPermanent, "empty body"},
	45009: {ClassQuota, "daily call quota reached"},
	45011: {ClassQuota, "minute call quota reached"},
	47001: {ClassPermanent, "malformed body"},
	48001: {ClassPermanent, "api unauthorized"},
	61004: {ClassPermanent, "caller IP not in the platform's whitelist"},
	85088: {ClassPermanent, "app has no cloud development"},
}

// ClassOf returns the class of an errcode.
func ClassOf(code int) Class {
	if c, ok := Codes[code]; ok {
		return c.Class
	}
	return ClassPermanent
}

// APIError is a non-zero errcode answered by WeChat for a whole request.
type APIError struct {
	Endpoint string // e.g. "batchshareenv"
	Code     int
	Msg      string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("wechat %s: errcode %d: %s", e.Endpoint, e.Code, e.Msg)
}

// Class returns the class of the error's code.
func (e *APIError) Class() Class { return ClassOf(e.Code) }

// UnavailableError means WeChat could not be reached or kept failing transiently
// (busy, HTTP 5xx, timeouts, connection errors) after every attempt.
// Err is the last cause, already redacted.
type UnavailableError struct {
	Endpoint string
	Attempts int
	Err      error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("wechat %s unavailable after %d attempt(s): %v", e.Endpoint, e.Attempts, e.Err)
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// ErrTokenRejected is wrapped when WeChat still rejects the token after one reload.
var ErrTokenRejected = errors.New("component access token rejected after reload")

// TokenSource gives the component access token. Token returns the cached token, loading it on
// first need; Reload is called after WeChat rejected the token `rejected` and returns a fresh one
// (implementations make it single-flight and bounded).
type TokenSource interface {
	Token(ctx context.Context) (string, error)
	Reload(ctx context.Context, rejected string) (string, error)
}

// TokenSourceError means the TokenSource could not give a token (Token or Reload failed, or the
// client has no TokenSource). No request was sent with a token from the failed call.
type TokenSourceError struct {
	Err error
}

func (e *TokenSourceError) Error() string {
	return fmt.Sprintf("wechat: component access token unavailable: %v", e.Err)
}

func (e *TokenSourceError) Unwrap() error { return e.Err }

// ResponseError is an HTTP answer that is not a WeChat API answer.
//
// HTTP 5xx is transient: it is retried and, once the attempts are used up, becomes the Err of an
// *UnavailableError. Anything else is an upstream protocol error and permanent, because the same
// request would get the same answer: a status other than 2xx and 5xx (WeChat answers its own
// errors with HTTP 200 and an errcode), or a 2xx whose body is not a JSON object or is larger
// than the client reads. The body itself is never quoted: a proxy's error page may echo the URL.
type ResponseError struct {
	Endpoint   string
	StatusCode int
	Err        error // what was wrong with the body; nil when the status alone is the problem
}

func (e *ResponseError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("wechat %s: unexpected HTTP status %d", e.Endpoint, e.StatusCode)
	}
	return fmt.Sprintf("wechat %s: HTTP %d answer is not a WeChat API answer: %v", e.Endpoint, e.StatusCode, e.Err)
}

func (e *ResponseError) Unwrap() error { return e.Err }

// Transient reports whether the answer was an HTTP 5xx.
func (e *ResponseError) Transient() bool { return e.StatusCode >= 500 }

// ErrTokenUnusable is wrapped by a TokenSource's error when no token can be had until someone
// acts (the source still holds a token WeChat rejected, or a value that is no token): retrying
// later would fail the same way, so Classify calls the failure Refused, not Unavailable.
var ErrTokenUnusable = errors.New("no usable component access token")

// Failure is what a caller makes of an error returned by a Client method: the one
// classification callers branch on, whatever error types the chain holds.
type Failure int

const (
	// Refused: WeChat refused the request for good (an errcode, an answer that is not a WeChat
	// answer, a token rejected again after a reload, or an unusable token). The same request
	// would fail the same way.
	Refused Failure = iota + 1
	// Unavailable: WeChat, or the token's source, failed transiently on every attempt. The same
	// request may succeed later.
	Unavailable
	// Stopped: the context ended (deadline or cancellation) before WeChat answered.
	Stopped
)

func (f Failure) String() string {
	switch f {
	case Refused:
		return "refused"
	case Unavailable:
		return "unavailable"
	case Stopped:
		return "stopped"
	default:
		return "none"
	}
}

// Classify tells what err means for the caller; 0 for nil.
func Classify(err error) Failure {
	var (
		unavailable *UnavailableError
		source      *TokenSourceError
	)
	switch {
	case err == nil:
		return 0
	case errors.As(err, &unavailable):
		return Unavailable
	case errors.As(err, &source):
		if errors.Is(source, ErrTokenUnusable) {
			return Refused
		}
		return Unavailable
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return Stopped
	default:
		return Refused
	}
}
