package share

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/envshare/envshare/pkg/wechat"
)

func TestAnswersAreBoundedAttentionFirstAndNothingIsLost(t *testing.T) {
	// 12 appids: every third is rejected, every fourth needs confirmation, the rest shared.
	f := newFake()
	ids := appids(0, 12)
	f.reject = func(_, a string) string {
		if i := slices.Index(ids, a); i%3 == 0 {
			return "rejected " + a
		}
		return ""
	}
	f.confirm = func(_, a string) bool { return slices.Index(ids, a)%4 == 1 }
	var logs bytes.Buffer
	s := newService(t, f, Options{MaxResults: 5, Logger: testLogger(&logs)})
	res, err := s.Do(t.Context(), shareReq("share", wechat.EnvAppIDs{Env: "e1", AppIDs: ids}))
	if err != nil {
		t.Fatal(err)
	}
	sum := res.Summary.(*ShareSummary)
	if sum.Requested != 12 || sum.Failed != 4 || sum.PendingConfirmation != 2 || sum.Shared != 6 {
		t.Fatalf("the summary must count every entry: %+v", sum)
	}
	// Kept: the 4 failed, then the first pending one, in request order.
	var kept []string
	for _, o := range res.Results {
		kept = append(kept, string(o.Status)+" "+o.AppID)
	}
	want := []string{"failed " + ids[0], "failed " + ids[3], "failed " + ids[6], "failed " + ids[9], "pending_confirmation " + ids[1]}
	if strings.Join(kept, ",") != strings.Join(want, ",") {
		t.Fatalf("kept\n%v\nwant\n%v", kept, want)
	}
	if res.ResultsOmitted != 7 {
		t.Fatalf("results_omitted = %d, want 7", res.ResultsOmitted)
	}
	b, _ := json.Marshal(res)
	if !strings.Contains(string(b), `"results_omitted":7`) {
		t.Fatalf("answer %s", b)
	}
	// Every left-out entry is one JSON log line, with what a person needs.
	omitted := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		if m["msg"] == "result left out of the answer" {
			omitted[m["appid"].(string)] = true
			if m["status"] == string(StatusPendingConfirmation) && m["confirm_url"] == nil {
				t.Errorf("a left-out link must be logged with its URL: %s", line)
			}
		}
	}
	if len(omitted) != 7 {
		t.Fatalf("%d entries logged, want 7: %v", len(omitted), omitted)
	}
	for _, o := range res.Results {
		if omitted[o.AppID] {
			t.Fatalf("%s is both in the answer and in the log", o.AppID)
		}
	}
}

func TestConfirmPagesAreAddedToPendingOutcomes(t *testing.T) {
	f := newFake()
	f.confirm = func(_, a string) bool { return a == a1 }
	s := newService(t, f, Options{ConfirmPage: func(o Outcome) string { return "https://pages.example/" + o.AppID }})
	res, err := s.Do(t.Context(), shareReq("share", wechat.EnvAppIDs{Env: "e1", AppIDs: []string{a0, a1}}))
	if err != nil {
		t.Fatal(err)
	}
	if o := outcomeOf(t, res, "e1", a1); o.ConfirmPage != "https://pages.example/"+a1 {
		t.Fatalf("pending outcome %+v", o)
	}
	if o := outcomeOf(t, res, "e1", a0); o.ConfirmPage != "" {
		t.Fatalf("shared outcome %+v", o)
	}
}
