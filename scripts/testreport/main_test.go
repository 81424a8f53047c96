package main

import (
	"strings"
	"testing"
)

// A stream as `go test -json` writes it: a passing test with a log line, a skipped one, a
// failing one, a package without tests and a build failure.
const stream = `{"Action":"start","Package":"example.com/m/a"}
{"Action":"run","Package":"example.com/m/a","Test":"TestPass"}
{"Action":"output","Package":"example.com/m/a","Test":"TestPass","Output":"=== RUN   TestPass\n"}
{"Action":"output","Package":"example.com/m/a","Test":"TestPass","Output":"    a_test.go:9: chatter\n"}
{"Action":"output","Package":"example.com/m/a","Test":"TestPass","Output":"--- PASS: TestPass (0.00s)\n"}
{"Action":"pass","Package":"example.com/m/a","Test":"TestPass"}
{"Action":"output","Package":"example.com/m/a","Test":"TestSchema","Output":"=== RUN   TestSchema\n"}
{"Action":"output","Package":"example.com/m/a","Test":"TestSchema","Output":"    s_test.go:26: schema check skipped: not found\n"}
{"Action":"output","Package":"example.com/m/a","Test":"TestSchema","Output":"--- SKIP: TestSchema (0.00s)\n"}
{"Action":"skip","Package":"example.com/m/a","Test":"TestSchema"}
{"Action":"output","Package":"example.com/m/a","Test":"TestFail","Output":"=== RUN   TestFail\n"}
{"Action":"output","Package":"example.com/m/a","Test":"TestFail","Output":"    f_test.go:3: got 1, want 2\n"}
{"Action":"output","Package":"example.com/m/a","Test":"TestFail","Output":"--- FAIL: TestFail (0.00s)\n"}
{"Action":"fail","Package":"example.com/m/a","Test":"TestFail"}
{"Action":"output","Package":"example.com/m/a","Output":"FAIL\n"}
{"Action":"output","Package":"example.com/m/a","Output":"FAIL\texample.com/m/a\t0.01s\n"}
{"Action":"fail","Package":"example.com/m/a"}
{"Action":"output","Package":"example.com/m/b","Output":"?   \texample.com/m/b\t[no test files]\n"}
{"Action":"skip","Package":"example.com/m/b"}
{"ImportPath":"example.com/m/c","Action":"build-output","Output":"c/c.go:1:1: syntax error\n"}
{"ImportPath":"example.com/m/c","Action":"build-fail"}
FAIL	example.com/m/c [build failed]
`

func TestReportIsGoTestsOutputWithTheSkipsListed(t *testing.T) {
	var out strings.Builder
	failed, err := report(strings.NewReader(stream), &out)
	if err != nil || !failed {
		t.Fatalf("report = %v, %v; want failed", failed, err)
	}
	want := "    f_test.go:3: got 1, want 2\n--- FAIL: TestFail (0.00s)\nFAIL\nFAIL\texample.com/m/a\t0.01s\n" +
		"?   \texample.com/m/b\t[no test files]\nc/c.go:1:1: syntax error\nFAIL\texample.com/m/c [build failed]\n" +
		"\nSkipped tests (1): they did not run here\n  example.com/m/a TestSchema: s_test.go:26: schema check skipped: not found\n"
	if out.String() != want {
		t.Errorf("report printed\n%s\nwant\n%s", out.String(), want)
	}
}
