package eventtest

import (
	"context"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"testing"

	"github.com/envshare/envshare/internal/ledger"
	"github.com/envshare/envshare/internal/ledger/dynamoledger"
	"github.com/envshare/envshare/internal/ledger/mysqlledger"
	"github.com/envshare/envshare/internal/ledger/sqliteledger"
	"github.com/envshare/envshare/internal/trigger"
)

// Cloud is what the samples run in process link: the SQLite ledger of the sidecars (each
// binary links its own engine: the binary tests move a sample's ledger into it, UseLedger).
var Cloud = trigger.Cloud{Name: "the tests", Ledgers: []ledger.Engine{sqliteledger.Engine}}

// engines open the ledgers of the samples: the sidecars' SQLite files, and the binary tests'
// DynamoDB (dynalite) and MySQL (MariaDB).
var engines = []ledger.Engine{sqliteledger.Engine, dynamoledger.Engine, mysqlledger.Engine}

// UseLedger makes the sample run on the ledger value (ENVSHARE_LEDGER, such as a dynalite table
// or a MariaDB database), seeded with the sidecar's records, instead of its SQLite file.
func (f *Fixture) UseLedger(t testing.TB, value string) {
	t.Helper()
	if f.Sidecar.Ledger == nil {
		t.Fatal("UseLedger: the sample's sidecar has no ledger")
	}
	if err := seedLedger(value, *f.Sidecar.Ledger); err != nil {
		t.Fatal(err)
	}
	f.Env["ENVSHARE_LEDGER"] = value
}

// seedLedger writes records into the ledger value (created when missing, for SQLite).
func seedLedger(value string, recs LedgerRecords) error {
	ctx := context.Background()
	l, err := ledger.Open(ctx, value, "", ledger.Options{}, engines...)
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
	if value == "" {
		t.Fatal("want_ledger: the sample has no ledger")
	}
	ctx := context.Background()
	l, err := ledger.Open(ctx, value, "", ledger.Options{}, engines...)
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
