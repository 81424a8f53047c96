// Command predeploy checks, before anything is packaged or deployed, what would otherwise fail
// only in the cloud, with the function's own messages (it loads the configuration and the
// manifest with internal/config, as the function does at cold start):
//
//	go run ./scripts/predeploy manifest [FILE]      FILE (default manifest.json), when it exists
//	go run ./scripts/predeploy scf [serverless.yml] the Tencent SCF deployment
//
// The scf check reads serverless.yml and, as the Serverless CLI does, the .env file beside it
// (exported variables win). It requires the CLI's credentials (TENCENT_SECRET_ID and
// TENCENT_SECRET_KEY) and every ${env:NAME} outside the function's variables (the region, the
// VPC); resolves the function's variables (an unset ${env:NAME} leaves the variable out, as the
// CLI does), refuses an ENVSHARE_* name that is no setting, loads them with config.Load, checks
// that the token mode and the ledger are ones the SCF binary links, and loads the manifest from
// the package directory (src), where the function finds it. It prints what is wrong, never a
// value, and exits 1.
//
// The Makefile runs `manifest` before every build and deploy, and `scf` before deploy-scf.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/envshare/envshare/internal/config"
	"github.com/envshare/envshare/internal/ledger"
)

func main() {
	if err := run(os.Stdout, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "predeploy:", err)
		os.Exit(1)
	}
}

func run(out io.Writer, args []string) error {
	if len(args) == 0 || len(args) > 2 {
		return errors.New("usage: predeploy manifest [FILE] | predeploy scf [serverless.yml] | predeploy scf-role [serverless.yml]")
	}
	arg := func(def string) string {
		if len(args) == 2 {
			return args[1]
		}
		return def
	}
	switch args[0] {
	case "manifest":
		return checkManifestFile(out, arg("manifest.json"))
	case "scf":
		return checkSCF(out, arg("serverless.yml"), os.Environ())
	case "scf-role":
		return scfRole(out, arg("serverless.yml"), os.Environ(), runTccli)
	default:
		return fmt.Errorf("unknown check %q: use manifest or scf", args[0])
	}
}

// checkManifestFile loads a manifest file as ENVSHARE_MANIFEST=FILE would; a missing file is
// no error (the build ships none).
func checkManifestFile(out io.Writer, file string) error {
	if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(out, "%s: none (the build ships no manifest)\n", file)
		return nil
	}
	m, err := config.LoadManifest(file) // customers allowed: both deployments have a ledger
	if err != nil {
		return errors.New(config.Explain(err, "  "))
	}
	fmt.Fprintf(out, "%s: a valid manifest (%d envs entries, %d customers)\n", file, len(m.Data), len(m.Customers))
	return nil
}

// The SCF binary's token modes and ledger engine (function/scf/cloud.go).
var (
	scfTokenModes = []string{"env", "file", "tencent-ssm"}
	scfLedger     = ledger.SchemeMySQL
)

// credentialVariables are what the Serverless CLI signs its calls with.
var credentialVariables = []string{"TENCENT_SECRET_ID", "TENCENT_SECRET_KEY"}

var envReference = regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}`)

// checkSCF checks the SCF deployment of file (serverless.yml), with environ and the .env file
// beside it. Every problem is listed.
func checkSCF(out io.Writer, file string, environ []string) error {
	doc, env, err := readSCF(file, environ)
	if err != nil {
		return err
	}
	dir := filepath.Dir(file)
	var problems []string
	for _, name := range credentialVariables {
		if env[name] == "" {
			problems = append(problems, name+" is not set: the Serverless CLI deploys with TENCENT_SECRET_ID and "+
				"TENCENT_SECRET_KEY (an API key of the account, in .env beside serverless.yml or exported)")
		}
	}
	vars, _ := at(doc.Inputs, "environment", "variables").(map[string]any)
	problems = append(problems, unresolved(doc.Inputs, env, "environment")...)
	function := map[string]string{}
	for name, v := range vars {
		s, _ := v.(string)
		if value := expand(s, env); value != "" {
			function[name] = value
		}
	}
	for _, name := range config.Unknown(environOf(function)) {
		problems = append(problems, fmt.Sprintf("%s: inputs.environment.variables.%s is not a setting of envshare (a typo?)", file, name))
	}
	src, _ := doc.Inputs["src"].(string)
	cfg, err := loadIn(filepath.Join(dir, src), dir, function)
	switch {
	case err != nil:
		problems = append(problems, "the function's variables: "+config.Explain(err, "  "))
	default:
		if !slices.Contains(scfTokenModes, cfg.TokenMode) {
			problems = append(problems, fmt.Sprintf("ENVSHARE_TOKEN_MODE=%s is not available in the Tencent SCF binary: use %s",
				cfg.TokenMode, strings.Join(scfTokenModes, ", ")))
		}
		if spec, _ := ledger.ParseSpec(cfg.Ledger); cfg.Ledger != "" && spec.Scheme != scfLedger { // Load checked its form
			problems = append(problems, fmt.Sprintf("%s=%s: the Tencent SCF binary links the %s ledger only", ledger.Variable, spec.Scheme, scfLedger))
		}
		if cfg.manifestErr != nil {
			problems = append(problems, "the manifest the function would load, from "+src+": "+config.Explain(cfg.manifestErr, "  ")+
				"\n  (make build-scf ships manifest.json from the repository root: cp manifest.example.json manifest.json and edit it)")
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s is not ready to deploy:\n- %s", file, strings.Join(problems, "\n- "))
	}
	region, _ := doc.Inputs["region"].(string)
	fmt.Fprintf(out, "%s: ready to deploy (credentials, region %s, %d variables checked as the function loads them)\n",
		file, expand(region, env), len(function))
	return nil
}

// expand replaces each ${env:NAME} of s with NAME's value ("" when unset), as the CLI does.
func expand(s string, env map[string]string) string {
	return envReference.ReplaceAllStringFunc(s, func(m string) string { return env[envReference.FindStringSubmatch(m)[1]] })
}

// scfDoc is serverless.yml.
type scfDoc struct {
	Inputs map[string]any `json:"inputs"`
}

// readSCF reads serverless.yml, and the variables the CLI resolves ${env:NAME} with: the .env
// file beside it, the exported ones winning.
func readSCF(file string, environ []string) (scfDoc, map[string]string, error) {
	var doc scfDoc
	raw, err := os.ReadFile(file)
	if err != nil {
		return doc, nil, err
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return doc, nil, fmt.Errorf("%s: %w", file, err)
	}
	env, err := dotEnv(filepath.Join(filepath.Dir(file), ".env"))
	if err != nil {
		return doc, nil, err
	}
	for _, kv := range environ {
		if name, value, ok := strings.Cut(kv, "="); ok {
			env[name] = value
		}
	}
	return doc, env, nil
}

// unresolved lists the ${env:NAME} references outside the key skip of inputs whose variable is
// unset: the CLI would pass an empty region or VPC.
func unresolved(inputs map[string]any, env map[string]string, skip string) []string {
	var problems []string
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(x)) {
				if path == "inputs" && k == skip {
					continue
				}
				walk(path+"."+k, x[k])
			}
		case []any:
			for i, e := range x {
				walk(fmt.Sprintf("%s[%d]", path, i), e)
			}
		case string:
			for _, m := range envReference.FindAllStringSubmatch(x, -1) {
				if env[m[1]] == "" {
					problems = append(problems, fmt.Sprintf("%s: %s is not set (in .env beside serverless.yml, or exported)", path, m[1]))
				}
			}
		}
	}
	walk("inputs", inputs)
	return problems
}

// loaded is the configuration and what became of its manifest.
type loaded struct {
	config.Config
	manifestErr error
}

// loadIn loads the function's variables as the function does, in the package directory dir
// (ENVSHARE_MANIFEST's relative paths are taken from there; from root, whence the build ships
// it, before the build), in a process environment holding only them of the ENVSHARE_*
// variables.
func loadIn(dir, root string, function map[string]string) (loaded, error) {
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, config.Prefix+"_") {
			os.Unsetenv(name)
		}
	}
	for name, value := range function {
		os.Setenv(name, value)
	}
	cfg, err := config.Load()
	if err != nil {
		return loaded{}, err
	}
	wd, err := os.Getwd()
	if err != nil {
		return loaded{}, err
	}
	if m := strings.TrimSpace(cfg.Manifest); m != "" && m[0] != '{' && !filepath.IsAbs(m) {
		if _, err := os.Stat(filepath.Join(dir, m)); err != nil {
			dir = root // not built yet: the file the build ships from the repository root
		}
	}
	if err := os.Chdir(dir); err != nil {
		return loaded{}, err
	}
	defer os.Chdir(wd)
	_, merr := cfg.ConfiguredManifest()
	return loaded{Config: cfg, manifestErr: merr}, nil
}

// environOf writes variables as os.Environ does.
func environOf(vars map[string]string) []string {
	var env []string
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	return env
}

// dotEnv reads a .env file as the Serverless CLI (dotenv) does: NAME=value lines, an optional
// "export ", quotes around a value removed, a # after white space starting a comment in an
// unquoted value. A missing file is empty.
func dotEnv(path string) (map[string]string, error) {
	env := map[string]string{}
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return env, nil
	}
	if err != nil {
		return nil, err
	}
	for line := range strings.Lines(string(raw)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && strings.IndexByte(value[1:], value[0]) > 0 {
			value = value[1 : 1+strings.IndexByte(value[1:], value[0])]
		} else if i := strings.IndexFunc(value, func(r rune) bool { return r == '#' }); i > 0 && (value[i-1] == ' ' || value[i-1] == '\t') {
			value = strings.TrimSpace(value[:i])
		}
		env[strings.TrimSpace(name)] = value
	}
	return env, nil
}

// at walks object keys; nil when a step is missing.
func at(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// The SCF role (serverless.yml's role): what SCF assumes to run the function, and what the
// function may do with its temporary credentials.

// scfTrust lets SCF assume the role (the role's carrier, 载体).
const scfTrust = `{"version":"2.0","statement":[{"action":"name/sts:AssumeRole","effect":"allow","principal":{"service":["scf.qcloud.com"]}}]}`

// scfPolicy is the role's least-privilege policy: read the credentials secret (and find its
// newest version), read and update the state secret, invoke the function itself (an onboarding
// that cannot finish in time retries as an asynchronous invocation). The account field of each
// resource is left empty: CAM takes the root account of whoever creates the policy, so no UIN
// is written anywhere; the secret's creator may be any user of the account.
func scfPolicy(region, credentials, state, namespace, function string) string {
	type statement struct {
		Effect   string   `json:"effect"`
		Action   []string `json:"action"`
		Resource []string `json:"resource"`
	}
	secret := func(name string) string { return fmt.Sprintf("qcs::ssm:%s::secret/creatorUin/*/%s", region, name) }
	statements := []statement{{"allow", []string{"ssm:GetSecretValue", "ssm:ListSecretVersionIds"}, []string{secret(credentials)}}}
	if state != "" {
		statements = append(statements, statement{"allow", []string{"ssm:GetSecretValue", "ssm:UpdateSecret"}, []string{secret(state)}})
	}
	statements = append(statements, statement{"allow", []string{"scf:InvokeFunction"},
		[]string{fmt.Sprintf("qcs::scf:%s::namespace/%s/function/%s", region, namespace, function)}})
	b, _ := json.Marshal(map[string]any{"version": "2.0", "statement": statements})
	return string(b)
}

// tccli runs Tencent Cloud's CLI with args and returns its standard output.
type tccli func(env []string, args ...string) (string, error)

func runTccli(env []string, args ...string) (string, error) {
	cmd := exec.Command("tccli", args...)
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if errors.Is(err, exec.ErrNotFound) {
		return "", errors.New("tccli is not installed: pip install tccli (Tencent Cloud's CLI)")
	}
	if err != nil {
		return "", fmt.Errorf("tccli %s: %w: %s", args[1], err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(stdout)), nil
}

// scfRole creates serverless.yml's role when it does not exist, and creates or updates its
// policy (named like the role) from the deployment's settings: the region, the function and the
// secrets' names, as .env gives them. tccli signs with the CLI's TENCENT_SECRET_ID and
// TENCENT_SECRET_KEY unless its own TENCENTCLOUD_* variables are set.
func scfRole(out io.Writer, file string, environ []string, run tccli) error {
	doc, env, err := readSCF(file, environ)
	if err != nil {
		return err
	}
	str := func(v any) string { s, _ := v.(string); return expand(s, env) }
	vars, _ := at(doc.Inputs, "environment", "variables").(map[string]any)
	role, region, function, namespace := str(doc.Inputs["role"]), str(doc.Inputs["region"]), str(doc.Inputs["name"]), str(doc.Inputs["namespace"])
	credentials, state := str(vars["ENVSHARE_TOKEN_SECRET_ID"]), str(vars["ENVSHARE_STATE_ID"])
	if namespace == "" {
		namespace = "default"
	}
	var missing []string
	for what, v := range map[string]string{"inputs.role": role, "inputs.region": region, "inputs.name": function,
		"ENVSHARE_TOKEN_SECRET_ID": credentials} {
		if v == "" {
			missing = append(missing, what)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("%s: %s not set (serverless.yml, and .env for its ${env:NAME})", file, strings.Join(missing, ", "))
	}
	tcEnv := append([]string(nil), environ...)
	for tc, cli := range map[string]string{"TENCENTCLOUD_SECRET_ID": "TENCENT_SECRET_ID", "TENCENTCLOUD_SECRET_KEY": "TENCENT_SECRET_KEY",
		"TENCENTCLOUD_SESSION_TOKEN": "TENCENT_TOKEN"} {
		if env[tc] == "" && env[cli] != "" {
			tcEnv = append(tcEnv, tc+"="+env[cli])
		}
	}
	cam := func(action string, args ...string) (string, error) {
		fmt.Fprintf(out, "tccli cam %s %s\n", action, strings.Join(args, " "))
		return run(tcEnv, append([]string{"cam", action, "--region", region}, args...)...)
	}
	policy := scfPolicy(region, credentials, state, namespace, function)
	created := false
	if _, err := cam("GetRole", "--RoleName", role); err != nil {
		if _, err := cam("CreateRole", "--RoleName", role, "--PolicyDocument", scfTrust,
			"--Description", "envshare: the SCF function's execution role"); err != nil {
			return err
		}
		created = true
	}
	id, err := cam("ListPolicies", "--Scope", "Local", "--Keyword", role, "--filter", "List[?PolicyName=='"+role+"'].PolicyId | [0]")
	if err != nil {
		return err
	}
	if id == "" || id == "null" {
		if id, err = cam("CreatePolicy", "--PolicyName", role, "--PolicyDocument", policy,
			"--Description", "envshare: read the credentials, read and write the state record, invoke itself", "--filter", "PolicyId"); err != nil {
			return err
		}
		created = true
	} else if _, err := cam("UpdatePolicy", "--PolicyId", id, "--PolicyDocument", policy); err != nil {
		return err
	}
	if created {
		if _, err := cam("AttachRolePolicy", "--AttachRoleName", role, "--PolicyId", id); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "role %s: policy %s (%s) allows %s\n", role, role, id, policy)
	return nil
}
