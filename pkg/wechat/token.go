package wechat

import (
	"context"
	"errors"
	"fmt"
)

// TokenSource gives the component access token. Token returns the cached token, loading it on
// first need; Reload is called after WeChat rejected the token `rejected` and returns a fresh one
// (implementations make it single-flight and bounded).
type TokenSource interface {
	Token(ctx context.Context) (string, error)
	Reload(ctx context.Context, rejected string) (string, error)
}

// StaticToken is a TokenSource of one fixed component access token, for a caller that keeps
// the token itself (and for tests). It has no other token to give: Reload fails with an error
// wrapping ErrTokenUnusable, so a call whose token WeChat rejects is Refused.
type StaticToken string

var _ TokenSource = StaticToken("")

// Token returns the token; an empty one is an error.
func (t StaticToken) Token(context.Context) (string, error) {
	if t == "" {
		return "", fmt.Errorf("empty StaticToken: %w", ErrTokenUnusable)
	}
	return string(t), nil
}

// Reload fails: a static token cannot be replaced.
func (t StaticToken) Reload(context.Context, string) (string, error) {
	return "", fmt.Errorf("a StaticToken cannot be reloaded: %w", ErrTokenUnusable)
}

// ErrTokenRejected is wrapped when WeChat still rejects the token after one reload.
var ErrTokenRejected = errors.New("component access token rejected after reload")

// ErrTokenUnusable is wrapped by a TokenSource's error when no token can be had until someone
// acts (the source still holds a token WeChat rejected, or a value that is no token): retrying
// later would fail the same way, so Classify calls the failure Refused, not Unavailable.
var ErrTokenUnusable = errors.New("no usable component access token")

// TokenSourceError means the TokenSource could not give a token (Token or Reload failed, or the
// client has no TokenSource). No request was sent with a token from the failed call.
type TokenSourceError struct {
	Err error
}

func (e *TokenSourceError) Error() string {
	return fmt.Sprintf("wechat: component access token unavailable: %v", e.Err)
}

func (e *TokenSourceError) Unwrap() error { return e.Err }
