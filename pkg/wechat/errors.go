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
