// Command envshare is the operator's command line for a deployed envshare, built on pkg/client:
//
//	envshare share ENV APPID...          share ENV with the Mini Programs (QR codes for pending links)
//	envshare unshare ENV APPID...        withdraw the shares
//	envshare bindings APPID...           the envs each Mini Program is bound to
//	envshare reconcile [--dry-run]       reconcile the deployment's ENVSHARE_MANIFEST (or --manifest FILE)
//	envshare fleet                       the fleet view (needs ENVSHARE_LEDGER on the deployment)
//	envshare quota                       WeChat's daily quotas
//	envshare refresh [--force]           mint the component access token now (the one minter)
//	envshare status-link [--ttl D]       a link to the status page (valid 24h by default)
//	envshare sign METHOD ROUTE [--query Q] [--body B]   the hmac headers of a curl
//
// The deployment: ENVSHARE_URL (--url; its base URL, stage included) with ENVSHARE_HTTP_AUTH
// (--auth) and ENVSHARE_HTTP_SECRET (or --secret-file); or ENVSHARE_FUNCTION (--function) with
// --invoke aws|scf, which invokes the function with the cloud's own credentials. Answers print
// as aligned tables, or as JSON with --json. Exit codes: 0 all done, 1 some entries failed,
// 2 bad input (flags, settings, a malformed appid, invalid_request), 3 upstream or auth error.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
