package eventtest

import (
	"context"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/envshare/envshare/internal/ledger"
	"github.com/envshare/envshare/internal/ledger/sqliteledger"
	"github.com/envshare/envshare/internal/trigger"
)

// Cloud is what the samples run in process link: the SQLite ledger of the sidecars (the
// binaries link their own engine; the samples that need a ledger run in process).
var Cloud = trigger.Cloud{Name: "the tests", Ledgers: []ledger.Engine{sqliteledger.Engine}}

// seedLedger writes records into a new SQLite ledger at path.
func seedLedger(path string, recs LedgerRecords) error {
	ctx := context.Background()
	l, err := ledger.Open(ctx, "sqlite:"+path, "", ledger.Options{}, sqliteledger.Engine)
	if err != nil {
		return err
	}
	defer l.Close()
	for _, a := range recs.Authorizers {
		if _, err := l.UpdateAuthorizer(ctx, a.AppID, func(rec *ledger.Authorizer) (bool, error) {
			a.Version = rec.Version
			*rec = a
			return true, nil
		}); err != nil {
			return err
		}
	}
	for _, p := range recs.Pairs {
		if _, err := l.UpdatePair(ctx, p.Key(), func(rec *ledger.Pair) (bool, error) {
			p.Version = rec.Version
			*rec = p
			return true, nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// checkLedger compares the records want lists with the ledger's, field by field given.
func checkLedger(t testing.TB, value string, want WantLedger) {
	t.Helper()
	path, ok := strings.CutPrefix(value, "sqlite:")
	if !ok {
		t.Fatalf("want_ledger: the sample has no ledger (ENVSHARE_LEDGER %q)", value)
	}
	ctx := context.Background()
	l, err := ledger.Open(ctx, "sqlite:"+path, "", ledger.Options{}, sqliteledger.Engine)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, a := range want.Authorizers {
		appid, _ := a["appid"].(string)
		got, err := l.Authorizer(ctx, appid)
		if err != nil {
			t.Fatal(err)
		}
		compareFields(t, "authorizer "+appid, a, got)
	}
	for _, p := range want.Pairs {
		env, _ := p["env"].(string)
		appid, _ := p["appid"].(string)
		got, err := l.Pair(ctx, ledger.PairKey{Env: env, AppID: appid})
		if err != nil {
			t.Fatal(err)
		}
		compareFields(t, "pair "+env+"/"+appid, p, got)
	}
}

// compareFields reports each field of want that got's JSON holds otherwise ("*": any value
// but none).
func compareFields(t testing.TB, what string, want map[string]any, got any) {
	t.Helper()
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var g map[string]any
	_ = json.Unmarshal(b, &g)
	for _, k := range slices.Sorted(maps.Keys(want)) {
		switch {
		case want[k] == "*" && g[k] != nil:
		case !reflect.DeepEqual(want[k], g[k]):
			t.Errorf("ledger %s: %s = %v, want %v", what, k, g[k], want[k])
		}
	}
}
