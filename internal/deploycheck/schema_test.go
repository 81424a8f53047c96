package deploycheck

import (
	"bytes"
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/dlclark/regexp2"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"
)

// schemaFile is the path of one of the official schemas vendored into testdata/schemas (their
// sources and licences are in its README.md), so that the checks run on every clone.
func schemaFile(t *testing.T, name string) string {
	t.Helper()
	path := filepath.Join("testdata", "schemas", name)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("schema %s missing: it is vendored in the repository (testdata/schemas/README.md)", path)
	}
	return path
}

// ecmaRegexp compiles JSON-schema and component patterns as ECMAScript regular expressions:
// the SAM schema uses lookahead, which Go's RE2 cannot compile.
type ecmaRegexp regexp2.Regexp

func (re *ecmaRegexp) MatchString(s string) bool {
	ok, err := (*regexp2.Regexp)(re).MatchString(s)
	return err == nil && ok
}

func (re *ecmaRegexp) String() string { return (*regexp2.Regexp)(re).String() }

func compileECMA(pattern string) (jsonschema.Regexp, error) {
	re, err := regexp2.Compile(pattern, regexp2.ECMAScript)
	if err != nil {
		return nil, err
	}
	return (*ecmaRegexp)(re), nil
}

// samSchema compiles the official AWS SAM template schema.
func samSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	path := schemaFile(t, "sam.schema.json")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	c := jsonschema.NewCompiler()
	c.UseRegexpEngine(compileECMA)
	if err := c.AddResource("sam.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("sam.schema.json")
	if err != nil {
		t.Fatalf("compile %s: %v", path, err)
	}
	return sch
}

// jsonInstance converts YAML to the JSON value the validator expects (numbers as json.Number).
func jsonInstance(t *testing.T, yamlText []byte) any {
	t.Helper()
	js, err := yaml.YAMLToJSON(yamlText)
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSAMTemplateMatchesTheSAMSchema(t *testing.T) {
	sch := samSchema(t)

	t.Run("template.yaml is a valid SAM template", func(t *testing.T) {
		if err := sch.Validate(jsonInstance(t, readRoot(t, "template.yaml"))); err != nil {
			t.Errorf("template.yaml does not match sam.schema.json:\n%v", err)
		}
	})

	t.Run("a misspelt function property is caught, so the check is not vacuous", func(t *testing.T) {
		broken := bytes.Replace(readRoot(t, "template.yaml"), []byte("      Handler: bootstrap"), []byte("      Handlr: bootstrap"), 1)
		if bytes.Equal(broken, readRoot(t, "template.yaml")) {
			t.Fatal("template.yaml has no `      Handler: bootstrap` line to break")
		}
		if err := sch.Validate(jsonInstance(t, broken)); err == nil {
			t.Error("a function with the property Handlr passed the schema")
		}
	})
}

// field is one input of a Serverless Components input schema (serverless.component.yml). It is
// not JSON schema: type (string, number, boolean, object, array, src), required, allow, regex,
// min, max, keys (of an object) and items (alternatives for an array's elements). values and
// format are ours: the type of every value of a free-form object, and "cron7".
type field struct {
	Type     string            `json:"type"`
	Required bool              `json:"required"`
	Allow    []any             `json:"allow"`
	Regex    string            `json:"regex"`
	Min      *float64          `json:"min"`
	Max      *float64          `json:"max"`
	Keys     map[string]*field `json:"keys"`
	Items    []*field          `json:"items"`
	Values   *field            `json:"values"`
	Format   string            `json:"format"`
}

// documentedInputs are inputs that the scf component's own configuration docs
// (docs/configure.md) describe but its serverless.component.yml does not list. The timer's
// argument is the trigger's CustomArgument, a string (the event's Message).
const documentedInputs = `
description: {type: string}
namespace: {type: string}
role: {type: string}
environment:
  type: object
  keys:
    variables: {type: object, values: {type: string}}
vpcConfig:
  type: object
  keys:
    vpcId: {type: string, required: true}
    subnetId: {type: string, required: true}
events:
  items:
    - keys:
        timer:
          keys:
            parameters:
              keys:
                cronExpression: {format: cron7}
                qualifier: {type: string}
                argument: {type: string}
        apigw:
          keys:
            parameters:
              keys:
                endpoints:
                  items:
                    - keys:
                        apiName: {type: string}
                        description: {type: string}
                        responseType: {type: string, allow: [HTML, JSON, TEST, BINARY, XML]}
                        serviceTimeout: {type: number, min: 1, max: 1800}
                        isBase64Encoded: {type: boolean}
                        function:
                          type: object
                          keys:
                            isIntegratedResponse: {type: boolean}
                            functionQualifier: {type: string}
`

// merge adds what extra says to f, without changing what f already says.
func (f *field) merge(extra *field) {
	f.Type, f.Format, f.Regex = cmp.Or(f.Type, extra.Type), cmp.Or(f.Format, extra.Format), cmp.Or(f.Regex, extra.Regex)
	f.Min, f.Max, f.Values = cmp.Or(f.Min, extra.Min), cmp.Or(f.Max, extra.Max), cmp.Or(f.Values, extra.Values)
	if f.Allow == nil {
		f.Allow = extra.Allow
	}
	f.Required = f.Required || extra.Required
	for k, ef := range extra.Keys {
		if f.Keys == nil {
			f.Keys = map[string]*field{}
		}
		if f.Keys[k] == nil {
			f.Keys[k] = ef
		} else {
			f.Keys[k].merge(ef)
		}
	}
	for i, ef := range extra.Items {
		if i < len(f.Items) {
			f.Items[i].merge(ef)
		} else {
			f.Items = append(f.Items, ef)
		}
	}
}

// check returns what is wrong with v at path according to f.
func (f *field) check(path string, v any) []string {
	var probs []string
	bad := func(format string, args ...any) {
		probs = append(probs, path+": "+fmt.Sprintf(format, args...))
	}
	kind := f.Type
	if kind == "" && f.Keys != nil {
		kind = "object"
	}
	if kind == "" && f.Items != nil {
		kind = "array"
	}
	switch kind {
	case "string":
		s, ok := v.(string)
		if !ok {
			bad("want a string, have %T %v", v, v)
			return probs
		}
		if f.Regex != "" {
			re, err := regexp2.Compile(f.Regex, regexp2.ECMAScript)
			if err != nil {
				bad("schema regex %q: %v", f.Regex, err)
			} else if ok, _ := re.MatchString(s); !ok {
				bad("%q does not match %s", s, f.Regex)
			}
		}
	case "number":
		n, ok := v.(float64)
		if !ok {
			bad("want a number, have %T %v", v, v)
			return probs
		}
		if f.Min != nil && n < *f.Min {
			bad("%v is below the minimum %v", n, *f.Min)
		}
		if f.Max != nil && n > *f.Max {
			bad("%v is above the maximum %v", n, *f.Max)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			bad("want a boolean, have %T %v", v, v)
		}
	case "src":
		switch v.(type) {
		case string, map[string]any:
		default:
			bad("want a path or an object, have %T", v)
		}
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			bad("want an object, have %T", v)
			return probs
		}
		for _, k := range sortedKeys(f.Keys) {
			if _, ok := m[k]; !ok && f.Keys[k].Required {
				bad("required input %s is missing", k)
			}
		}
		for _, k := range sortedKeys(m) {
			switch {
			case f.Keys[k] != nil:
				probs = append(probs, f.Keys[k].check(path+"."+k, m[k])...)
			case f.Values != nil:
				probs = append(probs, f.Values.check(path+"."+k, m[k])...)
			case f.Keys != nil:
				bad("%s is not an input of the scf component", k)
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			bad("want an array, have %T", v)
			return probs
		}
		for i, item := range a {
			probs = append(probs, checkAlternatives(fmt.Sprintf("%s[%d]", path, i), item, f.Items)...)
		}
	}
	if f.Allow != nil && !slices.ContainsFunc(f.Allow, func(a any) bool { return scalar(a) == scalar(v) }) {
		bad("%v is not one of %v", v, f.Allow)
	}
	if f.Format == "cron7" {
		probs = append(probs, checkCron7(path, v)...)
	}
	return probs
}

// checkAlternatives accepts item when it matches one of the alternatives (none: anything).
func checkAlternatives(path string, item any, alts []*field) []string {
	if len(alts) == 0 {
		return nil
	}
	var first []string
	for i, alt := range alts {
		probs := alt.check(path, item)
		if len(probs) == 0 {
			return nil
		}
		if i == 0 {
			first = probs
		}
	}
	return first
}

// checkCron7 checks an SCF timer expression: seven fields, second minute hour day month
// weekday year.
func checkCron7(path string, v any) []string {
	s, ok := v.(string)
	if !ok {
		return []string{fmt.Sprintf("%s: want a cron expression string, have %T", path, v)}
	}
	fields := strings.Fields(s)
	if len(fields) != 7 {
		return []string{fmt.Sprintf("%s: %q has %d fields; SCF wants 7 (second minute hour day month weekday year)", path, s, len(fields))}
	}
	for _, fl := range fields {
		if strings.Trim(fl, "0123456789*/,-?#ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			return []string{fmt.Sprintf("%s: %q: field %q has characters a cron field cannot have", path, s, fl)}
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// scfInputSchema is the scf component's deploy inputs, plus the documented ones.
func scfInputSchema(t *testing.T) *field {
	t.Helper()
	path := schemaFile(t, "tencent-scf.serverless.component.yml")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var component struct {
		Actions struct {
			Deploy struct {
				Inputs map[string]*field `json:"inputs"`
			} `json:"deploy"`
		} `json:"actions"`
	}
	if err := yaml.Unmarshal(raw, &component); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(component.Actions.Deploy.Inputs) == 0 {
		t.Fatalf("%s has no actions.deploy.inputs", path)
	}
	var extra map[string]*field
	if err := yaml.Unmarshal([]byte(documentedInputs), &extra); err != nil {
		t.Fatal(err)
	}
	inputs := &field{Type: "object", Keys: component.Actions.Deploy.Inputs}
	inputs.merge(&field{Keys: extra})
	return inputs
}

func TestServerlessYMLMatchesTheSCFComponentSchema(t *testing.T) {
	inputs := scfInputSchema(t)

	t.Run("serverless.yml deploys the scf component", func(t *testing.T) {
		doc := loadYAML(t, "serverless.yml")
		if got := at(doc, "component"); got != "scf" {
			t.Errorf("component = %v, want scf", got)
		}
		if name, _ := at(doc, "name").(string); name == "" {
			t.Error("serverless.yml has no instance name")
		}
	})

	t.Run("its inputs have the keys, types and values the component allows", func(t *testing.T) {
		doc := loadYAML(t, "serverless.yml")
		for _, p := range inputs.check("inputs", doc["inputs"]) {
			t.Error(p)
		}
	})

	bad := []struct {
		name, yaml, want string
	}{
		{"an unknown runtime", "runtime: Go2", "is not one of"},
		{"a memory size off the ladder", "memorySize: 100", "is not one of"},
		{"a function name with a dot", "name: env.share", "does not match"},
		{"an unknown input", "colour: blue", "not an input"},
		{"a number as an environment variable", "environment: {variables: {ENVSHARE_CHUNK_SIZE: 100}}", "want a string"},
		{"a 5-field cron expression", "events: [{timer: {parameters: {cronExpression: '0 * * * *'}}}]", "7"},
		{"a misspelt endpoint key", "events: [{apigw: {parameters: {endpoints: [{path: /share, methd: POST}]}}}]", "not an input"},
	}
	for _, tc := range bad {
		t.Run("the checker rejects "+tc.name, func(t *testing.T) {
			var v map[string]any
			if err := yaml.Unmarshal([]byte(tc.yaml), &v); err != nil {
				t.Fatal(err)
			}
			v["src"] = "./dist/scf"
			probs := inputs.check("inputs", v)
			if !slices.ContainsFunc(probs, func(p string) bool { return strings.Contains(p, tc.want) }) {
				t.Errorf("problems %q, want one containing %q", probs, tc.want)
			}
		})
	}
}
