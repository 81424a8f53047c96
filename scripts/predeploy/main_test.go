package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// goodEnv is a .env that deploys the repository's serverless.yml.
const goodEnv = `TENCENT_SECRET_ID=AKIDexample
TENCENT_SECRET_KEY="a secret key"   # quoted
export SCF_REGION=ap-shanghai
SCF_VPC_ID=vpc-12345678        # the VPC of the database
SCF_SUBNET_ID=subnet-12345678
ENVSHARE_TOKEN_SECRET_ID=envshare-credentials
ENVSHARE_STATE_ID=envshare-state
ENVSHARE_HTTP_SECRET=a-random-http-secret-of-32-chars
`

// deployDir is a copy of the repository's serverless.yml with env as its .env, and a built
// package holding manifest when it is not "".
func deployDir(t *testing.T, env, manifest string) string {
	t.Helper()
	dir := t.TempDir()
	yml, err := os.ReadFile("../../serverless.yml")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"serverless.yml": string(yml), ".env": env}
	if manifest != "" {
		files["dist/scf/manifest.json"] = manifest
	}
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// isolate keeps the developer's variables out of the checks.
func isolate(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "ENVSHARE_") || strings.HasPrefix(name, "TENCENT") || strings.HasPrefix(name, "SCF_") {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
}

const manifest = `{"customers":[{"principal":"Acme Cloud Co., Ltd.","envs":["prod-6gni9ity244a6ea3"]}]}`

func TestTheSCFCheck(t *testing.T) {
	tests := []struct {
		name     string
		env      string
		manifest string
		exported []string
		want     []string // in the error; none: ready
	}{
		{"the repository's serverless.yml with a complete .env is ready", goodEnv, manifest, nil, nil},
		{"an exported variable wins over .env", strings.Replace(goodEnv, "SCF_REGION=ap-shanghai", "SCF_REGION=", 1), manifest,
			[]string{"SCF_REGION=ap-guangzhou"}, nil},
		{"no credentials", strings.Replace(goodEnv, "TENCENT_SECRET_ID=AKIDexample\n", "", 1), manifest, nil,
			[]string{"TENCENT_SECRET_ID is not set"}},
		{"no region", strings.Replace(goodEnv, "export SCF_REGION=ap-shanghai\n", "", 1), manifest, nil,
			[]string{"inputs.region: SCF_REGION is not set"}},
		{"no HTTP secret: the function's own message", strings.Replace(goodEnv, "ENVSHARE_HTTP_SECRET=a-random-http-secret-of-32-chars\n", "", 1), manifest, nil,
			[]string{"ENVSHARE_HTTP_SECRET: required when ENVSHARE_HTTP_AUTH is hmac"}},
		{"a bad manifest: its own message", goodEnv, `{"envs":[{"env":"Bad Env","appids":["wx0123456789abcdef"]}]}`, nil,
			[]string{`ENVSHARE_MANIFEST is not a valid manifest`, `envs[0].env: "Bad Env" is not an env id`}},
		{"no manifest to ship", goodEnv, "", nil,
			[]string{"ENVSHARE_MANIFEST (file manifest.json): cannot read", "cp manifest.example.json manifest.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			dir := deployDir(t, tt.env, tt.manifest)
			var out strings.Builder
			err := checkSCF(&out, filepath.Join(dir, "serverless.yml"), tt.exported)
			if len(tt.want) == 0 {
				if err != nil || !strings.Contains(out.String(), "ready to deploy") {
					t.Fatalf("%v\n%s", err, out.String())
				}
				return
			}
			if err == nil {
				t.Fatalf("no error: %s", out.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error lacks %q:\n%v", w, err)
				}
			}
			for _, secret := range []string{"a secret key", "a-random-http-secret-of-32-chars", "AKIDexample"} {
				if strings.Contains(err.Error()+out.String(), secret) {
					t.Errorf("a secret was printed")
				}
			}
		})
	}
	t.Run("a misspelt variable in serverless.yml is refused", func(t *testing.T) {
		isolate(t)
		dir := deployDir(t, goodEnv, manifest)
		yml := filepath.Join(dir, "serverless.yml")
		raw, _ := os.ReadFile(yml)
		os.WriteFile(yml, []byte(strings.Replace(string(raw), "ENVSHARE_RELINK_AFTER:", "ENVSHARE_RELINK_AFTR:", 1)), 0o600)
		if err := checkSCF(&strings.Builder{}, yml, nil); err == nil || !strings.Contains(err.Error(), "ENVSHARE_RELINK_AFTR is not a setting") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestTheManifestCheck(t *testing.T) {
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.json"), filepath.Join(dir, "bad.json")
	os.WriteFile(good, []byte(manifest), 0o600)
	os.WriteFile(bad, []byte(`{"envs":[],"dryrun":true}`), 0o600)
	var out strings.Builder
	if err := checkManifestFile(&out, good); err != nil || !strings.Contains(out.String(), "a valid manifest") {
		t.Errorf("good: %v %s", err, out.String())
	}
	if err := checkManifestFile(&out, filepath.Join(dir, "none.json")); err != nil {
		t.Errorf("a missing manifest is no error: %v", err)
	}
	if err := checkManifestFile(&out, bad); err == nil || !strings.Contains(err.Error(), "dryrun") {
		t.Errorf("bad: %v", err)
	}
}

// fakeTccli answers like tccli for an account where the role and policy exist or not.
type fakeTccli struct {
	roleExists bool
	policyID   string // "" when the policy does not exist
	calls      []string
	env        []string
}

func (f *fakeTccli) run(env []string, args ...string) (string, error) {
	f.calls, f.env = append(f.calls, strings.Join(args, " ")), env
	switch args[1] {
	case "GetRole":
		if !f.roleExists {
			return "", fmt.Errorf("ResourceNotFound.RoleNotExist")
		}
		return `{"RoleInfo":{}}`, nil
	case "ListPolicies":
		if f.policyID == "" {
			return "null", nil
		}
		return f.policyID, nil
	case "CreatePolicy":
		return "123", nil
	}
	return "{}", nil
}

func TestTheSCFRoleIsMadeFromTheSettings(t *testing.T) {
	isolate(t)
	dir := deployDir(t, goodEnv, manifest)
	t.Run("a new account: the role and its policy are created and attached", func(t *testing.T) {
		f := &fakeTccli{}
		var out strings.Builder
		if err := scfRole(&out, filepath.Join(dir, "serverless.yml"), nil, f.run); err != nil {
			t.Fatal(err)
		}
		actions := []string{}
		for _, c := range f.calls {
			actions = append(actions, strings.Fields(c)[1])
			if !strings.Contains(c, "--region ap-shanghai") {
				t.Errorf("%s: not in the region of .env", c)
			}
		}
		if got := strings.Join(actions, ","); got != "GetRole,CreateRole,ListPolicies,CreatePolicy,AttachRolePolicy" {
			t.Errorf("calls %s", got)
		}
		var policy struct {
			Statement []struct{ Action, Resource []string }
		}
		doc := between(t, f.calls[3], "--PolicyDocument ", " --Description")
		if err := json.Unmarshal([]byte(doc), &policy); err != nil {
			t.Fatalf("the policy %s: %v", doc, err)
		}
		want := []string{"qcs::ssm:ap-shanghai::secret/creatorUin/*/envshare-credentials", "qcs::ssm:ap-shanghai::secret/creatorUin/*/envshare-state",
			"qcs::scf:ap-shanghai::namespace/default/function/envshare"}
		for i, s := range policy.Statement {
			if len(s.Resource) != 1 || s.Resource[0] != want[i] {
				t.Errorf("statement %d: %v, want %s", i, s.Resource, want[i])
			}
		}
		if strings.Contains(doc, "OWNER_UIN") || strings.Contains(doc, "uin/") {
			t.Errorf("the policy names an account: %s", doc)
		}
		if !strings.Contains(strings.Join(f.env, "\n"), "TENCENTCLOUD_SECRET_ID=AKIDexample") {
			t.Error("tccli does not get the CLI's credentials")
		}
		if strings.Contains(out.String(), "a secret key") {
			t.Error("a secret was printed")
		}
	})
	t.Run("again: the policy is updated, nothing created", func(t *testing.T) {
		f := &fakeTccli{roleExists: true, policyID: "77"}
		if err := scfRole(&strings.Builder{}, filepath.Join(dir, "serverless.yml"), nil, f.run); err != nil {
			t.Fatal(err)
		}
		if len(f.calls) != 3 || !strings.HasPrefix(f.calls[2], "cam UpdatePolicy --region ap-shanghai --PolicyId 77 ") {
			t.Errorf("calls %q", f.calls)
		}
	})
}

func between(t *testing.T, s, from, to string) string {
	t.Helper()
	_, rest, ok := strings.Cut(s, from)
	before, _, ok2 := strings.Cut(rest, to)
	if !ok || !ok2 {
		t.Fatalf("%q has no %q ... %q", s, from, to)
	}
	return before
}
