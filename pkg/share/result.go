package share

import (
	"encoding/json"
	"fmt"
	"time"
)

// Status is what became of one (env, appid) entry.
type Status string

// Entry statuses.
const (
	StatusShared              Status = "shared"
	StatusPendingConfirmation Status = "pending_confirmation"
	StatusFailed              Status = "failed"
	StatusUnshared            Status = "unshared"
	StatusAlreadyShared       Status = "already_shared"
	StatusDeferred            Status = "deferred"
	StatusWouldShare          Status = "would_share"
	StatusWouldUnshare        Status = "would_unshare"
)

// Reason says why an entry was deferred: not attempted in this request, the next one picks it
// up. A deferral because the invocation's deadline came too close has none.
type Reason string

// Reasons of a deferral.
const (
	// ReasonQuotaExhausted: WeChat's daily quota of the API is used up (45009): no further call
	// of it was made in this request. It resets at the next 00:00 Asia/Shanghai.
	ReasonQuotaExhausted Reason = "quota_exhausted"
	// ReasonQuotaReserve: a reconcile made as many write calls as the API's remaining quota
	// allows while keeping Options.QuotaReserve for onboarding.
	ReasonQuotaReserve Reason = "quota_reserve"
)

// Result is the answer of a processed request. encoding/json encodes it as it is: share,
// unshare and reconcile results always carry "results", bindings results "bindings" and
// "errors" ([] when empty: the builders of each action set them, and omitzero leaves out only
// the nil slices of the other actions). It decodes back (UnmarshalJSON), so a client of a
// deployed envshare reads its answers into this type.
type Result struct {
	OK         bool   `json:"ok"`
	Action     string `json:"action"`
	SourceType int    `json:"source_type"`
	DryRun     bool   `json:"dry_run,omitempty"`
	// Run names the planned run of a shard's reconcile; with Shards, it answers a reconcile too
	// large for one invocation: planned as Shards shards of run Run, handed to Options.FanOut
	// (no Summary, no Results then).
	Run     string  `json:"run,omitempty"`
	Shards  int     `json:"shards,omitempty"`
	Summary Summary `json:"summary,omitempty"`
	// Results lists the entries attention-first, at most Options.MaxResults of them.
	Results []Outcome `json:"results,omitzero"`
	// ResultsOmitted counts the entries left out of Results (each written to the log).
	ResultsOmitted int            `json:"results_omitted,omitempty"`
	Bindings       []Binding      `json:"bindings,omitzero"`
	Errors         []BindingError `json:"errors,omitzero"`
	Notification   *Notification  `json:"notification,omitempty"`
	// Backfill is what a reconcile's backfill did; only when one was asked for.
	Backfill *BackfillSummary `json:"backfill,omitempty"`
}

// Outcome is the fate of one distinct (env, appid) pair.
type Outcome struct {
	Env        string `json:"env"`
	AppID      string `json:"appid"`
	Status     Status `json:"status"`
	Reason     Reason `json:"reason,omitempty"` // why a deferred entry was deferred
	ConfirmURL string `json:"confirm_url,omitempty"`
	// ConfirmPage is the page that shows ConfirmURL as a QR code (Options.ConfirmPage).
	ConfirmPage string `json:"confirm_page,omitempty"`
	// LinkIssuedAt is when the ConfirmURL of an awaiting_confirmation pair was issued.
	LinkIssuedAt time.Time   `json:"link_issued_at,omitzero"`
	Error        *EntryError `json:"error,omitempty"`
}

// EntryError is why one (env, appid) entry failed.
type EntryError struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
}

// Binding lists the envs an appid is bound to.
type Binding struct {
	AppID string   `json:"appid"`
	Envs  []string `json:"envs"`
}

// BindingError is an appid whose bindings could not be read.
type BindingError struct {
	AppID string     `json:"appid"`
	Error EntryError `json:"error"`
}

// Summary is the complete count of an action's outcomes, zeros included: a *ShareSummary,
// *UnshareSummary or *ReconcileSummary.
type Summary interface{ isSummary() }

// ShareSummary counts a share's outcomes. Deferred (WeChat's daily quota was used up) is left
// out when no entry was deferred.
type ShareSummary struct {
	Requested           int `json:"requested"`
	Shared              int `json:"shared"`
	PendingConfirmation int `json:"pending_confirmation"`
	Failed              int `json:"failed"`
	Deferred            int `json:"deferred,omitempty"`
}

// UnshareSummary counts an unshare's outcomes; Deferred as in ShareSummary.
type UnshareSummary struct {
	Requested int `json:"requested"`
	Unshared  int `json:"unshared"`
	Failed    int `json:"failed"`
	Deferred  int `json:"deferred,omitempty"`
}

// ReconcileSummary counts a reconcile's outcomes: Desired (the distinct manifest pairs of the
// shard) is split by AlreadyShared ... WouldShare; the pruned pairs, which are not desired, are
// counted by Unshared ... UnshareDeferred.
type ReconcileSummary struct {
	Desired             int `json:"desired"`
	AlreadyShared       int `json:"already_shared"`
	Shared              int `json:"shared"`
	PendingConfirmation int `json:"pending_confirmation"`
	Failed              int `json:"failed"`
	Deferred            int `json:"deferred"`
	WouldShare          int `json:"would_share"`
	Unshared            int `json:"unshared"`
	WouldUnshare        int `json:"would_unshare"`
	UnshareFailed       int `json:"unshare_failed"`
	UnshareDeferred     int `json:"unshare_deferred"`
	// AwaitingConfirmation counts the desired pairs whose link still waits for its
	// administrator (a reconcile with a Fleet; nil, and left out, without one).
	AwaitingConfirmation *int `json:"awaiting_confirmation,omitempty"`
}

func (*ShareSummary) isSummary()     {}
func (*UnshareSummary) isSummary()   {}
func (*ReconcileSummary) isSummary() {}

// Notification reports the delivery of confirmation links to the Notifier.
type Notification struct {
	Sent  bool   `json:"sent"`
	Links int    `json:"links"`
	Error string `json:"error,omitempty"`
}

// UnmarshalJSON decodes a Result, with the Summary type of its action.
func (r *Result) UnmarshalJSON(data []byte) error {
	type plain Result // the fields without this method
	var raw struct {
		*plain
		Summary json.RawMessage `json:"summary"`
	}
	raw.plain = (*plain)(r)
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	r.Summary = nil
	if len(raw.Summary) == 0 || string(raw.Summary) == "null" {
		return nil
	}
	switch r.Action {
	case ActionShare:
		r.Summary = new(ShareSummary)
	case ActionUnshare:
		r.Summary = new(UnshareSummary)
	case ActionReconcile:
		r.Summary = new(ReconcileSummary)
	default:
		return fmt.Errorf("share: a %q result has no summary", r.Action)
	}
	return json.Unmarshal(raw.Summary, r.Summary)
}

// countStatuses counts outcomes by status.
func countStatuses(out []Outcome) map[Status]int {
	n := make(map[Status]int)
	for _, o := range out {
		n[o.Status]++
	}
	return n
}
