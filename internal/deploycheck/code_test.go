package deploycheck

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/envshare/envshare/internal/config"
)

// contractRoutes are the HTTP routes of docs/triggers.md's "HTTP routes".
var contractRoutes = []string{"POST /share", "POST /unshare", "POST /bindings", "GET /bindings", "POST /reconcile", "GET /healthz",
	"POST /refresh", "POST /wechat/events", "GET /confirm/{token}", "POST /status_link", "GET /status/{token}"}

// Names the templates and the Makefile must agree on.
const (
	samFunctionID = "EnvshareFunction" // the SAM logical id; `sam build` runs make build-EnvshareFunction
	awsBinary     = "bootstrap"        // provided.al2023 runs the file called bootstrap
	scfBinary     = "main"             // SCF Go1 runs the file named by the handler
)

// deliberateDefaults are template values that differ from the config's defaults on purpose.
var deliberateDefaults = map[string]map[string]string{
	"template.yaml": {
		"ENVSHARE_TOKEN_MODE": "aws-secretsmanager", // a token in a variable expires within 2 hours
		"ENVSHARE_HTTP_AUTH":  "hmac",               // a deployed API is authenticated by default
	},
	"serverless.yml": {
		"ENVSHARE_TOKEN_MODE": "tencent-ssm",   // as above, on Tencent Cloud
		"ENVSHARE_HTTP_AUTH":  "hmac",          // as above
		"ENVSHARE_MANIFEST":   "manifest.json", // the file `make build-scf` ships
		"ENVSHARE_LEDGER":     "mysql",         // the fleet ledger in TencentDB, its DSN in the credentials secret
	},
}

// secretVariables must never be written into a template: NoEcho parameters on AWS, ${env:...}
// on SCF. secretNames adds every variable whose value config.Config.Secrets lists.
var secretVariables = []string{"ENVSHARE_COMPONENT_ACCESS_TOKEN", "ENVSHARE_HTTP_SECRET", "ENVSHARE_HTTP_SECRET_PREVIOUS", "ENVSHARE_NOTIFY_SECRET",
	"ENVSHARE_COMPONENT_TOKEN", "ENVSHARE_COMPONENT_AES_KEY", "ENVSHARE_COMPONENT_AES_KEY_PREVIOUS",
	"ENVSHARE_PAGE_SECRET", "ENVSHARE_PAGE_SECRET_PREVIOUS"}

// derivedVariables are the AWS variables that template.yaml sets from its own resources or
// conditions, not from a parameter of their own (checked by TestAWSDerivedVariables).
var derivedVariables = []string{"ENVSHARE_RETRY_QUEUE_URL", "ENVSHARE_PUBLIC_URL", "ENVSHARE_STATE_KMS_KEY_ID", "ENVSHARE_LEDGER"}

// secretNames lists secretVariables and every other variable whose value the config reports
// among its Secrets, so that a secret the code adds is held to the same rules.
func secretNames() []string {
	names := slices.Clone(secretVariables)
	for _, name := range config.SecretVariables() {
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names
}

// templates loads both deployment templates and the SAM function's properties.
func templates(t *testing.T) (sam, fn, scf map[string]any) {
	t.Helper()
	sam = loadYAML(t, "template.yaml")
	res := asMap(at(sam, "Resources", samFunctionID))
	if at(res, "Type") != "AWS::Serverless::Function" {
		t.Fatalf("template.yaml has no AWS::Serverless::Function %s", samFunctionID)
	}
	return sam, res, asMap(at(loadYAML(t, "serverless.yml"), "inputs"))
}

// samEvents returns the function's events of one type, by name.
func samEvents(fn map[string]any, typ string) map[string]map[string]any {
	found := map[string]map[string]any{}
	for name, ev := range asMap(at(fn, "Properties", "Events")) {
		if at(ev, "Type") == typ {
			found[name] = asMap(at(ev, "Properties"))
		}
	}
	return found
}

// scfEvents returns the parameters of every SCF trigger of one type.
func scfEvents(scf map[string]any, typ string) []map[string]any {
	var found []map[string]any
	for _, ev := range asSlice(scf["events"]) {
		if p := asMap(at(ev, typ, "parameters")); p != nil {
			found = append(found, p)
		}
	}
	return found
}

// buildLine finds the command of `make -n` output that writes output.
func buildLine(t *testing.T, makeOut, output string) string {
	t.Helper()
	for _, line := range strings.Split(makeOut, "\n") {
		if strings.Contains(line, " build ") && strings.Contains(line, " -o "+output+" ") {
			return line
		}
	}
	t.Fatalf("make builds no %s; it would run:\n%s", output, makeOut)
	return ""
}

func wantAll(t *testing.T, line string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(line, p) {
			t.Errorf("%q lacks %q", line, p)
		}
	}
}

func TestTemplatesMatchTheCode(t *testing.T) {
	sam, fn, scf := templates(t)
	props := asMap(fn["Properties"])
	secrets := secretNames()

	t.Run("the AWS function runs the arm64 bootstrap that sam build makes with the Makefile", func(t *testing.T) {
		for key, want := range map[string]any{"Handler": awsBinary, "Runtime": "provided.al2023", "CodeUri": "."} {
			if got := props[key]; got != want {
				t.Errorf("%s.%s = %v, want %v", samFunctionID, key, got, want)
			}
		}
		if got := asSlice(props["Architectures"]); len(got) != 1 || got[0] != "arm64" {
			t.Errorf("Architectures = %v, want [arm64]", got)
		}
		if got := at(fn, "Metadata", "BuildMethod"); got != "makefile" {
			t.Errorf("Metadata.BuildMethod = %v, want makefile", got)
		}
		out := makeDryRun(t, "build-"+samFunctionID, "ARTIFACTS_DIR=/artifacts")
		wantAll(t, buildLine(t, out, "/artifacts/"+awsBinary),
			"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0", "-tags lambda.norpc", "-trimpath", `-ldflags "-s -w"`, "./function/aws")
	})

	t.Run("make build-aws zips the bootstrap for arm64 and amd64", func(t *testing.T) {
		root := absRoot(t)
		out := makeDryRun(t, "build-aws")
		for _, arch := range []string{"arm64", "amd64"} {
			dir := filepath.Join(root, "dist", "aws-"+arch)
			wantAll(t, buildLine(t, out, filepath.Join(dir, awsBinary)),
				"GOOS=linux", "GOARCH="+arch, "CGO_ENABLED=0", "-tags lambda.norpc", "-trimpath", `-ldflags "-s -w"`, "./function/aws")
			wantAll(t, out, filepath.Join(root, "dist", "envshare-aws-"+arch+".zip"), "cp manifest.json "+dir)
		}
	})

	t.Run("the SCF function runs the main that make build-scf writes into its src", func(t *testing.T) {
		for key, want := range map[string]any{"runtime": "Go1", "handler": scfBinary} {
			if got := scf[key]; got != want {
				t.Errorf("serverless.yml inputs.%s = %v, want %v", key, got, want)
			}
		}
		src, _ := scf["src"].(string)
		root := absRoot(t)
		dir := filepath.Join(root, src)
		out := makeDryRun(t, "build-scf")
		wantAll(t, buildLine(t, out, filepath.Join(dir, scfBinary)),
			"GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0", "-trimpath", `-ldflags "-s -w"`, "./function/scf")
		wantAll(t, out, filepath.Join(root, "dist", "envshare-scf.zip"), "cp manifest.json "+dir)
	})

	t.Run("every contract route reaches the function on both clouds", func(t *testing.T) {
		aws, problems := awsRoutes(sam)
		for _, p := range problems {
			t.Error(p)
		}
		for _, p := range samEvents(fn, "HttpApi") {
			aws = append(aws, strings.ToUpper(scalar(p["Method"]))+" "+scalar(p["Path"]))
		}
		var tencent []string
		for _, p := range scfEvents(scf, "apigw") {
			for _, e := range asSlice(p["endpoints"]) {
				tencent = append(tencent, strings.ToUpper(scalar(at(e, "method")))+" "+scalar(at(e, "path")))
				if at(e, "function", "isIntegratedResponse") != true {
					t.Errorf("SCF endpoint %v %v: the function's answer is the HTTP answer only with function.isIntegratedResponse: true", at(e, "method"), at(e, "path"))
				}
			}
		}
		for _, r := range contractRoutes {
			if !slices.Contains(aws, r) {
				t.Errorf("template.yaml routes no %s to the function (routes %v)", r, aws)
			}
			if !slices.ContainsFunc(tencent, func(e string) bool { return scfEndpointServes(e, r) }) {
				t.Errorf("serverless.yml has no apigw endpoint for %s (has %v)", r, tencent)
			}
		}
		// Unknown paths must reach the function too, for the contract's 404 / 405 answers.
		if !slices.Contains(aws, "$default") && !slices.Contains(aws, "ANY /{proxy+}") {
			t.Errorf("template.yaml has no catch-all route ($default or ANY /{proxy+}) to the function (routes %v)", aws)
		}
		if !slices.Contains(tencent, "ANY /") {
			t.Errorf("serverless.yml has no catch-all endpoint ANY / (has %v)", tencent)
		}
	})

	t.Run("the schedules and timers send exactly a reconcile message and a refresh message every 20 minutes", func(t *testing.T) {
		var awsMessages, scfMessages []scheduledMessage
		for name, p := range samEvents(fn, "Schedule") {
			// An EventBridge rule without Input sends a "Scheduled Event": a reconcile of ENVSHARE_MANIFEST.
			message := scalar(p["Input"])
			if message == "" {
				message = `{"action":"reconcile"}`
			}
			awsMessages = append(awsMessages, scheduledMessage{"template.yaml Schedule event " + name, message, scalar(p["Schedule"])})
		}
		for name, p := range samEvents(fn, "ScheduleV2") {
			awsMessages = append(awsMessages, scheduledMessage{"template.yaml ScheduleV2 event " + name,
				scalar(p["Input"]), scalar(p["ScheduleExpression"])})
		}
		for i, p := range scfEvents(scf, "timer") {
			where := fmt.Sprintf("serverless.yml timer %d (%v)", i, p["name"])
			scfMessages = append(scfMessages, scheduledMessage{where, scalar(p["argument"]), scalar(p["cronExpression"])})
			if p["enable"] != true {
				t.Errorf("%s is created disabled: set enable: true", where)
			}
		}
		checkScheduledMessages(t, "template.yaml", awsMessages, awsEvery20Minutes)
		checkScheduledMessages(t, "serverless.yml", scfMessages, scfEvery20Minutes)
	})

	t.Run("every ENVSHARE variable named in a deployment file is one the config reads", func(t *testing.T) {
		vars := config.Variables()
		name := regexp.MustCompile(`ENVSHARE_[A-Z0-9_]*[A-Z0-9]`)
		for _, file := range []string{"template.yaml", "serverless.yml"} {
			for _, v := range name.FindAllString(string(readRoot(t, file)), -1) {
				if !slices.Contains(vars, v) {
					t.Errorf("%s names %s, which internal/config does not read", file, v)
				}
			}
		}
	})

	t.Run("the SAM template passes every AWS variable from a parameter with the config's default", func(t *testing.T) {
		defaults := configDefaults(t)
		env := asMap(at(props, "Environment", "Variables"))
		params := asMap(sam["Parameters"])
		for _, v := range config.Variables() {
			if strings.Contains(v, "_TENCENT_") {
				continue // Tencent Cloud only
			}
			if slices.Contains(derivedVariables, v) {
				continue // from the template's own resources: TestAWSDerivedVariables
			}
			ref, _ := env[v].(string)
			p := asMap(params[ref])
			if p == nil {
				t.Errorf("template.yaml: %s = %v, want !Ref of a parameter", v, env[v])
				continue
			}
			want := defaults[v]
			if d, ok := deliberateDefaults["template.yaml"][v]; ok {
				want = d
			}
			// A set-but-empty variable is read as "", not as the default: a parameter of a
			// variable that has a default must default to it.
			if got := scalar(p["Default"]); got != want {
				t.Errorf("template.yaml: parameter %s (%s) defaults to %q, want %q", ref, v, got, want)
			}
			if slices.Contains(secrets, v) && p["NoEcho"] != true {
				t.Errorf("template.yaml: parameter %s holds a secret (%s) and must be NoEcho", ref, v)
			}
		}
	})

	t.Run("the SAM parameters allow only values the config accepts", func(t *testing.T) {
		env := asMap(at(props, "Environment", "Variables"))
		params := asMap(sam["Parameters"])
		accepted := map[string][]string{
			"ENVSHARE_TOKEN_MODE": config.TokenModes,
			"ENVSHARE_HTTP_AUTH":  append([]string{""}, config.HTTPAuthModes...),
			"ENVSHARE_LOG_LEVEL":  {"debug", "info", "warn", "error"},
			"ENVSHARE_OFFBOARD":   {"keep", "unshare"},
		}
		for v, ok := range accepted {
			ref, _ := env[v].(string)
			allowed := asSlice(at(params, ref, "AllowedValues"))
			if len(allowed) == 0 {
				t.Errorf("template.yaml: parameter %s (%s) has no AllowedValues", ref, v)
			}
			for _, a := range allowed {
				if !slices.Contains(ok, scalar(a)) {
					t.Errorf("template.yaml: parameter %s allows %q, which %s does not accept", ref, scalar(a), v)
				}
			}
		}
	})

	t.Run("the SAM defaults load once the deployer gives the token's secret and the HTTP secret", func(t *testing.T) {
		for _, stateID := range []string{"", "envshare/state"} {
			e := newCFNEval(t, sam, map[string]string{"TokenSecretId": "envshare/token", "StateId": stateID,
				"HttpSecret": "0123456789abcdef0123456789abcdef"})
			useEnv(t, awsVariables(t, e, props))
			if _, err := config.Load(); err != nil {
				t.Errorf("config.Load with template.yaml's defaults (StateId %q): %v", stateID, err)
			}
		}
	})

	t.Run("the SCF variables load, with every secret taken from the deploying environment", func(t *testing.T) {
		defaults := configDefaults(t)
		fromEnv := regexp.MustCompile(`^\$\{env:([A-Za-z0-9_]+)\}$`)
		all, firstDeploy := map[string]string{}, map[string]string{}
		for v, raw := range asMap(at(scf, "environment", "variables")) {
			value := scalar(raw)
			if m := fromEnv.FindStringSubmatch(value); m != nil {
				sample, ok := scfDeployEnv[m[1]]
				if !ok {
					sample = "from-env-" + m[1]
				}
				all[v] = sample
				if slices.Contains(scfFirstDeployEnv, m[1]) {
					firstDeploy[v] = sample
				}
				continue
			}
			all[v], firstDeploy[v] = value, value
			if slices.Contains(secrets, v) {
				t.Errorf("serverless.yml writes the secret %s into the file: use ${env:%s}", v, v)
			}
			if v == "ENVSHARE_PUBLIC_URL" {
				t.Errorf("serverless.yml writes ENVSHARE_PUBLIC_URL into the file: use ${env:ENVSHARE_PUBLIC_URL}, set after the first deploy")
			}
			want, ok := deliberateDefaults["serverless.yml"][v]
			if !ok {
				want = defaults[v]
			}
			if value != want {
				t.Errorf("serverless.yml: %s = %q, want the documented default %q", v, value, want)
			}
		}
		if _, ok := all["ENVSHARE_PUBLIC_URL"]; !ok {
			t.Error("serverless.yml does not set ENVSHARE_PUBLIC_URL (from ${env:ENVSHARE_PUBLIC_URL}): confirmation pages get no links")
		}
		if _, ok := all["ENVSHARE_STATE_ID"]; !ok {
			t.Error("serverless.yml does not set ENVSHARE_STATE_ID, which its refresh timer needs")
		}
		useEnv(t, all)
		if _, err := config.Load(); err != nil {
			t.Errorf("config.Load with serverless.yml's variables, every ${env:...} set: %v", err)
		}
		// An unset ${env:NAME} resolves to nothing and the variable is left out: the first deploy,
		// before the API's URL is known, has only the credentials' name and the HTTP secret.
		useEnv(t, firstDeploy)
		if _, err := config.Load(); err != nil {
			t.Errorf("config.Load with serverless.yml's variables, only %v set: %v", scfFirstDeployEnv, err)
		}
	})

	t.Run("the queue reports partial batch failures and redrives to a dead-letter queue", func(t *testing.T) {
		queues := samEvents(fn, "SQS")
		if len(queues) == 0 {
			t.Fatal("template.yaml has no SQS event")
		}
		for name, p := range queues {
			types := asSlice(p["FunctionResponseTypes"])
			if !slices.Contains(types, any("ReportBatchItemFailures")) {
				t.Errorf("SQS event %s: FunctionResponseTypes = %v, want [ReportBatchItemFailures]", name, types)
			}
			queueID, _, _ := strings.Cut(scalar(p["Queue"]), ".") // !GetAtt Queue.Arn
			queue := asMap(at(sam, "Resources", queueID))
			if at(queue, "Type") != "AWS::SQS::Queue" {
				t.Errorf("SQS event %s reads %q, not a queue of this template", name, queueID)
				continue
			}
			dlqID, _, _ := strings.Cut(scalar(at(queue, "Properties", "RedrivePolicy", "deadLetterTargetArn")), ".")
			if at(sam, "Resources", dlqID, "Type") != "AWS::SQS::Queue" {
				t.Errorf("queue %s has no dead-letter queue of this template in its RedrivePolicy", queueID)
			}
			if n, _ := at(queue, "Properties", "RedrivePolicy", "maxReceiveCount").(float64); n < 1 {
				t.Errorf("queue %s: RedrivePolicy.maxReceiveCount = %v", queueID, n)
			}
			if !alarmWatches(sam, "AWS/SQS", "ApproximateNumberOfMessagesVisible", dlqID) {
				t.Errorf("no alarm on the depth of dead-letter queue %s", dlqID)
			}
		}
		if !alarmWatches(sam, "AWS/Lambda", "Errors", samFunctionID) {
			t.Errorf("no alarm on the errors of %s", samFunctionID)
		}
	})

	// TestAWSPolicies checks every grant in every token mode; this keeps the old check's intent.
	t.Run("the token is read with least privilege in each AWS token mode", func(t *testing.T) {
		for cond, mode := range map[string]string{"UseSecretsManager": "aws-secretsmanager", "UseSsm": "aws-ssm"} {
			if at(sam, "Conditions", cond) == nil {
				t.Errorf("template.yaml has no condition %s to grant the %s read in that mode only", cond, mode)
			}
		}
	})

	t.Run("both clouds deploy at least 256 MB, two and a half times what the largest request needs", func(t *testing.T) {
		const want = 256 // docs/results.md: the largest request the limits allow peaks at 106 MiB
		size := props["MemorySize"]
		if ref, ok := size.(string); ok {
			p := asMap(at(sam, "Parameters", ref))
			if p == nil {
				t.Fatalf("template.yaml: MemorySize = %q, neither a number nor a parameter", ref)
			}
			for _, key := range []string{"Default", "MinValue"} {
				if n, _ := p[key].(float64); n < want {
					t.Errorf("template.yaml: parameter %s has %s %v, want at least %d", ref, key, p[key], want)
				}
			}
		} else if n, _ := size.(float64); n < want {
			t.Errorf("template.yaml: MemorySize = %v, want at least %d", size, want)
		}
		if n, _ := scf["memorySize"].(float64); n < want {
			t.Errorf("serverless.yml: memorySize = %v, want at least %d", scf["memorySize"], want)
		}
	})

	t.Run("both clouds offer a fixed egress IP for WeChat's IP whitelist", func(t *testing.T) {
		if props["VpcConfig"] == nil {
			t.Error("template.yaml: the function has no (optional) VpcConfig for a NAT gateway's fixed IP")
		}
		if scf["eip"] != true && scf["vpcConfig"] == nil {
			t.Error("serverless.yml: neither eip: true nor vpcConfig")
		}
	})
}

// alarmWatches reports whether an alarm of the template watches metric of resource id.
func alarmWatches(sam map[string]any, namespace, metric, id string) bool {
	for _, rid := range sortedKeys(asMap(sam["Resources"])) {
		p := asMap(at(sam, "Resources", rid, "Properties"))
		if at(sam, "Resources", rid, "Type") != "AWS::CloudWatch::Alarm" || p["Namespace"] != namespace || p["MetricName"] != metric {
			continue
		}
		for _, d := range asSlice(p["Dimensions"]) {
			if v, _ := at(d, "Value").(string); v == id || strings.HasPrefix(v, id+".") {
				return true
			}
		}
	}
	return false
}
