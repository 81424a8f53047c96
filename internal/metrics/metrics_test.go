package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/envshare/envshare/pkg/wechat"
)

var at = time.UnixMilli(1_700_000_000_123)

// write returns the one EMF line WriteEMF writes.
func write(t *testing.T, action string, o Outcomes, c *Counters) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteEMF(&buf, at, action, o, c); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "\n"); n != 1 || !json.Valid(buf.Bytes()) {
		t.Fatalf("not one JSON line: %q", buf.String())
	}
	return buf.Bytes()
}

// find returns the datapoints of name with exactly the dimension names dims.
func find(points []Datapoint, name string, dims ...string) []Datapoint {
	var out []Datapoint
	for _, p := range points {
		var names []string
		for k := range p.Dimensions {
			names = append(names, k)
		}
		slices.Sort(names)
		if p.Namespace == Namespace && p.Name == name && slices.Equal(names, dims) {
			out = append(out, p)
		}
	}
	return out
}

func TestAnOrdinaryLineHasThePerActionMetricsOnly(t *testing.T) {
	c := new(Counters)
	c.UpstreamCalls.Add(3)
	points, err := Datapoints(write(t, "share", Outcomes{Shared: 2, Failed: 1}, c))
	if err != nil {
		t.Fatal(err)
	}
	if len(points) != 6 {
		t.Fatalf("%d datapoints, want the 6 per-action ones: %+v", len(points), points)
	}
	for name, want := range map[string]float64{"Shared": 2, "Failed": 1, "UpstreamCalls": 3, "PendingConfirmation": 0} {
		p := find(points, name, "Action")
		if len(p) != 1 || p[0].Value != want || p[0].Dimensions["Action"] != "share" {
			t.Errorf("%s: %+v", name, p)
		}
	}
}

func TestTheAlarmedEventsAreMetricsWithoutDimension(t *testing.T) {
	c := new(Counters)
	ctx := c.Context(context.Background())
	From(ctx).Count(RefreshFailed)
	From(ctx).Count(OnboardFailed)
	From(ctx).Count(OnboardFailed)
	wechat.ContextClientTrace(ctx).TokenRejected("batchshareenv") // as the WeChat client calls it
	From(ctx).RejectPush("bad_signature")
	From(ctx).SetTicketAge(90*time.Minute + 400*time.Millisecond)
	points, err := Datapoints(write(t, "refresh", Outcomes{}, c))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{"RefreshFailed": 1, "OnboardFailed": 2, "TokenRejected": 1, "PushRejected": 1, "TicketAge": 5400} {
		p := find(points, name)
		if len(p) != 1 || p[0].Value != want {
			t.Errorf("%s without dimension: %+v, want %v", name, p, want)
		}
	}
	if p := find(points, "TicketAge"); len(p) == 1 && p[0].Unit != "Seconds" {
		t.Errorf("TicketAge unit %q", p[0].Unit)
	}
	if p := find(points, PushRejected, ReasonDimension); len(p) != 1 || p[0].Dimensions[ReasonDimension] != "bad_signature" {
		t.Errorf("PushRejected by Reason: %+v", p)
	}
}

func TestCountersOutsideAnInvocationDoNothing(t *testing.T) {
	c := From(context.Background())
	c.Count(RefreshFailed) // nil: no panic
	c.RejectPush("x")
	c.SetTicketAge(time.Hour)
	if c.Counted(RefreshFailed) != 0 {
		t.Fatal("a nil Counters counted")
	}
}

func TestDatapointsRefusesALineThatCloudWatchWouldNotRead(t *testing.T) {
	for _, line := range []string{
		`not json`,
		`{"_aws":{"CloudWatchMetrics":[{"Namespace":"envshare","Dimensions":[["Action"]],"Metrics":[{"Name":"X"}]}]},"X":1}`, // no Action
		`{"_aws":{"CloudWatchMetrics":[{"Namespace":"envshare","Dimensions":[[]],"Metrics":[{"Name":"X"}]}]},"X":"one"}`,
	} {
		if _, err := Datapoints([]byte(line)); err == nil {
			t.Errorf("%s: no error", line)
		}
	}
}
