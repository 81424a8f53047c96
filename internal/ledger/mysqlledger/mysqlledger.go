// Package mysqlledger is the ledger's MySQL engine (TencentDB for MySQL, TDSQL-C MySQL,
// MariaDB): ENVSHARE_LEDGER=mysql takes the DSN from the credentials secret's ledger_dsn,
// mysql:DSN from the variable. It uses database/sql with github.com/go-sql-driver/mysql, and
// creates its table when it is missing (so the user needs CREATE once, then SELECT, INSERT
// and UPDATE on it).
//
// The DSN's password is a secret: no error and no log line of this package holds it or the
// DSN. Parameters are interpolated on the client (one round trip a statement instead of
// prepare, execute and close), unless the DSN's charset makes that unsafe.
package mysqlledger

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/envshare/envshare/internal/ledger"
	"github.com/envshare/envshare/internal/ledger/sqlledger"
	"github.com/envshare/envshare/pkg/redact"
)

// Engine opens ENVSHARE_LEDGER=mysql and mysql:DSN.
var Engine = sqlledger.NewEngine(ledger.SchemeMySQL, Open)

// createTable is the table: ids compared byte by byte (VARBINARY), the document as bytes.
const createTable = `CREATE TABLE IF NOT EXISTS ` + sqlledger.Table + ` (
	kind VARBINARY(32) NOT NULL,
	id VARBINARY(255) NOT NULL,
	shard INT UNSIGNED NOT NULL,
	version BIGINT NOT NULL,
	doc MEDIUMBLOB NOT NULL,
	PRIMARY KEY (kind, id)
) ENGINE=InnoDB`

// MySQL error numbers this package tells apart.
const (
	errDupEntry     = 1062
	errNoSuchTable  = 1146
	errAccessDenied = 1045
	errBadDB        = 1049
)

// dialTimeout bounds a connection attempt when the DSN sets no timeout.
const dialTimeout = 5 * time.Second

// Config parses dsn and checks what the ledger needs: a password and a database. The error
// holds neither the DSN nor the password.
func Config(dsn string) (*mysql.Config, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("the DSN is not valid (user:password@tcp(host:3306)/database): %w", masker(guessPassword(dsn), dsn)(err))
	}
	switch {
	case cfg.Passwd == "":
		return nil, errors.New("the DSN has no password: user:password@tcp(host:3306)/database")
	case cfg.DBName == "":
		return nil, errors.New("the DSN names no database: user:password@tcp(host:3306)/database")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = dialTimeout
	}
	return cfg, nil
}

// Open connects to the database of dsn, checks that it answers and creates the table when it
// is missing.
func Open(ctx context.Context, dsn string, opts sqlledger.Options) (*sqlledger.Driver, error) {
	cfg, err := Config(dsn)
	if err != nil {
		return nil, err
	}
	return OpenConfig(ctx, cfg, dsn, opts, nil)
}

// OpenConfig is Open with a parsed configuration; wrap, when not nil, wraps the database's
// connector (tests interpose on the connections with it).
func OpenConfig(ctx context.Context, cfg *mysql.Config, dsn string, opts sqlledger.Options, wrap func(driver.Connector) driver.Connector) (*sqlledger.Driver, error) {
	mask := masker(cfg.Passwd, dsn)
	cfg = cfg.Clone()
	cfg.Logger = logger{mask}
	cfg.InterpolateParams = true
	c, err := mysql.NewConnector(cfg)
	if err != nil && strings.Contains(err.Error(), "unsafe charset") {
		cfg.InterpolateParams = false
		c, err = mysql.NewConnector(cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("the DSN is not valid: %w", mask(err))
	}
	if wrap != nil {
		c = wrap(c)
	}
	db := sql.OpenDB(c)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(time.Minute) // a frozen function's idle connections are dropped by the server
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, connectError(cfg, mask(err))
	}
	d, err := sqlledger.New(ctx, db, dialect(mask), opts)
	if err != nil {
		db.Close()
		return nil, err
	}
	return d, nil
}

// connectError says why the first connection failed: the server refused the user or knows no
// such database, or it could not be reached (wrapping ledger.ErrUnreachable).
func connectError(cfg *mysql.Config, err error) error {
	where := fmt.Sprintf("the MySQL server %s(%s)", cfg.Net, cfg.Addr)
	var e *mysql.MySQLError
	switch {
	case errors.As(err, &e) && e.Number == errAccessDenied:
		return fmt.Errorf("%s refused user %q (is the password right?): %w", where, cfg.User, err)
	case errors.As(err, &e) && e.Number == errBadDB:
		return fmt.Errorf("%s has no database %q: %w", where, cfg.DBName, err)
	case errors.As(err, &e):
		return fmt.Errorf("%s: %w", where, err)
	}
	return fmt.Errorf("%s: %w: %w", where, ledger.ErrUnreachable, err)
}

func dialect(mask func(error) error) sqlledger.Dialect {
	return sqlledger.Dialect{
		Name: "mysql",
		// Probe first: CREATE TABLE IF NOT EXISTS needs the CREATE privilege even when the
		// table exists, and a user granted only the table's rows should still open it.
		Create: func(ctx context.Context, db *sql.DB) error {
			_, err := db.ExecContext(ctx, "SELECT 1 FROM "+sqlledger.Table+" LIMIT 0")
			var e *mysql.MySQLError
			if errors.As(err, &e) && e.Number == errNoSuchTable {
				_, err = db.ExecContext(ctx, createTable)
			}
			return err
		},
		IsDuplicate: func(err error) bool {
			var e *mysql.MySQLError
			return errors.As(err, &e) && e.Number == errDupEntry
		},
		Redact: mask,
	}
}

// masker masks the password and the DSN in an error's message.
func masker(password, dsn string) func(error) error {
	set := redact.New(password, dsn)
	return set.Error
}

// guessPassword finds the password in a DSN that does not parse: what lies between the first
// colon and the last @ (the driver's own reading of user:password@).
func guessPassword(dsn string) string {
	at := strings.LastIndex(dsn, "@")
	if at < 0 {
		return ""
	}
	_, pw, ok := strings.Cut(dsn[:at], ":")
	if !ok {
		return ""
	}
	return pw
}

// logger passes the driver's rare messages (a connection closed under it) to slog, masked.
type logger struct{ mask func(error) error }

func (l logger) Print(v ...any) {
	slog.Warn("mysql ledger: driver", "message", l.mask(errors.New(strings.TrimSpace(fmt.Sprint(v...)))).Error())
}
