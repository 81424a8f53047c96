package deploycheck

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/envshare/envshare/internal/config"
)

// repoRoot is the repository root, seen from this package's directory (where go test runs).
const repoRoot = "../.."

// rootPath is a file at the repository root.
func rootPath(name string) string { return filepath.Join(repoRoot, name) }

// readRoot returns a file at the repository root.
func readRoot(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(rootPath(name))
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return b
}

// loadYAML parses a YAML file at the repository root into JSON values (map[string]any, []any,
// string, float64, bool). CloudFormation short-form tags (!Ref X, !GetAtt A.B, !If [...]) arrive
// as their plain values: "X", "A.B", [...].
func loadYAML(t *testing.T, name string) map[string]any {
	t.Helper()
	js, err := yaml.YAMLToJSON(readRoot(t, name))
	if err != nil {
		t.Fatalf("%s is not valid YAML: %v", name, err)
	}
	var doc map[string]any
	if err := json.Unmarshal(js, &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return doc
}

// at walks a path of object keys and array indexes; nil when any step is missing.
func at(v any, path ...any) any {
	for _, p := range path {
		switch step := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[step]
		case int:
			a, ok := v.([]any)
			if !ok || step < 0 || step >= len(a) {
				return nil
			}
			v = a[step]
		}
	}
	return v
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asSlice(v any) []any {
	a, _ := v.([]any)
	return a
}

// scalar formats a YAML scalar the way an environment variable would carry it.
func scalar(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	default:
		return fmt.Sprint(x)
	}
}

// configDefaults maps every variable config.Config reads to its default ("" when none).
func configDefaults(t *testing.T) map[string]string {
	t.Helper()
	defaults := map[string]string{}
	typ := reflect.TypeFor[config.Config]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		if name := f.Tag.Get("envconfig"); name != "" {
			defaults[name] = f.Tag.Get("default")
		}
	}
	for _, v := range config.Variables() {
		if _, ok := defaults[v]; !ok {
			t.Fatalf("config.Variables() lists %s, which no Config field tags", v)
		}
	}
	if len(defaults) == 0 {
		t.Fatal("config.Config has no envconfig fields")
	}
	return defaults
}

// useEnv makes env the only ENVSHARE_* variables of the process for the rest of the test.
func useEnv(t *testing.T, env map[string]string) {
	t.Helper()
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, config.Prefix+"_") {
			t.Setenv(name, "") // restores the old value after the test
			os.Unsetenv(name)
		}
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
}

// makeDryRun prints the commands `make -n targets...` would run at the repository root.
func makeDryRun(t *testing.T, args ...string) string {
	t.Helper()
	makeBin, err := exec.LookPath("make")
	if err != nil {
		t.Skip("make is not installed: the Makefile's commands are not checked")
	}
	cmd := exec.Command(makeBin, append([]string{"-n", "--no-print-directory", "-C", repoRoot}, args...)...)
	// Not the outer make's flags or jobserver when `make test` runs this test.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MAKEFLAGS=") && !strings.HasPrefix(kv, "MFLAGS=") && !strings.HasPrefix(kv, "MAKELEVEL=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// absRoot is the repository root as make's $(CURDIR) prints it.
func absRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(repoRoot)
	if err == nil {
		dir, err = filepath.EvalSymlinks(dir) // getcwd's answer, as make sees it
	}
	if err != nil {
		t.Fatal(err)
	}
	return dir
}
