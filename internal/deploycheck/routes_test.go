package deploycheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/envshare/envshare/pkg/share"
)

// awsRoutes lists the route keys of template.yaml's AWS::ApiGatewayV2::Route resources, each of
// which must reach the function: an AWS_PROXY integration of the function with payload format 2.0,
// on an HTTP API that a Lambda permission lets invoke the function and whose stage is throttled.
func awsRoutes(sam map[string]any) (routes, problems []string) {
	res := asMap(sam["Resources"])
	typeOf := func(id string) string { return scalar(at(res, id, "Type")) }
	bad := func(format string, args ...any) {
		problems = append(problems, "template.yaml: "+fmt.Sprintf(format, args...))
	}
	apis := map[string]bool{}
	for _, id := range sortedKeys(res) {
		if typeOf(id) != "AWS::ApiGatewayV2::Route" {
			continue
		}
		p := asMap(at(res, id, "Properties"))
		key, api, target := scalar(p["RouteKey"]), scalar(p["ApiId"]), scalar(p["Target"]) // !Sub integrations/${X}
		integration, ok := strings.CutPrefix(target, "integrations/${")
		integration, ok2 := strings.CutSuffix(integration, "}")
		if !ok || !ok2 || typeOf(integration) != "AWS::ApiGatewayV2::Integration" {
			bad("route %s (%s): Target %q is not !Sub integrations/${<an integration of this template>}", id, key, target)
			continue
		}
		ip := asMap(at(res, integration, "Properties"))
		uri := scalar(ip["IntegrationUri"])
		if uri != samFunctionID+".Arn" && !strings.Contains(uri, "${"+samFunctionID+".Arn}") {
			bad("route %s (%s): integration %s calls %q, not the function (!GetAtt %s.Arn)", id, key, integration, uri, samFunctionID)
			continue
		}
		if ip["IntegrationType"] != "AWS_PROXY" || scalar(ip["PayloadFormatVersion"]) != "2.0" {
			bad("integration %s: want IntegrationType AWS_PROXY and PayloadFormatVersion \"2.0\" (the v2 event the function decodes)", integration)
		}
		if typeOf(api) != "AWS::ApiGatewayV2::Api" || at(res, api, "Properties", "ProtocolType") != "HTTP" || scalar(ip["ApiId"]) != api {
			bad("route %s (%s): ApiId %q is not the HTTP API of its integration", id, key, api)
			continue
		}
		apis[api] = true
		routes = append(routes, key)
	}
	for _, api := range sortedKeys(apis) {
		permitted, throttled := false, false
		for _, id := range sortedKeys(res) {
			p := asMap(at(res, id, "Properties"))
			switch typeOf(id) {
			case "AWS::Lambda::Permission":
				fn := scalar(p["FunctionName"])
				permitted = permitted || p["Action"] == "lambda:InvokeFunction" && p["Principal"] == "apigateway.amazonaws.com" &&
					(fn == samFunctionID || fn == samFunctionID+".Arn") && strings.Contains(scalar(p["SourceArn"]), "${"+api+"}")
			case "AWS::ApiGatewayV2::Stage":
				if scalar(p["ApiId"]) == api {
					burst, _ := at(p, "DefaultRouteSettings", "ThrottlingBurstLimit").(float64)
					rate, _ := at(p, "DefaultRouteSettings", "ThrottlingRateLimit").(float64)
					throttled = burst > 0 && rate > 0 && p["AutoDeploy"] == true
				}
			}
		}
		if !permitted {
			bad("no AWS::Lambda::Permission lets apigateway.amazonaws.com invoke %s from %s (SourceArn ...${%s}/*)", samFunctionID, api, api)
		}
		if !throttled {
			bad("API %s has no auto-deployed stage with DefaultRouteSettings throttling (ThrottlingBurstLimit, ThrottlingRateLimit)", api)
		}
	}
	return routes, problems
}

// scfEndpointServes reports whether the SCF API Gateway endpoint "METHOD /path" serves the
// contract route "METHOD /path": the same path, or, for a route with a path parameter, its fixed
// prefix (Tencent API Gateway matches a plain path by its longest prefix). The catch-all "ANY /"
// does not count: every route has an endpoint of its own.
func scfEndpointServes(endpoint, route string) bool {
	em, ep, _ := strings.Cut(endpoint, " ")
	rm, rp, _ := strings.Cut(route, " ")
	if em != rm {
		return false
	}
	if ep == rp {
		return true
	}
	fixed, _, hasParam := strings.Cut(rp, "{")
	return hasParam && fixed != "/" && (ep == fixed || ep == strings.TrimSuffix(fixed, "/"))
}

// scheduledMessage is the message a schedule or timer sends, and when.
type scheduledMessage struct{ where, message, expression string }

// checkScheduledMessages wants exactly one reconcile of ENVSHARE_MANIFEST and one refresh, the
// refresh every 20 minutes and never forced (a forced refresh mints a new token every run).
func checkScheduledMessages(t *testing.T, file string, messages []scheduledMessage, every20Minutes func(string) bool) {
	t.Helper()
	var reconciles, refreshes int
	for _, m := range messages {
		if force, err := decodeRefresh(m.message); err == nil {
			refreshes++
			if force {
				t.Errorf("%s sends %q: a scheduled refresh must not force a new token every run", m.where, m.message)
			}
			if !every20Minutes(m.expression) {
				t.Errorf("%s sends the refresh at %q, not every 20 minutes", m.where, m.expression)
			}
			continue
		}
		req, err := share.Decode([]byte(m.message), "")
		if err != nil {
			t.Errorf("%s sends %q, neither a refresh nor a valid message: %v", m.where, m.message, err)
			continue
		}
		if req.Action != share.ActionReconcile || len(req.Envs) != 0 {
			t.Errorf("%s sends %q, not a reconcile of ENVSHARE_MANIFEST: %+v", m.where, m.message, req)
			continue
		}
		reconciles++
	}
	if reconciles != 1 || refreshes != 1 {
		t.Errorf("%s schedules %d reconcile and %d refresh messages, want exactly one of each", file, reconciles, refreshes)
	}
}

// decodeRefresh accepts exactly the contract's refresh message: {"action": "refresh"} with an
// optional boolean "force", no other field and no field twice.
func decodeRefresh(message string) (force bool, err error) {
	dec := json.NewDecoder(strings.NewReader(message))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false, errors.New("not a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return false, err
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return false, err
		}
		if seen[key] {
			return false, fmt.Errorf("%q appears twice", key)
		}
		seen[key] = true
		switch key {
		case "action":
			var action string
			if json.Unmarshal(raw, &action) != nil || action != "refresh" {
				return false, fmt.Errorf("action %s is not \"refresh\"", raw)
			}
		case "force":
			if json.Unmarshal(raw, &force) != nil {
				return false, fmt.Errorf("force %s is not a boolean", raw)
			}
		default:
			return false, fmt.Errorf("unknown field %q", key)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return false, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return false, errors.New("trailing data after the object")
	}
	if !seen["action"] {
		return false, errors.New("no action")
	}
	return force, nil
}

// every20MinuteField reports whether a cron minute field fires every 20 minutes: */20, N/20 or
// N,N+20,N+40 (N < 20).
func every20MinuteField(f string) bool {
	if f == "*/20" {
		return true
	}
	if start, ok := strings.CutSuffix(f, "/20"); ok {
		n, err := strconv.Atoi(start)
		return err == nil && n >= 0 && n < 20
	}
	parts := strings.Split(f, ",")
	if len(parts) != 3 {
		return false
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil {
			return false
		}
		n[i] = v
	}
	return n[0] >= 0 && n[0] < 20 && n[1] == n[0]+20 && n[2] == n[0]+40
}

// awsEvery20Minutes reads an EventBridge Scheduler expression: rate(20 minutes), or a cron of six
// fields (minutes hours day-of-month month day-of-week year) firing every 20 minutes.
func awsEvery20Minutes(expr string) bool {
	if expr == "rate(20 minutes)" {
		return true
	}
	inner, ok := strings.CutPrefix(expr, "cron(")
	inner, ok2 := strings.CutSuffix(inner, ")")
	f := strings.Fields(inner)
	anyDay := func(s string) bool { return s == "*" || s == "?" }
	return ok && ok2 && len(f) == 6 && every20MinuteField(f[0]) && f[1] == "*" && anyDay(f[2]) && f[3] == "*" && anyDay(f[4]) && f[5] == "*"
}

// scfEvery20Minutes reads an SCF timer's cron of seven fields (second minute hour day month
// weekday year) firing every 20 minutes.
func scfEvery20Minutes(expr string) bool {
	f := strings.Fields(expr)
	if len(f) != 7 {
		return false
	}
	sec, err := strconv.Atoi(f[0])
	return err == nil && sec >= 0 && sec < 60 && every20MinuteField(f[1]) &&
		f[2] == "*" && f[3] == "*" && f[4] == "*" && (f[5] == "*" || f[5] == "?") && f[6] == "*"
}

func TestScheduleCheckersAreNotVacuous(t *testing.T) {
	for _, tc := range []struct {
		message string
		ok      bool
	}{
		{`{"action":"refresh"}`, true},
		{` {"action": "refresh", "force": true} `, true},
		{`{"action":"refresh","forse":true}`, false},
		{`{"action":"refresh","action":"reconcile"}`, false},
		{`{"action":"refresh","force":"yes"}`, false},
		{`{"action":"reconcile"}`, false},
		{`{"force":true}`, false},
		{`{"action":"refresh"} {}`, false},
		{`"refresh"`, false},
	} {
		_, err := decodeRefresh(tc.message)
		if (err == nil) != tc.ok {
			t.Errorf("decodeRefresh(%s): error %v, want ok = %v", tc.message, err, tc.ok)
		}
	}
	for expr, want := range map[string]bool{
		"rate(20 minutes)": true, "cron(0/20 * * * ? *)": true, "cron(5,25,45 * * * ? *)": true,
		"rate(1 hour)": false, "rate(20 hours)": false, "cron(0/20 8 * * ? *)": false, "cron(0/30 * * * ? *)": false,
	} {
		if awsEvery20Minutes(expr) != want {
			t.Errorf("awsEvery20Minutes(%q) = %v", expr, !want)
		}
	}
	for expr, want := range map[string]bool{
		"0 */20 * * * * *": true, "30 0,20,40 * * * * *": true,
		"0 0 */1 * * * *": false, "": false, "*/20 * * * * * *": false, "0 */20 * * * *": false, "0 */20 9 * * * *": false,
	} {
		if scfEvery20Minutes(expr) != want {
			t.Errorf("scfEvery20Minutes(%q) = %v", expr, !want)
		}
	}
	for _, tc := range []struct {
		endpoint, route string
		want            bool
	}{
		{"GET /confirm", "GET /confirm/{token}", true},
		{"GET /confirm/{token}", "GET /confirm/{token}", true},
		{"ANY /", "GET /confirm/{token}", false},
		{"POST /confirm", "GET /confirm/{token}", false},
		{"POST /share", "POST /share", true},
		{"POST /", "POST /share", false},
	} {
		if got := scfEndpointServes(tc.endpoint, tc.route); got != tc.want {
			t.Errorf("scfEndpointServes(%q, %q) = %v", tc.endpoint, tc.route, got)
		}
	}
}
