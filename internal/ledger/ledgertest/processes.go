package ledgertest

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/ledger"
)

// killedWriter: a child process writes a record and is stopped in the middle of the write
// (its bytes partly sent, or written but not committed: the engine's OpenStalling
// decides where), then killed with SIGKILL. The previous version is still the record, whole,
// for this instance and for a new one, and the next conditional write on it goes through.
// Nothing depends on timing: the child says when it has stalled, and stays stalled.
func (s *suite) killedWriter(t *testing.T) {
	d, value := s.open(t, 0)
	key := pairKey(appid(1), "prod-1")
	previous := []byte(`{"env":"prod-1","appid":"wx0000000000000001","state":"pending_confirmation"}`)
	mustPut(t, d, ledger.Item{Key: key, Doc: previous})

	marker := "killed-write-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	c := startChild(t, roleStall, map[string]string{valueEnv: value, keyEnv: key.ID, docEnv: marker})
	c.expect(t, "stalled")
	if s.e.UncommittedOnDisk && !s.filesHold(t, value, marker) {
		t.Fatalf("the stalled write's bytes are not on disk yet: the test would not prove that a reader skips them")
	}
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	c.cmd.Wait()

	for name, r := range map[string]ledger.Driver{"this instance": d, "a new instance": s.reopen(t, value)} {
		if it := mustGet(t, r, key); it.Version != 1 || !bytes.Equal(it.Doc, previous) {
			t.Errorf("%s reads version %d, %.200s; want version 1, the previous record", name, it.Version, it.Doc)
		}
	}
	mustPut(t, d, ledger.Item{Key: key, Doc: bigDoc("after"), Version: 1})
	if it := mustGet(t, d, key); it.Version != 2 || !bytes.Equal(it.Doc, bigDoc("after")) {
		t.Errorf("after the next write: version %d", it.Version)
	}
}

// bucketProcesses: four child processes draw from one token bucket at once (each an instance
// with its own connections), every one a conditional write. The start times the bucket gave
// them, together, never exceed the rate over any window: at most Burst + PerSecond × window
// calls start within it. The times are the bucket's own arithmetic, not when the processes ran,
// so a busy machine cannot make the test pass or fail.
func (s *suite) bucketProcesses(t *testing.T) {
	_, value := s.open(t, 0)
	const processes, draws = 4, 20
	children := make([]*child, processes)
	for i := range children {
		children[i] = startChild(t, roleDraw, map[string]string{valueEnv: value, drawsEnv: strconv.Itoa(draws)})
	}
	for _, c := range children {
		c.expect(t, "ready")
	}
	for _, c := range children { // all at once, as far as a start can be
		if _, err := c.stdin.Write([]byte("go\n")); err != nil {
			t.Fatal(err)
		}
	}
	var starts []int64
	for i, c := range children {
		n := 0
		for c.stdout.Scan() {
			at, err := strconv.ParseInt(c.stdout.Text(), 10, 64)
			if err != nil {
				t.Fatalf("child %d: %q", i, c.stdout.Text())
			}
			starts = append(starts, at)
			n++
		}
		if err := c.cmd.Wait(); err != nil || n != draws {
			t.Fatalf("child %d: %d draws, %v\n%s", i, n, err, c.errors())
		}
	}
	checkRate(t, starts, bucketRate)
}

// checkRate fails when more calls start in some window than r allows.
func checkRate(t *testing.T, starts []int64, r ledger.Rate) {
	t.Helper()
	slices.Sort(starts)
	interval := int64(r.Interval())
	for i := range starts {
		for j := i; j < len(starts); j++ {
			// Calls i..j start within starts[j]-starts[i]: at most Burst + that / interval.
			if int64(j-i+1-r.Burst)*interval > starts[j]-starts[i] {
				t.Fatalf("%d calls start within %v, more than %g a second with bursts of %d allow",
					j-i+1, time.Duration(starts[j]-starts[i]), r.PerSecond, r.Burst)
			}
		}
	}
}

func (s *suite) bucketDeadline(t *testing.T) {
	d, _ := s.open(t, 0)
	now := time.Unix(1_000_000, 0)
	l := ledger.New(d, ledger.Options{Now: func() time.Time { return now }})
	r := ledger.Rate{PerSecond: 10, Burst: 2}
	var starts []int64
	for range 2 {
		at, err := l.Take(t.Context(), "b", 1, r, time.Time{})
		if err != nil || !at.Equal(now) {
			t.Fatalf("a draw within the burst starts at %v, %v; want now", at, err)
		}
		starts = append(starts, at.UnixNano())
	}
	at, err := l.Take(t.Context(), "b", 1, r, now.Add(50*time.Millisecond))
	if !errors.Is(err, ledger.ErrBeyondDeadline) {
		t.Fatalf("a draw that must wait 100ms with 50ms left = %v, %v", at, err)
	}
	for _, want := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond} {
		at, err := l.Take(t.Context(), "b", 1, r, now.Add(time.Second))
		if err != nil || !at.Equal(now.Add(want)) {
			t.Fatalf("a draw past the burst starts at %v, %v; want now+%v (the refused draw took nothing)", at, err, want)
		}
		starts = append(starts, at.UnixNano())
	}
	checkRate(t, starts, r)
	if _, err := l.Take(t.Context(), "b", 1, ledger.Rate{}, time.Time{}); err == nil {
		t.Error("a zero rate was accepted")
	}
}

// filesHold reports whether the files of the ledger value names hold text.
func (s *suite) filesHold(t *testing.T, value, text string) bool {
	t.Helper()
	found := false
	for _, root := range s.files(t, value) {
		err := filepath.WalkDir(root, func(path string, de fs.DirEntry, err error) error {
			if err != nil || found || !de.Type().IsRegular() {
				return err
			}
			b, err := os.ReadFile(path)
			if errors.Is(err, fs.ErrNotExist) { // a file the engine removed meanwhile
				return nil
			}
			found = found || bytes.Contains(b, []byte(text))
			return err
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("read the engine's files: %v", err)
		}
	}
	return found
}
