package deploycheck

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Values the SCF tests give the ${env:NAME} variables of serverless.yml, as the deployer's .env
// would. scfFirstDeployEnv are the only ones a first deploy needs (before the API's URL exists).
var (
	scfDeployEnv = map[string]string{
		"ENVSHARE_TOKEN_SECRET_ID":      "envshare-credentials",
		"ENVSHARE_STATE_ID":             "envshare-state",
		"ENVSHARE_HTTP_SECRET":          "0123456789abcdef0123456789abcdef",
		"ENVSHARE_HTTP_SECRET_PREVIOUS": "previous-http-secret-0123456789a",
		"ENVSHARE_NOTIFY_URL":           "https://hooks.example.com/envshare",
		"ENVSHARE_NOTIFY_SECRET":        "fedcba9876543210fedcba9876543210",
		"ENVSHARE_ONBOARD_ENVS":         "prod-6gni9ity244a6ea3,test-env-6gni9ity244a6ea3",
		"ENVSHARE_PUBLIC_URL":           "https://service-f94sy04v-1250000000.gz.apigw.tencentcs.com/release",
		"ENVSHARE_PAGE_SECRET":          "page-secret-0123456789abcdef0123",
		"ENVSHARE_PAGE_SECRET_PREVIOUS": "page-secret-previous-0123456789ab",
		"ENVSHARE_FORWARD_URL":          "https://backend.example.com/wechat/push",
	}
	scfFirstDeployEnv = []string{"ENVSHARE_TOKEN_SECRET_ID", "ENVSHARE_HTTP_SECRET"}
)

// resourcePlaceholder is what cfnEval makes of a resource's Ref or attribute.
var resourcePlaceholder = regexp.MustCompile(`\{(Ref|GetAtt):([A-Za-z0-9]+)(?:\.([A-Za-z0-9]+))?\}`)

// awsVariables evaluates the function's environment for the parameter values of e, with what a
// deployment would give for the template's queue URL and API endpoint.
func awsVariables(t *testing.T, e *cfnEval, props map[string]any) map[string]string {
	t.Helper()
	env := map[string]string{}
	for name, raw := range asMap(at(props, "Environment", "Variables")) {
		var v any = raw
		if s, ok := raw.(string); ok && e.params[s] != nil {
			v = e.params[s] // !Ref Parameter, whose tag the YAML parser dropped
		} else {
			v = e.mustEval(t, name, raw)
		}
		env[name] = resourcePlaceholder.ReplaceAllStringFunc(scalar(v), func(m string) string {
			p := resourcePlaceholder.FindStringSubmatch(m)
			switch kind, id, attr := p[1], p[2], p[3]; {
			case kind == "Ref" && at(e.tpl, "Resources", id, "Type") == "AWS::SQS::Queue":
				return fmt.Sprintf("https://sqs.%s.amazonaws.com/%s/envshare-%s-a1b2c3d4", testRegion, testAccount, id)
			case kind == "Ref" && at(e.tpl, "Resources", id, "Type") == "AWS::DynamoDB::Table":
				return "envshare-" + id + "-A1B2C3D4E5F6" // the table's name
			case kind == "GetAtt" && attr == "ApiEndpoint":
				return fmt.Sprintf("https://a1b2c3d4e5.execute-api.%s.amazonaws.com", testRegion)
			}
			return m
		})
	}
	return env
}

// derived evaluates the template value of one derived variable for parameter values.
func derived(t *testing.T, sam, props map[string]any, name string, values map[string]string) string {
	t.Helper()
	raw, ok := asMap(at(props, "Environment", "Variables"))[name]
	if !ok {
		t.Fatalf("template.yaml does not set %s", name)
	}
	if _, short := raw.(string); short {
		t.Fatalf("template.yaml: %s = %v: write it in the long form (Ref:, Fn::GetAtt:, Fn::If:) so that it can be evaluated", name, raw)
	}
	return scalar(newCFNEval(t, sam, values).mustEval(t, name, raw))
}

func TestAWSDerivedVariables(t *testing.T) {
	sam, fn, _ := templates(t)
	props := asMap(fn["Properties"])
	res := asMap(sam["Resources"])
	base := map[string]string{"TokenSecretId": "envshare/credentials"}

	t.Run("ENVSHARE_RETRY_QUEUE_URL is the URL of the queue the function consumes", func(t *testing.T) {
		v := derived(t, sam, props, "ENVSHARE_RETRY_QUEUE_URL", base)
		m := resourcePlaceholder.FindStringSubmatch(v)
		if m == nil || m[0] != v || m[1] != "Ref" || at(res, m[2], "Type") != "AWS::SQS::Queue" {
			t.Fatalf("ENVSHARE_RETRY_QUEUE_URL = %q, want the Ref (URL) of a queue of the template", v)
		}
		consumed := false
		for _, p := range samEvents(fn, "SQS") {
			consumed = consumed || scalar(p["Queue"]) == m[2]+".Arn"
		}
		if !consumed {
			t.Errorf("ENVSHARE_RETRY_QUEUE_URL is queue %s, which no SQS event of the function reads: retries would never run", m[2])
		}
	})

	t.Run("ENVSHARE_PUBLIC_URL is the HTTP API's URL, its stage included", func(t *testing.T) {
		v := derived(t, sam, props, "ENVSHARE_PUBLIC_URL", base)
		m := resourcePlaceholder.FindStringSubmatch(v)
		if m == nil || !strings.HasPrefix(v, m[0]) || m[1] != "GetAtt" || m[3] != "ApiEndpoint" || at(res, m[2], "Type") != "AWS::ApiGatewayV2::Api" {
			t.Fatalf("ENVSHARE_PUBLIC_URL = %q, want the ApiEndpoint of an AWS::ApiGatewayV2::Api of the template", v)
		}
		api, suffix := m[2], strings.TrimPrefix(v, m[0])
		var stages []string
		for _, id := range sortedKeys(res) {
			if at(res, id, "Type") == "AWS::ApiGatewayV2::Stage" && scalar(at(res, id, "Properties", "ApiId")) == api {
				stages = append(stages, scalar(at(res, id, "Properties", "StageName")))
			}
		}
		if len(stages) != 1 {
			t.Fatalf("API %s has stages %v, want one", api, stages)
		}
		want := "/" + stages[0]
		if stages[0] == "$default" {
			want = "" // the $default stage is served at the API's root
		}
		if suffix != want {
			t.Errorf("ENVSHARE_PUBLIC_URL = %q: the stage %s needs %q after the endpoint", v, stages[0], want)
		}
		routes, _ := awsRoutes(sam)
		if !slices.Contains(routes, "GET /confirm/{token}") {
			t.Errorf("the API of ENVSHARE_PUBLIC_URL does not route GET /confirm/{token} to the function")
		}
	})

	t.Run("ENVSHARE_LEDGER is the template's own DynamoDB table: on demand, string keys pk and sk, kept", func(t *testing.T) {
		v := derived(t, sam, props, "ENVSHARE_LEDGER", base)
		m := resourcePlaceholder.FindStringSubmatch(strings.TrimPrefix(v, "dynamodb:"))
		if !strings.HasPrefix(v, "dynamodb:") || m == nil || m[1] != "Ref" || at(res, m[2], "Type") != "AWS::DynamoDB::Table" {
			t.Fatalf("ENVSHARE_LEDGER = %q, want dynamodb:<the Ref of a table of the template>", v)
		}
		table := asMap(at(res, m[2]))
		p := asMap(table["Properties"])
		keys := map[string]string{}
		for _, k := range asSlice(p["KeySchema"]) {
			keys[scalar(at(k, "KeyType"))] = scalar(at(k, "AttributeName"))
		}
		attrs := map[string]string{}
		for _, a := range asSlice(p["AttributeDefinitions"]) {
			attrs[scalar(at(a, "AttributeName"))] = scalar(at(a, "AttributeType"))
		}
		if keys["HASH"] != "pk" || keys["RANGE"] != "sk" || len(keys) != 2 || len(attrs) != 2 || attrs["pk"] != "S" || attrs["sk"] != "S" {
			t.Errorf("table %s: keys %v, attributes %v; want pk (S) HASH and sk (S) RANGE, nothing else", m[2], keys, attrs)
		}
		if p["BillingMode"] != "PAY_PER_REQUEST" || p["GlobalSecondaryIndexes"] != nil || p["LocalSecondaryIndexes"] != nil {
			t.Errorf("table %s: BillingMode %v, indexes %v %v; want on demand, no index", m[2], p["BillingMode"], p["GlobalSecondaryIndexes"], p["LocalSecondaryIndexes"])
		}
		if table["DeletionPolicy"] != "Retain" {
			t.Errorf("table %s: DeletionPolicy %v: the fleet's memory must survive a deleted stack", m[2], table["DeletionPolicy"])
		}
	})

	t.Run("ENVSHARE_STATE_KMS_KEY_ID is the key of the state record in mode aws-ssm only", func(t *testing.T) {
		const key = "1234abcd-12ab-34cd-56ef-1234567890ab"
		for _, tc := range []struct{ mode, key, want string }{
			{"aws-ssm", key, key}, {"aws-ssm", "", ""}, {"aws-secretsmanager", key, ""}, {"file", key, ""},
		} {
			values := map[string]string{"TokenMode": tc.mode, "TokenSecretId": "envshare-credentials", "TokenFile": "token.json",
				"StateId": "envshare-state", "TokenKmsKeyId": tc.key}
			if got := derived(t, sam, props, "ENVSHARE_STATE_KMS_KEY_ID", values); got != tc.want {
				t.Errorf("mode %s, TokenKmsKeyId %q: ENVSHARE_STATE_KMS_KEY_ID = %q, want %q", tc.mode, tc.key, got, tc.want)
			}
		}
	})
}

func TestAWSPolicies(t *testing.T) {
	sam, fn, _ := templates(t)
	props := asMap(fn["Properties"])

	const key = "1234abcd-12ab-34cd-56ef-1234567890ab"
	arn := func(service, resource string) string {
		return fmt.Sprintf("arn:%s:%s:%s:%s:%s", testPartition, service, testRegion, testAccount, resource)
	}
	secret := func(name string) string { return arn("secretsmanager", "secret:"+name+"-??????") }
	parameter := func(name string) string { return arn("ssm", "parameter/"+strings.TrimPrefix(name, "/")) }
	keyARN := arn("kms", "key/"+key)
	var queue string
	for _, p := range samEvents(fn, "SQS") {
		queue = "{GetAtt:" + scalar(p["Queue"]) + "}" // !GetAtt Queue.Arn
	}

	for _, tc := range []struct {
		name   string
		params map[string]string
		want   []grant
	}{
		{"aws-secretsmanager without a state record reads the credentials secret only",
			map[string]string{"TokenMode": "aws-secretsmanager", "TokenSecretId": "envshare/credentials"},
			[]grant{{"secretsmanager:GetSecretValue", secret("envshare/credentials")}}},
		{"aws-secretsmanager with a state record and a customer managed key also reads and writes the state secret",
			map[string]string{"TokenMode": "aws-secretsmanager", "TokenSecretId": "envshare/credentials", "StateId": "envshare/state", "TokenKmsKeyId": key},
			[]grant{{"secretsmanager:GetSecretValue", secret("envshare/credentials")},
				{"secretsmanager:GetSecretValue", secret("envshare/state")}, {"secretsmanager:PutSecretValue", secret("envshare/state")},
				{"kms:Decrypt", keyARN}, {"kms:GenerateDataKey", keyARN}}},
		{"aws-ssm with names under a path and a customer managed key reads the credentials and reads and writes the state",
			map[string]string{"TokenMode": "aws-ssm", "TokenSecretId": "/envshare/credentials", "StateId": "/envshare/state", "TokenKmsKeyId": key},
			[]grant{{"ssm:GetParameter", parameter("/envshare/credentials")},
				{"ssm:GetParameter", parameter("/envshare/state")}, {"ssm:PutParameter", parameter("/envshare/state")},
				{"kms:Decrypt", keyARN}, {"kms:Encrypt", keyARN}}},
		{"aws-ssm with plain names and AWS managed keys",
			map[string]string{"TokenMode": "aws-ssm", "TokenSecretId": "envshare-credentials", "StateId": "envshare-state"},
			[]grant{{"ssm:GetParameter", parameter("envshare-credentials")},
				{"ssm:GetParameter", parameter("envshare-state")}, {"ssm:PutParameter", parameter("envshare-state")}}},
		{"aws-ssm without a state record reads the credentials parameter only",
			map[string]string{"TokenMode": "aws-ssm", "TokenSecretId": "/envshare/credentials", "TokenKmsKeyId": key},
			[]grant{{"ssm:GetParameter", parameter("/envshare/credentials")}, {"kms:Decrypt", keyARN}}},
		{"an external owner: the same grants (ticket pushes are still written), the refresh schedule off",
			map[string]string{"TokenMode": "aws-secretsmanager", "TokenSecretId": "envshare/credentials", "StateId": "envshare/state", "TokenOwner": "external"},
			[]grant{{"secretsmanager:GetSecretValue", secret("envshare/credentials")},
				{"secretsmanager:GetSecretValue", secret("envshare/state")}, {"secretsmanager:PutSecretValue", secret("envshare/state")}}},
		{"env reads no store",
			map[string]string{"TokenMode": "env", "ComponentAccessToken": "a-token"},
			nil},
		{"file reads no store, whatever key is given",
			map[string]string{"TokenMode": "file", "TokenFile": "token.json", "StateId": "/tmp/state.json", "TokenKmsKeyId": key},
			nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newCFNEval(t, sam, tc.params)
			have, problems, err := policyGrants(e, props["Policies"])
			if err != nil {
				t.Fatalf("the function's Policies: %v", err)
			}
			for _, p := range problems {
				t.Error(p)
			}
			want := append(slices.Clone(tc.want), grant{"sqs:SendMessage", queue}, // onboarding retries, shards
				grant{"sqs:ChangeMessageVisibility", queue}) // a record stopped by 45009 waits for the reset
			for _, action := range []string{"GetItem", "PutItem", "BatchGetItem", "Query"} { // the ledger's items
				want = append(want, grant{"dynamodb:" + action, "{GetAtt:LedgerTable.Arn}"})
			}
			slices.SortFunc(want, func(a, b grant) int { return strings.Compare(a.String(), b.String()) })
			if !slices.Equal(have, want) {
				t.Errorf("the function is granted\n\t%v\nwant exactly\n\t%v", grantLines(have), grantLines(want))
			}
			for _, g := range have {
				if strings.Contains(g.Resource, "*") || strings.Contains(g.Resource, "${") {
					t.Errorf("%s: the resource is not exactly one record", g)
				}
			}

			// The one minter runs when there is a state record to mint into, and only then: a
			// refresh without ENVSHARE_STATE_ID fails by design, and would fire the error alarm.
			for name, p := range samEvents(fn, "ScheduleV2") {
				if _, err := decodeRefresh(scalar(p["Input"])); err != nil {
					continue
				}
				state := "ENABLED"
				if p["State"] != nil {
					if _, short := p["State"].(string); short && p["State"] != "ENABLED" && p["State"] != "DISABLED" {
						t.Fatalf("ScheduleV2 event %s: State %v: write it in the long form (Fn::If:)", name, p["State"])
					}
					state = scalar(e.mustEval(t, "State of "+name, p["State"]))
				}
				want := "DISABLED"
				if tc.params["StateId"] != "" && tc.params["TokenOwner"] != "external" {
					want = "ENABLED"
				}
				if state != want {
					t.Errorf("the refresh schedule %s is %s, want %s (StateId %q, TokenOwner %q)", name, state, want, tc.params["StateId"], tc.params["TokenOwner"])
				}
			}
		})
	}

	t.Run("the function's role is the one SAM makes from these Policies, and nothing else grants", func(t *testing.T) {
		if props["Role"] != nil {
			t.Errorf("%s has a Role: its Policies would not be the whole of what it is granted", samFunctionID)
		}
		for _, id := range sortedKeys(asMap(sam["Resources"])) {
			if typ := scalar(at(sam, "Resources", id, "Type")); strings.HasPrefix(typ, "AWS::IAM::") {
				t.Errorf("template.yaml declares %s (%s): the checks above would miss what it grants", id, typ)
			}
		}
	})
}

func grantLines(gs []grant) string {
	var lines []string
	for _, g := range gs {
		lines = append(lines, g.String())
	}
	return strings.Join(lines, "\n\t")
}

func TestSAMTemplateHasNoCircularDependency(t *testing.T) {
	sam, _, _ := templates(t)

	t.Run("no resource depends on itself through others", func(t *testing.T) {
		if cycle := dependencyCycle(resourceDeps(sam)); cycle != nil {
			t.Errorf("template.yaml has a circular dependency: %s", strings.Join(cycle, " -> "))
		}
	})

	t.Run("an HttpApi event on the API of ENVSHARE_PUBLIC_URL is caught, so the check is not vacuous", func(t *testing.T) {
		probe := loadYAML(t, "template.yaml")
		api := ""
		if m := asSlice(at(probe, "Resources", samFunctionID, "Properties", "Environment", "Variables", "ENVSHARE_PUBLIC_URL", "Fn::GetAtt")); len(m) == 2 {
			api = scalar(m[0])
		}
		if api == "" {
			t.Fatal("ENVSHARE_PUBLIC_URL is not Fn::GetAtt [<API>, ApiEndpoint]")
		}
		events := asMap(at(probe, "Resources", samFunctionID, "Properties", "Events"))
		events["Probe"] = map[string]any{"Type": "HttpApi", "Properties": map[string]any{"ApiId": api, "Method": "GET", "Path": "/probe"}}
		if dependencyCycle(resourceDeps(probe)) == nil {
			t.Error("the cycle function -> API -> function was not found")
		}
	})
}
