package budget

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// moduleRoot is the repository root, relative to this package's directory (go test's working
// directory).
const moduleRoot = "../.."

// The release builds' tags, as the Makefile's build-aws and build-scf pass them: no net/rpc
// server on AWS (provided.al2023 speaks the runtime API), and no HTTP/2 anywhere (WeChat and the
// notification receiver are called over HTTP/1.1; it saves 140 KB zipped).
const (
	awsTags = "lambda.norpc,nethttpomithttp2"
	scfTags = "nethttpomithttp2"
)

// buildRelease builds pkg (a path relative to the module root, such as "./function/aws") for
// linux/goarch the way the Makefile's release targets do (CGO_ENABLED=0 GOOS=linux -trimpath
// -buildvcs=false -ldflags "-s -w" -tags tags), into dir, and returns the binary's path.
func buildRelease(b *testing.B, pkg, goarch, tags, dir, name string) string {
	b.Helper()
	out, err := filepath.Abs(filepath.Join(dir, name))
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w", "-tags", tags, "-o", out, pkg)
	cmd.Dir = moduleRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build %s (linux/%s): %v\n%s", pkg, goarch, err, msg)
	}
	return out
}

// median returns the middle of xs (the mean of the two middle values for an even count).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// TestMedian checks the one piece of arithmetic the budgets rely on.
func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want float64
	}{
		{"no samples give zero", nil, 0},
		{"one sample is its own median", []float64{7}, 7},
		{"an odd count takes the middle value", []float64{9, 1, 5}, 5},
		{"an even count takes the mean of the middle two", []float64{4, 1, 3, 2}, 2.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := median(tt.in); got != tt.want {
				t.Fatalf("median(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
