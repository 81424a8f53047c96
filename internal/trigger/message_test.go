package trigger

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/envshare/envshare/pkg/share"
)

func TestMessages(t *testing.T) {
	code := 61004
	tests := []struct {
		name      string
		body      string
		answer    error // what the Doer fails with; nil = success
		wantValue string
		wantErr   string // substring of the invocation error; "" = none
		wantCalls int
	}{
		{"a share message answers the result", `{"action":"share","env":"test-env","appids":["wx0123456789abcdef"]}`, nil, `"ok":true`, "", 1},
		{"a bindings message answers the result", `{"action":"bindings","appids":["wx0123456789abcdef"]}`, nil, `"action":"bindings"`, "", 1},
		{"a typo field answers the error object without retry", `{"action":"reconcile","dryrun":true}`, nil, `"code":"invalid_request"`, "", 0},
		{"a message without action answers the error object", `{"appids":["wx0123456789abcdef"]}`, nil, `"code":"invalid_request"`, "", 0},
		{"a body that is not JSON answers the error object", `hello`, nil, `"code":"invalid_request"`, "", 0},
		{"a permanent upstream error answers the error object", `{"action":"bindings","appids":["wx0123456789abcdef"]}`,
			&share.Error{Code: share.CodeUpstreamError, Message: "refused", WechatErrcode: &code}, `"wechat_errcode":61004`, "", 1},
		{"an unavailable upstream fails the invocation", `{"action":"bindings","appids":["wx0123456789abcdef"]}`,
			&share.Error{Code: share.CodeUpstreamUnavailable, Message: "busy"}, "", "upstream_unavailable", 1},
		{"a passed deadline fails the invocation", `{"action":"bindings","appids":["wx0123456789abcdef"]}`,
			context.DeadlineExceeded, "", "deadline_exceeded", 1},
		{"an unexpected error fails the invocation without its text", `{"action":"bindings","appids":["wx0123456789abcdef"]}`,
			errors.New("boom " + testSecret), "", "internal", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, nil)
			f.doer.answer = func(ctx context.Context, req share.Request) (*share.Result, error) {
				if tt.answer != nil {
					return nil, tt.answer
				}
				return okResult(req.Action), nil
			}
			v, err := Answer(f.app.Message(context.Background(), []byte(tt.body)))
			if len(f.doer.requests()) != tt.wantCalls {
				t.Errorf("Doer called %d times, want %d", len(f.doer.requests()), tt.wantCalls)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || v != nil {
					t.Fatalf("want an invocation error with %q, got %v, %v", tt.wantErr, v, err)
				}
				if strings.Contains(err.Error(), testSecret) {
					t.Errorf("the error leaks a secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected invocation error %v", err)
			}
			got, _ := encodeJSON(v)
			if !strings.Contains(got, tt.wantValue) {
				t.Errorf("value %s does not contain %s", got, tt.wantValue)
			}
		})
	}
}

func TestMessagesAreDecodedBeforeTheConfigurationIsRead(t *testing.T) {
	f := setup(t, map[string]string{"ENVSHARE_TOKEN_MODE": "bogus"})
	v, err := Answer(f.app.Message(context.Background(), []byte(`{"action":"share","dryrun":true}`)))
	if err != nil {
		t.Fatal(err)
	}
	if body, ok := v.(ErrorBody); !ok || body.Error.Code != share.CodeInvalidRequest {
		t.Fatalf("got %#v", v)
	}
}

func TestScheduledReconcilesTheConfiguredManifest(t *testing.T) {
	f := setup(t, nil)
	res, err := f.app.Scheduled(context.Background())
	if err != nil || res.(*share.Result).Action != share.ActionReconcile {
		t.Fatalf("got %v, %v", res, err)
	}
	want := []share.Request{decoded(t, "", share.ActionReconcile)}
	if got := f.doer.requests(); !reflect.DeepEqual(got, want) {
		t.Errorf("Doer saw %+v, want %+v", got, want)
	}
}

func TestPanicsBecomeInternalErrors(t *testing.T) {
	f := setup(t, nil)
	f.doer.answer = func(context.Context, share.Request) (*share.Result, error) { panic("bug") }
	if _, err := Answer(f.app.Scheduled(context.Background())); err == nil || !strings.Contains(err.Error(), "internal") {
		t.Errorf("Scheduled: %v", err)
	}
	if resp := f.app.HTTP(context.Background(), post("/share", shareBody)); resp.Status != 500 || errorCode(t, resp) != share.CodeInternal {
		t.Errorf("HTTP: %d %s", resp.Status, resp.Body)
	}
}

func TestAnswer(t *testing.T) {
	res := okResult(share.ActionShare)
	tests := []struct {
		name      string
		err       error
		wantValue bool
	}{
		{"a result is the value", nil, true},
		{"invalid_request is the value", &share.Error{Code: share.CodeInvalidRequest}, true},
		{"upstream_error is the value", &share.Error{Code: share.CodeUpstreamError}, true},
		{"upstream_unavailable is an error", &share.Error{Code: share.CodeUpstreamUnavailable}, false},
		{"deadline_exceeded is an error", &share.Error{Code: share.CodeDeadlineExceeded}, false},
		{"internal is an error", &share.Error{Code: share.CodeInternal}, false},
		{"an untyped error is an error", errors.New("x"), false},
		{"a failed refresh is an error whatever its code", loud(&share.Error{Code: share.CodeInvalidRequest}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r *share.Result
			if tt.err == nil {
				r = res
			}
			v, err := Answer(r, tt.err)
			if (err == nil) != tt.wantValue || (v != nil) != tt.wantValue {
				t.Errorf("got %v, %v", v, err)
			}
		})
	}
}
