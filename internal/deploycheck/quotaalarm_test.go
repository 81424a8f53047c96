package deploycheck

import (
	"context"
	"maps"
	"regexp"
	"strings"
	"testing"

	"github.com/envshare/envshare/internal/metrics"
	"github.com/envshare/envshare/internal/trigger"
	"github.com/envshare/envshare/pkg/wxemu"
)

// minOfIDs reads a metric-math expression MIN([a, b, ...]), the only one QuotaLowAlarm uses.
var minOfIDs = regexp.MustCompile(`^MIN\(\[([a-z, ]+)\]\)$`)

// quotaAlarmValue evaluates QuotaLowAlarm over the EMF lines as CloudWatch would: each
// MetricStat's statistic over the datapoints of its metric and dimension values, then the
// expression over those that have data. ok is false when no MetricStat found a datapoint.
func quotaAlarmValue(t *testing.T, alarm map[string]any, lines string) (value float64, ok bool) {
	t.Helper()
	stats := map[string]float64{}
	var expression string
	for _, m := range asSlice(alarm["Metrics"]) {
		id := scalar(at(m, "Id"))
		if e := scalar(at(m, "Expression")); e != "" {
			expression = e
			continue
		}
		metric := at(m, "MetricStat", "Metric")
		want := map[string]string{}
		for _, d := range asSlice(at(metric, "Dimensions")) {
			want[scalar(at(d, "Name"))] = scalar(at(d, "Value"))
		}
		var values []float64
		for line := range strings.Lines(lines) {
			points, err := metrics.Datapoints([]byte(line))
			if err != nil {
				t.Fatalf("an EMF line CloudWatch would not read: %v\n%s", err, line)
			}
			for _, dp := range points {
				if dp.Namespace == scalar(at(metric, "Namespace")) && dp.Name == scalar(at(metric, "MetricName")) && maps.Equal(dp.Dimensions, want) {
					values = append(values, dp.Value)
				}
			}
		}
		if len(values) > 0 {
			stats[id] = statistic(t, scalar(at(m, "MetricStat", "Stat")), values)
		}
	}
	match := minOfIDs.FindStringSubmatch(expression)
	if match == nil {
		t.Fatalf("QuotaLowAlarm's expression %q is not evaluated here", expression)
	}
	for _, id := range strings.Split(match[1], ",") {
		if v, has := stats[strings.TrimSpace(id)]; has && (!ok || v < value) {
			value, ok = v, true
		}
	}
	return value, ok
}

// The quota view publishes QuotaRemaining per API; QuotaLowAlarm fires when one API's falls
// below QuotaAlarmThreshold (the parameter's default), and not while every API has plenty.
func TestTheQuotaLowAlarmFiresOnTheQuotaLinesItWatches(t *testing.T) {
	sam := loadYAML(t, "template.yaml")
	alarm := asMap(at(sam, "Resources", "QuotaLowAlarm", "Properties"))
	threshold, _ := at(sam, "Parameters", scalar(alarm["Threshold"]), "Default").(float64)
	if threshold <= 0 {
		t.Fatalf("QuotaLowAlarm's Threshold %v is not a parameter with a default", alarm["Threshold"])
	}
	quotaLines := func(t *testing.T, changes ...wxemu.QuotaChange) string {
		emu := wxemu.New(wxemu.Options{Tokens: []string{alarmToken}, Strict: true})
		app, emf := alarmAppOn(t, emu, map[string]string{"ENVSHARE_COMPONENT_ACCESS_TOKEN": alarmToken})
		for _, c := range changes { // after the seed, which starts a new day
			if _, err := emu.ChangeQuota(c); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := trigger.Answer(app.Message(context.Background(), []byte(`{"action":"quota"}`))); err != nil {
			t.Fatalf("the quota view: %v", err)
		}
		return emf.String()
	}
	t.Run("one API low", func(t *testing.T) {
		limit, used := 5000, 5000-int(threshold)/2
		v, ok := quotaAlarmValue(t, alarm, quotaLines(t, wxemu.QuotaChange{API: "batchshareenv", DailyLimit: &limit, Used: &used}))
		if !ok || !breaches(t, v, scalar(alarm["ComparisonOperator"]), threshold) {
			t.Errorf("lowest QuotaRemaining %v (data: %v): the alarm would stay OK below %v", v, ok, threshold)
		}
	})
	t.Run("every API with plenty", func(t *testing.T) {
		v, ok := quotaAlarmValue(t, alarm, quotaLines(t))
		if !ok || breaches(t, v, scalar(alarm["ComparisonOperator"]), threshold) {
			t.Errorf("lowest QuotaRemaining %v (data: %v): the alarm would fire", v, ok)
		}
	})
	if at(alarm, "AlarmActions") == nil || at(alarm, "OKActions") == nil {
		t.Error("the alarm notifies no AlarmTopicArn")
	}
}
