package testkit

import (
	"os"
	"testing"
)

// RunMainEnv, set to "1" in a test binary's environment, makes MainOrTests run main: a test
// starts the real command as a child process of its own test binary this way, without a build.
const RunMainEnv = "TESTKIT_RUN_MAIN"

// MainOrTests is a TestMain that runs main instead of the tests when RunMainEnv is "1". After
// the tests it runs cleanups: what the package's tests made once for all of them.
func MainOrTests(m *testing.M, main func(), cleanups ...func()) {
	if os.Getenv(RunMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	code := m.Run()
	for _, c := range cleanups {
		c()
	}
	os.Exit(code)
}
