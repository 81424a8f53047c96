// Package linktest checks what a package links, for tests that keep each binary free of what
// it must not carry (the other cloud's SDK, another engine's driver, test helpers).
package linktest

import (
	"os/exec"
	"strings"
	"testing"
)

// module is this module's import path: its packages are always allowed.
const module = "github.com/envshare/envshare/"

// Check fails t for each package that pkg (a path go list understands) links and that holds
// one of forbidden, and for each it links from outside the standard library and this module
// that starts with none of allowed. Without a go tool the test is skipped.
func Check(t testing.TB, pkg string, allowed, forbidden []string) {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool:", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", pkg).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pkg, err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if strings.Contains(dep, f) {
				t.Errorf("%s links %s", pkg, dep)
			}
		}
		first, _, _ := strings.Cut(dep, "/")
		if !strings.Contains(first, ".") || strings.HasPrefix(dep, module) {
			continue // the standard library, or this module
		}
		ok := false
		for _, a := range allowed {
			ok = ok || strings.HasPrefix(dep, a)
		}
		if !ok {
			t.Errorf("%s links %s", pkg, dep)
		}
	}
}
