package deploycheck

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The stack a cfnEval deploys into.
const (
	testPartition = "aws"
	testRegion    = "eu-central-1"
	testAccount   = "123456789012"
)

var pseudoParameters = map[string]string{
	"AWS::Partition": testPartition,
	"AWS::Region":    testRegion,
	"AWS::AccountId": testAccount,
	"AWS::URLSuffix": "amazonaws.com",
	"AWS::StackName": "envshare",
}

// noValue is what Ref AWS::NoValue evaluates to: the key or list item that holds it is removed.
type noValueType struct{}

var noValue = noValueType{}

// cfnEval evaluates the intrinsic functions of template.yaml for one set of parameter values, the
// way CloudFormation does at deploy time. Only the long forms (Ref:, Fn::If:, Fn::Sub: ...) can be
// evaluated: the YAML parser drops the tags of the short forms (!Ref X arrives as "X"), so a
// template value that must be evaluated is written in the long form, and a short form there is an
// error (a condition that is a list, an ARN that still holds "${").
//
// A resource's Ref evaluates to "{Ref:ID}" and its attribute to "{GetAtt:ID.Attr}": they are
// known only once deployed.
type cfnEval struct {
	tpl    map[string]any
	params map[string]any // string, or []any of strings for a CommaDelimitedList
	conds  map[string]bool
}

// newCFNEval takes every parameter's default, overridden by values.
func newCFNEval(t *testing.T, tpl map[string]any, values map[string]string) *cfnEval {
	t.Helper()
	e := &cfnEval{tpl: tpl, params: map[string]any{}, conds: map[string]bool{}}
	declared := asMap(tpl["Parameters"])
	for name := range values {
		if declared[name] == nil {
			t.Fatalf("template.yaml has no parameter %s", name)
		}
	}
	for name, p := range declared {
		v, ok := values[name]
		if !ok {
			v = scalar(at(p, "Default"))
		}
		if at(p, "Type") == "CommaDelimitedList" {
			var list []any
			for _, s := range strings.Split(v, ",") {
				list = append(list, strings.TrimSpace(s))
			}
			e.params[name] = list
			continue
		}
		e.params[name] = v
	}
	return e
}

// mustEval evaluates v or fails the test.
func (e *cfnEval) mustEval(t *testing.T, what string, v any) any {
	t.Helper()
	out, err := e.eval(v)
	if err != nil {
		t.Fatalf("template.yaml %s: %v", what, err)
	}
	return out
}

// cond evaluates the template's condition name.
func (e *cfnEval) cond(name string) (bool, error) {
	if b, ok := e.conds[name]; ok {
		return b, nil
	}
	body, ok := asMap(e.tpl["Conditions"])[name]
	if !ok {
		return false, fmt.Errorf("no condition %s", name)
	}
	if asMap(body) == nil {
		return false, fmt.Errorf("condition %s is %v: write it in the long form (Fn::Equals:, Fn::Not: ...) so that it can be evaluated", name, body)
	}
	v, err := e.eval(body)
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("condition %s is %v, not a boolean", name, v)
	}
	e.conds[name] = b
	return b, nil
}

func (e *cfnEval) isResource(id string) bool { return asMap(at(e.tpl, "Resources", id)) != nil }

// ref evaluates Ref name.
func (e *cfnEval) ref(name string) (any, error) {
	if name == "AWS::NoValue" {
		return noValue, nil
	}
	if v, ok := pseudoParameters[name]; ok {
		return v, nil
	}
	if v, ok := e.params[name]; ok {
		return v, nil
	}
	if e.isResource(name) {
		return "{Ref:" + name + "}", nil
	}
	return nil, fmt.Errorf("Ref %s: no such parameter or resource", name)
}

var subVariable = regexp.MustCompile(`\$\{(!?)([^}]*)\}`)

// sub evaluates Fn::Sub.
func (e *cfnEval) sub(arg any) (any, error) {
	text, vars := "", map[string]any{}
	switch a := arg.(type) {
	case string:
		text = a
	case []any:
		if len(a) != 2 {
			return nil, fmt.Errorf("Fn::Sub %v: want [string, {variables}]", a)
		}
		s, ok := a[0].(string)
		if !ok {
			return nil, fmt.Errorf("Fn::Sub %v: the text is not a string", a)
		}
		text = s
		for k, v := range asMap(a[1]) {
			ev, err := e.eval(v)
			if err != nil {
				return nil, err
			}
			vars[k] = ev
		}
	default:
		return nil, fmt.Errorf("Fn::Sub %v: want a string or [string, {variables}]", arg)
	}
	var firstErr error
	out := subVariable.ReplaceAllStringFunc(text, func(m string) string {
		parts := subVariable.FindStringSubmatch(m)
		if parts[1] == "!" {
			return "${" + parts[2] + "}" // ${!Literal}
		}
		name := parts[2]
		var v any
		var err error
		if x, ok := vars[name]; ok {
			v = x
		} else if id, attr, ok := strings.Cut(name, "."); ok && e.isResource(id) {
			v = "{GetAtt:" + id + "." + attr + "}"
		} else {
			v, err = e.ref(name)
		}
		s, ok := v.(string)
		if err == nil && !ok {
			err = fmt.Errorf("Fn::Sub %q: ${%s} is %v, not a string", text, name, v)
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return s
	})
	return out, firstErr
}

// str evaluates v to a string.
func (e *cfnEval) str(v any) (string, error) {
	ev, err := e.eval(v)
	if err != nil {
		return "", err
	}
	switch x := ev.(type) {
	case string:
		return x, nil
	case float64:
		return scalar(x), nil
	}
	return "", fmt.Errorf("%v is not a string", ev)
}

// boolean evaluates a condition function or {Condition: name}.
func (e *cfnEval) boolean(v any) (bool, error) {
	ev, err := e.eval(v)
	if err != nil {
		return false, err
	}
	b, ok := ev.(bool)
	if !ok {
		return false, fmt.Errorf("%v is not a condition", v)
	}
	return b, nil
}

// eval evaluates v; AWS::NoValue removes map keys and list items.
func (e *cfnEval) eval(v any) (any, error) {
	switch x := v.(type) {
	case []any:
		out := []any{}
		for _, item := range x {
			ev, err := e.eval(item)
			if err != nil {
				return nil, err
			}
			if ev != noValue {
				out = append(out, ev)
			}
		}
		return out, nil
	case map[string]any:
		if len(x) == 1 {
			for fn, arg := range x {
				if fn == "Ref" || fn == "Condition" || strings.HasPrefix(fn, "Fn::") {
					return e.function(fn, arg)
				}
			}
		}
		out := map[string]any{}
		for k, item := range x {
			ev, err := e.eval(item)
			if err != nil {
				return nil, err
			}
			if ev != noValue {
				out[k] = ev
			}
		}
		return out, nil
	default:
		return v, nil
	}
}

// function evaluates one intrinsic function.
func (e *cfnEval) function(fn string, arg any) (any, error) {
	args := asSlice(arg)
	need := func(n int) error {
		if len(args) != n {
			return fmt.Errorf("%s %v: want %d arguments", fn, arg, n)
		}
		return nil
	}
	switch fn {
	case "Ref":
		name, ok := arg.(string)
		if !ok {
			return nil, fmt.Errorf("Ref %v: want a name", arg)
		}
		return e.ref(name)
	case "Condition":
		name, ok := arg.(string)
		if !ok {
			return nil, fmt.Errorf("Condition %v: want a name", arg)
		}
		return e.cond(name)
	case "Fn::GetAtt":
		id, attr := "", ""
		if s, ok := arg.(string); ok {
			id, attr, _ = strings.Cut(s, ".")
		} else if len(args) == 2 {
			id, attr = scalar(args[0]), scalar(args[1])
		}
		if !e.isResource(id) || attr == "" {
			return nil, fmt.Errorf("Fn::GetAtt %v: no such resource attribute", arg)
		}
		return "{GetAtt:" + id + "." + attr + "}", nil
	case "Fn::Sub":
		return e.sub(arg)
	case "Fn::If":
		if err := need(3); err != nil {
			return nil, err
		}
		name, ok := args[0].(string)
		if !ok {
			return nil, fmt.Errorf("Fn::If %v: the condition is not a name", arg)
		}
		b, err := e.cond(name)
		if err != nil {
			return nil, err
		}
		if b {
			return e.eval(args[1])
		}
		return e.eval(args[2])
	case "Fn::Equals":
		if err := need(2); err != nil {
			return nil, err
		}
		a, err := e.eval(args[0])
		if err != nil {
			return nil, err
		}
		b, err := e.eval(args[1])
		if err != nil {
			return nil, err
		}
		return scalar(a) == scalar(b), nil
	case "Fn::Not":
		if err := need(1); err != nil {
			return nil, err
		}
		b, err := e.boolean(args[0])
		return !b, err
	case "Fn::And", "Fn::Or":
		if len(args) < 2 {
			return nil, fmt.Errorf("%s %v: want 2 or more conditions", fn, arg)
		}
		result := fn == "Fn::And"
		for _, a := range args {
			b, err := e.boolean(a)
			if err != nil {
				return nil, err
			}
			if fn == "Fn::And" {
				result = result && b
			} else {
				result = result || b
			}
		}
		return result, nil
	case "Fn::Join":
		if err := need(2); err != nil {
			return nil, err
		}
		sep, _ := args[0].(string)
		list, err := e.eval(args[1])
		if err != nil {
			return nil, err
		}
		var parts []string
		for _, p := range asSlice(list) {
			s, err := e.str(p)
			if err != nil {
				return nil, fmt.Errorf("Fn::Join: %w", err)
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, sep), nil
	case "Fn::Split":
		if err := need(2); err != nil {
			return nil, err
		}
		sep, _ := args[0].(string)
		s, err := e.str(args[1])
		if err != nil {
			return nil, fmt.Errorf("Fn::Split: %w", err)
		}
		var out []any
		for _, p := range strings.Split(s, sep) {
			out = append(out, p)
		}
		return out, nil
	case "Fn::Select":
		if err := need(2); err != nil {
			return nil, err
		}
		i, err := strconv.Atoi(scalar(args[0]))
		if err != nil {
			return nil, fmt.Errorf("Fn::Select %v: the index is not a number", arg)
		}
		list, err := e.eval(args[1])
		if err != nil {
			return nil, err
		}
		items := asSlice(list)
		if i < 0 || i >= len(items) {
			return nil, fmt.Errorf("Fn::Select %v: index %d out of range", arg, i)
		}
		return items[i], nil
	case "Fn::FindInMap":
		if err := need(3); err != nil {
			return nil, err
		}
		var keys []string
		for _, a := range args {
			s, err := e.str(a)
			if err != nil {
				return nil, fmt.Errorf("Fn::FindInMap: %w", err)
			}
			keys = append(keys, s)
		}
		v := at(e.tpl, "Mappings", keys[0], keys[1], keys[2])
		if v == nil {
			return nil, fmt.Errorf("Fn::FindInMap %v: no such entry", keys)
		}
		return v, nil
	}
	return nil, fmt.Errorf("%s: not evaluated by this test", fn)
}

// A grant is one action allowed on one resource.
type grant struct{ Action, Resource string }

func (g grant) String() string { return g.Action + " on " + g.Resource }

// policyGrants evaluates the function's Policies and lists every action each allows on each
// resource, sorted. A SAM policy template or a managed policy cannot be checked this way: it is a
// problem, like a statement with NotAction, NotResource or a wildcard action.
func policyGrants(e *cfnEval, policies any) ([]grant, []string, error) {
	ev, err := e.eval(policies)
	if err != nil {
		return nil, nil, err
	}
	var grants []grant
	var problems []string
	for i, p := range asSlice(ev) {
		doc := asMap(p)
		if doc == nil || doc["Statement"] == nil {
			problems = append(problems, fmt.Sprintf("Policies[%d] is %v: write an inline policy statement, so that what it grants can be checked", i, p))
			continue
		}
		statements := asSlice(doc["Statement"])
		if statements == nil {
			statements = []any{doc["Statement"]}
		}
		for _, st := range statements {
			s := asMap(st)
			if s["NotAction"] != nil || s["NotResource"] != nil {
				problems = append(problems, fmt.Sprintf("statement %v uses NotAction or NotResource", s))
			}
			if s["Effect"] != "Allow" {
				continue
			}
			for _, a := range stringList(s["Action"]) {
				if strings.ContainsAny(a, "*?") {
					problems = append(problems, fmt.Sprintf("statement %v allows the wildcard action %s", s["Sid"], a))
				}
				for _, r := range stringList(s["Resource"]) {
					grants = append(grants, grant{a, r})
				}
			}
		}
	}
	slices.SortFunc(grants, func(a, b grant) int { return strings.Compare(a.String(), b.String()) })
	return slices.Compact(grants), problems, nil
}

func stringList(v any) []string {
	if s, ok := v.(string); ok {
		return []string{s}
	}
	var out []string
	for _, x := range asSlice(v) {
		out = append(out, scalar(x))
	}
	return out
}

// resourceDeps returns, for every resource of a SAM template, the resources it depends on: those
// it references (Ref, GetAtt, Sub, or a short form's plain value naming a resource) or names in
// DependsOn. SAM adds one dependency the template does not spell out: an Api or HttpApi event of a
// function puts the function's ARN into the definition of its API, so the API depends on the
// function.
func resourceDeps(sam map[string]any) map[string][]string {
	resources := asMap(sam["Resources"])
	isResource := func(id string) bool { return resources[id] != nil }
	deps := map[string][]string{}
	add := func(from, to string) {
		if from != to && isResource(to) && !slices.Contains(deps[from], to) {
			deps[from] = append(deps[from], to)
		}
	}
	var walk func(from string, v any)
	walk = func(from string, v any) {
		switch x := v.(type) {
		case string:
			id, _, _ := strings.Cut(x, ".")
			add(from, id) // !Ref X, !GetAtt X.Attr
			for _, m := range subVariable.FindAllStringSubmatch(x, -1) {
				if m[1] == "" {
					id, _, _ := strings.Cut(m[2], ".")
					add(from, id) // !Sub ...${X}...
				}
			}
		case []any:
			for _, item := range x {
				walk(from, item)
			}
		case map[string]any:
			for _, item := range x {
				walk(from, item)
			}
		}
	}
	for id, r := range resources {
		for key, v := range asMap(at(r, "Properties")) {
			// A function's events become resources of their own, which depend on the function.
			if key != "Events" || at(r, "Type") != "AWS::Serverless::Function" {
				walk(id, v)
			}
		}
		walk(id, at(r, "DependsOn"))
		if at(r, "Type") == "AWS::Serverless::Function" {
			for _, ev := range asMap(at(r, "Properties", "Events")) {
				switch at(ev, "Type") {
				case "Api", "HttpApi":
					for _, key := range []string{"RestApiId", "ApiId"} {
						if api, ok := at(ev, "Properties", key).(string); ok {
							add(api, id)
						}
					}
				}
			}
		}
	}
	return deps
}

// dependencyCycle returns a cycle of deps (its first resource repeated at its end), or nil.
func dependencyCycle(deps map[string][]string) []string {
	const (
		unseen = iota
		onPath
		done
	)
	state := map[string]int{}
	var path, cycle []string
	var visit func(id string) bool
	visit = func(id string) bool {
		state[id] = onPath
		path = append(path, id)
		for _, next := range deps[id] {
			switch state[next] {
			case onPath:
				cycle = append(slices.Clone(path[slices.Index(path, next):]), next)
				return true
			case unseen:
				if visit(next) {
					return true
				}
			}
		}
		path = path[:len(path)-1]
		state[id] = done
		return false
	}
	for _, id := range sortedKeys(deps) {
		if state[id] == unseen && visit(id) {
			return cycle
		}
	}
	return nil
}
