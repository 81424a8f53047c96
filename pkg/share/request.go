package share

import (
	"encoding/json"

	"github.com/envshare/envshare/pkg/wechat"
)

// Actions.
const (
	ActionShare     = "share"
	ActionUnshare   = "unshare"
	ActionBindings  = "bindings"
	ActionReconcile = "reconcile"
)

// Limits of one request (see the package comment).
const (
	MaxPairs         = 10_000  // distinct (env, appid) pairs per share or unshare request
	MaxAppIDs        = 10_000  // distinct appids per bindings request
	MaxManifestPairs = 200_000 // distinct (env, appid) pairs per reconcile manifest
	MaxShards        = 10_000  // largest shard.count
	MaxCustomers     = 100_000 // customers per manifest
	MaxCustomerEnvs  = 250_000 // envs of all customers together: 50,000 customers of 5 envs each
	MaxPrincipalLen  = 256     // bytes of a customer's principal
)

// Shard selects a stable slice of a manifest's appids.
type Shard struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// Request is the one flat body shared by HTTP routes, direct invocations, queue messages and
// timer messages; which fields are allowed depends on Action. Pointers tell "absent" from
// zero, so that a reconcile body can override the configured manifest only where it says so.
//
// Decode and Check return validated Requests; Do validates any other itself. A Request must not
// be changed after it was validated.
type Request struct {
	Action     string             `json:"action,omitempty"`
	Data       []wechat.EnvAppIDs `json:"data,omitempty"`
	Env        string             `json:"env,omitempty"`
	AppIDs     []string           `json:"appids,omitempty"`
	SourceType *int               `json:"source_type,omitempty"`
	Envs       []wechat.EnvAppIDs `json:"envs,omitempty"`
	Prune      *bool              `json:"prune,omitempty"`
	DryRun     *bool              `json:"dry_run,omitempty"`
	Shard      *Shard             `json:"shard,omitempty"`
	// Run names the planned run a shard message belongs to (FanOut): set by the Service in
	// the messages it hands out, never by hand.
	Run string `json:"run,omitempty"`
	// Customers are the platform's customers (reconcile): each one's envs are desired for every
	// authorizer the Fleet knows of that customer's principal.
	Customers []Customer `json:"customers,omitempty"`
	// Backfill (reconcile) first finds, through the Fleet, authorizers whose authorization
	// push was missed.
	Backfill *bool `json:"backfill,omitempty"`

	valid bool // set by Decode
}

// Customer is one customer of the platform: a legal entity (WeChat's principal_name) and the
// envs that are its own. WeChat shares an env only with Mini Programs of the env's entity.
type Customer struct {
	Principal string   `json:"principal"`
	Envs      []string `json:"envs"`
	// SourceType, when set, is the source_type of the calls for this customer's envs.
	SourceType *int `json:"source_type,omitempty"`
}

// Valid reports whether r came from Decode or Check.
func (r Request) Valid() bool { return r.valid }

// Check validates a Request built in Go by the very rules of Decode: it encodes r as JSON
// (absent fields are left out) and decodes it again.
func Check(r Request) (Request, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return Request{}, &Error{Code: CodeInvalidRequest, Message: "invalid request", Details: []string{"request: " + err.Error()}}
	}
	return Decode(body, "")
}

// pairsInput returns a share or unshare request's pairs as env lists, whichever form it used.
func (r *Request) pairsInput() []wechat.EnvAppIDs {
	if r.Data != nil {
		return r.Data
	}
	if r.Env == "" && r.AppIDs == nil {
		return nil
	}
	return []wechat.EnvAppIDs{{Env: r.Env, AppIDs: r.AppIDs}}
}

// pairsField names the field that holds a share or unshare request's pairs.
func (r *Request) pairsField() string {
	if r.Data != nil {
		return "data"
	}
	return "appids"
}
