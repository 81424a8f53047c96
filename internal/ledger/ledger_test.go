package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/ledger"
	"github.com/envshare/envshare/internal/linktest"
	"github.com/envshare/envshare/pkg/share"
)

// conflicting is a driver whose every write conflicts.
type conflicting struct{}

func (conflicting) Get(_ context.Context, k ledger.Key) (ledger.Item, error) {
	return ledger.Item{Key: k, Doc: []byte(`{}`), Version: 1}, nil
}
func (conflicting) GetMany(context.Context, []ledger.Key) ([]ledger.Item, error) { return nil, nil }
func (conflicting) Put(context.Context, ledger.Item) error                       { return ledger.ErrConflict }
func (conflicting) Scan(context.Context, ledger.Kind, ledger.Shard, func(ledger.Item) error) error {
	return nil
}
func (conflicting) Close() error { return nil }

// memory is a driver in memory, for tests of the typed layer alone (the engines' own tests run
// the conformance suite; linking one here would build it into the fuzz target too).
type memory struct {
	mu    sync.Mutex
	items map[ledger.Key]ledger.Item
}

func (m *memory) Get(_ context.Context, k ledger.Key) (ledger.Item, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if it, ok := m.items[k]; ok {
		return it, nil
	}
	return ledger.Item{Key: k}, nil
}

func (m *memory) GetMany(ctx context.Context, keys []ledger.Key) ([]ledger.Item, error) {
	out := make([]ledger.Item, len(keys))
	for i, k := range keys {
		out[i], _ = m.Get(ctx, k)
	}
	return out, nil
}

func (m *memory) Put(_ context.Context, it ledger.Item) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.items[it.Key].Version != it.Version {
		return ledger.ErrConflict
	}
	if m.items == nil {
		m.items = map[ledger.Key]ledger.Item{}
	}
	it.Version++
	m.items[it.Key] = it
	return nil
}

func (m *memory) Scan(context.Context, ledger.Kind, ledger.Shard, func(ledger.Item) error) error {
	return errors.ErrUnsupported
}

func (m *memory) Close() error { return nil }

func TestUpdateRetriesConflictsUntilTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	attempts := 0
	l := ledger.New(conflicting{}, ledger.Options{
		Backoff: func(n int) time.Duration { return time.Duration(n) * time.Millisecond },
		Wait: func(ctx context.Context, d time.Duration) error {
			if attempts == 5 {
				cancel()
			}
			return ctx.Err()
		},
	})
	_, err := l.UpdateAuthorizer(ctx, "wx1", func(a *ledger.Authorizer) (bool, error) {
		attempts++
		a.Authorized = true
		return true, nil
	})
	if !errors.Is(err, context.Canceled) || attempts != 5 || !strings.Contains(err.Error(), "after 5 conflicting writes") {
		t.Errorf("UpdateAuthorizer = %v after %d attempts; want the context's error after 5", err, attempts)
	}
}

func TestConflictBackoffStaysWithinItsBounds(t *testing.T) {
	for n := 1; n < 40; n++ {
		for range 100 {
			if d := ledger.ConflictBackoff(n); d <= 0 || d > min(time.Millisecond<<min(n, 10), 100*time.Millisecond) {
				t.Fatalf("ConflictBackoff(%d) = %v", n, d)
			}
		}
	}
}

func TestShardsAreShareShardOf(t *testing.T) {
	for i := range 2000 {
		appid := fmt.Sprintf("wx%016x", i*7919)
		for _, count := range []int{1, 2, 7, 50, 60} {
			want := share.ShardOf(appid, count)
			for _, id := range []string{appid, appid + "/prod-1"} {
				if got := int(ledger.ShardHash(id) % uint32(count)); got != want {
					t.Fatalf("shard of %s among %d = %d, share.ShardOf = %d", id, count, got, want)
				}
				if !(ledger.Shard{Index: want, Count: count}).Has(id) {
					t.Fatalf("shard %d of %d does not have %s", want, count, id)
				}
			}
		}
	}
	for _, bad := range []ledger.Shard{{Index: 3, Count: 3}, {Index: -1, Count: 3}, {Index: 1}, {Count: -2}} {
		if bad.Check() == nil {
			t.Errorf("%+v was accepted", bad)
		}
	}
}

func TestLimiterWaitsForItsTurnAndGivesUpBeforeTheDeadline(t *testing.T) {
	now := time.Now().Add(time.Hour) // the deadline below must be in the context's future
	var waits []time.Duration
	l := ledger.New(&memory{}, ledger.Options{
		Now: func() time.Time { return now },
		Wait: func(ctx context.Context, d time.Duration) error {
			waits = append(waits, d)
			return nil
		},
	})
	defer l.Close()
	lim := l.Limiter("wechat", ledger.Rate{PerSecond: 4, Burst: 1})
	for range 3 {
		if err := lim.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if want := []time.Duration{0, 250 * time.Millisecond, 500 * time.Millisecond}; fmt.Sprint(waits) != fmt.Sprint(want) {
		t.Errorf("waits %v, want %v", waits, want)
	}
	ctx, cancel := context.WithDeadline(t.Context(), now.Add(600*time.Millisecond))
	defer cancel()
	if err := lim.Wait(ctx); !errors.Is(err, ledger.ErrBeyondDeadline) {
		t.Errorf("a wait of 750ms with 600ms left = %v", err)
	}
}

// TestLinks keeps each engine in its own package, so that a binary links only the engine it
// opens: the ledger links none, and no engine links another's driver or the test helpers.
func TestLinks(t *testing.T) {
	helpers := []string{"ledgertest", "enginetest", "storetest"}
	others := func(engines ...string) []string {
		return append(slices.Clone(helpers), engines...)
	}
	linktest.Check(t, ".", nil, others("ledger/sqlledger", "sqliteledger", "mysqlledger", "dynamoledger", "internal/store/"))
	linktest.Check(t, "./sqlledger", nil, others("sqliteledger", "mysqlledger", "dynamoledger", "internal/store/"))
	linktest.Check(t, "./sqliteledger", []string{"modernc.org/", "github.com/dustin/go-humanize", "github.com/google/uuid",
		"github.com/remyoudompheng/bigfft", "github.com/ncruces/go-strftime", "github.com/mattn/go-isatty", "golang.org/x/sys/"},
		others("mysqlledger", "dynamoledger", "internal/store/"))
	linktest.Check(t, "./mysqlledger", []string{"github.com/go-sql-driver/mysql", "filippo.io/edwards25519"},
		others("sqliteledger", "dynamoledger", "internal/store/"))
	linktest.Check(t, "./dynamoledger", []string{"github.com/aws/smithy-go/aws-http-auth/", "golang.org/x/sync/errgroup"},
		others("sqlledger", "mysqlledger", "aws-sdk-go-v2"))
}
