package share

// Entry statuses.
const (
	StatusShared              = "shared"
	StatusPendingConfirmation = "pending_confirmation"
	StatusFailed              = "failed"
	StatusUnshared            = "unshared"
	StatusAlreadyShared       = "already_shared"
	StatusDeferred            = "deferred"
	StatusWouldShare          = "would_share"
	StatusWouldUnshare        = "would_unshare"
)

// Result is the answer of a processed request. encoding/json encodes it as it is: share,
// unshare and reconcile results always carry "results", bindings results "bindings" and
// "errors" ([] when empty: the builders of each action set them, and omitzero leaves out only
// the nil slices of the other actions).
type Result struct {
	OK         bool    `json:"ok"`
	Action     string  `json:"action"`
	SourceType int     `json:"source_type"`
	DryRun     bool    `json:"dry_run,omitempty"`
	Summary    Summary `json:"summary,omitempty"`
	// Results lists the entries attention-first, at most Options.MaxResults of them.
	Results []Outcome `json:"results,omitzero"`
	// ResultsOmitted counts the entries left out of Results (each written to the log).
	ResultsOmitted int            `json:"results_omitted,omitempty"`
	Bindings       []Binding      `json:"bindings,omitzero"`
	Errors         []BindingError `json:"errors,omitzero"`
	Notification   *Notification  `json:"notification,omitempty"`
}

// Outcome is the fate of one distinct (env, appid) pair.
type Outcome struct {
	Env        string `json:"env"`
	AppID      string `json:"appid"`
	Status     string `json:"status"`
	ConfirmURL string `json:"confirm_url,omitempty"`
	// ConfirmPage is the page that shows ConfirmURL as a QR code (Options.ConfirmPage).
	ConfirmPage string      `json:"confirm_page,omitempty"`
	Error       *EntryError `json:"error,omitempty"`
}

// EntryError is why one (env, appid) entry failed.
type EntryError struct {
	Code    string `json:"code"`
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

// ShareSummary counts a share's outcomes.
type ShareSummary struct {
	Requested           int `json:"requested"`
	Shared              int `json:"shared"`
	PendingConfirmation int `json:"pending_confirmation"`
	Failed              int `json:"failed"`
}

// UnshareSummary counts an unshare's outcomes.
type UnshareSummary struct {
	Requested int `json:"requested"`
	Unshared  int `json:"unshared"`
	Failed    int `json:"failed"`
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

// countStatuses counts outcomes by status.
func countStatuses(out []Outcome) map[string]int {
	n := make(map[string]int)
	for _, o := range out {
		n[o.Status]++
	}
	return n
}
