package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/envshare/envshare/pkg/wxemu"
)

// refreshEvery is the refresh schedule of both templates.
const refreshEvery = 20 * time.Minute

// serve runs a local deployment for curl and a browser until ctx is done (Ctrl-C, SIGTERM,
// or the parent process ending), then shuts it down. The window gets one short line for each
// of the function's log records; the JSON log lines, as a deployment writes them, go to a file
// whose path it prints, kept after it stops.
func serve(ctx context.Context, out io.Writer, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "the function's loopback address")
	emuAddr := fs.String("emulator", "127.0.0.1:8081", "the WeChat emulator's loopback address")
	state := fs.String("state", "", "emulator state JSON (default: the demo fleet)")
	logPath := fs.String("log", "", "the file of the function's JSON log (default: a new envshare-serve-*.log in the temporary directory)")
	verbose := fs.Bool("v", false, "also print the function's JSON log on stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logFile, err := openLog(*logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	opts := deployOptions{Addr: *addr, EmulatorAddr: *emuAddr, State: *state, LogJSON: logFile, LogHuman: out}
	if *verbose {
		opts.LogJSON = io.MultiWriter(logFile, os.Stderr)
	}
	fmt.Fprintf(out, "The function's JSON log: %s\n", logFile.Name())
	d, err := deploy(out, opts)
	if err != nil {
		return err
	}
	defer func() {
		d.Close()
		fmt.Fprintln(out, "envshare stopped")
	}()
	if err := d.prime(ctx); err != nil {
		if ctx.Err() != nil { // stopped while starting: as clean as any stop
			return nil
		}
		return err
	}
	fmt.Fprintf(out, "\nenvshare (the real handler) on %s; WeChat emulator on %s, pushing to %s/wechat/events\n",
		d.URL, d.EmulatorURL, d.URL)
	printExamples(out, d)
	printStatusLink(ctx, out, d)
	fmt.Fprintf(out, "Stop with Ctrl-C. Notifications and the function's log follow, one line each (JSON: %s).\n",
		logFile.Name())

	go schedule(ctx, d)
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(out, "\nshutting down...")
			return nil
		case n := <-d.Notices:
			for _, line := range n.describe() {
				fmt.Fprintln(out, line)
			}
		}
	}
}

// schedule does what WeChat and the templates' schedule do while the deployment runs: a
// ticket push every 10 minutes, a refresh every 20.
func schedule(ctx context.Context, d *deployment) {
	if d.Settings.cfg.StateID == "" {
		return
	}
	tickets := time.NewTicker(wxemu.DefaultPushInterval)
	defer tickets.Stop()
	refresh := time.NewTicker(refreshEvery)
	defer refresh.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tickets.C:
			d.Emu.PushTicket(ctx) // a failure is in the function's log and the push log
		case <-refresh.C:
			d.App.Message(ctx, []byte(`{"action":"refresh"}`)) // logged by the function
		}
	}
}

// printExamples prints curl commands that work with the effective authentication.
func printExamples(out io.Writer, d *deployment) {
	cfg := d.Settings.cfg
	secret := cfg.HTTPSecret // the local default guards nothing
	if d.Settings.source("ENVSHARE_HTTP_SECRET") == fromExported {
		secret = "$ENVSHARE_HTTP_SECRET" // the reader's own: never printed
	}
	const shareBody = `{"env":"prod-6gni9ity244a6ea3","appids":["wx1a2b3c4d5e6f7081"]}`
	fmt.Fprintf(out, "Try (ENVSHARE_HTTP_AUTH=%s):\n", cfg.HTTPAuth)
	fmt.Fprintf(out, "  curl -s %s/healthz\n", d.URL)
	switch cfg.HTTPAuth {
	case "bearer":
		fmt.Fprintf(out, "  curl -s -H \"Authorization: Bearer %s\" '%s/bindings?appids=wx5fe6bb43205e9e07'\n", secret, d.URL)
		fmt.Fprintf(out, "  curl -s -H \"Authorization: Bearer %s\" -d '%s' %s/share\n", secret, shareBody, d.URL)
	case "none":
		fmt.Fprintf(out, "  curl -s '%s/bindings?appids=wx5fe6bb43205e9e07'\n", d.URL)
		fmt.Fprintf(out, "  curl -s -d '%s' %s/share\n", shareBody, d.URL)
	case "hmac":
		// S = timestamp \n METHOD \n route \n canonical query \n body (docs/triggers.md, Authentication).
		fmt.Fprintf(out, "  ts=$(date +%%s); body='%s'\n", shareBody)
		fmt.Fprintf(out, "  sig=$(printf '%%s\\nPOST\\n/share\\n\\n%%s' \"$ts\" \"$body\" | openssl dgst -sha256 -hmac \"%s\" | sed 's/^.* //')\n", secret)
		fmt.Fprintf(out, "  curl -s -H \"X-Envshare-Timestamp: $ts\" -H \"X-Envshare-Signature: sha256=$sig\" -d \"$body\" %s/share\n", d.URL)
	default:
		fmt.Fprintln(out, "  (ENVSHARE_HTTP_AUTH is unset: every route but /healthz, /wechat/events and /confirm/ answers 500 auth_not_configured)")
	}
	fmt.Fprintln(out, "  The share answers a confirm_page: open it in a browser.")
	fmt.Fprintf(out, "  curl -s -d '{\"appid\":\"%s\"}' %s/__emu/authorize\n", newApp, d.EmulatorURL)
	fmt.Fprintf(out, "  (a Mini Program authorizes the platform: WeChat pushes the event, the function shares %s with it)\n",
		onboarded(cfg.Ledger, cfg.OnboardEnvs))
	if cfg.Ledger != "" && cfg.HTTPAuth == "bearer" {
		fmt.Fprintf(out, "  curl -s -H \"Authorization: Bearer %s\" %s/fleet    (the fleet view, from the ledger %s)\n", secret, d.URL, cfg.Ledger)
	}
}

// onboarded says what an authorizing Mini Program is shared.
func onboarded(ledger, onboardEnvs string) string {
	switch {
	case ledger != "":
		return "its customer's envs (ENVSHARE_MANIFEST's customers, by the principal WeChat reports)"
	case onboardEnvs != "":
		return onboardEnvs
	}
	return "nothing (ENVSHARE_ONBOARD_ENVS is unset)"
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
	if err := seed(emu, *state, wxemu.DemoState()); err != nil {
		return err
	}
	fmt.Fprintf(out, "WeChat emulator on http://%s, access token %q; state at /__emu/state\n", *addr, localToken)
	return wxemu.ListenAndServe(ctx, *addr, emu)
}

// openLog creates the JSON log file of serve: path, or a new file in the temporary directory.
func openLog(path string) (*os.File, error) {
	if path == "" {
		return os.CreateTemp("", "envshare-serve-*.log")
	}
	return os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
}

// printStatusLink prints a link to the status page, made by the function as POST /status_link
// makes it.
func printStatusLink(ctx context.Context, out io.Writer, d *deployment) {
	status, body, err := d.call(ctx, http.MethodPost, "/status_link", "")
	var link struct {
		StatusPage string    `json:"status_page"`
		ExpiresAt  time.Time `json:"expires_at"`
	}
	if err != nil || status != http.StatusOK || json.Unmarshal(body, &link) != nil {
		fmt.Fprintf(out, "  (no status page link: %d %s %v)\n", status, body, err)
		return
	}
	fmt.Fprintf(out, "The status page (the fleet, the ticket's age, the token's expiry, the quota), valid until %s:\n  %s\n",
		link.ExpiresAt.Local().Format(time.DateTime), link.StatusPage)
}
