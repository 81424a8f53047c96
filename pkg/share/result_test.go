package share

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/envshare/envshare/pkg/wechat"
)

func TestAnswersDecodeBackIntoResults(t *testing.T) {
	f := newFake()
	f.confirm = func(env, a string) bool { return a == a1 }
	s := newService(t, f, Options{})
	for _, req := range []Request{
		{Action: ActionShare, Env: "e1", AppIDs: []string{a0, a1}},
		{Action: ActionUnshare, Env: "e1", AppIDs: []string{a0}},
		{Action: ActionBindings, AppIDs: []string{a0, a1}},
		manifestReq(wechat.EnvAppIDs{Env: "e1", AppIDs: []string{a0, a1, a2}}),
	} {
		t.Run(req.Action, func(t *testing.T) {
			res, err := s.Do(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			answer, err := json.Marshal(res)
			if err != nil {
				t.Fatal(err)
			}
			var back Result
			if err := json.Unmarshal(answer, &back); err != nil {
				t.Fatalf("%s: %v", answer, err)
			}
			if !reflect.DeepEqual(&back, res) {
				t.Errorf("decoded\n %+v\nwant\n %+v", back, *res)
			}
			again, _ := json.Marshal(&back)
			if !bytes.Equal(again, answer) {
				t.Errorf("re-encoded\n %s\nwant\n %s", again, answer)
			}
		})
	}
	t.Run("a summary of an action that has none is refused", func(t *testing.T) {
		var r Result
		if err := json.Unmarshal([]byte(`{"ok":true,"action":"bindings","summary":{"requested":1}}`), &r); err == nil {
			t.Fatal("no error")
		}
	})
}
