package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/envshare/envshare/internal/trigger"
	"github.com/envshare/envshare/pkg/wxemu"
)

// serve answers the function's HTTP routes on a loopback address, for curl.
func serve(ctx context.Context, out io.Writer, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "loopback address to listen on")
	state := fs.String("state", "", "emulator state JSON (default: the demo fleet)")
	verbose := fs.Bool("v", true, "print the function's JSON logs on stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := loopbackOnly(*addr); err != nil {
		return err
	}
	_, baseURL, stop, err := startEmulator(*state)
	if err != nil {
		return err
	}
	defer stop()
	if err := setEnv(localEnv(baseURL)); err != nil {
		return err
	}
	app := trigger.New(trigger.Options{Platform: "local", Logger: logger(*verbose)})
	srv := &http.Server{Addr: *addr, Handler: httpAdapter(app), BaseContext: func(net.Listener) context.Context { return ctx }}
	go func() { <-ctx.Done(); srv.Close() }()

	fmt.Fprintf(out, "envshare on http://%s (emulator %s). Try:\n", *addr, baseURL)
	fmt.Fprintf(out, "  curl -s http://%s/healthz\n", *addr)
	fmt.Fprintf(out, "  curl -s -H 'Authorization: Bearer %s' 'http://%s/bindings?appids=wx5fe6bb43205e9e07'\n", localSecret, *addr)
	fmt.Fprintf(out, "  curl -s -H 'Authorization: Bearer %s' -d '{\"env\":\"prod-6gni9ity244a6ea3\",\"appids\":[\"wx075cf85bf347b6df\"]}' http://%s/share\n", localSecret, *addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// httpAdapter turns a net/http request into the platform-neutral request of internal/trigger.
func httpAdapter(app *trigger.App) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		headers := map[string]string{}
		for name, values := range r.Header {
			headers[name] = strings.Join(values, ",")
		}
		resp := app.HTTP(r.Context(), trigger.HTTPRequest{
			Method:  r.Method,
			Path:    r.URL.Path,
			Headers: headers,
			Query:   r.URL.Query(),
			Body:    string(body),
		})
		for k, v := range resp.Headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(resp.Status)
		io.WriteString(w, resp.Body)
	})
}

// emulator runs only the WeChat emulator, standalone.
func emulator(ctx context.Context, out io.Writer, args []string) error {
	fs := flag.NewFlagSet("emulator", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8081", "loopback address to listen on")
	state := fs.String("state", "", "state JSON (default: the demo fleet)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := loopbackOnly(*addr); err != nil {
		return err
	}
	emu := wxemu.New(wxemu.Options{Tokens: []string{localToken}, Strict: true})
	var err error
	if *state != "" {
		err = emu.SeedFile(*state)
	} else {
		err = emu.Seed(wxemu.DemoState())
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "WeChat emulator on http://%s, access token %q; state at /__emu/state\n", *addr, localToken)
	return wxemu.ListenAndServe(ctx, *addr, emu)
}

// loopbackOnly refuses addresses other than loopback: the local tools have no real auth.
func loopbackOnly(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("address %q: only loopback addresses (127.0.0.1, localhost) are served", addr)
	}
	return nil
}
