package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"

	"github.com/envshare/envshare/pkg/client"
	"github.com/envshare/envshare/pkg/client/lambdainvoke"
	"github.com/envshare/envshare/pkg/client/scfinvoke"
	"github.com/envshare/envshare/pkg/retry"
	"github.com/envshare/envshare/pkg/share"
)

// The CLI's own variables (ENVSHARE_HTTP_AUTH and ENVSHARE_HTTP_SECRET are the function's).
const (
	envURL      = "ENVSHARE_URL"
	envFunction = "ENVSHARE_FUNCTION"
	envInvoke   = "ENVSHARE_INVOKE"
	envAuth     = "ENVSHARE_HTTP_AUTH"
	envSecret   = "ENVSHARE_HTTP_SECRET"
)

// newClient builds the client the settings ask for: HTTP, or an Invoke transport.
func newClient(ctx context.Context, o *options, getenv func(string) string) (*client.Client, error) {
	if o.attempts < 1 {
		return nil, usagef("--attempts %d: must be at least 1", o.attempts)
	}
	opts := client.Options{Retry: retry.Policy{Attempts: o.attempts}}
	function, invoke := cmp.Or(o.function, getenv(envFunction)), cmp.Or(o.invoke, getenv(envInvoke))
	if function != "" || invoke != "" {
		t, err := invokeTransport(ctx, o, function, invoke, getenv)
		if err != nil {
			return nil, err
		}
		return client.New(t, opts), nil
	}
	base := cmp.Or(o.url, getenv(envURL))
	if base == "" {
		return nil, usagef("no deployment: set %s (or --url) to its base URL, stage included, such as "+
			"https://abc123.execute-api.ap-east-1.amazonaws.com/prod; or %s (--function) with --invoke aws|scf", envURL, envFunction)
	}
	auth, err := authOf(o, getenv)
	if err != nil {
		return nil, err
	}
	t, err := client.NewHTTP(base, auth, nil)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	return client.New(t, opts), nil
}

// authOf reads the mode and the secret; a missing one is named.
func authOf(o *options, getenv func(string) string) (client.Auth, error) {
	mode := cmp.Or(o.auth, getenv(envAuth))
	if mode == "" {
		return client.Auth{}, usagef("%s is not set (or --auth): set it to the deployment's mode, hmac, bearer or none "+
			"(the templates deploy hmac); it cannot be guessed from here", envAuth)
	}
	secret, err := secretOf(o, getenv)
	if err != nil {
		return client.Auth{}, err
	}
	auth := client.Auth{Mode: client.AuthMode(mode), Secret: secret}
	if err := auth.Check(); err != nil {
		return client.Auth{}, usageError{err.Error()}
	}
	return auth, nil
}

// secretOf reads the secret from --secret-file (one trailing newline dropped) or the variable.
// Never a flag's value: a command line is visible to every user of the machine.
func secretOf(o *options, getenv func(string) string) (string, error) {
	if o.secretFile == "" {
		return getenv(envSecret), nil
	}
	b, err := os.ReadFile(o.secretFile)
	if err != nil {
		return "", usagef("--secret-file: %v", err)
	}
	return strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r"), nil
}

// invokeTransport is Lambda's or SCF's Invoke API with the cloud's own credentials.
func invokeTransport(ctx context.Context, o *options, function, invoke string, getenv func(string) string) (client.Transport, error) {
	if function == "" {
		return nil, usagef("--invoke %s needs the function's name: set %s or --function", invoke, envFunction)
	}
	switch invoke {
	case "aws":
		var opts []func(*config.LoadOptions) error
		if o.region != "" {
			opts = append(opts, config.WithRegion(o.region))
		}
		cfg, err := config.LoadDefaultConfig(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("the AWS configuration: %w", err)
		}
		if cfg.Region == "" {
			return nil, usagef("--invoke aws needs a region: set AWS_REGION (or a profile's region) or --region")
		}
		api := lambda.NewFromConfig(cfg, func(l *lambda.Options) {
			if o.endpoint != "" {
				l.BaseEndpoint = aws.String(o.endpoint)
			}
		})
		t := lambdainvoke.New(api, function)
		if o.qualifier != "" {
			t = t.WithQualifier(o.qualifier)
		}
		return t, nil
	case "scf":
		region := cmp.Or(o.region, getenv("TENCENTCLOUD_REGION"))
		if region == "" {
			return nil, usagef("--invoke scf needs a region: set TENCENTCLOUD_REGION or --region (such as ap-guangzhou)")
		}
		cred, err := tencentCredential(getenv)
		if err != nil {
			return nil, err
		}
		cpf := profile.NewClientProfile()
		cpf.HttpProfile.ReqTimeout = 0 // the context bounds the call
		if o.endpoint != "" {
			u, err := url.Parse(o.endpoint)
			if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
				return nil, usagef("--endpoint %q is not an http(s) URL", o.endpoint)
			}
			cpf.HttpProfile.Scheme, cpf.HttpProfile.Endpoint = strings.ToUpper(u.Scheme), u.Host
		}
		t := scfinvoke.New(common.NewCommonClient(cred, region, cpf), function)
		if o.namespace != "" {
			t = t.WithNamespace(o.namespace)
		}
		if o.qualifier != "" {
			t = t.WithQualifier(o.qualifier)
		}
		return t, nil
	case "":
		return nil, usagef("%s is set: say how to invoke it, --invoke aws or --invoke scf (or %s)", envFunction, envInvoke)
	default:
		return nil, usagef("--invoke %q: use aws (Lambda) or scf (Tencent SCF)", invoke)
	}
}

// tencentCredential reads TENCENTCLOUD_SECRET_ID / _KEY / _SESSION_TOKEN (the SDK's and tccli's
// names; SCF's own TENCENTCLOUD_SECRETID spelling too), else the SDK's chain (profile file,
// CVM role).
func tencentCredential(getenv func(string) string) (common.CredentialIface, error) {
	id := cmp.Or(getenv("TENCENTCLOUD_SECRET_ID"), getenv("TENCENTCLOUD_SECRETID"))
	key := cmp.Or(getenv("TENCENTCLOUD_SECRET_KEY"), getenv("TENCENTCLOUD_SECRETKEY"))
	if id != "" && key != "" {
		return common.NewTokenCredential(id, key, cmp.Or(getenv("TENCENTCLOUD_SESSION_TOKEN"), getenv("TENCENTCLOUD_SESSIONTOKEN"))), nil
	}
	cred, err := common.DefaultProviderChain().GetCredential()
	if err != nil {
		return nil, usagef("--invoke scf needs Tencent Cloud credentials: set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY " +
			"(or a ~/.tencentcloud/credentials profile)")
	}
	return cred, nil
}

// signRoutes are the routes a signature may be made for (contract section 3).
var signRoutes = []string{"/share", "/unshare", "/bindings", "/reconcile", "/refresh", "/fleet", "/quota", "/status_link"}

// sign prints the hmac headers of a request: METHOD ROUTE, the route alone or with what stands
// before it (a stage, a whole URL), its query in the route or in --query.
func sign(o *options, pos []string, getenv func(string) string, out *printer) error {
	if len(pos) != 2 {
		return usagef("sign needs a method and a route: envshare sign POST /share --body '{...}'")
	}
	if mode := cmp.Or(o.auth, getenv(envAuth)); mode != "" && mode != string(client.AuthHMAC) {
		return usagef("sign makes hmac headers, but %s is %s: send %q instead", envAuth, mode, "Authorization: Bearer $"+envSecret)
	}
	secret, err := secretOf(o, getenv)
	if err != nil {
		return err
	}
	if err := (client.Auth{Mode: client.AuthHMAC, Secret: secret}).Check(); err != nil {
		return usageError{strings.Replace(err.Error(), "ENVSHARE_HTTP_AUTH is hmac but ", "", 1)}
	}
	method := strings.ToUpper(pos[0])
	if method != "GET" && method != "POST" {
		return usagef("method %q: the routes take GET or POST", pos[0])
	}
	u, err := url.Parse(pos[1])
	if err != nil {
		return usagef("route %q: %v", pos[1], err)
	}
	route := ""
	for _, r := range signRoutes {
		if p := strings.TrimRight(u.Path, "/"); p == r || p == r[1:] || strings.HasSuffix(p, r) {
			route = r
		}
	}
	if route == "" {
		return usagef("route %q: not one of %s", pos[1], strings.Join(signRoutes, ", "))
	}
	query := u.Query()
	if o.query != "" {
		extra, err := url.ParseQuery(strings.TrimPrefix(o.query, "?"))
		if err != nil {
			return usagef("--query: %v", err)
		}
		for k, v := range extra {
			query[k] = append(query[k], v...)
		}
	}
	body := []byte(o.body)
	if o.bodyFile != "" {
		if body, err = os.ReadFile(o.bodyFile); err != nil {
			return usagef("--body-file: %v", err)
		}
	}
	if method == "GET" && len(body) > 0 {
		return usagef("a GET has no body: its query is signed (--query)")
	}
	at := time.Now()
	if o.signedAt != "" {
		sec, err := strconv.ParseInt(o.signedAt, 10, 64)
		if err != nil {
			return usagef("--at %q: unix seconds", o.signedAt)
		}
		at = time.Unix(sec, 0)
	}
	return out.headers(client.SignHeaders(secret, at, method, route, query, body))
}

// fail prints err for a person (stderr; with --json also the error object on stdout) and
// returns its exit code.
func fail(err error, o *options, getenv func(string) string, stdout, stderr io.Writer) int {
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(stderr, "envshare:", ue.msg)
		return exitBadInput
	}
	code := exitUpstream
	var e *client.Error
	if errors.As(err, &e) && (e.Code == share.CodeInvalidRequest || e.Code == client.CodePayloadTooLarge) {
		code = exitBadInput
	}
	if o.json {
		writeErrorJSON(stdout, err)
	}
	fmt.Fprintln(stderr, err.Error())
	if hint := hintOf(err, o, getenv); hint != "" {
		fmt.Fprintln(stderr, hint)
	}
	return code
}

// hintOf says what a person should check after an error they can fix.
func hintOf(err error, o *options, getenv func(string) string) string {
	var e *client.Error
	if !errors.As(err, &e) {
		if errors.Is(err, context.DeadlineExceeded) {
			return "no answer in time: a longer --timeout, or check that the deployment is reachable"
		}
		return "no answer: check the deployment's URL (" + envURL + ") or function, and the network"
	}
	switch e.Code {
	case client.CodeUnauthorized:
		mode := cmp.Or(o.auth, getenv(envAuth))
		hint := "The deployment refused the credentials. Which mode it expects cannot be told from here: check that " +
			envAuth + " (here " + mode + ") is the deployment's, and that " + envSecret + " is the same on both sides"
		if mode == string(client.AuthHMAC) {
			hint += "; with hmac also this machine's clock, which must be within 5 minutes of the deployment's (here " +
				time.Now().UTC().Format(time.RFC3339) + ")"
		}
		return hint + "."
	case client.CodeAuthNotConfigured:
		return "The deployment's HTTP routes are off: set ENVSHARE_HTTP_AUTH on the function (hmac or bearer), or invoke it with --invoke aws|scf."
	case client.CodeNotFound:
		return "No such route there: check " + envURL + " (the deployment's base URL, stage included, without a route); " +
			"a deployment older than the command may lack /fleet and /quota."
	case client.CodeQuotaExhausted:
		return "WeChat's daily quota of this API is used up; nothing was lost: run it again after the retry time."
	}
	return ""
}

// writeErrorJSON writes the error object a script reads: the contract's, plus status.
func writeErrorJSON(w io.Writer, err error) {
	obj := map[string]any{"code": "", "message": err.Error()}
	var e *client.Error
	if errors.As(err, &e) {
		obj = map[string]any{"code": e.Code, "message": e.Message}
		if len(e.Details) > 0 {
			obj["details"] = e.Details
		}
		if e.Status != 0 {
			obj["status"] = e.Status
		}
		if e.WechatErrcode != nil {
			obj["wechat_errcode"], obj["wechat_errmsg"] = *e.WechatErrcode, e.WechatErrmsg
		}
		if !e.RetryAfter.IsZero() {
			obj["retry_after"] = e.RetryAfter.Format(time.RFC3339)
		}
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(map[string]any{"ok": false, "error": obj})
}
