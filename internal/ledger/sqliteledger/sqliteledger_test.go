package sqliteledger_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/ledger"
	"github.com/envshare/envshare/internal/ledger/ledgertest"
	"github.com/envshare/envshare/internal/ledger/sqliteledger"
	"github.com/envshare/envshare/internal/ledger/sqlledger"
)

var engine = ledgertest.Engine{
	Ledger: sqliteledger.Engine,
	New:    func(t testing.TB) string { return filepath.Join(t.TempDir(), "ledger.db") },
	Open:   ledgertest.OpenSQL(sqliteledger.Open),
	OpenStalling: func(ctx context.Context, path string, stalled func()) (ledger.Driver, error) {
		c, err := sqliteledger.Connector(path)
		if err != nil {
			return nil, err
		}
		// A cache of a few pages: the stalled write's 100 KB spill into the WAL uncommitted.
		return sqliteledger.OpenDB(ctx, sql.OpenDB(ledgertest.StallingConnector(c, stalled, "PRAGMA cache_size = 4")), path, sqlledger.Options{})
	},
	Files:             func(_ testing.TB, path string) []string { return []string{path, path + "-wal"} },
	UncommittedOnDisk: true,
	Unusable: func(t testing.TB) []ledgertest.Unusable {
		return []ledgertest.Unusable{
			{Name: "a file in a directory that does not exist", Value: "sqlite:" + filepath.Join(t.TempDir(), "no-such-dir", "ledger.db"),
				Want: []string{"cannot open", "does its directory exist"}, Unreachable: true},
			{Name: "no path", Value: "sqlite:", Want: []string{"sqlite needs the database file's path"}},
			{Name: "a path with a query", Value: "sqlite:ledger.db?mode=ro", Want: []string{"must not contain ?"}},
		}
	},
}

func TestMain(m *testing.M) { ledgertest.Main(m, engine) }

func TestConformance(t *testing.T) {
	ledgertest.RunConformanceTests(t, engine)
}

func BenchmarkPush(b *testing.B) { ledgertest.BenchmarkPush(b, engine) }

// BenchmarkScan200k reads the authorizers of one shard of ten (about 20,000) out of 200,000,
// and all of them: time, allocation, and the peak of live heap during the scan (sampled every
// 1,000 records), which stays near one page of records whatever the ledger's size.
func BenchmarkScan200k(b *testing.B) {
	const authorizers = 200_000
	path := filepath.Join(b.TempDir(), "ledger.db")
	d, err := sqliteledger.Open(b.Context(), path, sqlledger.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	seed(b, d, authorizers)
	l := ledger.New(d, ledger.Options{})
	for _, tc := range []struct {
		name  string
		shard ledger.Shard
	}{{"shard-0-of-10", ledger.Shard{Index: 0, Count: 10}}, {"all", ledger.All}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			var peak uint64
			records := 0
			for b.Loop() {
				runtime.GC()
				records = 0
				if err := l.ScanAuthorizers(b.Context(), tc.shard, func(a ledger.Authorizer) error {
					if records++; records%1000 == 0 {
						peak = max(peak, liveHeap())
					}
					return nil
				}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(records), "records")
			b.ReportMetric(float64(peak)/(1<<20), "peak_heap_MiB")
		})
	}
}

// seed writes n authorizers in one transaction (the ledger's rows, much faster than n writes).
func seed(b *testing.B, d *sqlledger.Driver, n int) {
	tx, err := d.DB().BeginTx(b.Context(), nil)
	if err != nil {
		b.Fatal(err)
	}
	stmt, err := tx.PrepareContext(b.Context(), "INSERT INTO "+sqlledger.Table+" (kind, id, shard, version, doc) VALUES (?, ?, ?, 1, ?)")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	for i := range n {
		a := ledger.Authorizer{AppID: fmt.Sprintf("wx%016x", i), Principal: fmt.Sprintf("客户 %d 有限公司", i%50_000), Authorized: true,
			PermissionSets: []int{1, 18}, MiniProgram: true, AuthorizedAt: now, InfoFetchedAt: now, LastEvent: "authorized", LastEventTime: now}
		doc, err := json.Marshal(&a)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := stmt.ExecContext(b.Context(), string(ledger.KindAuthorizer), a.AppID, int64(ledger.ShardHash(a.AppID)), doc); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

// liveHeap is the bytes of live and not yet swept heap objects.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
