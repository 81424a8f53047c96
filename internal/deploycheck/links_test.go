package deploycheck

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestReleaseBinariesLinkNoReflectiveMethodLookup keeps the zips small: a binary that links a
// package finding methods by name (net/rpc, html/template, text/template's execution) keeps
// every exported method of every type, 530 to 600 KB of zip. The SCF binary serves the
// runtime's protocol without net/rpc (function/scf/runtime.go), the AWS one is built with
// lambda.norpc, and pages and XML are read and written without html/template or encoding/xml.
func TestReleaseBinariesLinkNoReflectiveMethodLookup(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool:", err)
	}
	for _, b := range []struct{ pkg, tags string }{
		{"../../function/aws", "lambda.norpc,nethttpomithttp2"},
		{"../../function/scf", "nethttpomithttp2"},
	} {
		cmd := exec.Command(goTool, "list", "-deps", "-tags", b.tags, b.pkg)
		cmd.Env = append(cmd.Environ(), "GOOS=linux", "CGO_ENABLED=0")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list %s: %v", b.pkg, err)
		}
		deps := strings.Fields(string(out))
		for _, pkg := range []string{"net/rpc", "html/template", "encoding/xml"} {
			if slices.Contains(deps, pkg) {
				t.Errorf("%s (-tags %s) links %s", b.pkg, b.tags, pkg)
			}
		}
	}
}
