package deploycheck

import (
	"os/exec"
	"strings"
	"testing"
)

// TestReleaseBinariesLinkOnlyTheirCloud is the zips' one budget besides their size
// (docs/development.md, "Libraries"): the AWS binary links nothing of Tencent Cloud (its SDK,
// scf-go-lib), the SCF binary nothing of AWS (aws-lambda-go, aws-sdk-go-v2, smithy-go), and each
// only its own ledger engine (AWS DynamoDB, SCF MySQL; SQLite is the local tools'). Each is listed
// as the Makefile's release targets build it.
func TestReleaseBinariesLinkOnlyTheirCloud(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool:", err)
	}
	for _, b := range []struct {
		pkg, tags string
		forbidden []string
	}{
		{"../../function/aws", "lambda.norpc,nethttpomithttp2", []string{"github.com/tencentcloud/", "github.com/tencentyun/",
			"modernc.org/sqlite", "github.com/go-sql-driver/mysql", "internal/ledger/sqliteledger", "internal/ledger/mysqlledger"}},
		{"../../function/scf", "nethttpomithttp2", []string{"github.com/aws/", "modernc.org/sqlite",
			"internal/ledger/sqliteledger", "internal/ledger/dynamoledger"}},
	} {
		cmd := exec.Command(goTool, "list", "-deps", "-tags", b.tags, b.pkg)
		cmd.Env = append(cmd.Environ(), "GOOS=linux", "CGO_ENABLED=0")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list %s: %v", b.pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range b.forbidden {
				if strings.HasPrefix(dep, f) || strings.HasPrefix(f, "internal/") && strings.HasSuffix(dep, f) {
					t.Errorf("%s (-tags %s) links %s", b.pkg, b.tags, dep)
				}
			}
		}
	}
}
