package client_test

import (
	"context"
	"errors"
	"testing"

	"github.com/envshare/envshare/pkg/client"
	"github.com/envshare/envshare/pkg/retry"
)

// FuzzDecodeNotification: a receiver reads whatever reaches its URL (after the signature
// check, but a key may leak): decoding never panics, and what decodes has an action.
func FuzzDecodeNotification(f *testing.F) {
	f.Add([]byte(`{"action":"share","links":[{"env":"e1","appid":"wx075cf85bf347b6df","confirm_url":"https://u"}]}`))
	f.Add([]byte(`{"action":"authorization","event":{"info_type":"authorized","authorizer_appid":"wx1","create_time":"2026-12-07T10:00:00Z"},"onboard":{"envs":["e"],"status":"done","summary":{"requested":1}}}`))
	f.Add([]byte(`{"action":"authorization","event":"authorized","appid":"wx1","principal":"p","outcome":"recorded"}`))
	f.Add([]byte(`{"action":"x","event":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := client.DecodeNotification(body)
		if err == nil && n.Action == "" {
			t.Errorf("decoded without an action: %q", body)
		}
	})
}

// fuzzTransport answers one call with the fuzzer's answer.
type fuzzTransport client.Answer

func (a fuzzTransport) RoundTrip(context.Context, client.Call) (client.Answer, error) {
	return client.Answer(a), nil
}

// FuzzAnswer: whatever a deployment (or a gateway in front of it) answers, the client returns a
// result or an error, never panics, and an error it returns is an *Error.
func FuzzAnswer(f *testing.F) {
	f.Add(200, []byte(`{"ok":true,"action":"share","source_type":1,"summary":{"requested":1,"shared":1,"pending_confirmation":0,"failed":0},"results":[]}`), "", "")
	f.Add(429, []byte(`{"ok":false,"error":{"code":"quota_exhausted","message":"m","retry_after":"2026-12-07T16:00:00Z"}}`), "", "3")
	f.Add(0, []byte(`{"ok":false,"error":{"code":"invalid_request","message":"m","details":["a"]}}`), "", "")
	f.Add(0, []byte(nil), "upstream_unavailable: busy", "")
	f.Add(502, []byte(`<html>`), "", "Wed, 21 Oct 2015 07:28:00 GMT")
	f.Fuzz(func(t *testing.T, status int, body []byte, functionError, retryAfter string) {
		c := client.New(fuzzTransport{Status: status, Body: body, FunctionError: functionError, RetryAfter: retryAfter},
			client.Options{Retry: retry.Policy{Attempts: 1}, MaxWait: -1})
		res, err := c.Share(context.Background(), "e1", []string{"wx075cf85bf347b6df"})
		var e *client.Error
		switch {
		case err != nil && !errors.As(err, &e):
			t.Errorf("an error that is no *Error: %v", err)
		case err == nil && res == nil:
			t.Error("no result and no error")
		}
	})
}
