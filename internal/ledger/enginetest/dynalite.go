package enginetest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/envshare/envshare/internal/store/awsstore"
	"github.com/envshare/envshare/internal/store/storetest"
	"github.com/envshare/envshare/internal/testkit"
)

// DynaliteEnv names the dynalite package directory to use instead of ./bin/node's.
const DynaliteEnv = "ENVSHARE_DYNALITE"

// Dynalite is DynamoDB's API for tests, behind a proxy that checks each request's signature.
type Dynalite struct {
	endpoint string // the proxy's URL
	direct   string // dynalite's own
	dataDir  string // dynalite's LevelDB directory ("" for one started by hand)
}

// serveDynalite runs dynalite on 127.0.0.1 and a free port (which it prints), tables active at
// once, its data in LevelDB in the directory given; it ends when its stdin closes, that is when
// the test process ends.
const serveDynalite = `
const dynalite = require(process.argv[1]);
const server = dynalite({createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, path: process.argv[2]});
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\n'));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`

// StartDynalite gives this test binary's DynamoDB: dynalite at ENVSHARE_TEST_DYNAMODB_ENDPOINT,
// or one it starts on first use (Stop ends it), each behind a SigV4-checking proxy. Not
// installed, the test is skipped (failed under CI=true).
func StartDynalite(t testing.TB) *Dynalite {
	t.Helper()
	return shared(t, &started.dynalite, newDynalite)
}

func newDynalite(t testing.TB) *Dynalite {
	t.Helper()
	target, dataDir := os.Getenv(DynamoDBEndpointEnv), ""
	if target == "" {
		node, ok := findExecutable([]string{"node", "nodejs"})
		if !ok {
			unavailable(t, "Node.js is not installed (dynalite runs on it: apt-get install nodejs npm)")
		}
		pkg := os.Getenv(DynaliteEnv)
		if pkg == "" {
			root, err := repoRoot()
			if err != nil {
				t.Fatal(err)
			}
			pkg = filepath.Join(root, "bin", "node", "node_modules", "dynalite")
		}
		if _, err := os.Stat(filepath.Join(pkg, "package.json")); err != nil {
			unavailable(t, fmt.Sprintf("dynalite is not installed in %s", pkg))
		}
		var stop func()
		var err error
		if target, dataDir, stop, err = startDynalite(node, pkg); err != nil {
			t.Fatalf("dynalite is installed but did not start: %v", err)
		}
		started.stops = append(started.stops, stop)
	}
	proxy, err := signatureProxy(target)
	if err != nil {
		t.Fatal(err)
	}
	started.stops = append(started.stops, proxy.Close)
	return &Dynalite{endpoint: proxy.URL, direct: target, dataDir: dataDir}
}

// startDynalite starts dynalite and reads the port it listens on.
func startDynalite(node, pkg string) (endpoint, dataDir string, stop func(), err error) {
	dir, err := tempDir("envshare-dynalite-")
	if err != nil {
		return "", "", nil, err
	}
	dataDir = filepath.Join(dir, "data")
	cmd := exec.Command(node, "-e", serveDynalite, pkg, dataDir)
	cmd.SysProcAttr = DieWithParent()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		os.RemoveAll(dir)
		return "", "", nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		os.RemoveAll(dir)
		return "", "", nil, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return "", "", nil, err
	}
	exited := make(chan struct{})
	out := bufio.NewReader(stdout)
	line, readErr := out.ReadString('\n')
	go func() {
		io.Copy(io.Discard, out) // Wait only after the output is read
		cmd.Wait()
		close(exited)
	}()
	stop = func() {
		stdin.Close() // dynalite ends when its stdin closes
		testkit.StopProcess(cmd, exited, stopTimeout)
		os.RemoveAll(dir)
	}
	port, err := strconv.Atoi(strings.TrimSpace(line))
	if readErr != nil || err != nil || port <= 0 {
		stop()
		return "", "", nil, fmt.Errorf("no port from dynalite (%v): %s", readErr, stderr.String())
	}
	return "http://127.0.0.1:" + strconv.Itoa(port), dataDir, stop, nil
}

// signatureProxy forwards requests to target after checking their signature as DynamoDB would,
// answering a bad one with DynamoDB's error. It reads each body whole before passing it on, which
// also keeps dynalite up: dynalite 4.0.0 exits ("Error: aborted", thrown from its request's
// error handler) when a client goes away in the middle of a request's body. For the same reason a
// request is forwarded whole even when its client gives up (a test's deadline, a killed writer):
// the proxy's own request to dynalite is never cancelled half-way.
func signatureProxy(target string) (*httptest.Server, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", DynamoDBEndpointEnv, err)
	}
	forward := httputil.NewSingleHostReverseProxy(u)
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return // the client went away mid-request (a writer killed in a test): nothing is forwarded
		}
		var e *storetest.SigV4Error
		if err := storetest.VerifySigV4(r, body, "dynamodb"); errors.As(err, &e) {
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			w.WriteHeader(e.Status)
			json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazon.coral.service#" + e.Code, "message": e.Message})
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		forward.ServeHTTP(w, r.WithContext(context.WithoutCancel(r.Context())))
	})), nil
}

// Endpoint is the URL requests go to.
func (d *Dynalite) Endpoint() string { return d.endpoint }

// Direct is dynalite's own URL, without the proxy: for benchmarks, whose allocations would
// otherwise count the proxy's.
func (d *Dynalite) Direct() string { return d.direct }

// DataDir is dynalite's data directory ("" for one started by hand).
func (d *Dynalite) DataDir() string { return d.dataDir }

// Setenv gives the test the test credentials and region (storetest's) and points
// AWS_ENDPOINT_URL_DYNAMODB at the engine, for the rest of the test.
func (d *Dynalite) Setenv(t testing.TB) {
	t.Helper()
	storetest.SetAWSEnv(t)
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", d.endpoint)
}

// NewTable sets the environment as Setenv does and creates an empty table as template.yaml
// does (string keys pk and sk, on demand), and gives its name.
func (d *Dynalite) NewTable(t testing.TB) string {
	t.Helper()
	d.Setenv(t)
	name := "envshare-test-" + randomHex(6)
	c, err := awsstore.NewDynamoDB()
	if err != nil {
		t.Fatal(err)
	}
	type attr struct{ AttributeName, AttributeType string }
	type key struct{ AttributeName, KeyType string }
	in := struct {
		TableName            string
		BillingMode          string
		AttributeDefinitions []attr
		KeySchema            []key
	}{name, "PAY_PER_REQUEST", []attr{{"pk", "S"}, {"sk", "S"}}, []key{{"pk", "HASH"}, {"sk", "RANGE"}}}
	if err := c.Call(t.Context(), "CreateTable", name, in, &struct{}{}); err != nil {
		t.Fatalf("create a test table: %v", err)
	}
	// A new table takes requests once it is ACTIVE (dynalite's at its next tick).
	for {
		var out struct{ Table struct{ TableStatus string } }
		if err := c.Call(t.Context(), "DescribeTable", name, map[string]string{"TableName": name}, &out); err != nil {
			t.Fatalf("describe the test table: %v", err)
		}
		if out.Table.TableStatus == "ACTIVE" {
			return name
		}
	}
}
