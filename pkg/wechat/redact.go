package wechat

import (
	"net/url"
	"strings"
)

// redacted replaces the access token wherever a URL or an error would show it.
const redacted = "REDACTED"

// sanitizeURL returns raw with the access_token query value replaced by REDACTED.
// A URL that does not parse loses its whole query, which is where the token would be.
func sanitizeURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.IndexByte(raw, '?'); i >= 0 {
			return raw[:i] + "?" + redacted
		}
		return raw
	}
	q := u.Query()
	if q.Has("access_token") {
		q.Set("access_token", redacted)
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// sanitizeURLError returns a copy of a *url.Error (what net/http returns, carrying the whole
// request URL) with a sanitized URL; other errors are returned as they are.
func sanitizeURLError(err error) error {
	ue, ok := err.(*url.Error)
	if !ok {
		return err
	}
	clean := *ue
	clean.URL = sanitizeURL(ue.URL)
	return &clean
}

// redactError is the last guard before an error leaves the client: a *url.Error gets a
// sanitized URL, and any other occurrence of a token in the message (an errmsg or a token
// source's error that echoes it) is replaced, while errors.Is and errors.As still see the chain.
func redactError(err error, tokens ...string) error {
	if err == nil {
		return nil
	}
	err = sanitizeURLError(err)
	msg := err.Error()
	scrubbed := msg
	for _, tok := range tokens {
		if tok == "" {
			continue
		}
		scrubbed = strings.ReplaceAll(scrubbed, tok, redacted)
		if esc := url.QueryEscape(tok); esc != tok {
			scrubbed = strings.ReplaceAll(scrubbed, esc, redacted)
		}
	}
	if scrubbed == msg {
		return err
	}
	return &redactedError{msg: scrubbed, err: err}
}

// redactedError shows a scrubbed message in place of its cause's.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
