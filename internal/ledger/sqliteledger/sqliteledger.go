// Package sqliteledger is the ledger's SQLite engine, ENVSHARE_LEDGER=sqlite:PATH: one file,
// with modernc.org/sqlite (pure Go, no cgo). It is linked into the local tools and the tests,
// not into the cloud binaries.
//
// The file is in WAL mode with a busy timeout, so several processes on one machine (make
// serve and make run, or test processes) can use it at once: writers wait for each other,
// readers never wait. The table is sqlledger's.
package sqliteledger

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/envshare/envshare/internal/ledger"
	"github.com/envshare/envshare/internal/ledger/sqlledger"
)

// Engine opens ENVSHARE_LEDGER=sqlite:PATH.
var Engine = sqlledger.NewEngine(ledger.SchemeSQLite, Open)

// Dialect is SQLite's: a table without rowid (the primary key is the table's order).
var Dialect = sqlledger.Dialect{
	Name: "sqlite",
	Create: func(ctx context.Context, db *sql.DB) error {
		_, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+sqlledger.Table+` (
			kind TEXT NOT NULL,
			id TEXT NOT NULL,
			shard INTEGER NOT NULL,
			version INTEGER NOT NULL,
			doc BLOB NOT NULL,
			PRIMARY KEY (kind, id)
		) WITHOUT ROWID`)
		return err
	},
	IsDuplicate: func(err error) bool {
		var e *sqlite.Error
		return errors.As(err, &e) && e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	},
}

// busyTimeoutMS is how long a write waits for another writer of the file (SQLite's busy
// handler) before it fails: a bound for a stuck process, far above any real write.
const busyTimeoutMS = 30000

// Connector gives the connector of the file at path, with the ledger's settings.
func Connector(path string) (driver.Connector, error) {
	if strings.ContainsAny(path, "?#") {
		return nil, errors.New("the path must not contain ? or #")
	}
	return sqlite.NewConnector(fmt.Sprintf("%s?_busy_timeout=%d&_journal_mode=WAL&_synchronous=NORMAL", path, busyTimeoutMS))
}

// Open opens (creating when missing) the ledger file at path.
func Open(ctx context.Context, path string, opts sqlledger.Options) (*sqlledger.Driver, error) {
	c, err := Connector(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite ledger %s: %w", path, err)
	}
	return OpenDB(ctx, sql.OpenDB(c), path, opts)
}

// OpenDB opens the ledger on db, a database of Connector's (tests wrap the connector).
func OpenDB(ctx context.Context, db *sql.DB, path string, opts sqlledger.Options) (*sqlledger.Driver, error) {
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite ledger: cannot open %s (does its directory exist, may it be written?): %w: %w", path, ledger.ErrUnreachable, err)
	}
	d, err := sqlledger.New(ctx, db, Dialect, opts)
	if err != nil {
		db.Close()
		return nil, err
	}
	return d, nil
}
