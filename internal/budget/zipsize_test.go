package budget

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// zipBudget is each deployment zip's budget: a guard, not a goal (docs/development.md, "Libraries").
const zipBudget = 5 << 20

// BenchmarkZipSize makes the deployment zips with the Makefile's own build-aws and build-scf
// (into a temporary DIST, without a manifest.json: the budget is the code's), so the sizes
// reported are those of the zips shipped, and fails when one is over 5 MiB.
func BenchmarkZipSize(b *testing.B) {
	makeBin, err := exec.LookPath("make")
	if err != nil {
		b.Skip("make is not installed: the zips are made by the Makefile")
	}
	dist := b.TempDir()
	// One make takes seconds (it builds three binaries), so the benchmark runs it once, b.N = 1:
	// ns/op is the time to build and zip all three.
	for range b.N {
		cmd := exec.Command(makeBin, "--no-print-directory", "-C", moduleRoot, "build-aws", "build-scf",
			"DIST="+dist, "MANIFEST="+filepath.Join(dist, "no-manifest.json"))
		// Not the outer make's flags or jobserver when `make bench` runs this benchmark.
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "MAKEFLAGS=") && !strings.HasPrefix(kv, "MFLAGS=") && !strings.HasPrefix(kv, "MAKELEVEL=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("make build-aws build-scf: %v\n%s", err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if strings.Contains(line, " bytes): ") { // the Makefile's size lines, as build-* prints them
				b.Log(strings.ReplaceAll(line, dist+"/", "dist/"))
			}
		}
	}
	for _, z := range []struct{ metric, file string }{
		{"aws_arm64_bytes", "envshare-aws-arm64.zip"},
		{"aws_amd64_bytes", "envshare-aws-amd64.zip"},
		{"scf_bytes", "envshare-scf.zip"},
	} {
		fi, err := os.Stat(filepath.Join(dist, z.file))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(fi.Size()), z.metric)
		if fi.Size() > zipBudget {
			b.Errorf("%s is %d bytes, over the 5 MiB budget (%d)", z.file, fi.Size(), zipBudget)
		}
	}
}
