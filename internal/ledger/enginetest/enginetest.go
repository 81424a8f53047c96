// Package enginetest starts the ledger's database engines for tests: MariaDB (Debian's
// mariadb-server) for the MySQL engine and dynalite (DynamoDB's API, from npm) for the
// DynamoDB engine. `make test` installs both (scripts/install-engines.sh); each test binary
// then starts its own, once, on first use: MariaDB in a temporary directory on a unix socket
// (no port at all), dynalite on a free loopback port behind a proxy that checks every
// request's SigV4 signature against the test credentials (dynalite checks none). So test
// runs on one machine never collide. TestMain calls Stop after the tests, and a started
// engine is also killed when the test process dies (Linux: the parent-death signal).
//
// An engine that is not installed skips the test, saying how to install it; under CI=true it
// fails the test instead, since CI must never pass by skipping. An engine that is installed
// but does not start always fails the test, with its log.
//
// Engines started by hand can be used instead: ENVSHARE_TEST_MYSQL_DSN (a DSN of a user that
// may create databases) and ENVSHARE_TEST_DYNAMODB_ENDPOINT (a dynalite URL).
package enginetest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Variables naming engines started by hand.
const (
	MySQLDSNEnv         = "ENVSHARE_TEST_MYSQL_DSN"
	DynamoDBEndpointEnv = "ENVSHARE_TEST_DYNAMODB_ENDPOINT"
)

// stopTimeout bounds how long Stop waits for an engine to end after asking it to, before it
// kills it.
const stopTimeout = 30 * time.Second

// started holds what this process started, for Stop: engines are shared by every test of a
// test binary, since starting one per test would cost seconds each.
var started struct {
	sync.Mutex
	mariadb  *MariaDB
	dynalite *Dynalite
	stops    []func()
}

// shared gives the engine in slot, started with start on first use: one per test binary. start
// runs under the lock and registers its stops; a start that ends the test leaves slot empty.
func shared[E any](t testing.TB, slot **E, start func(testing.TB) *E) *E {
	t.Helper()
	started.Lock()
	defer started.Unlock()
	if *slot == nil {
		*slot = start(t)
	}
	return *slot
}

// Stop stops every engine this process started and removes its files. TestMain calls it
// after m.Run.
func Stop() {
	started.Lock()
	defer started.Unlock()
	for i := len(started.stops) - 1; i >= 0; i-- {
		started.stops[i]()
	}
	started.stops, started.mariadb, started.dynalite = nil, nil, nil
}

// unavailable ends the test for an engine that is not installed: a skip, or under CI=true a
// failure.
func unavailable(t testing.TB, why string) {
	t.Helper()
	if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
		t.Fatalf("%s; CI=true, so the engine tests must run: install it as `make test` does (scripts/install-engines.sh)", why)
	}
	t.Skipf("%s; skipping: `make test` installs it (scripts/install-engines.sh)", why)
}

// findExecutable gives the first of names found on PATH or in dirs.
func findExecutable(names []string, dirs ...string) (string, bool) {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, true
		}
		for _, d := range dirs {
			p := filepath.Join(d, n)
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
				return p, true
			}
		}
	}
	return "", false
}

// repoRoot finds the module's root (the directory with go.mod) above the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// tempDir makes a directory under /tmp when TMPDIR is long: a unix socket's path must stay
// under 108 bytes.
func tempDir(prefix string) (string, error) {
	base := os.TempDir()
	if len(base) > 40 {
		base = "/tmp"
	}
	return os.MkdirTemp(base, prefix)
}

// randomHex gives n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// tail gives the last lines of a log file, for a failure message.
func tail(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(all[max(0, len(all)-lines):], "\n")
}
