package wechat

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestClassify(t *testing.T) {
	busy := &APIError{Endpoint: "batchshareenv", Code: -1, Msg: "system error"}
	tests := []struct {
		name string
		err  error
		want Failure
	}{
		{"nil is no failure", nil, 0},
		{"an errcode is refused", &APIError{Code: 40097}, Refused},
		{"a busy WeChat after every attempt is unavailable, though it wraps an APIError",
			&UnavailableError{Endpoint: "batchshareenv", Attempts: 3, Err: busy}, Unavailable},
		{"a token source that failed is unavailable", &TokenSourceError{Err: errors.New("timeout")}, Unavailable},
		{"an unusable token is refused", &TokenSourceError{Err: fmt.Errorf("stored token rejected: %w", ErrTokenUnusable)}, Refused},
		{"a token rejected after a reload is refused", fmt.Errorf("%w: %w", ErrTokenRejected, &APIError{Code: 40001}), Refused},
		{"a protocol error is refused", &ResponseError{Endpoint: "batchgetenvid", StatusCode: 404}, Refused},
		{"a deadline is stopped", fmt.Errorf("wechat batchgetenvid: %w", context.DeadlineExceeded), Stopped},
		{"a cancellation is stopped", fmt.Errorf("wechat batchgetenvid: %w", context.Canceled), Stopped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.err); got != tt.want {
				t.Errorf("Classify = %v, want %v", got, tt.want)
			}
		})
	}
}
