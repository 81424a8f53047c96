package wechat

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
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

// WeChat's errcodes that this client knows (the troubleshooting table of docs/operations.md).
// Unknown codes are permanent.
const (
	ErrcodeBusy               = -1    // system busy: retried with backoff
	ErrcodeSystemError        = -1000 // system error
	ErrcodeInvalidCredential  = 40001 // invalid credential: the token is reloaded
	ErrcodeInvalidToken       = 40014 // invalid access token: the token is reloaded
	ErrcodeInvalidArgs        = 40097 // invalid arguments
	ErrcodeMissingParameter   = 40101 // missing parameter
	ErrcodeTokenMissing       = 41001 // access token missing
	ErrcodeTokenExpired       = 42001 // access token expired: the token is reloaded
	ErrcodePOSTRequired       = 43002 // POST required
	ErrcodeEmptyBody          = 44002 // empty body
	ErrcodeDailyQuota         = 45009 // the API's daily call quota is used up
	ErrcodeMinuteQuota        = 45011 // the API's per-minute limit is reached
	ErrcodeMalformedBody      = 47001 // malformed body
	ErrcodeAPIUnauthorized    = 48001 // api unauthorized
	ErrcodeIPNotWhitelisted   = 61004 // caller IP not in the platform's whitelist
	ErrcodeNoCloudDevelopment = 85088 // the app has no cloud development
)

// codes gives every known errcode its class and a short meaning.
var codes = map[int]struct {
	class   Class
	meaning string
}{
	ErrcodeBusy:               {ClassRetryable, "system busy, retry later"},
	ErrcodeSystemError:        {ClassPermanent, "system error"},
	ErrcodeInvalidCredential:  {ClassToken, "invalid credential"},
	ErrcodeInvalidToken:       {ClassToken, "invalid access token"},
	ErrcodeInvalidArgs:        {ClassPermanent, "invalid arguments"},
	ErrcodeMissingParameter:   {ClassPermanent, "missing parameter"},
	ErrcodeTokenMissing:       {ClassPermanent, "access token missing"},
	ErrcodeTokenExpired:       {ClassToken, "access token expired"},
	ErrcodePOSTRequired:       {ClassPermanent, "POST required"},
	ErrcodeEmptyBody:          {ClassPermanent, "empty body"},
	ErrcodeDailyQuota:         {ClassQuota, "daily call quota reached"},
	ErrcodeMinuteQuota:        {ClassQuota, "minute call quota reached"},
	ErrcodeMalformedBody:      {ClassPermanent, "malformed body"},
	ErrcodeAPIUnauthorized:    {ClassPermanent, "api unauthorized"},
	ErrcodeIPNotWhitelisted:   {ClassPermanent, "caller IP not in the platform's whitelist"},
	ErrcodeNoCloudDevelopment: {ClassPermanent, "app has no cloud development"},
}

// KnownErrcodes lists every errcode this client knows, in ascending order.
func KnownErrcodes() []int { return slices.Sorted(maps.Keys(codes)) }

// ErrcodeMeaning returns a short meaning of a known errcode, "" for an unknown one.
func ErrcodeMeaning(code int) string { return codes[code].meaning }

// ClassOf returns the class of an errcode.
func ClassOf(code int) Class {
	if c, ok := codes[code]; ok {
		return c.class
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
// (busy, HTTP 5xx, timeouts, connection errors) after every attempt, or kept answering 45011
// (the per-minute limit) after the call's waits for the next minute, or answered 45011 when
// the next minute starts after the context's deadline. Err is the last cause, already
// redacted.
type UnavailableError struct {
	Endpoint string
	Attempts int
	Err      error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("wechat %s unavailable after %d attempt(s): %v", e.Endpoint, e.Attempts, e.Err)
}

func (e *UnavailableError) Unwrap() error { return e.Err }

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
	// Exhausted: the API's daily quota is used up (45009, *QuotaExhaustedError): no call of
	// that API succeeds before its RetryAfter.
	Exhausted
)

func (f Failure) String() string {
	switch f {
	case Refused:
		return "refused"
	case Unavailable:
		return "unavailable"
	case Stopped:
		return "stopped"
	case Exhausted:
		return "exhausted"
	default:
		return "none"
	}
}

// Classify tells what err means for the caller; 0 for nil.
func Classify(err error) Failure {
	var (
		exhausted   *QuotaExhaustedError
		unavailable *UnavailableError
		source      *TokenSourceError
	)
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exhausted):
		return Exhausted
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
