package enginetest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/envshare/envshare/internal/testkit"
)

// MariaDB is a MySQL server for tests.
type MariaDB struct {
	admin   *mysql.Config // a user that may create databases
	dataDir string        // "" for a server started by hand
}

// sbin holds the servers Debian installs outside a user's PATH.
var sbin = []string{"/usr/sbin", "/usr/local/sbin", "/usr/bin"}

// startTimeout bounds how long a starting engine may take before the test gives up on it: far
// above a start on a busy machine (a second or two), it only ends a hung start.
const startTimeout = 2 * time.Minute

// StartMariaDB gives this test binary's MySQL server: the one of ENVSHARE_TEST_MYSQL_DSN, or
// a MariaDB it starts on first use (Stop ends it). Not installed, the test is skipped (failed
// under CI=true).
func StartMariaDB(t testing.TB) *MariaDB {
	t.Helper()
	return shared(t, &started.mariadb, newMariaDB)
}

func newMariaDB(t testing.TB) *MariaDB {
	t.Helper()
	if dsn := os.Getenv(MySQLDSNEnv); dsn != "" {
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			t.Fatalf("%s is not a valid DSN: %v", MySQLDSNEnv, err)
		}
		return &MariaDB{admin: cfg}
	}
	server, ok := findExecutable([]string{"mariadbd", "mysqld"}, sbin...)
	install, ok2 := findExecutable([]string{"mariadb-install-db", "mysql_install_db"}, sbin...)
	if !ok || !ok2 {
		unavailable(t, "MariaDB is not installed (no mariadbd and mariadb-install-db: apt-get install mariadb-server)")
	}
	m, stop, err := startMariaDB(server, install)
	if err != nil {
		t.Fatalf("MariaDB is installed but did not start: %v", err)
	}
	started.stops = append(started.stops, stop)
	return m
}

// startMariaDB makes a data directory, starts the server on a unix socket in it, without
// networking, and waits until a user it creates can log in.
func startMariaDB(server, install string) (*MariaDB, func(), error) {
	dir, err := tempDir("envshare-mariadb-")
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (*MariaDB, func(), error) {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	data := filepath.Join(dir, "data")
	common := []string{"--no-defaults", "--datadir=" + data, "--innodb-log-file-size=4M", "--innodb-buffer-pool-size=32M"}
	if os.Geteuid() == 0 {
		// As root the server refuses to run unless told to run as a user; this one.
		u, err := user.Current()
		if err != nil {
			return fail(err)
		}
		common = append(common, "--user="+u.Username)
	}
	cmd := exec.Command(install, append(common, "--auth-root-authentication-method=normal", "--skip-test-db")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("%s: %v\n%s", install, err, out))
	}
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd = "envshare", randomHex(16)
	cfg.Net, cfg.Addr = "unix", filepath.Join(dir, "mysqld.sock")
	initFile := filepath.Join(dir, "init.sql")
	grant := fmt.Sprintf("CREATE USER '%s'@'localhost' IDENTIFIED BY '%s';\nGRANT ALL PRIVILEGES ON *.* TO '%[1]s'@'localhost' WITH GRANT OPTION;\n", cfg.User, cfg.Passwd)
	if err := os.WriteFile(initFile, []byte(grant), 0o600); err != nil {
		return fail(err)
	}
	errorLog := filepath.Join(dir, "error.log")
	cmd = exec.Command(server, append(common, "--socket="+cfg.Addr, "--skip-networking", "--init-file="+initFile,
		"--pid-file="+filepath.Join(dir, "mysqld.pid"), "--log-error="+errorLog)...)
	cmd.SysProcAttr = DieWithParent()
	if err := cmd.Start(); err != nil {
		return fail(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() {
		testkit.StopProcess(cmd, exited, stopTimeout)
		os.RemoveAll(dir)
	}
	if err := waitReady(cfg, exited); err != nil {
		stop()
		return nil, nil, fmt.Errorf("%w\n%s:\n%s", err, errorLog, tail(errorLog, 20))
	}
	return &MariaDB{admin: cfg, dataDir: data}, stop, nil
}

// waitReady tries to log in until it can, the server has exited, or startTimeout passed.
func waitReady(cfg *mysql.Config, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return err
	}
	db := sql.OpenDB(c)
	defer db.Close()
	for {
		err := db.PingContext(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("the server exited: %v", err)
		case <-ctx.Done():
			return fmt.Errorf("the server did not answer within %v: %v", startTimeout, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// DataDir is the server's data directory ("" for a server started by hand).
func (m *MariaDB) DataDir() string { return m.dataDir }

// Password is the test user's password.
func (m *MariaDB) Password() string { return m.admin.Passwd }

// DSN gives the DSN of database for the test user.
func (m *MariaDB) DSN(database string) string {
	cfg := m.admin.Clone()
	cfg.DBName = database
	return cfg.FormatDSN()
}

// NewDatabase creates an empty database for the test and gives its DSN; it is dropped at the
// test's end.
func (m *MariaDB) NewDatabase(t testing.TB) string {
	t.Helper()
	name := "envshare_test_" + randomHex(6)
	db, err := sql.Open("mysql", m.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(t.Context(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create a test database: %v", err)
	}
	t.Cleanup(func() {
		if db, err := sql.Open("mysql", m.DSN("")); err == nil {
			db.Exec("DROP DATABASE IF EXISTS " + name)
			db.Close()
		}
	})
	return m.DSN(name)
}
