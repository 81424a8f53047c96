package storetest

import (
	"os"
	"strings"
	"testing"
)

// Test credentials and regions: the fakes accept requests signed with these alone.
const (
	AWSAccessKeyID     = "AKIDENVSHARETEST"
	AWSSecretAccessKey = "aws-secret-key-for-tests"
	AWSSessionToken    = "aws-session-token-for-tests"
	AWSRegion          = "us-east-1"
	AWSAccountID       = "123456789012"

	TencentSecretID     = "AKIDtencentfortests"
	TencentSecretKey    = "tencent-secret-key-for-tests"
	TencentSessionToken = "tencent-session-token-for-tests"
	TencentRegion       = "ap-shanghai"
)

// SetAWSEnv sets the test credentials and region, as Lambda sets the execution role's, and
// clears every other AWS_* variable (endpoints, profiles, ...) for the rest of the test.
func SetAWSEnv(t testing.TB) {
	t.Helper()
	clearEnv(t, "AWS_")
	t.Setenv("AWS_ACCESS_KEY_ID", AWSAccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", AWSSecretAccessKey)
	t.Setenv("AWS_SESSION_TOKEN", AWSSessionToken)
	t.Setenv("AWS_REGION", AWSRegion)
}

// SetTencentEnv sets the test credentials and region, as SCF sets the execution role's, and
// clears every other TENCENTCLOUD_* variable for the rest of the test.
func SetTencentEnv(t testing.TB) {
	t.Helper()
	clearEnv(t, "TENCENTCLOUD_")
	t.Setenv("TENCENTCLOUD_SECRETID", TencentSecretID)
	t.Setenv("TENCENTCLOUD_SECRETKEY", TencentSecretKey)
	t.Setenv("TENCENTCLOUD_SESSIONTOKEN", TencentSessionToken)
	t.Setenv("TENCENTCLOUD_REGION", TencentRegion)
}

// clearEnv unsets every variable whose name starts with prefix; t.Setenv restores them after
// the test.
func clearEnv(t testing.TB, prefix string) {
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, prefix) {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
}
