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
	setEnv(t, "AWS_", "AWS_ACCESS_KEY_ID", AWSAccessKeyID, "AWS_SECRET_ACCESS_KEY", AWSSecretAccessKey,
		"AWS_SESSION_TOKEN", AWSSessionToken, "AWS_REGION", AWSRegion)
}

// SetTencentEnv sets the test credentials and region, as SCF sets the execution role's, and
// clears every other TENCENTCLOUD_* variable for the rest of the test.
func SetTencentEnv(t testing.TB) {
	t.Helper()
	setEnv(t, "TENCENTCLOUD_", "TENCENTCLOUD_SECRETID", TencentSecretID, "TENCENTCLOUD_SECRETKEY", TencentSecretKey,
		"TENCENTCLOUD_SESSIONTOKEN", TencentSessionToken, "TENCENTCLOUD_REGION", TencentRegion)
}

// setEnv unsets every variable whose name starts with prefix, then sets the name-value pairs
// of vars; t.Setenv restores them all after the test.
func setEnv(t testing.TB, prefix string, vars ...string) {
	clearEnv(t, prefix)
	for i := 0; i < len(vars); i += 2 {
		t.Setenv(vars[i], vars[i+1])
	}
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
