// Command testreport reads `go test -json` on stdin and prints what `go test` prints without
// -v (each package's ok, FAIL or "no test files" line, the output of failed tests, build
// errors), then every skipped test with its reason, so that a skip is never silent:
//
//	go test -json ./... | go run ./scripts/testreport
//
// Its exit status is 0 whatever the tests did: `go test`'s own status says whether they
// passed (the Makefile's shell runs pipelines with pipefail), and `go run` would only add an
// "exit status 1" line to the report.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

// skip is a skipped test and why.
type skip struct {
	pkg, test, reason string
}

func main() {
	if _, err := report(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "testreport:", err)
		os.Exit(2)
	}
}

// report copies the non-verbose view of the events in r to w, then the skipped tests.
func report(r io.Reader, w io.Writer) (failed bool, err error) {
	module := modulePrefix()
	outputs := map[string][]string{} // package + test → its output lines so far
	var skips []skip
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var ev event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &ev) != nil {
			fmt.Fprintf(w, "%s\n", line) // not an event: pass it on
			continue
		}
		key := ev.Package + " " + ev.Test
		switch {
		case ev.Action == "build-output":
			fmt.Fprint(w, ev.Output)
		case ev.Action == "build-fail":
			failed = true
		case ev.Test == "": // the package's own: its ok / FAIL / "no test files" line
			if ev.Action == "output" && ev.Output != "PASS\n" { // printed with -v only
				fmt.Fprint(w, ev.Output)
			}
			failed = failed || ev.Action == "fail"
		case ev.Action == "output":
			outputs[key] = append(outputs[key], ev.Output)
		case ev.Action == "fail":
			failed = true
			for _, l := range outputs[key] {
				if !strings.HasPrefix(l, "=== ") { // RUN, PAUSE, CONT, NAME: -v's progress
					fmt.Fprint(w, l)
				}
			}
			delete(outputs, key)
		case ev.Action == "skip":
			skips = append(skips, skip{strings.TrimPrefix(ev.Package, module), ev.Test, reason(outputs[key])})
			delete(outputs, key)
		case ev.Action == "pass":
			delete(outputs, key)
		}
	}
	if err := sc.Err(); err != nil {
		return failed, err
	}
	if len(skips) > 0 {
		fmt.Fprintf(w, "\nSkipped tests (%d): they did not run here\n", len(skips))
		for _, s := range skips {
			fmt.Fprintf(w, "  %s %s: %s\n", s.pkg, s.test, s.reason)
		}
	}
	return failed, nil
}

// reason is what a skipped test logged, on one line: the lines between -v's "=== RUN" and
// "--- SKIP" lines, without their file:line prefixes' indentation.
func reason(lines []string) string {
	var parts []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		parts = append(parts, t)
	}
	if len(parts) == 0 {
		return "(no reason given)"
	}
	return strings.Join(parts, " ")
}

// modulePrefix is the module path and a slash, to shorten package names; "" when unknown.
func modulePrefix() string {
	b, err := os.ReadFile("go.mod")
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if m, ok := strings.CutPrefix(l, "module "); ok {
			return strings.TrimSpace(m) + "/"
		}
	}
	return ""
}
