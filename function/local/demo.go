package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/envshare/envshare/internal/trigger"
	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/wxemu"
)

// demoManifest is the desired state the demo reconciles (ENVSHARE_MANIFEST in the demo).
const demoManifest = `{"source_type":1,"prune":true,"envs":[
 {"env":"prod-6gni9ity244a6ea3","appids":["wx5fe6bb43205e9e07","wx075cf85bf347b6df","wx1a2b3c4d5e6f7081"]},
 {"env":"staging-8f2k4m6n1p3q5r7t","appids":["wx075cf85bf347b6df"]},
 {"env":"test-env-6gni9ity244a6ea3","appids":["wx075cf85bf347b6df"]}]}`

// demo drives the real handler (the App both adapters call) through a share with mixed
// outcomes, an administrator confirming a link, a bindings query and reconciliations.
func demo(ctx context.Context, out io.Writer, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	verbose := fs.Bool("v", false, "print the function's JSON logs on stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	emu, baseURL, stop, err := startEmulator("")
	if err != nil {
		return err
	}
	defer stop()
	if err := setEnv(localEnv(baseURL)); err != nil {
		return err
	}
	app := trigger.New(trigger.Options{Platform: "local", Logger: logger(*verbose)})
	fmt.Fprintf(out, "WeChat emulator on %s (demo fleet, see pkg/wxemu/demo.go)\n", baseURL)

	call := func(title, method, path, body string) (map[string]any, error) {
		fmt.Fprintf(out, "\n== %s\n   %s %s %s\n", title, method, path, body)
		u, err := url.Parse(path)
		if err != nil {
			return nil, err
		}
		resp := app.HTTP(ctx, trigger.HTTPRequest{
			Method:  method,
			Path:    u.Path,
			Query:   u.Query(),
			Headers: map[string]string{"Authorization": "Bearer " + localSecret},
			Body:    body,
		})
		var answer map[string]any
		var raw map[string]json.RawMessage // keeps the summary's own order
		if err := json.Unmarshal([]byte(resp.Body), &answer); err != nil {
			return nil, fmt.Errorf("%s %s: answer is not JSON: %w", method, path, err)
		}
		_ = json.Unmarshal([]byte(resp.Body), &raw)
		fmt.Fprintf(out, "   -> HTTP %d, ok=%v; WeChat calls: share %d, unshare %d, getenvid %d\n", resp.Status, answer["ok"],
			emu.Calls(wxemu.EndpointShare), emu.Calls(wxemu.EndpointUnshare), emu.Calls(wxemu.EndpointGetEnvID))
		emu.ResetCalls()
		printAnswer(out, answer, raw)
		return answer, nil
	}

	answer, err := call("Share prod with five appids: mixed outcomes, one duplicate", http.MethodPost, "/share",
		`{"env":"prod-6gni9ity244a6ea3","appids":["wx075cf85bf347b6df","wx1a2b3c4d5e6f7081","wx0f1e2d3c4b5a6978","wx7e57d0c0ffee1234","wx075cf85bf347b6df"]}`)
	if err != nil {
		return err
	}
	if link := firstConfirmURL(answer); link != "" {
		fmt.Fprintf(out, "\n== The Mini Program's administrator opens the confirmation link\n   GET %s\n", link)
		if err := openLink(ctx, link); err != nil {
			return err
		}
		fmt.Fprintln(out, "   -> confirmed")
	}
	steps := []struct{ title, method, path, body string }{
		{"Query bindings", http.MethodGet, "/bindings?appids=wx075cf85bf347b6df,wx1a2b3c4d5e6f7081,wx5fe6bb43205e9e07,wx0f1e2d3c4b5a6978", ""},
		{"Reconcile the configured manifest, dry run", http.MethodPost, "/reconcile", `{"dry_run":true}`},
		{"Reconcile the configured manifest", http.MethodPost, "/reconcile", `{}`},
		{"Reconcile again: nothing left to do, no write call", http.MethodPost, "/reconcile", `{}`},
	}
	for _, s := range steps {
		if _, err := call(s.title, s.method, s.path, s.body); err != nil {
			return err
		}
	}
	return nil
}

// printAnswer prints the summary and one line per entry, binding or error.
func printAnswer(out io.Writer, answer map[string]any, raw map[string]json.RawMessage) {
	for _, key := range []string{"summary", "error", "notification"} {
		if v, ok := raw[key]; ok {
			fmt.Fprintf(out, "   %s %s\n", key, v)
		}
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for _, r := range list(answer["results"]) {
		detail := str(r["confirm_url"])
		if e, ok := r["error"].(map[string]any); ok {
			detail = str(e["code"]) + ": " + str(e["message"])
		}
		fmt.Fprintf(tw, "   %s\t%s\t%s\t%s\n", str(r["env"]), str(r["appid"]), str(r["status"]), detail)
	}
	for _, b := range list(answer["bindings"]) {
		var envs []string
		for _, e := range b["envs"].([]any) {
			envs = append(envs, str(e))
		}
		fmt.Fprintf(tw, "   %s\tbound to\t[%s]\n", str(b["appid"]), strings.Join(envs, ", "))
	}
	for _, b := range list(answer["errors"]) {
		e, _ := b["error"].(map[string]any)
		fmt.Fprintf(tw, "   %s\terror\t%s: %s\n", str(b["appid"]), str(e["code"]), str(e["message"]))
	}
	tw.Flush()
}

func firstConfirmURL(answer map[string]any) string {
	for _, r := range list(answer["results"]) {
		if r["status"] == share.StatusPendingConfirmation {
			return str(r["confirm_url"])
		}
	}
	return ""
}

func openLink(ctx context.Context, link string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("confirm link answered HTTP %d", resp.StatusCode)
	}
	return nil
}

func list(v any) []map[string]any {
	items, _ := v.([]any)
	var out []map[string]any
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}
