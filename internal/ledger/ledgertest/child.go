package ledgertest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/ledger"
	"github.com/envshare/envshare/internal/ledger/enginetest"
)

// The environment of a child process: its role and what it works on.
const (
	roleEnv  = "LEDGERTEST_ROLE"
	valueEnv = "LEDGERTEST_VALUE"
	keyEnv   = "LEDGERTEST_KEY"
	docEnv   = "LEDGERTEST_DOC_MARKER"
	drawsEnv = "LEDGERTEST_DRAWS"
)

// The roles.
const (
	roleStall = "stall" // write, stop midway, wait to be killed
	roleDraw  = "draw"  // draw from the token bucket and print each start time
)

// The token bucket the children draw from, and its rate.
var (
	bucketName = "wechat"
	bucketRate = ledger.Rate{PerSecond: 200, Burst: 5}
)

// Main is the TestMain of an engine's tests: it runs this process as one of the suite's child
// processes when it is one, else the tests, then stops the engines the tests started.
func Main(m *testing.M, e Engine) {
	role := os.Getenv(roleEnv)
	if role == "" {
		code := m.Run()
		enginetest.Stop()
		os.Exit(code)
	}
	if err := runChild(e, role); err != nil {
		fmt.Fprintf(os.Stderr, "ledgertest child %s: %v\n", role, err)
		os.Exit(3)
	}
	os.Exit(0)
}

func runChild(e Engine, role string) error {
	ctx := context.Background()
	value := os.Getenv(valueEnv)
	switch role {
	case roleStall:
		d, err := e.OpenStalling(ctx, value, func() { fmt.Println("stalled") })
		if err != nil {
			return err
		}
		key := ledger.Key{Kind: ledger.KindPair, ID: os.Getenv(keyEnv)}
		it, err := d.Get(ctx, key)
		if err != nil {
			return err
		}
		err = d.Put(ctx, ledger.Item{Key: key, Doc: bigDoc(os.Getenv(docEnv)), Version: it.Version})
		return fmt.Errorf("the write was not stalled: it returned %v", err)
	case roleDraw:
		d, err := e.Open(ctx, value, 0)
		if err != nil {
			return err
		}
		l := ledger.New(d, ledger.Options{})
		draws, _ := strconv.Atoi(os.Getenv(drawsEnv))
		fmt.Println("ready")
		if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil { // "go"
			return err
		}
		out := bufio.NewWriter(os.Stdout)
		for range draws {
			at, err := l.Take(ctx, bucketName, 1, bucketRate, time.Time{})
			if err != nil {
				return err
			}
			fmt.Fprintln(out, at.UnixNano())
		}
		return out.Flush()
	}
	return fmt.Errorf("unknown role %q", role)
}

// bigDoc is a document of about 100 KB holding marker: more than the caches and buffers
// between a writer and the disk or the network, so that a stalled write has sent or spilled
// a good part of it.
func bigDoc(marker string) []byte {
	return fmt.Appendf(nil, `{"state":"shared","confirm_url":"%s","error_message":"%s"}`, marker, strings.Repeat(marker+" ", 100<<10/(len(marker)+1)))
}

// child is a running child process.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Scanner
	stderr *os.File
}

// startChild runs the test binary again as a child of role, with env added to the test's
// environment (which holds what the engine's New set).
func startChild(t *testing.T, role string, env map[string]string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), roleEnv+"="+role)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.SysProcAttr = enginetest.DieWithParent()
	stderr, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stderr: stderr}
	cmd.Stderr = stderr // a file: the child writes it directly, the test reads it at will
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.stdout = bufio.NewScanner(stdout)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		stderr.Close()
	})
	return c
}

// errors gives what the child wrote to its stderr.
func (c *child) errors() string {
	b, _ := os.ReadFile(c.stderr.Name())
	return string(b)
}

// expect reads the child's next line, which must be want.
func (c *child) expect(t *testing.T, want string) {
	t.Helper()
	if !c.stdout.Scan() {
		c.cmd.Wait()
		t.Fatalf("the child ended before saying %q (does TestMain call ledgertest.Main?): %v\n%s", want, c.stdout.Err(), c.errors())
	}
	if got := c.stdout.Text(); got != want {
		t.Fatalf("the child said %q, want %q\n%s", got, want, c.errors())
	}
}
