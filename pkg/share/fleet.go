package share

import (
	"context"
	"slices"
	"time"

	"github.com/envshare/envshare/pkg/wechat"
)

// Fleet is a memory of the fleet: which authorizers (Mini Programs that authorized the
// platform) exist, of which legal entity (principal), with which permission sets, and what
// became of each (env, appid) pair. A reconcile with customers needs one (Options.Fleet); the
// function's ledger (ENVSHARE_LEDGER) implements it. Every method is safe for concurrent use.
type Fleet interface {
	// Authorizers calls fn with every authorizer it knows whose appid falls in shard (nil:
	// every one), streaming: the fleet is never held in memory at once. fn's error ends the
	// scan and is returned.
	Authorizers(ctx context.Context, shard *Shard, fn func(Authorizer) error) error
	// Recall reads what it knows of appids and of pairs, in batches: one Authorizer per appid
	// and one PairMemory per key, in their order (Known false, State "" when it knows
	// nothing).
	Recall(ctx context.Context, appids []string, pairs []PairKey) ([]Authorizer, []PairMemory, error)
	// Remember records what calls found out about pairs: shared (or already_shared: bound),
	// pending_confirmation (a new link), unshared, and failures of the pair itself
	// (PairFailure); it ignores the rest (a transient failure says nothing about the pair). It
	// writes only what changed.
	Remember(ctx context.Context, outcomes []Outcome) error
	// Backfill finds authorizers the fleet does not know yet (their authorization push was
	// missed) and learns their principal and permission sets, within its own limit per run.
	Backfill(ctx context.Context) (*BackfillSummary, error)
	// Now is the time on the clock of the fleet's records: Remember stamps it, and a
	// reconcile compares a link's LinkIssuedAt with it (Options.RelinkAfter).
	Now() time.Time
}

// Authorizer is what a Fleet knows of one authorizer.
type Authorizer struct {
	AppID          string
	Known          bool   // false: the fleet has no record of it
	Principal      string // WeChat's principal_name: its legal entity
	Authorized     bool   // false after it revoked its authorization
	PermissionSets []int  // the permission sets it granted the platform
}

// PermissionSetShare is the permission set a Mini Program must grant the platform before an
// env can be shared with it (开发管理与数据分析).
const PermissionSetShare = wechat.PermissionSetDevelopment

// CanShare reports whether envs may be shared with the authorizer: it is authorized and
// granted PermissionSetShare.
func (a Authorizer) CanShare() bool {
	return a.Authorized && slices.Contains(a.PermissionSets, PermissionSetShare)
}

// PairKey names an (env, appid) pair.
type PairKey struct {
	Env   string `json:"env"`
	AppID string `json:"appid"`
}

// PairMemory is what a Fleet remembers of one pair. State is "" for a pair it knows nothing
// of, else StatusPendingConfirmation, StatusShared, StatusUnshared or StatusFailed.
type PairMemory struct {
	PairKey
	State        Status
	Principal    string    // the authorizer's principal when the pair was last written
	ConfirmURL   string    // the last link issued
	LinkIssuedAt time.Time // when it was issued
	ConfirmedAt  time.Time // when the pair was first seen bound
	Error        *EntryError
}

// BackfillSummary is what a backfill did: authorizers listed by WeChat, new to the fleet,
// whose info was fetched, and new ones left for the next run (the per-run limit).
type BackfillSummary struct {
	Listed    int    `json:"listed"`
	New       int    `json:"new"`
	Fetched   int    `json:"fetched"`
	Remaining int    `json:"remaining"`
	Error     *Error `json:"error,omitempty"` // the backfill stopped: the reconcile ran on what was known
}

// CodePermissionMissing is entry-level only: the Fleet knows the authorizer has not granted
// PermissionSetShare, so the pair was not sent. Like CodeDifferentEntity it is permanent: with
// a Fleet, a pair that failed so is not sent again while nothing it depends on changed.
const CodePermissionMissing Code = "permission_missing"

// PermanentFailure reports whether an entry that failed with code will fail again while the
// authorizer's principal and the manifest stay the same: a reconcile does not send it again.
func PermanentFailure(code Code) bool {
	return code == CodeDifferentEntity || code == CodePermissionMissing
}

// PairFailure reports whether code is WeChat's answer about the pair itself (rejected, or a
// permanent failure), as opposed to a failure of the call (unavailable, deadline...).
func PairFailure(code Code) bool { return code == CodeRejected || PermanentFailure(code) }

// StatusAwaitingConfirmation: a reconcile with a Fleet found the pair not bound yet, but its
// link was issued less than Options.RelinkAfter ago: it is not shared again (no new link), and
// the outcome carries the stored link and LinkIssuedAt.
const StatusAwaitingConfirmation Status = "awaiting_confirmation"

// DefaultRelinkAfter is how long a reconcile waits for an administrator to open a link before
// it shares the pair again (a new link, a new notification).
const DefaultRelinkAfter = 72 * time.Hour

// Apply records in m what outcome o, observed at now, says of the pair, and reports whether m
// changed: how a Fleet remembers an outcome (Remember). principal is the authorizer's, kept
// with a failure so that a permanent one is retried once it changes.
//
//   - shared, already_shared: bound; ConfirmedAt is set the first time it is seen so.
//   - pending_confirmation: a new link, issued now.
//   - unshared: no longer shared (a later binding is a new confirmation).
//   - failed with a PairFailure code: the error and the principal.
//   - anything else (a transient failure, deferred, awaiting...): no change.
func (m *PairMemory) Apply(o Outcome, principal string, now time.Time) bool {
	switch {
	case o.Status == StatusShared || o.Status == StatusAlreadyShared:
		if m.State == StatusShared && !m.ConfirmedAt.IsZero() {
			return false
		}
		m.State, m.Error = StatusShared, nil
		if m.ConfirmedAt.IsZero() {
			m.ConfirmedAt = now
		}
	case o.Status == StatusPendingConfirmation:
		m.State, m.Error, m.ConfirmURL, m.LinkIssuedAt = StatusPendingConfirmation, nil, o.ConfirmURL, now
	case o.Status == StatusUnshared:
		if m.State == StatusUnshared {
			return false
		}
		m.State, m.Error, m.ConfirmURL, m.LinkIssuedAt, m.ConfirmedAt = StatusUnshared, nil, "", time.Time{}, time.Time{}
	case o.Status == StatusFailed && o.Error != nil && PairFailure(o.Error.Code):
		if m.State == StatusFailed && m.Error != nil && *m.Error == *o.Error && m.Principal == principal {
			return false
		}
		e := *o.Error
		m.State, m.Error, m.Principal = StatusFailed, &e, principal
	default:
		return false
	}
	if principal != "" {
		m.Principal = principal
	}
	return true
}
