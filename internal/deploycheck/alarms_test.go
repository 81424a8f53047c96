package deploycheck

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/metrics"
	"github.com/envshare/envshare/internal/testkit"
	"github.com/envshare/envshare/internal/trigger"
	"github.com/envshare/envshare/pkg/wxemu"
)

// The platform of the alarm scenarios' pushes.
const (
	alarmAppID    = "wxc0ffee0c0ffee0ab"
	alarmMsgToken = "alarm-message-token"
	alarmAESKey   = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	alarmToken    = "alarm-access-token"
)

// alarmScenarios make the function write the metric an alarm watches, as the failure it
// reports would: each returns the EMF lines of the invocations.
var alarmScenarios = map[string]func(t *testing.T) string{
	// A push signed with another message token is refused.
	metrics.PushRejected: func(t *testing.T) string {
		app, emf := alarmApp(t, PlatformEnv(map[string]string{"ENVSHARE_COMPONENT_ACCESS_TOKEN": alarmToken}))
		resp := app.HTTP(context.Background(), trigger.HTTPRequest{Method: "POST", Path: "/wechat/events",
			Query: map[string][]string{"timestamp": {"1700000000"}, "nonce": {"n"}, "msg_signature": {strings.Repeat("0", 40)}},
			Body:  "<xml><Encrypt>AAAA</Encrypt></xml>"})
		if resp.Status != 401 {
			t.Fatalf("a push with a bad signature answered %d", resp.Status)
		}
		return emf.String()
	},
	// The last push stored a ticket created two hours ago: none has come since.
	metrics.TicketAge: func(t *testing.T) string {
		app, emf := alarmApp(t, stateRecordEnv(t))
		if status := push(t, app, "component_verify_ticket", "", time.Now().Add(-2*time.Hour)); status != 200 {
			t.Fatalf("the ticket push answered %d", status)
		}
		return emf.String()
	},
	// The scheduled refresh and its retry find no ticket to mint with.
	metrics.RefreshFailed.String(): func(t *testing.T) string {
		app, emf := alarmApp(t, stateRecordEnv(t))
		for range 2 {
			if _, err := trigger.Answer(app.Message(context.Background(), []byte(`{"action":"refresh"}`))); err == nil {
				t.Fatal("a refresh without a ticket succeeded")
			}
		}
		return emf.String()
	},
	// WeChat rejects the token, and the source still holds it.
	metrics.TokenRejected.String(): func(t *testing.T) string {
		app, emf := alarmApp(t, map[string]string{"ENVSHARE_COMPONENT_ACCESS_TOKEN": "a-token-wechat-rejects"})
		app.Message(context.Background(), []byte(`{"action":"bindings","appids":["wx5fe6bb43205e9e07"]}`))
		return emf.String()
	},
	// A Mini Program of another entity authorizes the platform: its onboard env cannot be shared.
	metrics.OnboardFailed.String(): func(t *testing.T) string {
		app, emf := alarmApp(t, PlatformEnv(map[string]string{"ENVSHARE_COMPONENT_ACCESS_TOKEN": alarmToken,
			"ENVSHARE_ONBOARD_ENVS": "prod-6gni9ity244a6ea3"}))
		if status := push(t, app, "authorized", "wx7e57d0c0ffee1234", time.Now()); status != 200 {
			t.Fatalf("the authorized push answered %d", status)
		}
		return emf.String()
	},
}

// PlatformEnv adds the platform's message settings (mode env) to env.
func PlatformEnv(env map[string]string) map[string]string {
	env["ENVSHARE_COMPONENT_APPID"], env["ENVSHARE_COMPONENT_TOKEN"], env["ENVSHARE_COMPONENT_AES_KEY"] = alarmAppID, alarmMsgToken, alarmAESKey
	return env
}

// stateRecordEnv is mode file with the platform's credentials and an empty state record.
func stateRecordEnv(t *testing.T) map[string]string {
	dir := t.TempDir()
	creds, _ := json.Marshal(map[string]string{"component_appid": alarmAppID, "component_appsecret": "alarm-app-secret-0123456789",
		"component_token": alarmMsgToken, "component_encoding_aes_key": alarmAESKey})
	for name, content := range map[string][]byte{"credentials.json": creds, "state.json": []byte("{}")} {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return map[string]string{"ENVSHARE_TOKEN_MODE": "file", "ENVSHARE_TOKEN_FILE": filepath.Join(dir, "credentials.json"),
		"ENVSHARE_STATE_ID": filepath.Join(dir, "state.json")}
}

// alarmApp is the AWS function's App, configured by env over the WeChat emulator (which knows
// alarmToken); its EMF lines go to the buffer returned.
func alarmApp(t *testing.T, env map[string]string) (*trigger.App, *testkit.Buffer) {
	t.Helper()
	return alarmAppOn(t, wxemu.New(wxemu.Options{Tokens: []string{alarmToken}, Strict: true}), env)
}

// alarmAppOn is alarmApp over emu, seeded with the demo state.
func alarmAppOn(t *testing.T, emu *wxemu.Emulator, env map[string]string) (*trigger.App, *testkit.Buffer) {
	t.Helper()
	if err := emu.Seed(wxemu.DemoState()); err != nil {
		t.Fatal(err)
	}
	env["ENVSHARE_WECHAT_BASE_URL"], env["ENVSHARE_RATE_LIMIT"] = emu.ServeTest(t), "0"
	useEnv(t, env)
	emf := &testkit.Buffer{}
	return trigger.New(trigger.Options{Platform: trigger.PlatformAWS, Logger: slog.New(slog.DiscardHandler), MetricsOut: emf}), emf
}

// push sends WeChat's push of infoType, sealed for the alarm platform, to /wechat/events.
func push(t *testing.T, app *trigger.App, infoType, appid string, created time.Time) int {
	t.Helper()
	sealer, err := wxemu.NewSealer(alarmMsgToken, alarmAESKey, alarmAppID)
	if err != nil {
		t.Fatal(err)
	}
	msg := "<xml><AppId><![CDATA[" + alarmAppID + "]]></AppId><CreateTime>" + strconv.FormatInt(created.Unix(), 10) +
		"</CreateTime><InfoType><![CDATA[" + infoType + "]]></InfoType><ComponentVerifyTicket><![CDATA[ticket@@@alarm]]></ComponentVerifyTicket>" +
		"<AuthorizerAppid><![CDATA[" + appid + "]]></AuthorizerAppid></xml>"
	body, sig := sealer.Seal([]byte(msg), "1700000000", "n")
	return app.HTTP(context.Background(), trigger.HTTPRequest{Method: "POST", Path: "/wechat/events", Body: string(body),
		Query: map[string][]string{"timestamp": {"1700000000"}, "nonce": {"n"}, "msg_signature": {sig}, "encrypt_type": {"aes"}}}).Status
}

// statistic computes a CloudWatch statistic of values.
func statistic(t *testing.T, name string, values []float64) float64 {
	t.Helper()
	switch name {
	case "Sum", "Average":
		sum := 0.0
		for _, v := range values {
			sum += v
		}
		if name == "Average" {
			return sum / float64(len(values))
		}
		return sum
	case "Minimum":
		return slices.Min(values)
	case "Maximum":
		return slices.Max(values)
	case "SampleCount":
		return float64(len(values))
	}
	t.Fatalf("statistic %s is not evaluated here", name)
	return 0
}

// breaches reports whether value op threshold holds.
func breaches(t *testing.T, value float64, op string, threshold float64) bool {
	t.Helper()
	switch op {
	case "GreaterThanThreshold":
		return value > threshold
	case "GreaterThanOrEqualToThreshold":
		return value >= threshold
	case "LessThanThreshold":
		return value < threshold
	case "LessThanOrEqualToThreshold":
		return value <= threshold
	}
	t.Fatalf("comparison %s is not evaluated here", op)
	return false
}

// TestEveryAlarmOfTheFunctionsMetricsFiresOnTheLinesItWatches runs, for each alarm of the
// template on namespace envshare, the function so that it writes the metric lines of the failure
// the alarm reports, reads them as CloudWatch does, and checks that the alarm's namespace,
// metric, dimensions and statistic find them and that the statistic of one period crosses
// its threshold.
func TestEveryAlarmOfTheFunctionsMetricsFiresOnTheLinesItWatches(t *testing.T) {
	sam := loadYAML(t, "template.yaml")
	watched := map[string]bool{}
	for _, id := range sortedKeys(asMap(sam["Resources"])) {
		r := asMap(at(sam, "Resources", id))
		p := asMap(r["Properties"])
		if r["Type"] != "AWS::CloudWatch::Alarm" || p["Namespace"] != metrics.Namespace {
			continue
		}
		name, _ := p["MetricName"].(string)
		watched[name] = true
		t.Run(id, func(t *testing.T) {
			scenario := alarmScenarios[name]
			if scenario == nil {
				t.Fatalf("no scenario makes the function write %s: add one to alarmScenarios", name)
			}
			var dims []string
			for _, d := range asSlice(p["Dimensions"]) {
				dims = append(dims, scalar(at(d, "Name")))
			}
			slices.Sort(dims)
			var values []float64
			for line := range strings.Lines(scenario(t)) {
				points, err := metrics.Datapoints([]byte(line))
				if err != nil {
					t.Fatalf("an EMF line CloudWatch would not read: %v\n%s", err, line)
				}
				for _, dp := range points {
					if dp.Namespace == p["Namespace"] && dp.Name == name && slices.Equal(slices.Sorted(maps.Keys(dp.Dimensions)), dims) {
						values = append(values, dp.Value)
					}
				}
			}
			if len(values) == 0 {
				t.Fatalf("the function wrote no %s/%s datapoint with dimensions %v", metrics.Namespace, name, dims)
			}
			stat, op := scalar(p["Statistic"]), scalar(p["ComparisonOperator"])
			threshold, _ := p["Threshold"].(float64)
			if v := statistic(t, stat, values); !breaches(t, v, op, threshold) {
				t.Errorf("%s of %v is %v: not %s %v, the alarm would stay OK", stat, values, v, op, threshold)
			}
			if at(p, "AlarmActions") == nil || at(p, "OKActions") == nil {
				t.Error("the alarm notifies no AlarmTopicArn")
			}
		})
	}
	for name := range alarmScenarios {
		if !watched[name] {
			t.Errorf("no alarm of template.yaml watches %s/%s", metrics.Namespace, name)
		}
	}
	t.Run("the AWS metrics' alarms watch the function and its queues", func(t *testing.T) {
		for _, w := range []struct{ namespace, metric, id string }{
			{"AWS/Lambda", "Errors", samFunctionID},
			{"AWS/SQS", "ApproximateNumberOfMessagesVisible", "EnvshareDeadLetterQueue"},
			{"AWS/SQS", "ApproximateNumberOfMessagesVisible", "FailedInvocationQueue"},
		} {
			if !alarmWatches(sam, w.namespace, w.metric, w.id) {
				t.Errorf("no alarm watches %s %s of %s", w.namespace, w.metric, w.id)
			}
		}
	})
}

func TestAHealthyTicketPushDoesNotFireTheTicketAgeAlarm(t *testing.T) {
	app, emf := alarmApp(t, stateRecordEnv(t))
	if status := push(t, app, "component_verify_ticket", "", time.Now()); status != 200 {
		t.Fatalf("the ticket push answered %d", status)
	}
	p := asMap(at(loadYAML(t, "template.yaml"), "Resources", "TicketAgeAlarm", "Properties"))
	threshold, _ := p["Threshold"].(float64)
	for line := range strings.Lines(emf.String()) {
		points, _ := metrics.Datapoints([]byte(line))
		for _, dp := range points {
			if dp.Name == metrics.TicketAge && breaches(t, dp.Value, scalar(p["ComparisonOperator"]), threshold) {
				t.Errorf("a ticket pushed now reports %v s", dp.Value)
			}
		}
	}
}

func TestTheDashboardShowsEveryMetricAndAlarm(t *testing.T) {
	sam := loadYAML(t, "template.yaml")
	sub := asSlice(at(sam, "Resources", "EnvshareDashboard", "Properties", "DashboardBody", "Fn::Sub"))
	if len(sub) == 0 {
		t.Fatal("EnvshareDashboard's DashboardBody is not Fn::Sub [body, variables]")
	}
	body := scalar(sub[0])
	// Each ${...} becomes a value of its kind, as CloudFormation substitutes it.
	filled := subVariable.ReplaceAllStringFunc(body, func(v string) string {
		if v == "${TicketAge}" {
			return `,"arn:aws:cloudwatch:eu-central-1:123456789012:alarm:ticket"`
		}
		if at(sam, "Parameters", strings.Trim(v, "${}"), "Type") == "Number" {
			return "1000"
		}
		return "X"
	})
	var dash struct {
		Widgets []json.RawMessage `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(filled), &dash); err != nil || len(dash.Widgets) == 0 {
		t.Fatalf("the dashboard body is not the JSON of a dashboard: %v\n%s", err, filled)
	}
	names := []string{metrics.PushRejected, metrics.TicketAge, "QuotaRemaining", "Shared", "PendingConfirmation", "Failed", "UpstreamCalls", "Retries", "TokenReloads"}
	for e := range alarmScenarios {
		names = append(names, e)
	}
	for _, name := range names {
		if !strings.Contains(body, `"`+name+`"`) && !strings.Contains(body, `\"`+name+`\"`) {
			t.Errorf("the dashboard does not show %s", name)
		}
	}
	for _, id := range sortedKeys(asMap(sam["Resources"])) {
		if at(sam, "Resources", id, "Type") == "AWS::CloudWatch::Alarm" && !strings.Contains(body, "${"+id+".Arn}") &&
			!strings.Contains(toJSONString(sub[1]), id+".Arn") {
			t.Errorf("the dashboard's alarm widget lacks %s", id)
		}
	}
}

func toJSONString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
