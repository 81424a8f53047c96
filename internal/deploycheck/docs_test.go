package deploycheck

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/wechat"
)

// TestTheDocsMatchTheCode keeps the README (the first screen: the two commands, one deployment
// path) and the reference pages under docs/ in step with the code.
func TestTheDocsMatchTheCode(t *testing.T) {
	readme := string(readRoot(t, "README.md"))

	t.Run("the README shows the two commands before its reference list", func(t *testing.T) {
		reference := strings.Index(readme, "## Reference")
		if reference < 0 {
			t.Fatal("README.md has no ## Reference section")
		}
		for _, cmd := range []string{"make run ", "make test "} {
			if i := strings.Index(readme, "\n"+cmd); i < 0 || i > reference {
				t.Errorf("README.md does not show %q in its two commands, before its reference list", cmd)
			}
		}
	})

	t.Run("the README links every reference page", func(t *testing.T) {
		pages, err := filepath.Glob(rootPath(filepath.Join("docs", "*.md")))
		if err != nil || len(pages) == 0 {
			t.Fatalf("no docs/*.md pages: %v", err)
		}
		for _, p := range pages {
			if link := "(docs/" + filepath.Base(p) + ")"; !strings.Contains(readme, link) {
				t.Errorf("README.md does not link %s", link)
			}
		}
	})

	operations := string(readRoot(t, filepath.Join("docs", "operations.md")))
	t.Run("the troubleshooting table covers every WeChat error code", func(t *testing.T) {
		for _, code := range wechat.KnownErrcodes() {
			if row := fmt.Sprintf("| `%d` |", code); !strings.Contains(operations, row) {
				t.Errorf("docs/operations.md has no troubleshooting row starting %q", row)
			}
		}
	})

	triggers := string(readRoot(t, filepath.Join("docs", "triggers.md")))
	t.Run("every contract route is documented", func(t *testing.T) {
		for _, r := range contractRoutes {
			if !strings.Contains(triggers, r) {
				t.Errorf("docs/triggers.md does not mention %s", r)
			}
		}
	})
}

func TestManifestExampleIsAValidReconcileBody(t *testing.T) {
	req, err := share.Decode(readRoot(t, "manifest.example.json"), share.ActionReconcile)
	if err != nil {
		t.Fatalf("manifest.example.json: %v", err)
	}
	if len(req.Envs) == 0 {
		t.Error("manifest.example.json pairs no env with appids")
	}
}
