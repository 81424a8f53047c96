package rpcinvoke

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func build(t *testing.T, pkg string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "fn")
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

func start(t *testing.T, bin string) *Process {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := Start(ctx, bin, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestInvokeSCFBinary(t *testing.T) {
	p := start(t, build(t, "./testdata/scfecho"))

	t.Run("the environment arrives with the invocation", func(t *testing.T) {
		got, err := p.Invoke([]byte(`{"a":1}`), map[string]string{"GREETING": "hi"}, "req-1", 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"event":{"a":1},"greeting":"hi"}`; string(got) != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	})
	t.Run("a handler error is an InvokeError", func(t *testing.T) {
		_, err := p.Invoke([]byte(`"fail"`), nil, "req-2", 5*time.Second)
		var ie *InvokeError
		if !errors.As(err, &ie) || ie.Message != "asked to fail" {
			t.Fatalf("err = %v, want InvokeError 'asked to fail'", err)
		}
	})
}

func TestInvokeAWSBinaryInRPCMode(t *testing.T) {
	p := start(t, build(t, "./testdata/awsecho"))
	got, err := p.Invoke([]byte(`[1,2]`), nil, "req-1", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"event":[1,2]}`; string(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}
