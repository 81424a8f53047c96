package mysqlledger_test

import (
	"context"
	"database/sql/driver"
	"net"
	"path/filepath"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/envshare/envshare/internal/ledger"
	"github.com/envshare/envshare/internal/ledger/enginetest"
	"github.com/envshare/envshare/internal/ledger/ledgertest"
	"github.com/envshare/envshare/internal/ledger/mysqlledger"
	"github.com/envshare/envshare/internal/ledger/sqlledger"
)

var engine = ledgertest.Engine{
	Ledger: mysqlledger.Engine,
	New:    func(t testing.TB) string { return enginetest.StartMariaDB(t).NewDatabase(t) },
	Open:   ledgertest.OpenSQL(mysqlledger.Open),
	OpenStalling: func(ctx context.Context, dsn string, stalled func()) (ledger.Driver, error) {
		cfg, err := mysqlledger.Config(dsn)
		if err != nil {
			return nil, err
		}
		return mysqlledger.OpenConfig(ctx, cfg, dsn, sqlledger.Options{}, func(c driver.Connector) driver.Connector {
			return ledgertest.StallingConnector(c, stalled)
		})
	},
	Files:    func(t testing.TB, _ string) []string { return []string{enginetest.StartMariaDB(t).DataDir()} },
	Unusable: unusable,
}

func unusable(t testing.TB) []ledgertest.Unusable {
	good, err := mysql.ParseDSN(enginetest.StartMariaDB(t).NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	with := func(change func(c *mysql.Config)) string {
		c := good.Clone()
		change(c)
		return c.FormatDSN()
	}
	const wrongPassword = "wrong-password-for-tests"
	wrong := with(func(c *mysql.Config) { c.Passwd = wrongPassword })
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed.Close() // a port nobody listens on, most likely; anyone who does is no MySQL server
	return []ledgertest.Unusable{
		{Name: "a wrong password", Value: "mysql:" + wrong, Want: []string{"refused user", "envshare"}, Secret: wrongPassword},
		{Name: "a wrong password in the secret's DSN", Value: "mysql", SecretDSN: wrong, Want: []string{"ledger_dsn", "refused user"}, Secret: wrongPassword},
		{Name: "a socket nobody listens on", Value: "mysql:" + with(func(c *mysql.Config) { c.Addr = filepath.Join(t.TempDir(), "none.sock") }),
			Want: []string{"cannot be reached"}, Secret: good.Passwd, Unreachable: true},
		{Name: "a port nobody listens on", Value: "mysql:" + with(func(c *mysql.Config) { c.Net, c.Addr = "tcp", closed.Addr().String() }),
			Want: []string{"cannot be reached", closed.Addr().String()}, Secret: good.Passwd, Unreachable: true},
		{Name: "a database that does not exist", Value: "mysql:" + with(func(c *mysql.Config) { c.DBName = "no_such_database" }),
			Want: []string{`no database "no_such_database"`}, Secret: good.Passwd},
		{Name: "a DSN without a password", Value: "mysql:envshare@tcp(127.0.0.1:3306)/envshare", Want: []string{"no password"}},
		{Name: "the secret's DSN without a password", Value: "mysql", SecretDSN: "envshare:@tcp(127.0.0.1:3306)/envshare", Want: []string{"ledger_dsn", "no password"}},
		{Name: "a DSN without a database", Value: "mysql:" + with(func(c *mysql.Config) { c.DBName = "" }), Want: []string{"names no database"}, Secret: good.Passwd},
		{Name: "a malformed DSN", Value: "mysql:envshare:malformed-password-1@tcp(127.0.0.1:3306/envshare", Want: []string{"not valid"}, Secret: "malformed-password-1"},
		{Name: "no ledger_dsn in the secret", Value: "mysql", Want: []string{"the credentials secret has no ledger_dsn"}},
	}
}

func TestMain(m *testing.M) { ledgertest.Main(m, engine) }

func TestConformance(t *testing.T) {
	ledgertest.RunConformanceTests(t, engine)
}

func BenchmarkPush(b *testing.B) { ledgertest.BenchmarkPush(b, engine) }
