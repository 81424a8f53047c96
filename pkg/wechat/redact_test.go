package wechat

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestTheTokenNeverLeaks runs every fault path with a recognisable token and scans every
// error string and log line for it.
func TestTheTokenNeverLeaks(t *testing.T) {
	const tok, tok2 = "TOKEN-SECRET-abc123", "TOKEN-SECRET-def456"
	logs := &bytes.Buffer{} // the client logs in its caller's goroutine
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	f := setup(t, WithLogger(logger))
	f.tokens.tokens = []string{tok, tok2}
	f.client.http.Timeout = 200 * time.Millisecond
	echo := func(w http.ResponseWriter, r *http.Request) {
		reply(`{"errcode":40097,"errmsg":"bad request `+r.URL.String()+`"}`)(w, r)
	}
	release := make(chan struct{})
	defer close(release)
	hang := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
	paths := map[string]http.HandlerFunc{
		"/busy":     errcode(-1),
		"/5xx":      status(502, "<html>"+tok+"</html>"),
		"/hangup":   hangUp,
		"/html":     reply("<html>error at /x?access_token=" + tok + "</html>"),
		"/4xx":      status(403, tok),
		"/redirect": func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, r.URL.String(), http.StatusFound) },
		"/token":    errcode(40001),
		"/echo":     echo,
		"/hang":     hang,
	}
	for prefix, h := range paths {
		f.mux.HandleFunc(prefix+PathShareEnv, h)
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	var errs []error
	ctx := context.Background()
	for prefix := range paths {
		c := *f.client
		c.baseURL = f.url + prefix
		f.tokens.i = 0
		_, err := c.ShareEnv(ctx, shareReq())
		errs = append(errs, err)
	}
	// Redirects followed by a client that does follow them end in a *url.Error.
	following := *f.client
	following.baseURL = f.url + "/redirect"
	following.http = &http.Client{}
	_, err := following.ShareEnv(ctx, shareReq())
	errs = append(errs, err)

	for _, base := range []string{closed.URL, "http://127.0.0.1:1/\x7f"} {
		c := *f.client
		c.baseURL = base
		_, err := c.ShareEnv(ctx, shareReq())
		errs = append(errs, err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	hanging := *f.client
	hanging.baseURL = f.url + "/hang"
	_, err = hanging.ShareEnv(short, shareReq())
	errs = append(errs, err)

	f.tokens.i = 0
	f.tokens.reloadErr = errors.New("cannot refresh " + tok)
	rejected := *f.client
	rejected.baseURL = f.url + "/token"
	_, err = rejected.ShareEnv(ctx, shareReq())
	errs = append(errs, err)

	for i, err := range errs {
		if err == nil {
			t.Errorf("fault path %d succeeded", i)
			continue
		}
		for _, secret := range []string{tok, tok2} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error leaks the token: %v", err)
			}
		}
		t.Log(err)
	}
	out := logs.String()
	if !strings.Contains(out, `"level":"DEBUG"`) {
		t.Fatal("no debug lines were captured")
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, tok) || strings.Contains(line, tok2) {
			t.Errorf("log line leaks the token: %s", line)
		}
	}
}
