package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/envshare/envshare/pkg/share"
)

func TestLoadManifest(t *testing.T) {
	const a0 = "wx0000000000000000"
	manifest := `{"envs":[{"env":"e","appids":["` + a0 + `"]}],"prune":true}`
	want, err := share.Decode([]byte(`{"envs":[{"env":"e","appids":["`+a0+`"]}],"prune":true}`), share.ActionReconcile)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("inline JSON is read as the manifest", func(t *testing.T) {
		got, err := LoadManifest("  \n" + manifest)
		if err != nil || !reflect.DeepEqual(got, &want) {
			t.Fatalf("got %+v, %v", got, err)
		}
	})
	t.Run("an absolute path is read as a file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "manifest.json")
		writeFile(t, path, manifest)
		got, err := LoadManifest(path)
		if err != nil || !reflect.DeepEqual(got, &want) {
			t.Fatalf("got %+v, %v", got, err)
		}
	})
	t.Run("a relative path is taken from the working directory", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "conf", "manifest.json"), manifest)
		t.Chdir(dir)
		got, err := LoadManifest("conf/manifest.json")
		if err != nil || !reflect.DeepEqual(got, &want) {
			t.Fatalf("got %+v, %v", got, err)
		}
	})
	t.Run("customers alone are a manifest", func(t *testing.T) {
		got, err := LoadManifest(`{"customers":[{"principal":"深圳市示例科技有限公司","envs":["cust-a"]}],"backfill":true}`)
		if err != nil || got.Customers[0].Envs[0] != "cust-a" || !*got.Backfill {
			t.Fatalf("got %+v, %v", got, err)
		}
	})
	t.Run("an empty value means no manifest", func(t *testing.T) {
		if got, err := LoadManifest(" "); got != nil || err != nil {
			t.Fatalf("got %+v, %v", got, err)
		}
	})
	errorCases := []struct {
		name  string
		value string
		want  string
	}{
		{"bad inline JSON names the variable", `{"envs":[`, "ENVSHARE_MANIFEST: body: invalid JSON"},
		{"a manifest without envs or customers names them", `{"prune":true}`, "ENVSHARE_MANIFEST: envs or customers: required"},
		{"a customers conflict names both places", `{"customers":[{"principal":"A","envs":["e"]},{"principal":"B","envs":["e"]}]}`,
			`ENVSHARE_MANIFEST: customers[1].envs[0]: "e" is also customers[0].envs[0]`},
		{"a bad appid names its path", `{"envs":[{"env":"e","appids":["x"]}]}`, `ENVSHARE_MANIFEST: envs[0].appids[0]: "x" is not an appid`},
		{"an unknown field is refused", `{"envs":[{"env":"e","appids":["` + a0 + `"]}],"dryrun":true}`, "ENVSHARE_MANIFEST: dryrun: unknown field"},
		{"a missing file names the variable and the file", "no/such/manifest.json", "ENVSHARE_MANIFEST (file no/such/manifest.json): cannot read: no such file or directory"},
	}
	for _, tt := range errorCases {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadManifest(tt.value)
			var e *share.Error
			if !errors.As(err, &e) || e.Code != share.CodeInvalidRequest || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want it to contain %q", err, tt.want)
			}
		})
	}
	t.Run("bad JSON in a file names the variable and the file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "m.json")
		writeFile(t, path, `{"envs": oops}`)
		_, err := LoadManifest(path)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("ENVSHARE_MANIFEST (file %s): body: invalid JSON at byte 10", path)) {
			t.Fatalf("err %v", err)
		}
	})
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
