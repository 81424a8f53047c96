package client

import (
	"time"

	"github.com/envshare/envshare/pkg/share"
)

// Refresh is the answer of the refresh action (contract section 6): never the token.
type Refresh struct {
	OK         bool      `json:"ok"`
	Action     string    `json:"action"`
	Minted     bool      `json:"minted"`
	ExpiresAt  time.Time `json:"expires_at"`
	TicketAgeS int64     `json:"ticket_age_s"` // age of the component_verify_ticket used, in seconds
}

// Fleet is the answer of the fleet view (GET /fleet, {"action":"fleet"}; contract section 8):
// the customers of ENVSHARE_MANIFEST, the rest from the deployment's ledger.
type Fleet struct {
	OK            bool             `json:"ok"`
	Action        string           `json:"action"`
	Customers     []FleetCustomer  `json:"customers"`
	Authorizers   FleetAuthorizers `json:"authorizers"`
	OldestPending []PendingPair    `json:"oldest_pending"` // at most 50, the oldest link first
	// Runs are the reconciles planned as shards, newest first (at most 10; absent when there
	// are none): what each shard counted, and the run's totals once its last shard finished.
	Runs []FleetRun `json:"runs,omitempty"`
}

// FleetRun is one reconcile planned as shards (contract section 9).
type FleetRun struct {
	Run        string         `json:"run"`
	StartedAt  time.Time      `json:"started_at"`
	Shards     int            `json:"shards"`
	ShardsDone int            `json:"shards_done"`
	FinishedAt time.Time      `json:"finished_at,omitzero"` // when its last shard finished
	Totals     map[string]int `json:"totals"`               // the summary counts of the shards done, summed
}

// FleetCustomer is one customer (legal entity) of the manifest and its pairs' states.
type FleetCustomer struct {
	Principal            string   `json:"principal"`
	Envs                 []string `json:"envs"`
	Authorizers          int      `json:"authorizers"` // its Mini Programs known to the ledger
	Shared               int      `json:"shared"`
	AwaitingConfirmation int      `json:"awaiting_confirmation"`
	Failed               int      `json:"failed"`
}

// FleetAuthorizers counts the Mini Programs the ledger knows.
type FleetAuthorizers struct {
	Known             int `json:"known"`
	Authorized        int `json:"authorized"`
	PermissionMissing int `json:"permission_missing"` // authorized without permission set 18
	UnknownCustomer   int `json:"unknown_customer"`   // whose principal no customer names
}

// PendingPair is an (env, appid) pair whose confirmation link is still unopened.
type PendingPair struct {
	Env          string    `json:"env"`
	AppID        string    `json:"appid"`
	Principal    string    `json:"principal"`
	LinkIssuedAt time.Time `json:"link_issued_at"`
}

// Quota is the answer of the quota view (GET /quota, {"action":"quota"}; contract section 9):
// WeChat's daily quotas of batchshareenv, batchunshareenv, batchgetenvid and
// api_component_token. It is pkg/share's type, the one the function encodes.
type Quota = share.QuotaReport

// APIQuota is WeChat's daily quota of one API (share.APIQuota).
type APIQuota = share.APIQuota

// StatusLink is the answer of the status_link action: the status page's URL and when it stops
// opening.
type StatusLink struct {
	OK         bool      `json:"ok"`
	Action     string    `json:"action"`
	StatusPage string    `json:"status_page"`
	ExpiresAt  time.Time `json:"expires_at"`
}
