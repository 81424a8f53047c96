// Package sqlledger is the ledger's Driver over database/sql, shared by the SQLite and the
// MySQL engine (internal/ledger/sqliteledger, internal/ledger/mysqlledger). It imports no
// database driver: each engine opens its *sql.DB and gives its Dialect.
//
// Every record is one row of one table:
//
//	CREATE TABLE envshare_ledger (
//	  kind    -- "authorizer", "pair", "run", "bucket"
//	  id      -- the appid, "appid/env", the run id, the bucket name (compared byte by byte)
//	  shard   -- ledger.ShardHash(id): FNV-1a 32 of the appid, so a shard is shard % count = index
//	  version -- the number of writes; a write is UPDATE ... WHERE version = <the version read>
//	  doc     -- the JSON document
//	  PRIMARY KEY (kind, id))
//
// A write is one statement, atomic by itself: an INSERT for a record read as absent (a
// duplicate key is a conflict), else an UPDATE conditional on the version read. Scans read
// pages of PageSize rows in key order (WHERE id > the last one), so no cursor stays open
// while the caller works and memory holds one page.
package sqlledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/envshare/envshare/internal/ledger"
)

// Table is the ledger's table.
const Table = "envshare_ledger"

// Defaults of Options.
const (
	DefaultPageSize  = 500
	DefaultChunkSize = 500
)

// Dialect is what differs between SQL engines.
type Dialect struct {
	// Name names the engine in errors ("sqlite", "mysql").
	Name string
	// Create creates the table when it is missing.
	Create func(ctx context.Context, db *sql.DB) error
	// IsDuplicate reports whether err is a duplicate primary key.
	IsDuplicate func(err error) bool
	// Redact masks secrets (a DSN's password) in the engine's error messages; nil: none.
	Redact func(err error) error
}

// Options tune a Driver.
type Options struct {
	PageSize  int // rows a scan reads at a time (default DefaultPageSize)
	ChunkSize int // ids one batch read asks for at a time (default DefaultChunkSize)
}

// NewEngine is the ledger.Engine of scheme whose Open is open with the default Options.
func NewEngine(scheme string, open func(ctx context.Context, arg string, opts Options) (*Driver, error)) ledger.Engine {
	return ledger.Engine{Scheme: scheme, Open: func(ctx context.Context, arg string) (ledger.Driver, error) {
		return open(ctx, arg, Options{})
	}}
}

// Driver is the ledger's Driver on a SQL database.
type Driver struct {
	db   *sql.DB
	d    Dialect
	opts Options
}

var _ ledger.Driver = (*Driver)(nil)

// New creates the table when it is missing and returns the driver; it owns db from then on.
func New(ctx context.Context, db *sql.DB, d Dialect, opts Options) (*Driver, error) {
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultPageSize
	}
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = DefaultChunkSize
	}
	dr := &Driver{db: db, d: d, opts: opts}
	if err := d.Create(ctx, db); err != nil {
		return nil, dr.fail("create the table "+Table, err)
	}
	return dr, nil
}

// DB gives the database (for tests and benchmarks).
func (dr *Driver) DB() *sql.DB { return dr.db }

// fail wraps an engine's error, with secrets masked.
func (dr *Driver) fail(what string, err error) error {
	if dr.d.Redact != nil {
		err = dr.d.Redact(err)
	}
	return fmt.Errorf("%s ledger: %s: %w", dr.d.Name, what, err)
}

// Get reads one record.
func (dr *Driver) Get(ctx context.Context, key ledger.Key) (ledger.Item, error) {
	it := ledger.Item{Key: key}
	err := dr.db.QueryRowContext(ctx, "SELECT version, doc FROM "+Table+" WHERE kind = ? AND id = ?",
		string(key.Kind), key.ID).Scan(&it.Version, &it.Doc)
	if errors.Is(err, sql.ErrNoRows) {
		return ledger.Item{Key: key}, nil
	}
	if err != nil {
		return ledger.Item{Key: key}, dr.fail("read "+key.String(), err)
	}
	return it, nil
}

// GetMany reads records kind by kind, ChunkSize ids at a time.
func (dr *Driver) GetMany(ctx context.Context, keys []ledger.Key) ([]ledger.Item, error) {
	out := make([]ledger.Item, len(keys))
	at := map[ledger.Key][]int{} // where each key goes in out
	byKind := map[ledger.Kind][]string{}
	for i, k := range keys {
		out[i].Key = k
		if at[k] == nil {
			byKind[k.Kind] = append(byKind[k.Kind], k.ID)
		}
		at[k] = append(at[k], i)
	}
	for kind, ids := range byKind {
		for start := 0; start < len(ids); start += dr.opts.ChunkSize {
			chunk := ids[start:min(start+dr.opts.ChunkSize, len(ids))]
			args := make([]any, 0, len(chunk)+1)
			args = append(args, string(kind))
			for _, id := range chunk {
				args = append(args, id)
			}
			q := "SELECT id, version, doc FROM " + Table + " WHERE kind = ? AND id IN (?" + strings.Repeat(", ?", len(chunk)-1) + ")"
			err := dr.query(ctx, q, args, func(id string, version int64, doc []byte) error {
				for _, i := range at[ledger.Key{Kind: kind, ID: id}] {
					out[i].Version, out[i].Doc = version, doc
				}
				return nil
			})
			if err != nil {
				return nil, dr.fail(fmt.Sprintf("read %d %s records", len(chunk), kind), err)
			}
		}
	}
	return out, nil
}

// query runs q and calls row with each row's id, version and doc.
func (dr *Driver) query(ctx context.Context, q string, args []any, row func(id string, version int64, doc []byte) error) error {
	rows, err := dr.db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id      string
			version int64
			doc     []byte
		)
		if err := rows.Scan(&id, &version, &doc); err != nil {
			return err
		}
		if err := row(id, version, doc); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Put writes the record if its stored version is item.Version.
func (dr *Driver) Put(ctx context.Context, item ledger.Item) error {
	k := item.Key
	if err := ledger.CheckKey(k); err != nil {
		return err
	}
	if item.Version == 0 {
		_, err := dr.db.ExecContext(ctx, "INSERT INTO "+Table+" (kind, id, shard, version, doc) VALUES (?, ?, ?, 1, ?)",
			string(k.Kind), k.ID, int64(ledger.ShardHash(k.ID)), item.Doc)
		if err != nil && dr.d.IsDuplicate(err) {
			return fmt.Errorf("%s: %w", k, ledger.ErrConflict)
		}
		if err != nil {
			return dr.fail("write "+k.String(), err)
		}
		return nil
	}
	res, err := dr.db.ExecContext(ctx, "UPDATE "+Table+" SET version = ?, doc = ? WHERE kind = ? AND id = ? AND version = ?",
		item.Version+1, item.Doc, string(k.Kind), k.ID, item.Version)
	if err != nil {
		return dr.fail("write "+k.String(), err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return dr.fail("write "+k.String(), err)
	}
	if n != 1 {
		return fmt.Errorf("%s: %w", k, ledger.ErrConflict)
	}
	return nil
}

// Scan reads the kind's records in key order, PageSize rows at a time.
func (dr *Driver) Scan(ctx context.Context, kind ledger.Kind, shard ledger.Shard, fn func(ledger.Item) error) error {
	if err := shard.Check(); err != nil {
		return err
	}
	q := "SELECT id, version, doc FROM " + Table + " WHERE kind = ? AND id > ?"
	if shard.Count > 0 {
		q += fmt.Sprintf(" AND shard %% %d = %d", shard.Count, shard.Index)
	}
	q += fmt.Sprintf(" ORDER BY id LIMIT %d", dr.opts.PageSize)
	page := make([]ledger.Item, 0, dr.opts.PageSize)
	for after := ""; ; {
		page = page[:0]
		err := dr.query(ctx, q, []any{string(kind), after}, func(id string, version int64, doc []byte) error {
			page = append(page, ledger.Item{Key: ledger.Key{Kind: kind, ID: id}, Version: version, Doc: doc})
			return nil
		})
		if err != nil {
			return dr.fail("scan the "+string(kind)+" records", err)
		}
		for _, it := range page {
			if err := fn(it); err != nil {
				return err
			}
		}
		if len(page) < dr.opts.PageSize {
			return nil
		}
		after = page[len(page)-1].Key.ID
	}
}

// Close closes the database.
func (dr *Driver) Close() error { return dr.db.Close() }
