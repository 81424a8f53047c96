// Package platformlimit_test proves, with several function instances in several processes at
// once, that ENVSHARE_RATE_LIMIT holds for the whole platform when there is a ledger: every
// instance draws from the one token bucket kept in it, on each ledger engine (SQLite, DynamoDB
// through dynalite, MySQL through MariaDB). Each child process is the real App, wired from its
// environment as a deployed instance is.
package platformlimit_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/ledger"
	"github.com/envshare/envshare/internal/ledger/dynamoledger"
	"github.com/envshare/envshare/internal/ledger/enginetest"
	"github.com/envshare/envshare/internal/ledger/mysqlledger"
	"github.com/envshare/envshare/internal/ledger/sqliteledger"
	"github.com/envshare/envshare/internal/trigger"
	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/wxemu"
)

const (
	roleEnv   = "PLATFORMLIMIT_ROLE" // set in a child process
	appidsEnv = "PLATFORMLIMIT_APPIDS"
)

// The platform's limit, and what each instance does: one bindings request of `calls` appids,
// one appid a call.
const (
	processes = 3
	calls     = 10
	rate      = 20.0 // calls a second
	burst     = 4    // ENVSHARE_CONCURRENCY
)

var engines = []ledger.Engine{sqliteledger.Engine, dynamoledger.Engine, mysqlledger.Engine}

func TestMain(m *testing.M) {
	if os.Getenv(roleEnv) == "" {
		code := m.Run()
		enginetest.Stop()
		os.Exit(code)
	}
	if err := child(); err != nil {
		fmt.Fprintln(os.Stderr, "platformlimit child:", err)
		os.Exit(3)
	}
	os.Exit(0)
}

// child is one function instance: it reads its configuration, says "ready", and on "go"
// makes its calls through a bindings request, then says "done".
func child() error {
	// stdout speaks to the test: the logs and metrics go elsewhere.
	app := trigger.New(trigger.Options{Platform: trigger.PlatformAWS, Cloud: trigger.Cloud{Name: "test", Ledgers: engines},
		Logger: slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})), MetricsOut: io.Discard})
	body, _ := json.Marshal(map[string]any{"action": "bindings", "appids": strings.Split(os.Getenv(appidsEnv), ",")})
	// A first invocation wires the instance (its ledger among the rest) before the start.
	if _, err := trigger.Answer(app.Message(context.Background(), []byte(`{"action":"fleet"}`))); err != nil {
		return err
	}
	fmt.Println("ready")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return err
	}
	v, err := trigger.Answer(app.Message(context.Background(), body))
	if err != nil {
		return err
	}
	if res, ok := v.(*share.Result); !ok || !res.OK {
		return fmt.Errorf("answer %+v", v)
	}
	fmt.Println("done")
	return nil
}

func TestTheRateLimitHoldsForThePlatformOnEveryLedger(t *testing.T) {
	for _, tt := range []struct {
		name string
		open func(t *testing.T) string // the ENVSHARE_LEDGER of a new, empty ledger
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "ledger.db") }},
		{"dynamodb", func(t *testing.T) string { return "dynamodb:" + enginetest.StartDynalite(t).NewTable(t) }},
		{"mysql", func(t *testing.T) string { return "mysql:" + enginetest.StartMariaDB(t).NewDatabase(t) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			spec := tt.open(t)
			run(t, spec)
		})
	}
}

func run(t *testing.T, spec string) {
	emu := wxemu.New(wxemu.Options{Tokens: []string{"limit-token"}})
	state := wxemu.State{Envs: map[string]wxemu.Env{}, Apps: map[string]wxemu.App{}}
	var ids [processes][]string
	for p := range processes {
		for c := range calls {
			id := fmt.Sprintf("wx%016x", p*100+c)
			ids[p] = append(ids[p], id)
			state.Apps[id] = wxemu.App{Subject: wxemu.DemoSubject}
		}
	}
	if err := emu.Seed(state); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var arrivals []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/componenttcb/") {
			mu.Lock()
			arrivals = append(arrivals, time.Now())
			mu.Unlock()
		}
		emu.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	env := []string{
		roleEnv + "=instance",
		"ENVSHARE_WECHAT_BASE_URL=" + srv.URL,
		"ENVSHARE_COMPONENT_ACCESS_TOKEN=limit-token",
		"ENVSHARE_LEDGER=" + spec,
		"ENVSHARE_RATE_LIMIT=" + strconv.FormatFloat(rate, 'f', -1, 64),
		"ENVSHARE_CONCURRENCY=" + strconv.Itoa(burst),
		"ENVSHARE_CHUNK_SIZE=1",
	}
	type proc struct {
		cmd *exec.Cmd
		in  *bufio.Writer
		out *bufio.Scanner
	}
	var procs []proc
	for p := range processes {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "ENVSHARE_") }),
			append(env, appidsEnv+"="+strings.Join(ids[p], ","))...)
		cmd.SysProcAttr = enginetest.DieWithParent()
		cmd.Stderr = os.Stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		procs = append(procs, proc{cmd, bufio.NewWriter(stdin), bufio.NewScanner(stdout)})
	}
	for i, p := range procs {
		if !p.out.Scan() || p.out.Text() != "ready" {
			t.Fatalf("instance %d did not start: %q", i, p.out.Text())
		}
	}
	start := time.Now()
	for _, p := range procs {
		p.in.WriteString("go\n")
		p.in.Flush()
	}
	for i, p := range procs {
		if !p.out.Scan() || p.out.Text() != "done" {
			t.Fatalf("instance %d failed: %q", i, p.out.Text())
		}
		if err := p.cmd.Wait(); err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
	}

	// Every call drew from one bucket: calls past the burst start an interval apart at the
	// earliest, whichever instance makes them, so the last cannot arrive before this. (Each
	// instance alone at that rate would finish after (calls-burst)/rate.) Delays only ever make
	// the calls later.
	interval := time.Duration(float64(time.Second) / rate)
	total := processes * calls
	if len(arrivals) != total {
		t.Fatalf("%d calls reached WeChat, want %d", len(arrivals), total)
	}
	slices.SortFunc(arrivals, func(a, b time.Time) int { return a.Compare(b) })
	if earliest := start.Add(time.Duration(total-burst) * interval); arrivals[total-1].Before(earliest) {
		t.Fatalf("the last of %d calls arrived %v after the start: the platform's limit allows it only after %v",
			total, arrivals[total-1].Sub(start), earliest.Sub(start))
	}
	// And the bucket in the ledger accounted for every one of them.
	l, err := ledger.Open(t.Context(), spec, "", ledger.Options{}, engines...)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	it, err := l.Driver().Get(t.Context(), ledger.Key{Kind: ledger.KindBucket, ID: "wechat"})
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		TAT int64 `json:"tat_ns"`
	}
	if err := json.Unmarshal(it.Doc, &b); err != nil {
		t.Fatalf("bucket %s: %v", it.Doc, err)
	}
	if tat := time.Unix(0, b.TAT); tat.Before(start.Add(time.Duration(total) * interval)) {
		t.Fatalf("the bucket's next call is due %v after the start: fewer than %d draws", tat.Sub(start), total)
	}
}
