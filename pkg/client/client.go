package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/envshare/envshare/pkg/retry"
	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/wechat"
)

// Actions besides pkg/share's four (share.ActionShare, ActionUnshare, ActionBindings,
// ActionReconcile).
const (
	ActionRefresh = "refresh"
	ActionFleet   = "fleet"
	ActionQuota   = "quota"
	// ActionStatusLink makes a link to the deployment's status page (GET /status/<token>).
	ActionStatusLink = "status_link"
)

// Call is one action as a Transport carries it.
type Call struct {
	Action string // share, unshare, bindings, reconcile, refresh, fleet, quota or status_link
	// Body is the action's JSON object, its "action" field included: an Invoke transport sends
	// it as the event, the HTTP transport as the route's body (nothing for GET /fleet and
	// GET /quota).
	Body []byte
}

// Answer is what the deployment answered to a Call.
type Answer struct {
	Status int    // the HTTP status; Invoke transports: 0
	Body   []byte // the answer's JSON: a result object or the contract's error object
	// FunctionError is the message of a failed invocation (Invoke transports; "" otherwise): the
	// function returned an error, such as "upstream_unavailable: ...". Body is then unused.
	FunctionError string
	// RetryAfter is a 429's Retry-After header, as sent (HTTP).
	RetryAfter string
}

// Transport carries one Call to a deployment. An error is a call that got no answer (a
// network failure, a refused Invoke API call); the Client does not retry those.
type Transport interface {
	RoundTrip(ctx context.Context, call Call) (Answer, error)
}

// DefaultMaxWait is how long the Client waits, at most, before retrying an answer that asks to
// be retried later (quota_exhausted's retry_after, a 429's Retry-After).
const DefaultMaxWait = 30 * time.Second

// Options tune a Client; the zero value is ready to use.
type Options struct {
	// Retry is the policy of retries of transient failures (see Error.Transient): by default
	// retry.DefaultAttempts attempts; without Base and Max, the pauses of DefaultRetryBase and
	// DefaultRetryMax.
	Retry retry.Policy
	// MaxWait is the longest wait for an answer's retry_after (or Retry-After) before the next
	// attempt; one asking for longer is returned at once. 0 means DefaultMaxWait; negative,
	// never wait. quota_exhausted asks to wait until the next 00:00 Asia/Shanghai: hours.
	MaxWait time.Duration
	// Now tells the time (retry_after); nil means time.Now.
	Now func() time.Time
}

// The pauses of a Client whose Options.Retry gives none: up to 500 ms before the first retry,
// up to 1 s before the second (full jitter), never more than 5 s.
const (
	DefaultRetryBase = 500 * time.Millisecond
	DefaultRetryMax  = 5 * time.Second
)

// Client calls a deployed envshare through a Transport. It is safe for concurrent use.
type Client struct {
	t       Transport
	policy  retry.Policy
	maxWait time.Duration
	now     func() time.Time
}

// New returns a Client that calls the deployment through t.
func New(t Transport, opts Options) *Client {
	c := &Client{t: t, policy: opts.Retry, maxWait: opts.MaxWait, now: opts.Now}
	if c.policy.Base == 0 && c.policy.Max == 0 {
		c.policy.Base, c.policy.Max = DefaultRetryBase, DefaultRetryMax
	}
	if c.maxWait == 0 {
		c.maxWait = DefaultMaxWait
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// Share shares env with appids.
func (c *Client) Share(ctx context.Context, env string, appids []string) (*share.Result, error) {
	return c.pairs(ctx, share.ActionShare, env, appids)
}

// Unshare withdraws env's shares with appids.
func (c *Client) Unshare(ctx context.Context, env string, appids []string) (*share.Result, error) {
	return c.pairs(ctx, share.ActionUnshare, env, appids)
}

// Bindings reads the envs each appid is bound to.
func (c *Client) Bindings(ctx context.Context, appids []string) (*share.Result, error) {
	req := share.Request{Action: share.ActionBindings, AppIDs: appids}
	if len(appids) == 0 || len(appids) > share.MaxAppIDs || !allAppIDs(appids) {
		return c.Do(ctx, req) // Check names every problem
	}
	return c.send(ctx, req)
}

// pairs shares or unshares env with appids. The common case, a valid env and appids, is
// checked in place (share.ValidEnv, share.ValidAppID: the contract's rules without share.Check's
// encoding and decoding); anything else goes through Do, whose Check names every problem.
func (c *Client) pairs(ctx context.Context, action, env string, appids []string) (*share.Result, error) {
	req := share.Request{Action: action, Env: env, AppIDs: appids}
	if !share.ValidEnv(env) || len(appids) == 0 || len(appids) > share.MaxPairs || !allAppIDs(appids) {
		return c.Do(ctx, req)
	}
	return c.send(ctx, req)
}

func allAppIDs(appids []string) bool {
	for _, id := range appids {
		if !share.ValidAppID(id) {
			return false
		}
	}
	return true
}

// Reconcile reconciles envs (the manifest's pairs), or with envs nil the deployment's
// ENVSHARE_MANIFEST, opts' switches replacing the manifest's. With opts.DryRun it only plans.
func (c *Client) Reconcile(ctx context.Context, envs []wechat.EnvAppIDs, opts share.ReconcileOptions) (*share.Result, error) {
	return c.Do(ctx, share.Request{Action: share.ActionReconcile, Envs: envs, Prune: &opts.Prune,
		DryRun: &opts.DryRun, Shard: opts.Shard})
}

// Do carries out a share, unshare, bindings or reconcile request. A Request that did not come
// from share.Decode or share.Check is checked first by the contract's rules (the deployment's
// own, pkg/share): an invalid one is an *Error with code invalid_request, and nothing is sent.
// A processed request answers a *share.Result, whose OK is false when some entry failed.
func (c *Client) Do(ctx context.Context, req share.Request) (*share.Result, error) {
	if !req.Valid() {
		checked, err := share.Check(req)
		if err != nil {
			var se *share.Error
			if errors.As(err, &se) {
				return nil, &Error{Code: se.Code, Message: se.Message, Details: se.Details}
			}
			return nil, err
		}
		req = checked
	}
	return c.send(ctx, req)
}

// send sends a request known to be valid.
func (c *Client) send(ctx context.Context, req share.Request) (*share.Result, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("envshare: encode the request: %w", err)
	}
	res := new(share.Result)
	if err := c.call(ctx, Call{Action: req.Action, Body: body}, res); err != nil {
		return nil, err
	}
	return res, nil
}

// Refresh asks the deployment's one minter to mint a token now when the stored one is missing
// or expires soon, or with force whatever it holds (contract section 6).
func (c *Client) Refresh(ctx context.Context, force bool) (*Refresh, error) {
	body := []byte(`{"action":"refresh"}`)
	if force {
		body = []byte(`{"action":"refresh","force":true}`)
	}
	res := new(Refresh)
	if err := c.call(ctx, Call{Action: ActionRefresh, Body: body}, res); err != nil {
		return nil, err
	}
	return res, nil
}

// Fleet reads the deployment's view of the fleet (contract section 8; needs ENVSHARE_LEDGER).
func (c *Client) Fleet(ctx context.Context) (*Fleet, error) {
	res := new(Fleet)
	if err := c.call(ctx, Call{Action: ActionFleet, Body: []byte(`{"action":"fleet"}`)}, res); err != nil {
		return nil, err
	}
	return res, nil
}

// Quota reads WeChat's daily quotas of the APIs envshare calls (contract section 9).
func (c *Client) Quota(ctx context.Context) (*Quota, error) {
	res := new(Quota)
	if err := c.call(ctx, Call{Action: ActionQuota, Body: []byte(`{"action":"quota"}`)}, res); err != nil {
		return nil, err
	}
	return res, nil
}

// StatusLink asks the deployment for a link to its status page, valid for ttl (0: the
// deployment's default, a day; at most a week). The link shows the whole fleet to whoever holds
// it until it expires: hand it to people, not to logs.
func (c *Client) StatusLink(ctx context.Context, ttl time.Duration) (*StatusLink, error) {
	body := []byte(`{"action":"status_link"}`)
	if ttl != 0 {
		b, err := json.Marshal(map[string]string{"action": ActionStatusLink, "ttl": ttl.String()})
		if err != nil {
			return nil, err
		}
		body = b
	}
	res := new(StatusLink)
	if err := c.call(ctx, Call{Action: ActionStatusLink, Body: body}, res); err != nil {
		return nil, err
	}
	return res, nil
}

// call makes call, retrying transient failures, and decodes the answer into out.
func (c *Client) call(ctx context.Context, call Call, out any) error {
	var after time.Time // the last answer's retry_after
	var last error
	return c.policy.Do(ctx, c.retryable, func(ctx context.Context) error {
		if wait := after.Sub(c.now()); wait > 0 {
			if err := c.policy.Pause(ctx, wait); err != nil {
				return &retry.Stopped{Cause: err, Last: last}
			}
		}
		ans, err := c.t.RoundTrip(ctx, call)
		if err != nil {
			return err
		}
		if err := c.decode(ans, out); err != nil {
			var e *Error
			if errors.As(err, &e) {
				after = e.RetryAfter
			}
			last = err
			return err
		}
		return nil
	})
}

// retryable: a transient *Error whose retry_after, if any, is within MaxWait.
func (c *Client) retryable(err error) bool {
	var stopped *retry.Stopped
	if errors.As(err, &stopped) { // a wait for retry_after that the deadline cut short
		return false
	}
	var e *Error
	if !errors.As(err, &e) || !e.Transient() {
		return false
	}
	if e.RetryAfter.IsZero() {
		return e.Code != CodeQuotaExhausted // a daily quota without its time: not worth a retry now
	}
	return c.maxWait > 0 && e.RetryAfter.Sub(c.now()) <= c.maxWait
}

// decode reads an answer into out, or returns its *Error.
func (c *Client) decode(ans Answer, out any) error {
	if ans.FunctionError != "" {
		return functionError(ans.FunctionError)
	}
	if ans.Status != 0 && ans.Status != http.StatusOK {
		if e := decodeError(ans.Body, ans.Status); e != nil {
			return e
		}
		return &Error{Status: ans.Status, RetryAfter: retryAfterHeader(ans.RetryAfter, c.now()),
			Message: "the answer is not envshare's error object (a gateway's answer?)"}
	}
	if ans.Status == 0 { // an invocation's value may be the error object (invalid input)
		if e := decodeError(ans.Body, 0); e != nil {
			return e
		}
	}
	if err := json.Unmarshal(ans.Body, out); err != nil {
		return &Error{Status: ans.Status, Message: "the answer is not the JSON of a result: " + err.Error()}
	}
	return nil
}
