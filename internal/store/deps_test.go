package store_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLinks keeps each binary free of the other cloud's SDK: awsstore links no Tencent code and
// nothing of the AWS SDK but the SigV4 signer (no shared config, SSO, STS or IMDS chain),
// tencentstore links no AWS code and only the Tencent SDK's common client, store links only the
// standard library, and none links the fakes.
func TestLinks(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool:", err)
	}
	for _, tc := range []struct {
		pkg       string
		forbidden []string
		allowed   []string // the only non-standard packages from outside the module
	}{
		{"./awsstore", []string{"tencentcloud", "aws-sdk-go-v2", "storetest"}, []string{"github.com/aws/smithy-go/aws-http-auth/"}},
		{"./tencentstore", []string{"github.com/aws/", "tencentcloud/ssm", "storetest"}, []string{"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"}},
		{".", []string{"storetest"}, nil},
	} {
		out, err := exec.Command(goTool, "list", "-deps", tc.pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", tc.pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range tc.forbidden {
				if strings.Contains(dep, f) {
					t.Errorf("%s links %s", tc.pkg, dep)
				}
			}
			first, _, _ := strings.Cut(dep, "/")
			if !strings.Contains(first, ".") || strings.HasPrefix(dep, "github.com/envshare/envshare/") {
				continue // the standard library, or this module
			}
			ok := false
			for _, a := range tc.allowed {
				ok = ok || strings.HasPrefix(dep, a)
			}
			if !ok {
				t.Errorf("%s links %s", tc.pkg, dep)
			}
		}
	}
}
