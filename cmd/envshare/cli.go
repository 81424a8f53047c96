package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/envshare/envshare/internal/termqr"
	"github.com/envshare/envshare/pkg/client"
	"github.com/envshare/envshare/pkg/retry"
	"github.com/envshare/envshare/pkg/share"
)

// Exit codes.
const (
	exitOK       = 0 // all done
	exitFailed   = 1 // processed, some entries failed
	exitBadInput = 2 // flags, settings, a malformed appid, invalid_request
	exitUpstream = 3 // upstream or auth error, or no answer
)

// usageError is bad input of the person at the keyboard: exit 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

const usage = `usage: envshare COMMAND [flags] [args]

commands:
  share ENV APPID...        share ENV with the Mini Programs
  unshare ENV APPID...      withdraw ENV's shares with them
  bindings APPID...         the envs each Mini Program is bound to
  reconcile                 reconcile the deployment's ENVSHARE_MANIFEST (--manifest FILE: another)
                            [--dry-run] [--prune] [--shard INDEX/COUNT]
  fleet                     the fleet view (the deployment needs ENVSHARE_LEDGER)
  quota                     WeChat's daily quotas of the APIs envshare calls
  refresh [--force]         mint the component access token now (the deployment's one minter)
  status-link [--ttl D]     a link to the status page (default valid 24h, at most 168h)
  sign METHOD ROUTE         print the hmac headers of a curl: [--query 'appids=wx1,wx2'] [--body JSON | --body-file F]
                            [--at UNIX_SECONDS] (default now)

the deployment (flags win over the variables):
  --url URL                 ENVSHARE_URL: the base URL, stage included (the template's ApiUrl)
  --auth MODE               ENVSHARE_HTTP_AUTH: the deployment's mode, hmac, bearer or none
  --secret-file FILE        a file holding the secret; else ENVSHARE_HTTP_SECRET
  --function NAME           ENVSHARE_FUNCTION: invoke the function instead of HTTP, with
  --invoke aws|scf          ENVSHARE_INVOKE: Lambda Invoke (AWS credentials) or SCF Invoke (TENCENTCLOUD_*)
  --region R, --namespace NS, --qualifier Q, --endpoint URL (the Invoke API's, for tests)

output and behaviour:
  --json                    the answer as JSON (errors too, on stdout), for scripts
  --no-qr                   no QR codes for pending confirmations (drawn on a terminal only)
  --timeout D               give up after D (default 2m)
  --attempts N              attempts of transient failures, the first included (default 3)

exit codes: 0 all done, 1 some entries failed, 2 bad input, 3 upstream or auth error
`

// options are the flags of every command.
type options struct {
	url, auth, secretFile                            string
	function, invoke, region, namespace, qualifier   string
	endpoint                                         string
	json, noQR, dryRun, prune, force                 bool
	timeout, ttl                                     time.Duration
	attempts, sourceType                             int
	manifest, shard, query, body, bodyFile, signedAt string
}

func (o *options) flags(fs *flag.FlagSet) {
	for name, p := range map[string]*string{"url": &o.url, "auth": &o.auth, "secret-file": &o.secretFile,
		"function": &o.function, "invoke": &o.invoke, "region": &o.region, "namespace": &o.namespace,
		"qualifier": &o.qualifier, "endpoint": &o.endpoint, "manifest": &o.manifest, "shard": &o.shard,
		"query": &o.query, "body": &o.body, "body-file": &o.bodyFile, "at": &o.signedAt} {
		fs.StringVar(p, name, "", "")
	}
	for name, p := range map[string]*bool{"json": &o.json, "no-qr": &o.noQR, "dry-run": &o.dryRun,
		"prune": &o.prune, "force": &o.force} {
		fs.BoolVar(p, name, false, "")
	}
	fs.DurationVar(&o.timeout, "timeout", 2*time.Minute, "")
	fs.DurationVar(&o.ttl, "ttl", 0, "")
	fs.IntVar(&o.attempts, "attempts", retry.DefaultAttempts, "")
	fs.IntVar(&o.sourceType, "source-type", -1, "")
}

// parse reads flags anywhere among the arguments (envshare share ENV APPID --json).
func parse(args []string) (*options, []string, error) {
	o := &options{}
	fs := flag.NewFlagSet("envshare", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.flags(fs)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, nil, usagef("%v", err)
		}
		if fs.NArg() == 0 {
			return o, positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// run is the command; it returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return exitBadInput
		}
		return exitOK
	}
	o, pos, err := parse(args[1:])
	if err == nil {
		ctx, cancel := context.WithTimeout(ctx, o.timeout)
		defer cancel()
		out := &printer{w: stdout, json: o.json, terminal: termqr.IsTerminal(stdout), qr: !o.noQR}
		var code int
		if code, err = command(ctx, args[0], o, pos, getenv, out); err == nil {
			return code
		}
		return fail(err, o, getenv, stdout, stderr)
	}
	return fail(err, &options{}, getenv, stdout, stderr)
}

// command carries out one command and prints its answer.
func command(ctx context.Context, name string, o *options, pos []string, getenv func(string) string, out *printer) (int, error) {
	switch name {
	case "share", "unshare":
		if len(pos) < 2 {
			return 0, usagef("%s needs an env and at least one appid: envshare %s ENV APPID...", name, name)
		}
		req := share.Request{Action: name, Env: pos[0], AppIDs: pos[1:], SourceType: o.sourceTypeOf()}
		return doRequest(ctx, o, getenv, out, req)
	case "bindings":
		if len(pos) == 0 {
			return 0, usagef("bindings needs at least one appid: envshare bindings APPID...")
		}
		return doRequest(ctx, o, getenv, out, share.Request{Action: name, AppIDs: pos, SourceType: o.sourceTypeOf()})
	case "reconcile":
		req, err := o.reconcileRequest(pos)
		if err != nil {
			return 0, err
		}
		return doRequest(ctx, o, getenv, out, req)
	case "fleet", "quota", "refresh", "status-link":
		if len(pos) > 0 {
			return 0, usagef("%s takes no arguments, got %q", name, pos[0])
		}
		c, err := newClient(ctx, o, getenv)
		if err != nil {
			return 0, err
		}
		switch name {
		case "fleet":
			f, err := c.Fleet(ctx)
			return answered(out, f, err, out.fleet)
		case "status-link":
			l, err := c.StatusLink(ctx, o.ttl)
			return answered(out, l, err, out.statusLink)
		case "quota":
			q, err := c.Quota(ctx)
			return answered(out, q, err, out.quota)
		default:
			r, err := c.Refresh(ctx, o.force)
			return answered(out, r, err, out.refresh)
		}
	case "sign":
		return exitOK, sign(o, pos, getenv, out)
	}
	return 0, usagef("unknown command %q: envshare help lists the commands", name)
}

func (o *options) sourceTypeOf() *int {
	if o.sourceType < 0 {
		return nil
	}
	return &o.sourceType
}

// doRequest checks req by the contract's rules before anything else (a malformed appid is
// reported even without settings), then sends it.
func doRequest(ctx context.Context, o *options, getenv func(string) string, out *printer, req share.Request) (int, error) {
	checked, err := share.Check(req)
	if err != nil {
		var se *share.Error
		if errors.As(err, &se) {
			return 0, &client.Error{Code: se.Code, Message: se.Message, Details: se.Details}
		}
		return 0, err
	}
	c, err := newClient(ctx, o, getenv)
	if err != nil {
		return 0, err
	}
	res, err := c.Do(ctx, checked)
	if err != nil {
		return 0, err
	}
	if err := out.result(res); err != nil {
		return 0, err
	}
	if !res.OK {
		return exitFailed, nil
	}
	return exitOK, nil
}

// reconcileRequest builds a reconcile from the flags: the deployment's manifest, or a file's.
func (o *options) reconcileRequest(pos []string) (share.Request, error) {
	if len(pos) > 0 {
		return share.Request{}, usagef("reconcile takes no arguments (a manifest file: --manifest FILE), got %q", pos[0])
	}
	req := share.Request{Action: share.ActionReconcile, SourceType: o.sourceTypeOf()}
	if o.manifest != "" {
		b, err := os.ReadFile(o.manifest)
		if err != nil {
			return req, usagef("--manifest: %v", err)
		}
		m, err := share.Decode(b, share.ActionReconcile)
		if err != nil {
			var se *share.Error
			errors.As(err, &se)
			return req, &client.Error{Code: share.CodeInvalidRequest, Message: "the manifest " + o.manifest + " is invalid", Details: se.Details}
		}
		req.Envs, req.Prune, req.DryRun, req.Shard = m.Envs, m.Prune, m.DryRun, m.Shard
		if req.SourceType == nil {
			req.SourceType = m.SourceType
		}
	}
	// The flags say only what they set: the manifest's own switches stand otherwise.
	if o.dryRun {
		req.DryRun = &o.dryRun
	}
	if o.prune {
		req.Prune = &o.prune
	}
	if o.shard != "" {
		i, n, ok := strings.Cut(o.shard, "/")
		index, err1 := strconv.Atoi(i)
		count, err2 := strconv.Atoi(n)
		if !ok || err1 != nil || err2 != nil {
			return req, usagef("--shard %q: write INDEX/COUNT, such as 0/4", o.shard)
		}
		req.Shard = &share.Shard{Index: index, Count: count}
	}
	return req, nil
}
