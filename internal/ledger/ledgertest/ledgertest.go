// Package ledgertest is the ledger's conformance suite: RunConformanceTests proves on one real
// engine what every caller relies on (conditional writes, eight writers of one record, a
// writer killed mid-write, absent records, batch reads across chunk limits, scans larger than
// a page, shard filters, the token bucket drawn by several processes, no secret stored, and
// ENVSHARE_LEDGER errors that name the variable and hold no password). Each engine's test
// runs it; the suite starts no engine itself (internal/ledger/enginetest does).
//
// Some tests run child processes: the test binary again, told its role by the environment.
// The engine's test package must therefore have Main as its TestMain:
//
//	func TestMain(m *testing.M) { ledgertest.Main(m, engine) }
package ledgertest

import (
	"context"
	"slices"
	"testing"

	"github.com/envshare/envshare/internal/ledger"
	"github.com/envshare/envshare/internal/ledger/sqlledger"
)

// Engine is what the suite needs of one engine.
type Engine struct {
	// Ledger is the engine as ledger.Open takes it.
	Ledger ledger.Engine
	// New makes a new, empty ledger for the test and gives its argument: what follows the
	// scheme in ENVSHARE_LEDGER (a path, a DSN, a table). Child processes open it too (they
	// inherit the test's environment, which New may set).
	New func(t testing.TB) string
	// Open opens an argument New gave; a scan reads pageSize records at a time (0: the
	// engine's default).
	Open func(ctx context.Context, arg string, pageSize int) (ledger.Driver, error)
	// OpenStalling opens arg so that every write stops midway: partly sent, or done but not
	// committed. It then calls stalled and never returns. Only a child process that the suite
	// kills there opens a ledger so.
	OpenStalling func(ctx context.Context, arg string, stalled func()) (ledger.Driver, error)
	// Files, when not nil, gives the files and directories that hold the data of the ledger
	// arg names (an empty name: not known, such as an engine started by hand): the suite reads
	// them to check what is stored, byte by byte.
	Files func(t testing.TB, arg string) []string
	// UncommittedOnDisk says that a write stalled by OpenStalling has already put its bytes
	// into Files (SQLite spills them into its WAL): the kill test then checks that they are
	// there before it checks that nobody reads them.
	UncommittedOnDisk bool
	// Unusable gives engine-specific values that must fail to open.
	Unusable func(t testing.TB) []Unusable
}

// Unusable is an ENVSHARE_LEDGER value (and secret DSN) that must fail to open.
type Unusable struct {
	Name      string
	Value     string            // ENVSHARE_LEDGER
	SecretDSN string            // the credentials secret's ledger_dsn
	Env       map[string]string // set for the open (such as an endpoint)
	Want      []string          // the error holds each of these
	Secret    string            // the error must not hold it (a password, a key)
	// Unreachable: the error must wrap ledger.ErrUnreachable.
	Unreachable bool
}

// RunConformanceTests runs the suite against e.
func RunConformanceTests(t *testing.T, e Engine) {
	s := &suite{e: e}
	t.Run("an absent record reads as version 0", s.absent)
	t.Run("a write is conditional on the version read", s.conditional)
	t.Run("eight writers of one record at once lose no field", s.eightWriters)
	t.Run("a writer killed in the middle of a write leaves the previous record whole", s.killedWriter)
	t.Run("batch reads cross the engine's chunk limits", s.batchReads)
	t.Run("scans stream more than a page and filter shards", s.scans)
	t.Run("records keep every field through the typed layer", s.typed)
	t.Run("several processes drawing from the token bucket never exceed the rate", s.bucketProcesses)
	t.Run("the token bucket refuses a draw beyond the deadline and takes nothing", s.bucketDeadline)
	t.Run("no secret is stored", s.noSecretStored)
	t.Run("unusable values fail naming ENVSHARE_LEDGER and hold no secret", s.unusable)
}

// OpenSQL gives Engine.Open of a SQL engine from its Open (mysqlledger.Open,
// sqliteledger.Open).
func OpenSQL(open func(ctx context.Context, arg string, o sqlledger.Options) (*sqlledger.Driver, error)) func(context.Context, string, int) (ledger.Driver, error) {
	return func(ctx context.Context, arg string, pageSize int) (ledger.Driver, error) {
		return open(ctx, arg, sqlledger.Options{PageSize: pageSize})
	}
}

type suite struct{ e Engine }

// open makes a new ledger and opens it for the test; a scan reads pageSize records at a time
// (0: the engine's default).
func (s *suite) open(t *testing.T, pageSize int) (ledger.Driver, string) {
	t.Helper()
	arg := s.e.New(t)
	d, err := s.e.Open(t.Context(), arg, pageSize)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d, arg
}

// reopen opens arg again (another instance of the same ledger).
func (s *suite) reopen(t *testing.T, arg string) ledger.Driver {
	t.Helper()
	d, err := s.e.Open(t.Context(), arg, 0)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// files gives the files and directories known to hold the data of arg's ledger.
func (s *suite) files(t *testing.T, arg string) []string {
	if s.e.Files == nil {
		return nil
	}
	return slices.DeleteFunc(s.e.Files(t, arg), func(name string) bool { return name == "" })
}
