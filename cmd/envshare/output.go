package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/envshare/envshare/internal/termqr"
	"github.com/envshare/envshare/pkg/client"
	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/signature"
)

// maxQRCodes bounds the QR codes drawn for one answer: past a few, the pages serve better.
const maxQRCodes = 3

// printer writes answers for a person (aligned tables; QR codes on a terminal) or as JSON.
type printer struct {
	w        io.Writer
	json     bool
	terminal bool // w is a terminal: QR codes, in explicit colours
	qr       bool // --no-qr not given
}

func (p *printer) encode(v any) error {
	enc := json.NewEncoder(p.w)
	enc.SetEscapeHTML(false) // confirmation links keep their '&'
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// answered prints v, what the deployment answered (err: why it did not), as JSON with --json,
// else as text prints it.
func answered[T any](p *printer, v T, err error, text func(T) error) (int, error) {
	if err != nil {
		return 0, err
	}
	if p.json {
		return exitOK, p.encode(v)
	}
	return exitOK, text(v)
}

func (p *printer) table() *tabwriter.Writer { return tabwriter.NewWriter(p.w, 0, 4, 2, ' ', 0) }

// result prints a share, unshare, bindings or reconcile answer.
func (p *printer) result(res *share.Result) error {
	if p.json {
		return p.encode(res)
	}
	if res.Action == share.ActionBindings {
		return p.bindings(res)
	}
	head := res.Action
	if res.DryRun {
		head += " (dry run)"
	}
	fmt.Fprintf(p.w, "%s: %s\n", head, counts(res.Summary))
	var pending []share.Outcome
	if len(res.Results) > 0 {
		tw := p.table()
		fmt.Fprintln(tw, "ENV\tAPPID\tSTATUS\tDETAIL")
		for _, o := range res.Results {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", o.Env, o.AppID, o.Status, detail(o))
			if o.Status == share.StatusPendingConfirmation && o.ConfirmURL != "" {
				pending = append(pending, o)
			}
		}
		tw.Flush()
	}
	if res.ResultsOmitted > 0 {
		fmt.Fprintf(p.w, "(%d more entries are in the deployment's log, not in the answer)\n", res.ResultsOmitted)
	}
	if n := res.Notification; n != nil && !n.Sent {
		fmt.Fprintf(p.w, "the notification of %d link(s) failed: %s\n", n.Links, n.Error)
	}
	return p.qrCodes(pending)
}

// qrCodes draws the confirmation links of pending pairs, on a terminal only.
func (p *printer) qrCodes(pending []share.Outcome) error {
	if !p.terminal || !p.qr || len(pending) == 0 {
		return nil
	}
	for i, o := range pending {
		if i == maxQRCodes {
			fmt.Fprintf(p.w, "\n(%d more pending: their confirm_page links above show each code)\n", len(pending)-maxQRCodes)
			break
		}
		code, err := termqr.Draw(o.ConfirmURL, true)
		if err != nil {
			return err
		}
		fmt.Fprintf(p.w, "\n%s must open this link in WeChat (scan it), for %s:\n%s\n%s", o.AppID, o.Env, o.ConfirmURL, code)
	}
	return nil
}

// detail is an outcome's last column: its link, or why it failed or waits.
func detail(o share.Outcome) string {
	switch {
	case o.Error != nil:
		return string(o.Error.Code) + ": " + o.Error.Message
	case o.ConfirmPage != "":
		return "page " + o.ConfirmPage
	case o.ConfirmURL != "":
		return "link " + o.ConfirmURL
	}
	return ""
}

// counts writes a summary's counts in its JSON order, zeros included.
func counts(s share.Summary) string {
	if s == nil {
		return "no summary"
	}
	b, err := json.Marshal(s)
	if err != nil {
		return "no summary"
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var parts []string
	if _, err := dec.Token(); err != nil { // {
		return "no summary"
	}
	for dec.More() {
		key, err1 := dec.Token()
		var n json.Number
		err2 := dec.Decode(&n)
		if err1 != nil || err2 != nil {
			break
		}
		parts = append(parts, fmt.Sprintf("%v %s", key, n))
	}
	return strings.Join(parts, ", ")
}

func (p *printer) bindings(res *share.Result) error {
	tw := p.table()
	fmt.Fprintln(tw, "APPID\tENVS")
	for _, b := range res.Bindings {
		envs := strings.Join(b.Envs, ", ")
		if envs == "" {
			envs = "(none)"
		}
		fmt.Fprintf(tw, "%s\t%s\n", b.AppID, envs)
	}
	for _, e := range res.Errors {
		fmt.Fprintf(tw, "%s\terror %s: %s\n", e.AppID, e.Error.Code, e.Error.Message)
	}
	return tw.Flush()
}

// fleet prints the fleet view as text (answered prints the JSON).
func (p *printer) fleet(f *client.Fleet) error {
	tw := p.table()
	fmt.Fprintln(tw, "CUSTOMER\tENVS\tAUTHORIZERS\tSHARED\tAWAITING\tFAILED")
	for _, c := range f.Customers {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\n", c.Principal, strings.Join(c.Envs, ", "), c.Authorizers, c.Shared,
			c.AwaitingConfirmation, c.Failed)
	}
	tw.Flush()
	a := f.Authorizers
	fmt.Fprintf(p.w, "authorizers: known %d, authorized %d, permission_missing %d, unknown_customer %d\n",
		a.Known, a.Authorized, a.PermissionMissing, a.UnknownCustomer)
	if len(f.OldestPending) == 0 {
		return nil
	}
	fmt.Fprintln(p.w, "oldest unconfirmed links:")
	tw = p.table()
	fmt.Fprintln(tw, "ENV\tAPPID\tCUSTOMER\tLINK ISSUED")
	for _, pp := range f.OldestPending {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", pp.Env, pp.AppID, pp.Principal, pp.LinkIssuedAt.Format(time.RFC3339))
	}
	return tw.Flush()
}

// quota prints the quotas as text (answered prints the JSON).
func (p *printer) quota(q *client.Quota) error {
	tw := p.table()
	fmt.Fprintln(tw, "API\tDAILY LIMIT\tUSED\tREMAIN")
	for _, a := range q.Quotas {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", a.API, a.DailyLimit, a.Used, a.Remain)
	}
	return tw.Flush()
}

// refresh prints a refresh as text (answered prints the JSON).
func (p *printer) refresh(r *client.Refresh) error {
	tw := p.table()
	fmt.Fprintf(tw, "minted\t%v\n", r.Minted)
	fmt.Fprintf(tw, "expires at\t%s\n", r.ExpiresAt.Format(time.RFC3339))
	fmt.Fprintf(tw, "ticket age\t%s\n", time.Duration(r.TicketAgeS)*time.Second)
	return tw.Flush()
}

// statusLink prints a status link as text (answered prints the JSON).
func (p *printer) statusLink(l *client.StatusLink) error {
	fmt.Fprintln(p.w, l.StatusPage)
	fmt.Fprintf(p.w, "valid until %s: anyone with the link sees the fleet until then\n", l.ExpiresAt.Format(time.RFC3339))
	return nil
}

// headers prints a signature's headers, one "Name: value" line each (curl -H @file reads them).
func (p *printer) headers(h map[string]string) error {
	if p.json {
		return p.encode(h)
	}
	for _, name := range []string{signature.TimestampHeader, signature.SignatureHeader} {
		fmt.Fprintf(p.w, "%s: %s\n", name, h[name])
	}
	return nil
}
