package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"html"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/envshare/envshare/internal/config"
	"github.com/envshare/envshare/internal/notify"
	"github.com/envshare/envshare/internal/termqr"
	"github.com/envshare/envshare/pkg/redact"
	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/wxemu"
)

// newApp is the Mini Program that authorizes the platform during the demo: not in the
// emulator's demo fleet, of the same subject as the envs.
const newApp = "wx3c5e7a9b1d2f4680"

// demo drives a local deployment through the closed loop (a ticket pushed and stored, a
// token minted, a Mini Program authorizing, its env shared by itself, the confirmation page,
// the administrator confirming, the bindings showing it), then a share with mixed outcomes,
// a bindings query and reconciliations. Every request goes over HTTP to the real handler.
func demo(ctx context.Context, out io.Writer, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	verbose := fs.Bool("v", false, "print the function's JSON logs on stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts := deployOptions{Addr: "127.0.0.1:0", EmulatorAddr: "127.0.0.1:0"}
	if *verbose {
		opts.LogJSON = os.Stderr
	}
	d, err := deploy(out, opts)
	if err != nil {
		return err
	}
	defer d.Close()
	r := &runner{d: d, out: out, ansi: termqr.IsTerminal(out)}
	fmt.Fprintf(out, "\nThe function (the real handler) listens on %s; the WeChat emulator on %s\n"+
		"(demo fleet: pkg/wxemu/demo.go) pushes its events to %s/wechat/events.\n", d.URL, d.EmulatorURL, d.URL)

	if err := r.closedLoop(ctx); err != nil {
		return err
	}
	if err := r.customers(ctx); err != nil {
		return err
	}

	answer, err := r.call(ctx, "Share prod with five appids: mixed outcomes, one duplicate", http.MethodPost, "/share",
		`{"env":"prod-6gni9ity244a6ea3","appids":["wx075cf85bf347b6df","wx1a2b3c4d5e6f7081","wx0f1e2d3c4b5a6978","wx7e57d0c0ffee1234","wx075cf85bf347b6df"]}`)
	if err != nil {
		return err
	}
	if link := firstPending(answer); link.ConfirmURL != "" {
		r.step("The Mini Program's administrator opens the confirmation link")
		fmt.Fprintf(out, "   GET %s\n", link.ConfirmURL)
		if err := open(ctx, link.ConfirmURL); err != nil {
			return err
		}
		fmt.Fprintln(out, "   -> confirmed")
	}
	if _, err := r.call(ctx, "Query bindings", http.MethodGet,
		"/bindings?appids=wx075cf85bf347b6df,wx1a2b3c4d5e6f7081,wx5fe6bb43205e9e07,wx0f1e2d3c4b5a6978", ""); err != nil {
		return err
	}
	r.showManifest()
	steps := []struct{ title, body string }{
		{"Reconcile the configured manifest, dry run", `{"dry_run":true}`},
		{"Reconcile the configured manifest", `{}`},
		{"Reconcile again: nothing left to do, no write call", `{}`},
	}
	if d.Settings.cfg.Ledger != "" {
		steps[1] = struct{ title, body string }{"Reconcile the configured manifest, with a backfill: the authorizers whose " +
			"push was missed (the rest of the demo fleet) are found and each customer's env is shared with its own", `{"backfill":true}`}
		steps[2].title = "Reconcile again: the links sent are awaited (awaiting_confirmation), no new link; " +
			"only the pair WeChat rejected is tried again"
	}
	for _, s := range steps {
		if _, err := r.call(ctx, s.title, http.MethodPost, "/reconcile", s.body); err != nil {
			return err
		}
	}
	if d.Settings.cfg.Ledger != "" {
		if _, err := r.call(ctx, "The fleet view: the ledger and the manifest, no WeChat call", http.MethodGet, "/fleet", ""); err != nil {
			return err
		}
	}
	if err := r.quota(ctx); err != nil {
		return err
	}
	answer, err = r.call(ctx, "A link to the status page: the fleet, the ticket's age, the token's expiry, the quota "+
		"(make serve prints one that stays open)", http.MethodPost, "/status_link", "")
	if err != nil {
		return err
	}
	link, _ := answer["status_page"].(string)
	status, body, err := get(ctx, link)
	if err != nil {
		return err
	}
	fmt.Fprintf(r.out, "   GET %s\n   -> HTTP %d, an HTML page of %d bytes, %d customers\n", shorten(link, 72), status, len(body),
		strings.Count(string(body), `class="customer"`))
	if status != http.StatusOK {
		return fmt.Errorf("the status page answered HTTP %d", status)
	}
	return nil
}

// quota shows WeChat's daily quotas (the quota view), then what a used-up quota (45009) does to
// a share: nothing is sent, the entry is deferred and the request answers 429 with when to
// come back. The quota stays used up for the rest of the run (the status page shows it so).
func (r *runner) quota(ctx context.Context) error {
	if _, err := r.call(ctx, "WeChat's daily quotas of the APIs envshare calls (quota/get for each)", http.MethodGet, "/quota", ""); err != nil {
		return err
	}
	if _, err := r.d.Emu.ChangeQuota(wxemu.QuotaChange{API: wxemu.EndpointShare, Exhaust: true}); err != nil {
		return err
	}
	_, err := r.call(ctx, "The platform has used up batchshareenv's daily quota (WeChat answers 45009): "+
		"a share answers 429 quota_exhausted with retry_after, the next 00:00 Asia/Shanghai", http.MethodPost, "/share",
		`{"env":"prod-6gni9ity244a6ea3","appids":["wx7e57d0c0ffee1234"]}`)
	return err
}

// demoAuthorizations are Mini Programs of the demo fleet that authorize the platform in the
// demo, one per outcome of onboarding by customer.
var demoAuthorizations = []struct{ appid, shows string }{
	{"wx2b4d6f8a0c2e4f61", "深圳市示例科技's Mini Program gets 深圳市示例科技's env"},
	{"wx6a0b1c2d3e4f5061", "Globex's gets Globex's env (its administrator must confirm)"},
	{"wx9e1d3c5b7a9f1e32", "Hooli is no customer: unknown_customer, with its principal, so that it can be added"},
	{"wx0f1e2d3c4b5a6978", "an Acme Mini Program without permission set 18: permission_missing"},
}

// customers shows onboarding by customer: Mini Programs of different entities authorize the
// platform, and each is shared its own customer's env, or reported.
func (r *runner) customers(ctx context.Context) error {
	if r.d.Settings.cfg.Ledger == "" {
		return nil
	}
	r.step("Mini Programs of other customers authorize the platform: WeChat pushes \"authorized\" for each")
	r.d.Emu.ResetCalls()
	for _, a := range demoAuthorizations {
		fmt.Fprintf(r.out, "   %s  %s\n", a.appid, a.shows)
		if err := r.d.Emu.PushEvent(ctx, wxemu.Event{InfoType: wxemu.InfoAuthorized, AuthorizerAppID: a.appid}); err != nil {
			return fmt.Errorf("authorization push: %w", err)
		}
	}
	emu := r.d.Emu
	fmt.Fprintf(r.out, "   -> each answered \"success\"; WeChat calls: api_get_authorizer_info %d, share %d\n",
		emu.Calls(wxemu.EndpointAuthorizerInfo), emu.Calls(wxemu.EndpointShare))
	r.showNotices()
	return nil
}

// runner prints the demo's steps.
type runner struct {
	d    *deployment
	out  io.Writer
	ansi bool // colour the terminal QR code
	n    int  // steps so far
}

func (r *runner) step(title string) {
	r.n++
	fmt.Fprintf(r.out, "\n== %d. %s\n", r.n, title)
}

// closedLoop shows WeChat's events driving the function, end to end.
func (r *runner) closedLoop(ctx context.Context) error {
	d, out := r.d, r.out
	r.step("WeChat pushes a component_verify_ticket (every 10 minutes) to POST /wechat/events")
	if _, err := d.Emu.PushTicket(ctx); err != nil {
		return fmt.Errorf("ticket push: %w", err)
	}
	fmt.Fprintln(out, `   -> answered "success"`)
	r.showState()

	answer, err := r.call(ctx, "The refresh schedule (every 20 minutes) mints a component_access_token from the stored ticket",
		http.MethodPost, "/refresh", "")
	if err != nil {
		return err
	}
	if answer["minted"] == true {
		r.showState()
	}

	r.step(fmt.Sprintf("A Mini Program, %s, authorizes the platform: WeChat pushes \"authorized\"", newApp))
	if err := d.Emu.Authorize(ctx, newApp, wxemu.App{}); err != nil {
		return fmt.Errorf("authorization push: %w", err)
	}
	switch cfg := d.Settings.cfg; {
	case cfg.Ledger != "":
		fmt.Fprintln(out, `   -> answered "success"; the function asked WeChat for its entity (api_get_authorizer_info),`+"\n"+
			`      recorded it in the ledger (ENVSHARE_LEDGER) and shared its customer's env with it by itself`)
	case cfg.OnboardEnvs != "":
		fmt.Fprintf(out, "   -> answered \"success\"; the function shared ENVSHARE_ONBOARD_ENVS (%s) with it by itself\n", cfg.OnboardEnvs)
	default:
		fmt.Fprintln(out, `   -> answered "success"; ENVSHARE_ONBOARD_ENVS is unset: nothing is shared`)
	}
	link := r.showNotices()
	if link.ConfirmPage == "" {
		fmt.Fprintln(out, "   (no confirmation page was made for the onboarding: see the notifications above)")
		return nil
	}

	r.step("The confirmation page: forward it to the Mini Program's administrator")
	fmt.Fprintf(out, "   page  %s\n   link  %s\n", link.ConfirmPage, link.ConfirmURL)
	qr, err := termqr.Draw(link.ConfirmURL, r.ansi)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "   The page's QR code (the link, for WeChat's scanner):")
	for _, line := range strings.SplitAfter(strings.TrimSuffix(qr, "\n"), "\n") {
		fmt.Fprint(out, "   "+line)
	}
	fmt.Fprintln(out)

	r.step("The administrator opens the page, then the link on it (in WeChat: scans the code)")
	status, body, err := get(ctx, link.ConfirmPage)
	if err != nil {
		return err
	}
	shows := strings.Contains(body, html.EscapeString(link.ConfirmURL))
	fmt.Fprintf(out, "   GET %s\n   -> HTTP %d, an HTML page; shows the link: %v\n", shorten(link.ConfirmPage, 72), status, shows)
	if status != http.StatusOK || !shows {
		return fmt.Errorf("the confirmation page answered HTTP %d without the link", status)
	}
	fmt.Fprintf(out, "   GET %s\n", link.ConfirmURL)
	if err := open(ctx, link.ConfirmURL); err != nil {
		return err
	}
	fmt.Fprintln(out, "   -> confirmed")

	_, err = r.call(ctx, "The bindings show it", http.MethodGet, "/bindings?appids="+newApp, "")
	return err
}

// showState prints what the state record holds, secrets masked.
func (r *runner) showState() {
	path := r.d.Settings.cfg.StateID
	if path == "" {
		fmt.Fprintln(r.out, "   (no state record: ENVSHARE_STATE_ID is unset, the ticket is dropped)")
		return
	}
	var state map[string]any
	b, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(b, &state)
	}
	if err != nil {
		fmt.Fprintf(r.out, "   state record %s: %v\n", path, err)
		return
	}
	fmt.Fprintln(r.out, "   the state record (ENVSHARE_STATE_ID) now holds:")
	tw := tabwriter.NewWriter(r.out, 0, 4, 2, ' ', 0)
	for _, k := range []string{"component_verify_ticket", "ticket_create_time", "component_access_token", "expires_at", "minted_at"} {
		v, ok := state[k]
		switch {
		case !ok:
			continue
		case strings.HasSuffix(k, "_ticket") || strings.HasSuffix(k, "_token"):
			v = redact.Mask
		}
		fmt.Fprintf(tw, "     %s\t%v\n", k, v)
	}
	tw.Flush()
}

// showNotices prints the notifications that arrived so far and returns the first pending
// link among them.
func (r *runner) showNotices() notify.Link {
	var first notify.Link
	for {
		select {
		case n := <-r.d.Notices:
			for _, line := range n.describe() {
				fmt.Fprintf(r.out, "   %s\n", line)
			}
			if len(n.Links) > 0 && first.ConfirmURL == "" {
				first = n.Links[0]
			}
		default:
			return first
		}
	}
}

// showManifest prints the manifest the reconcile steps work from.
func (r *runner) showManifest() {
	r.step("The manifest the function reconciles (ENVSHARE_MANIFEST)")
	m, err := config.LoadManifest(r.d.Settings.cfg.Manifest)
	switch {
	case err != nil:
		fmt.Fprintf(r.out, "   %v\n", err)
		return
	case m == nil:
		fmt.Fprintln(r.out, "   (none: ENVSHARE_MANIFEST is unset, the reconcile steps will say so)")
		return
	}
	prune := m.Prune != nil && *m.Prune
	fmt.Fprintf(r.out, "   prune: %v (%s)\n", prune, map[bool]string{
		true:  "envs it names are unshared from its appids that it does not pair them with",
		false: "nothing is unshared"}[prune])
	tw := tabwriter.NewWriter(r.out, 0, 4, 2, ' ', 0)
	for _, e := range m.Envs {
		fmt.Fprintf(tw, "   %s\t%s\n", e.Env, strings.Join(e.AppIDs, ", "))
	}
	tw.Flush()
	if len(m.Customers) > 0 {
		fmt.Fprintln(r.out, "   customers: their envs, shared with each of their Mini Programs that the ledger knows (with permission set 18)")
		for _, c := range m.Customers {
			fmt.Fprintf(r.out, "   %s  %s\n", strings.Join(c.Envs, ", "), c.Principal)
		}
	}
}

// call sends one request to the function and prints it, the WeChat calls it made, the
// answer and the notifications it sent.
func (r *runner) call(ctx context.Context, title, method, target, body string) (map[string]any, error) {
	r.step(title)
	fmt.Fprintf(r.out, "   %s\n", strings.TrimSpace(method+" "+target+" "+body))
	r.d.Emu.ResetCalls()
	status, raw, err := r.d.call(ctx, method, target, body)
	if err != nil {
		return nil, err
	}
	var answer map[string]any
	if err := json.Unmarshal(raw, &answer); err != nil {
		return nil, fmt.Errorf("%s %s: answer is not JSON: %w", method, target, err)
	}
	emu := r.d.Emu
	fmt.Fprintf(r.out, "   -> HTTP %d, ok=%v; WeChat calls: share %d, unshare %d, getenvid %d, token %d, authorizer info %d, list %d\n",
		status, answer["ok"], emu.Calls(wxemu.EndpointShare), emu.Calls(wxemu.EndpointUnshare), emu.Calls(wxemu.EndpointGetEnvID),
		emu.Calls(wxemu.EndpointComponentToken), emu.Calls(wxemu.EndpointAuthorizerInfo), emu.Calls(wxemu.EndpointAuthorizerList))
	printAnswer(r.out, answer, raw)
	r.showNotices()
	return answer, nil
}

// printAnswer prints an answer for a person: counts as aligned text, one line per entry,
// binding or error.
func printAnswer(out io.Writer, answer map[string]any, raw []byte) {
	var top map[string]json.RawMessage
	_ = json.Unmarshal(raw, &top)
	if counts, _ := objectFields(top["backfill"]); len(counts) > 0 {
		fmt.Fprintln(out, "   backfill (api_get_authorizer_list, then the info of each authorizer the ledger did not know)")
		printCounts(out, counts)
	}
	if counts, _ := objectFields(top["summary"]); len(counts) > 0 {
		fmt.Fprintln(out, "   summary")
		printCounts(out, counts)
	}
	if answer["action"] == "fleet" && answer["ok"] == true {
		printFleet(out, answer, top)
	}
	if answer["action"] == "refresh" && answer["ok"] == true {
		printCounts(out, [][2]string{{"minted", str(answer["minted"])}, {"expires_at", str(answer["expires_at"])},
			{"ticket_age_s", str(answer["ticket_age_s"])}})
	}
	if answer["action"] == "quota" && answer["ok"] == true {
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "   api\tdaily_limit\tused\tremain")
		for _, q := range maps(answer["quotas"]) {
			fmt.Fprintf(tw, "   %s\t%s\t%s\t%s\n", str(q["api"]), str(q["daily_limit"]), str(q["used"]), str(q["remain"]))
		}
		tw.Flush()
	}
	if e, ok := answer["error"].(map[string]any); ok {
		fmt.Fprintf(out, "   error %s: %s\n", str(e["code"]), str(e["message"]))
		if after := str(e["retry_after"]); after != "" {
			fmt.Fprintf(out, "   retry_after %s\n", after)
		}
		for _, d := range list(e["details"]) {
			fmt.Fprintf(out, "     %v\n", d)
		}
	}
	if n, ok := answer["notification"].(map[string]any); ok {
		sent := "sent"
		if n["sent"] != true {
			sent = "NOT sent: " + str(n["error"])
		}
		fmt.Fprintf(out, "   notification of %v link(s) to ENVSHARE_NOTIFY_URL: %s\n", n["links"], sent)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for _, r := range maps(answer["results"]) {
		detail := str(r["confirm_url"])
		if issued := str(r["link_issued_at"]); issued != "" {
			detail = "link issued " + issued + ": " + detail
		}
		if e, ok := r["error"].(map[string]any); ok {
			detail = str(e["code"]) + ": " + str(e["message"])
		}
		if detail == "" {
			fmt.Fprintf(tw, "   %s\t%s\t%s\n", str(r["env"]), str(r["appid"]), str(r["status"]))
			continue
		}
		fmt.Fprintf(tw, "   %s\t%s\t%s\t%s\n", str(r["env"]), str(r["appid"]), str(r["status"]), detail)
	}
	for _, b := range maps(answer["bindings"]) {
		var envs []string
		for _, e := range list(b["envs"]) {
			envs = append(envs, str(e))
		}
		fmt.Fprintf(tw, "   %s\tbound to\t[%s]\n", str(b["appid"]), strings.Join(envs, ", "))
	}
	for _, b := range maps(answer["errors"]) {
		e, _ := b["error"].(map[string]any)
		fmt.Fprintf(tw, "   %s\terror\t%s: %s\n", str(b["appid"]), str(e["code"]), str(e["message"]))
	}
	tw.Flush()
}

// printFleet prints the fleet view: a line per customer, the authorizers' counts, the oldest
// pending links.
func printFleet(out io.Writer, answer map[string]any, top map[string]json.RawMessage) {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	// The principal last: the columns are counted in runes, and CJK ones are twice as wide.
	fmt.Fprintln(tw, "   envs\tauthorizers\tshared\tawaiting\tfailed\tcustomer")
	for _, c := range maps(answer["customers"]) {
		var envs []string
		for _, e := range list(c["envs"]) {
			envs = append(envs, str(e))
		}
		fmt.Fprintf(tw, "   %s\t%s\t%s\t%s\t%s\t%s\n", strings.Join(envs, ","), str(c["authorizers"]),
			str(c["shared"]), str(c["awaiting_confirmation"]), str(c["failed"]), str(c["principal"]))
	}
	tw.Flush()
	if counts, _ := objectFields(top["authorizers"]); len(counts) > 0 {
		fmt.Fprintln(out, "   authorizers")
		printCounts(out, counts)
	}
	fmt.Fprintln(out, "   oldest pending links")
	tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for _, p := range maps(answer["oldest_pending"]) {
		fmt.Fprintf(tw, "   %s\t%s\t%s\t%s\n", str(p["env"]), str(p["appid"]), str(p["link_issued_at"]), str(p["principal"]))
	}
	tw.Flush()
}

// printCounts prints name/value pairs as two aligned columns, numbers right-aligned; the
// names of zero counts are listed on one line, so that a reconcile's eleven counts do not
// bury the few that matter.
func printCounts(out io.Writer, fields [][2]string) {
	var shown [][2]string
	var zeros []string
	nameWidth, valueWidth, numbers := 0, 0, true
	for _, f := range fields {
		if f[1] == "0" && len(fields) > 3 {
			zeros = append(zeros, f[0])
			continue
		}
		shown = append(shown, f)
		nameWidth, valueWidth = max(nameWidth, len(f[0])), max(valueWidth, len(f[1]))
		if _, err := strconv.Atoi(f[1]); err != nil {
			numbers = false
		}
	}
	if !numbers {
		valueWidth = -valueWidth // left-aligned, and no trailing spaces
	}
	for _, f := range shown {
		fmt.Fprintln(out, strings.TrimRight(fmt.Sprintf("     %-*s  %*s", nameWidth, f[0], valueWidth, f[1]), " "))
	}
	if len(zeros) > 0 {
		fmt.Fprintf(out, "     (0: %s)\n", strings.Join(zeros, ", "))
	}
}

// objectFields returns the members of a JSON object, in their order, each value as raw
// JSON text; ok is false when raw is no object.
func objectFields(raw []byte) (fields [][2]string, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	for dec.More() {
		name, err := dec.Token()
		if err != nil {
			return nil, false
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		fields = append(fields, [2]string{fmt.Sprint(name), string(v)})
	}
	return fields, true
}

func firstPending(answer map[string]any) notify.Link {
	for _, r := range maps(answer["results"]) {
		if r["status"] == string(share.StatusPendingConfirmation) {
			return notify.Link{Env: str(r["env"]), AppID: str(r["appid"]), ConfirmURL: str(r["confirm_url"]),
				ConfirmPage: str(r["confirm_page"])}
		}
	}
	return notify.Link{}
}

// open opens a confirmation link as the administrator's WeChat would.
func open(ctx context.Context, link string) error {
	status, _, err := get(ctx, link)
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("confirm link answered HTTP %d", status)
	}
	return err
}

func get(ctx context.Context, link string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

func list(v any) []any {
	items, _ := v.([]any)
	return items
}

func maps(v any) []map[string]any {
	var out []map[string]any
	for _, it := range list(v) {
		if m, ok := it.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case float64: // a JSON number: 1000000, never 1e+06
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}
