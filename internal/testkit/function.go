package testkit

import (
	"os"
	"testing"
)

// RunMainEnv, set to "1" in a test binary's environment, makes MainOrTests run main: a test
// starts the real command as a child process of its own test binary this way, without a build.
const RunMainEnv = "TESTKIT_RUN_MAIN"

// MainOrTests is a TestMain that runs main instead of the tests when RunMainEnv is "1".
func MainOrTests(m *testing.M, main func()) {
	if os.Getenv(RunMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}
