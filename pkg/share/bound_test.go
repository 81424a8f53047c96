package share

import (
	"bytes"
	"context"
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

// realLink is a confirmation link of the length WeChat's have (222 bytes), with the characters
// a runtime that escapes HTML writes in six bytes.
func realLink(appid string) string {
	l := "https://mp.weixin.qq.com/wxopen/cloudbase/shareconfirm?appid=" + appid + "&env=prod-6gni9ity244a6ea3&ticket="
	return l + strings.Repeat("Ab3", (222-len(l))/3+1)[:222-len(l)]
}

// measured is what the platform returns of res: its JSON (the encoding of the function's
// answers, without HTML escaping) with every < > & as a runtime that escapes HTML writes it and,
// in an HTTP envelope, every quote and backslash escaped once more.
func measured(t *testing.T, res *Result, inEnvelope bool) int {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(res); err != nil {
		t.Fatal(err)
	}
	body := bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	if inEnvelope {
		quoted, _ := json.Marshal(string(body)) // escapes HTML too
		return len(quoted) + 200                // the envelope's other fields
	}
	quoted, _ := json.Marshal(json.RawMessage(body))
	var html bytes.Buffer
	json.HTMLEscape(&html, quoted)
	return html.Len()
}

// Answers are bounded in bytes whatever ENVSHARE_MAX_RESULTS says (issue 23 #1): 10,000 pending
// pairs with WeChat's real link length and their pages answered 8.2 MB, which the platforms
// refuse, and nothing was logged. What does not fit is left out attention-first, counted and
// logged, and the answer measured as the platform returns it stays under the limit.
func TestAnswersAreBoundedInBytes(t *testing.T) {
	ids := appids(0, 10_000)
	f := newFake()
	f.confirm = func(_, a string) bool { return a != ids[9_999] }
	f.reject = func(_, a string) string {
		if a == ids[9_999] {
			return "rejected: the last one, first in the answer"
		}
		return ""
	}
	up := &linkingFake{fakeWeChat: f}
	page := func(o Outcome) string { // a page URL of the length the function's have (about 470 bytes)
		return "https://k7m2p9q4r1.execute-api.ap-east-1.amazonaws.com/confirm/" + strings.Repeat("x", 406)
	}
	for _, tc := range []struct {
		name  string
		limit *AnswerLimit
		want  int // the most bytes the platform may return
	}{
		{"a direct invocation", &AnswerLimit{}, MaxAnswerBytes},
		{"an HTTP answer (API Gateway, Function URL, SCF's API Gateway)", &AnswerLimit{InEnvelope: true}, MaxAnswerBytes},
		{"an ALB answer", &AnswerLimit{Bytes: 1_000_000, InEnvelope: true}, 1_000_000},
		{"no limit given: the HTTP envelope's", nil, MaxAnswerBytes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			s := newService(t, up, Options{MaxResults: 10_000, ConfirmPage: page, Logger: testLogger(&logs)})
			ctx := t.Context()
			if tc.limit != nil {
				ctx = WithAnswerLimit(ctx, *tc.limit)
			}
			res, err := s.Do(ctx, shareReq("share", wechat.EnvAppIDs{Env: "e1", AppIDs: ids}))
			if err != nil {
				t.Fatal(err)
			}
			inEnvelope := tc.limit == nil || tc.limit.InEnvelope
			if got := measured(t, res, inEnvelope); got > tc.want {
				t.Fatalf("the platform would return %d bytes, more than %d", got, tc.want)
			}
			if res.ResultsOmitted == 0 || len(res.Results)+res.ResultsOmitted != 10_000 {
				t.Fatalf("%d listed and %d omitted of 10,000", len(res.Results), res.ResultsOmitted)
			}
			if res.Results[0].AppID != ids[9_999] || res.Results[0].Status != StatusFailed {
				t.Errorf("the failed entry is not first: %+v", res.Results[0])
			}
			if got := strings.Count(logs.String(), `"msg":"result left out of the answer"`); got != res.ResultsOmitted {
				t.Errorf("%d entries logged, %d omitted", got, res.ResultsOmitted)
			}
			if sum := res.Summary.(*ShareSummary); sum.PendingConfirmation != 9_999 || sum.Failed != 1 {
				t.Errorf("summary %+v", sum)
			}
		})
	}

	t.Run("bindings answers are bounded too, errors first", func(t *testing.T) {
		var logs bytes.Buffer
		up := &scriptedWeChat{bindings: func(req *wechat.GetEnvIDRequest) (*wechat.GetEnvIDResponse, error) {
			resp := &wechat.GetEnvIDResponse{}
			for i, a := range req.AppIDs {
				if i%2 == 0 {
					resp.ErrList = append(resp.ErrList, wechat.AppError{AppID: a, ErrMsg: strings.Repeat("<&>", 10_000)})
				} else {
					resp.RelationData = append(resp.RelationData, wechat.Relation{AppID: a, EnvList: []string{"prod-6gni9ity244a6ea3"}})
				}
			}
			return resp, nil
		}}
		s := newService(t, up, Options{Logger: testLogger(&logs)})
		ctx := WithAnswerLimit(t.Context(), AnswerLimit{Bytes: 1_000_000, InEnvelope: true})
		res, err := s.Do(ctx, Request{Action: ActionBindings, AppIDs: ids})
		if err != nil {
			t.Fatal(err)
		}
		if got := measured(t, res, true); got > 1_000_000 {
			t.Fatalf("the platform would return %d bytes", got)
		}
		if len(res.Bindings)+len(res.Errors)+res.ResultsOmitted != 10_000 || res.ResultsOmitted == 0 || len(res.Bindings) != 0 {
			t.Fatalf("%d bindings, %d errors, %d omitted: the errors come first", len(res.Bindings), len(res.Errors), res.ResultsOmitted)
		}
		if got := strings.Count(logs.String(), `"msg":"result left out of the answer"`); got != res.ResultsOmitted {
			t.Errorf("%d entries logged, %d omitted", got, res.ResultsOmitted)
		}
	})
}

// linkingFake is the fake WeChat with links of the real length.
type linkingFake struct{ *fakeWeChat }

func (f *linkingFake) ShareEnv(ctx context.Context, req *wechat.ShareEnvRequest) (*wechat.ShareEnvResponse, error) {
	resp, err := f.fakeWeChat.ShareEnv(ctx, req)
	if err == nil {
		for i := range resp.MsgInfoList {
			resp.MsgInfoList[i].URL = realLink(resp.MsgInfoList[i].AppID)
		}
	}
	return resp, err
}

// FuzzAnswerBound: whatever texts WeChat sends and whatever the limit, the answer measured as
// the platform returns it fits the limit, and every entry is listed or counted as left out.
func FuzzAnswerBound(f *testing.F) {
	f.Add("rejected", "x?a=1&b=<2>", uint16(20), uint32(5000), true)
	f.Add(`"\`+"\u2028", "\xff", uint16(300), uint32(0), false)
	f.Fuzz(func(t *testing.T, errmsg, path string, n uint16, extra uint32, inEnvelope bool) {
		ids := appids(0, int(n%500)+1)
		up := &scriptedWeChat{share: func(req *wechat.ShareEnvRequest) (*wechat.ShareEnvResponse, error) {
			resp := &wechat.ShareEnvResponse{}
			for i, a := range req.Data[0].AppIDs {
				if i%2 == 0 {
					resp.ErrList = append(resp.ErrList, wechat.EnvError{AppID: a, ErrMsg: errmsg})
				} else {
					resp.MsgInfoList = append(resp.MsgInfoList, wechat.MsgInfo{AppID: a, URL: "https://mp.weixin.qq.com/" + path})
				}
			}
			return resp, nil
		}}
		limit := 2*envelopeReserve + int(extra%200_000)
		s := newService(t, up, Options{MaxResults: 10_000})
		ctx := WithAnswerLimit(t.Context(), AnswerLimit{Bytes: limit, InEnvelope: inEnvelope})
		res, err := s.Do(ctx, shareReq("share", wechat.EnvAppIDs{Env: "e1", AppIDs: ids}))
		if err != nil {
			t.Fatal(err)
		}
		if got := measured(t, res, inEnvelope); got > limit {
			t.Fatalf("%d bytes, limit %d", got, limit)
		}
		if len(res.Results)+res.ResultsOmitted != len(ids) {
			t.Fatalf("%d listed + %d omitted of %d", len(res.Results), res.ResultsOmitted, len(ids))
		}
	})
}
