package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/envshare/envshare/internal/eventtest"
	"github.com/envshare/envshare/internal/trigger"
)

// The demo is what `make run` shows a newcomer: every step must really happen.
func TestTheDemoShowsEveryActionAgainstTheEmulator(t *testing.T) {
	eventtest.SetEnv(t, nil) // the demo sets its own configuration; restore the caller's after
	var out bytes.Buffer
	if err := demo(context.Background(), &out, nil); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		"-> HTTP 200, ok=false; WeChat calls: share 1", // the mixed share: one call for one env
		"pending_confirmation", "rejected: ", "-> confirmed",
		"bound to", "would_share", "would_unshare", "unshared",
		"-> HTTP 200, ok=true; WeChat calls: share 0, unshare 0, getenvid 1", // the idempotent rerun
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the demo's output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, localToken) || strings.Contains(got, "HTTP 5") {
		t.Errorf("the demo printed the token or a server error:\n%s", got)
	}
}

func TestServeTranslatesNetHTTPRequests(t *testing.T) {
	_, baseURL, stop, err := startEmulator("")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	env := localEnv(baseURL)
	eventtest.SetEnv(t, env)
	app := trigger.New(trigger.Options{Platform: "local", Logger: logger(false), MetricsOut: io.Discard})
	srv := httptest.NewServer(httpAdapter(app))
	defer srv.Close()

	tests := []struct {
		name, method, path, auth string
		status                   int
		body                     string
	}{
		{"healthz needs no auth", "GET", "/healthz", "", 200, `{"ok":true}`},
		{"a query with an encoded comma reaches the route", "GET", "/bindings?appids=wx5fe6bb43205e9e07%2Cwx075cf85bf347b6df", "Bearer " + localSecret, 200, `"appid":"wx075cf85bf347b6df"`},
		{"a wrong secret is refused", "GET", "/bindings?appids=wx5fe6bb43205e9e07", "Bearer nope", 401, `"unauthorized"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || !strings.Contains(string(b), tt.body) {
				t.Errorf("%d %s, want %d with %s", resp.StatusCode, b, tt.status, tt.body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

func TestOnlyLoopbackAddressesAreServed(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:8080": true, "localhost:8080": true, "[::1]:8080": true,
		"0.0.0.0:8080": false, ":8080": false, "10.0.0.1:8080": false, "nonsense": false,
	} {
		if err := loopbackOnly(addr); (err == nil) != ok {
			t.Errorf("loopbackOnly(%q) = %v, want ok=%v", addr, err, ok)
		}
	}
}
