package trigger

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/envshare/envshare/internal/wxcrypt"
	"github.com/envshare/envshare/pkg/retry"
	"github.com/envshare/envshare/pkg/share"
)

// forwardAction is the internal message that retries a forward (docs/tokens-and-events.md, Running
// next to an existing backend):
// {"action":"forward","query":{...},"body":"...","content_type":"..."}, the push as WeChat sent it,
// still encrypted.
const forwardAction = "forward"

// forwardPause is the pause before a forward is attempted again within the answer's budget.
const forwardPause = 100 * time.Millisecond

// pushCopy is a correctly signed push as it is forwarded: its query (decoded, as every adapter
// delivers it; re-encoded when sent), its body as received, and its Content-Type.
type pushCopy struct {
	Action      string              `json:"action"`
	Query       map[string][]string `json:"query"`
	Body        string              `json:"body"`
	ContentType string              `json:"content_type,omitempty"`
}

// forwarder POSTs pushes to ENVSHARE_FORWARD_URL. It never follows a redirect: a 3xx is a
// failed forward, as the push must reach the receiver as WeChat sent it.
type forwarder struct {
	url    string
	client *http.Client
}

func newForwarder(target string) *forwarder {
	return &forwarder{url: target, client: &http.Client{
		Transport:     http.DefaultTransport.(*http.Transport).Clone(), // connections kept across invocations
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// errForward is a forward the receiver did not take: its HTTP status (0: no answer).
type errForward struct {
	status int
	err    error
}

func (e *errForward) Error() string {
	if e.status == 0 {
		return "the receiver did not answer: " + e.err.Error()
	}
	return fmt.Sprintf("the receiver answered HTTP %d", e.status)
}

func (e *errForward) Unwrap() error { return e.err }

// statusOf is the receiver's status of a failed forward (0: it did not answer).
func forwardStatus(err error) int {
	var fe *errForward
	if errors.As(err, &fe) {
		return fe.status
	}
	return 0
}

// send POSTs p once: the same query parameters (re-encoded), the body as received, its
// Content-Type. Only a 2xx answer is a forward done.
func (f *forwarder) send(ctx context.Context, p pushCopy) error {
	target := f.url
	if q := url.Values(p.Query).Encode(); q != "" {
		target += "?" + q
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(p.Body))
	if err != nil {
		return &errForward{err: err}
	}
	if p.ContentType != "" {
		req.Header.Set("Content-Type", p.ContentType)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return &errForward{err: err}
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // so that the connection is reused
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &errForward{status: resp.StatusCode, err: errors.New(http.StatusText(resp.StatusCode))}
	}
	return nil
}

// Attempts of one forward: within the answer's budget, and in one run of the platform's retry
// (which itself runs again, a few times, what still fails).
const (
	forwardAttempts      = 2
	forwardRetryAttempts = 3
	forwardRetryTimeout  = 10 * time.Second
)

// sendWithin forwards p, attempting it up to n times while ctx leaves time for it.
func (f *forwarder) sendWithin(ctx context.Context, p pushCopy, n int) (attempts int, err error) {
	for {
		attempts++
		if err = f.send(ctx, p); err == nil || ctx.Err() != nil || attempts >= n {
			return attempts, err
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < 2*forwardPause {
			return attempts, err
		}
		if retry.Sleep(ctx, forwardPause) != nil {
			return attempts, err
		}
	}
}

// startForward forwards a correctly signed push in the background, within ctx (the first 2
// seconds of the answer's budget), and returns the function that waits for it and hands a
// forward that failed to the platform's retry. Without ENVSHARE_FORWARD_URL it does nothing.
func (a *App) startForward(ctx context.Context, inst *instance, req HTTPRequest, body []byte) (settle func()) {
	if inst.Forward == nil {
		return func() {}
	}
	contentType, _ := header(req, "Content-Type") // none, or ambiguous: forwarded without one
	p := pushCopy{Action: forwardAction, Query: req.Query, Body: string(body), ContentType: contentType}
	done := make(chan error, 1)
	var attempts int
	go func() {
		var err error
		attempts, err = inst.Forward.sendWithin(ctx, p, forwardAttempts)
		done <- err
	}()
	return func() {
		err := <-done
		if err == nil {
			return
		}
		a.forwardFailed(ctx, inst, p, attempts, err)
	}
}

// forwardFailed logs a forward that failed (forward_failed, with the receiver's status) and
// hands it to the platform's retry; what cannot be handed over is logged at ERROR.
func (a *App) forwardFailed(ctx context.Context, inst *instance, p pushCopy, attempts int, cause error) {
	attrs := []any{"status", forwardStatus(cause), "attempts", attempts, "error", a.secrets.String(cause.Error())}
	if inst.Retry == nil {
		a.log.ErrorContext(ctx, "forward_failed", append(attrs, "retry", "none configured (ENVSHARE_RETRY_QUEUE_URL on AWS; SCF_FUNCTIONNAME on SCF): the push is not forwarded")...)
		return
	}
	message, err := encodeJSON(p)
	if err == nil {
		rctx, cancel := wrapUp(ctx, handOffEarly)
		defer cancel()
		err = inst.Retry(rctx, message)
	}
	if err != nil {
		a.log.ErrorContext(ctx, "forward_failed", append(attrs, "retry", "refused: "+a.secrets.String(err.Error()))...)
		return
	}
	a.log.WarnContext(ctx, "forward_failed", append(attrs, "retry", "handed to the platform's retry")...)
}

// retryForward carries out a forward message: the push is checked again against WeChat's
// signature (a message that did not come from a signed push is never forwarded), then sent.
// A failure is logged forward_failed and answered as a transient error, an invocation error,
// so that the platform retries it (and in the end dead-letters it).
func (a *App) retryForward(ctx context.Context, inst *instance, body []byte) (any, error) {
	p, se := decodeForward(body)
	if se != nil {
		return nil, se
	}
	if inst.Forward == nil {
		return nil, invalid("action forward needs ENVSHARE_FORWARD_URL (it retries the forward of a push)")
	}
	crypto, se := a.pushCrypto(ctx, inst)
	if se != nil {
		return nil, se
	}
	one := func(name string) string {
		if v := p.Query[name]; len(v) == 1 {
			return v[0]
		}
		return ""
	}
	if err := crypto.Verify(one("timestamp"), one("nonce"), one("msg_signature"), []byte(p.Body)); err != nil {
		a.log.WarnContext(ctx, "forward refused: the push fails WeChat's signature check", "error", err)
		return nil, invalid("body: the push fails WeChat's signature check: it is never forwarded")
	}
	fctx, cancel := context.WithTimeout(ctx, forwardRetryTimeout)
	defer cancel()
	attempts, err := inst.Forward.sendWithin(fctx, p, forwardRetryAttempts)
	if err != nil {
		a.log.ErrorContext(ctx, "forward_failed", "status", forwardStatus(err), "attempts", attempts,
			"error", a.secrets.String(err.Error()), "retry", "the platform's, again")
		return nil, &share.Error{Code: share.CodeUpstreamUnavailable, Message: a.secrets.String("forward failed: " + err.Error())}
	}
	a.log.InfoContext(ctx, "push forwarded", "attempts", attempts)
	return map[string]any{"ok": true, "action": forwardAction}, nil
}

// decodeForward reads a forward message as strictly as the other messages: action, query and
// body required, content_type optional, nothing unknown or given twice.
func decodeForward(body []byte) (pushCopy, *share.Error) {
	var p pushCopy
	se := decodeMessage(body, map[string]messageField{
		"action":       into("action", &p.Action, nil),
		"query":        into("query", &p.Query, nil),
		"body":         into("body", &p.Body, nil),
		"content_type": into("content_type", &p.ContentType, nil),
	}, []string{"query", "body"}, "a forward message takes action, query, body and content_type")
	if se != nil {
		return pushCopy{}, se
	}
	return p, nil
}

// pushCrypto opens the platform's push crypto from its credentials: 404 when the appid,
// message token or key is not configured (the route does not exist), 500 when they cannot be
// read or used.
func (a *App) pushCrypto(ctx context.Context, inst *instance) (*wxcrypt.Crypto, *share.Error) {
	if inst.Credentials == nil {
		a.pushRefused(ctx, pushNotConfigured, "no credentials are configured")
		return nil, eventsNotConfigured()
	}
	creds, err := inst.Credentials.Read(ctx) // its values are among a.secrets (Read, or cfg.Secrets in mode env)
	if err != nil {
		a.pushRefused(ctx, pushCredentialsUnreadable, "the platform's credentials cannot be read", "error", err)
		return nil, &share.Error{Code: share.CodeInternal, Message: "the platform's credentials cannot be read; see the function's log"}
	}
	if creds.AppID == "" || creds.MessageToken == "" || creds.AESKey == "" {
		a.pushRefused(ctx, pushNotConfigured, "the platform's appid, message token or EncodingAESKey is not set", "missing", missingMessageSettings(creds))
		return nil, eventsNotConfigured()
	}
	crypto, err := wxcrypt.New(wxcrypt.Config{Token: creds.MessageToken, EncodingAESKey: creds.AESKey,
		PreviousEncodingAESKey: creds.PreviousAESKey, ComponentAppID: creds.AppID})
	if err != nil {
		a.pushRefused(ctx, pushSettingsUnusable, "the platform's message settings are unusable", "error", err)
		return nil, &share.Error{Code: share.CodeInternal, Message: "the platform's message settings are unusable: " + err.Error()}
	}
	return crypto, nil
}
