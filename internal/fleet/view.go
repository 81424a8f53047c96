package fleet

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/envshare/envshare/internal/ledger"
	"github.com/envshare/envshare/pkg/share"
)

// OldestPending is how many pending pairs the fleet view lists, oldest link first.
const OldestPending = 50

// View is the fleet view (the contract's section 8): the customers of the manifest and what
// the ledger knows of them, without a WeChat call.
type View struct {
	OK            bool             `json:"ok"`
	Action        string           `json:"action"`
	Customers     []CustomerView   `json:"customers"`
	Authorizers   AuthorizerCounts `json:"authorizers"`
	OldestPending []PendingPair    `json:"oldest_pending"`
	// Runs are the reconciles planned as shards, newest first (at most RecentRuns; left out
	// when there are none).
	Runs []RunView `json:"runs,omitempty"`
}

// RecentRuns is how many runs the fleet view lists.
const RecentRuns = 10

// RunView is one reconcile planned as shards: what its finished shards counted, summed, and
// when its last shard finished.
type RunView struct {
	Run        string        `json:"run"`
	StartedAt  time.Time     `json:"started_at"`
	Shards     int           `json:"shards"`
	ShardsDone int           `json:"shards_done"`
	FinishedAt time.Time     `json:"finished_at,omitzero"`
	Totals     ledger.Counts `json:"totals"`
}

// CustomerView is one customer: its authorized authorizers, and its envs' pairs by state.
type CustomerView struct {
	Principal            string   `json:"principal"`
	Envs                 []string `json:"envs"`
	Authorizers          int      `json:"authorizers"`
	Shared               int      `json:"shared"`
	AwaitingConfirmation int      `json:"awaiting_confirmation"`
	Failed               int      `json:"failed"`
}

// AuthorizerCounts counts the authorizers the ledger knows: in all, still authorized, and of
// those, without permission set 18, and with it but of no customer's principal.
type AuthorizerCounts struct {
	Known             int `json:"known"`
	Authorized        int `json:"authorized"`
	PermissionMissing int `json:"permission_missing"`
	UnknownCustomer   int `json:"unknown_customer"`
}

// PendingPair is a pair whose link waits for its administrator.
type PendingPair struct {
	Env          string    `json:"env"`
	AppID        string    `json:"appid"`
	Principal    string    `json:"principal"`
	LinkIssuedAt time.Time `json:"link_issued_at"`
	ConfirmURL   string    `json:"-"` // the status page links to its confirmation page
}

// View streams the ledger's authorizers and pairs once each, holding a count per customer and
// the OldestPending oldest pending pairs, whatever the size of the fleet.
func (f *Fleet) View(ctx context.Context, customers []share.Customer) (*View, error) {
	v := &View{OK: true, Action: "fleet", Customers: make([]CustomerView, len(customers)), OldestPending: []PendingPair{}}
	byPrincipal := make(map[string]int, len(customers))
	byEnv := make(map[string]int)
	for i, c := range customers {
		v.Customers[i] = CustomerView{Principal: c.Principal, Envs: c.Envs}
		byPrincipal[c.Principal] = i
		for _, env := range c.Envs {
			byEnv[env] = i
		}
	}
	err := f.Ledger.ScanAuthorizers(ctx, ledger.All, func(a ledger.Authorizer) error {
		if !a.Known() {
			return nil // an event taken up, not recorded yet
		}
		v.Authorizers.Known++
		if !a.Authorized {
			return nil
		}
		v.Authorizers.Authorized++
		i, ok := byPrincipal[a.Principal]
		switch {
		case !a.HasPermission(share.PermissionSetShare):
			v.Authorizers.PermissionMissing++
		case !ok:
			v.Authorizers.UnknownCustomer++
		}
		if ok {
			v.Customers[i].Authorizers++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = f.Ledger.ScanPairs(ctx, ledger.All, func(p ledger.Pair) error {
		if i, ok := byEnv[p.Env]; ok {
			switch p.State {
			case ledger.StateShared:
				v.Customers[i].Shared++
			case ledger.StatePending:
				v.Customers[i].AwaitingConfirmation++
			case ledger.StateFailed:
				v.Customers[i].Failed++
			}
		}
		if p.State == ledger.StatePending {
			v.OldestPending = keepOldest(v.OldestPending, PendingPair{Env: p.Env, AppID: p.AppID, Principal: p.Principal,
				LinkIssuedAt: p.LinkIssuedAt, ConfirmURL: p.ConfirmURL})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	runs, err := f.Ledger.RecentRuns(ctx, RecentRuns)
	if err != nil {
		return nil, err
	}
	for _, r := range runs {
		v.Runs = append(v.Runs, RunView{Run: r.ID, StartedAt: r.StartedAt, Shards: r.Shards, ShardsDone: len(r.Done),
			FinishedAt: r.FinishedAt, Totals: r.Totals()})
	}
	return v, f.principals(ctx, v.OldestPending)
}

// keepOldest inserts p into list (oldest link first, then by env and appid) and keeps at most
// OldestPending.
func keepOldest(list []PendingPair, p PendingPair) []PendingPair {
	older := func(a, b PendingPair) int {
		return cmp.Or(a.LinkIssuedAt.Compare(b.LinkIssuedAt), cmp.Compare(a.Env, b.Env), cmp.Compare(a.AppID, b.AppID))
	}
	i, _ := slices.BinarySearchFunc(list, p, older)
	if i >= OldestPending {
		return list
	}
	list = slices.Insert(list, i, p)
	return list[:min(len(list), OldestPending)]
}

// principals fills in the principal of pending pairs written before it was known, from their
// authorizers.
func (f *Fleet) principals(ctx context.Context, list []PendingPair) error {
	var appids []string
	for _, p := range list {
		if p.Principal == "" {
			appids = append(appids, p.AppID)
		}
	}
	principal, err := f.principalsOf(ctx, appids)
	if err != nil {
		return err
	}
	for i := range list {
		if list[i].Principal == "" {
			list[i].Principal = principal[list[i].AppID]
		}
	}
	return nil
}
