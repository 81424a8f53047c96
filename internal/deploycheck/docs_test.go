package deploycheck

import (
	"fmt"
	"strings"
	"testing"

	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/wechat"
)

func TestREADMEMatchesTheCode(t *testing.T) {
	readme := string(readRoot(t, "README.md"))

	t.Run("the two commands come first", func(t *testing.T) {
		config := strings.Index(readme, "## Configuration")
		if config < 0 {
			t.Fatal("README.md has no ## Configuration section")
		}
		for _, cmd := range []string{"make run", "make test"} {
			if i := strings.Index(readme, cmd); i < 0 || i > config {
				t.Errorf("README.md does not show %q before its configuration", cmd)
			}
		}
	})

	t.Run("the troubleshooting table covers every WeChat error code", func(t *testing.T) {
		for _, code := range wechat.KnownErrcodes() {
			if row := fmt.Sprintf("| `%d` |", code); !strings.Contains(readme, row) {
				t.Errorf("README.md has no troubleshooting row starting %q", row)
			}
		}
	})

	t.Run("every contract route is documented", func(t *testing.T) {
		for _, r := range contractRoutes {
			if !strings.Contains(readme, r) {
				t.Errorf("README.md does not mention %s", r)
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
