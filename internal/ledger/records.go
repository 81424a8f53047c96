package ledger

import (
	"maps"
	"slices"
	"time"
)

// SharePermissionSet is the permission set (funcscope category) a Mini Program must grant the
// platform before an env can be shared with it.
const SharePermissionSet = 18

// Authorizer is what the ledger knows of one authorizer (a Mini Program or official account
// that authorized the platform).
type Authorizer struct {
	AppID          string    `json:"appid"`
	Principal      string    `json:"principal,omitempty"` // WeChat's principal_name: the legal entity
	Authorized     bool      `json:"authorized"`
	PermissionSets []int     `json:"permission_sets,omitempty"`
	MiniProgram    bool      `json:"mini_program,omitempty"`
	AuthorizedAt   time.Time `json:"authorized_at,omitzero"`
	UnauthorizedAt time.Time `json:"unauthorized_at,omitzero"`
	InfoFetchedAt  time.Time `json:"info_fetched_at,omitzero"`
	// The newest authorization event handled for the appid (the contract's section 5,
	// "Order"): its InfoType and its CreateTime.
	LastEvent     string    `json:"last_event,omitempty"`
	LastEventTime time.Time `json:"last_event_time,omitzero"`
	// Handling is the authorization event an instance took up last for the appid, and when:
	// pushes of the same event are collapsed for a while, and older ones are refused.
	Handling Handling `json:"handling,omitzero"`

	// Version is the record's version when it was read: 0 when the ledger does not know it.
	Version int64 `json:"-"`
}

// Handling is an authorization event taken up for handling: its InfoType and CreateTime, and
// when an instance took it up (on its own clock).
type Handling struct {
	Event      string    `json:"event"`
	CreateTime time.Time `json:"create_time"`
	Since      time.Time `json:"since"`
}

// Known reports whether the ledger knows the authorizer: its record exists and holds more than
// an event taken up for handling (a record written by the claim alone, whose event has not been
// recorded yet, tells nothing of the authorizer).
func (a *Authorizer) Known() bool {
	claimOnly := !a.Handling.Since.IsZero() && a.LastEvent == "" && a.Principal == "" && !a.Authorized &&
		a.InfoFetchedAt.IsZero() && a.AuthorizedAt.IsZero() && a.UnauthorizedAt.IsZero()
	return a.Version > 0 && !claimOnly
}

// HasPermission reports whether the authorizer granted permission set id.
func (a *Authorizer) HasPermission(id int) bool { return slices.Contains(a.PermissionSets, id) }

func (a *Authorizer) setVersion(v int64) { a.Version = v }
func (a *Authorizer) version() int64     { return a.Version }

// PairState is the state of an (env, appid) pair.
type PairState string

// The states of a pair (the contract's section 8).
const (
	StatePending  PairState = "pending_confirmation"
	StateShared   PairState = "shared"
	StateUnshared PairState = "unshared"
	StateFailed   PairState = "failed"
)

// PairKey names a pair.
type PairKey struct {
	Env   string `json:"env"`
	AppID string `json:"appid"`
}

// Pair is what the ledger knows of one env shared (or to be shared) with one appid.
type Pair struct {
	Env   string    `json:"env"`
	AppID string    `json:"appid"`
	State PairState `json:"state,omitempty"`
	// Principal is the authorizer's principal when the pair was last written, so that a
	// permanent failure (different_entity) is not retried while it and the manifest are the same.
	Principal    string    `json:"principal,omitempty"`
	ConfirmURL   string    `json:"confirm_url,omitempty"`
	LinkIssuedAt time.Time `json:"link_issued_at,omitzero"`
	ConfirmedAt  time.Time `json:"confirmed_at,omitzero"` // first seen bound
	ErrorCode    string    `json:"error_code,omitempty"`
	ErrorMessage string    `json:"error_message,omitempty"`
	ChangedAt    time.Time `json:"changed_at,omitzero"` // set by the ledger at every write

	// Version is the record's version when it was read: 0 when the ledger does not know it.
	Version int64 `json:"-"`
}

// Key gives the pair's key.
func (p *Pair) Key() PairKey { return PairKey{Env: p.Env, AppID: p.AppID} }

func (p *Pair) setVersion(v int64) { p.Version = v }
func (p *Pair) version() int64     { return p.Version }

// Counts are a summary's counts by name (shared, failed, awaiting_confirmation, ...).
type Counts map[string]int

// Run is the summary of one sharded reconcile (the contract's section 9): which shards have
// finished and what each counted. A shard that runs again (a redelivered message) replaces
// its own counts, so nothing is counted twice.
type Run struct {
	ID        string    `json:"id"`
	StartedAt time.Time `json:"started_at,omitzero"`
	// Manifest identifies the manifest the run was planned from (a digest), so that a shard
	// of a run that no longer matches it can be refused.
	Manifest   string         `json:"manifest,omitempty"`
	Shards     int            `json:"shards"`
	Done       map[int]Counts `json:"done,omitempty"` // by shard index
	FinishedAt time.Time      `json:"finished_at,omitzero"`

	// Version is the record's version when it was read: 0 when the ledger does not know it.
	Version int64 `json:"-"`
}

// Finish records shard index's counts, and the run's end when it was the last shard.
func (r *Run) Finish(index int, counts Counts, now time.Time) {
	if r.Done == nil {
		r.Done = map[int]Counts{}
	}
	r.Done[index] = maps.Clone(counts)
	if r.FinishedAt.IsZero() && r.Shards > 0 && len(r.Done) >= r.Shards {
		r.FinishedAt = now
	}
}

// Totals sums the counts of the finished shards.
func (r *Run) Totals() Counts {
	total := Counts{}
	for _, c := range r.Done {
		for name, n := range c {
			total[name] += n
		}
	}
	return total
}

func (r *Run) setVersion(v int64) { r.Version = v }
func (r *Run) version() int64     { return r.Version }
