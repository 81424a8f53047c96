package share

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/envshare/envshare/pkg/wechat"
)

var (
	a0 = appid(0)
	a1 = appid(1)
	a2 = appid(2)
)

func TestDecodeAcceptsValidBodies(t *testing.T) {
	tests := []struct {
		name   string
		action string
		body   string
		want   Request
	}{
		{"a share in data form", "share",
			`{"data":[{"env":"prod-1","appids":["` + a0 + `"]}],"source_type":2}`,
			Request{Action: "share", Data: []wechat.EnvAppIDs{{Env: "prod-1", AppIDs: []string{a0}}}, SourceType: ptr(2)}},
		{"an unshare in flat form", "unshare",
			`{"env":"e","appids":["` + a0 + `","` + a1 + `"]}`,
			Request{Action: "unshare", Env: "e", AppIDs: []string{a0, a1}}},
		{"a direct invocation naming its action", "",
			`{"action":"bindings","appids":["` + a0 + `"]}`,
			Request{Action: "bindings", AppIDs: []string{a0}}},
		{"a route body repeating the route's action", "bindings",
			`{"action":"bindings","appids":["` + a0 + `"],"source_type":0}`,
			Request{Action: "bindings", AppIDs: []string{a0}, SourceType: ptr(0)}},
		{"a full manifest", "reconcile",
			`{"source_type":1,"envs":[{"env":"e","appids":["` + a0 + `"]}],"prune":true,"dry_run":false,"shard":{"index":1,"count":3}}`,
			Request{Action: "reconcile", SourceType: ptr(1), Envs: []wechat.EnvAppIDs{{Env: "e", AppIDs: []string{a0}}},
				Prune: ptr(true), DryRun: ptr(false), Shard: &Shard{Index: 1, Count: 3}}},
		{"an empty reconcile body (the configured manifest)", "reconcile", ``, Request{Action: "reconcile"}},
		{"a timer message with only a shard", "", `{"action":"reconcile","shard":{"index":0,"count":2}}`,
			Request{Action: "reconcile", Shard: &Shard{Index: 0, Count: 2}}},
		{"null values counted as absent", "bindings", `{"appids":["` + a0 + `"],"source_type":null,"action":null}`,
			Request{Action: "bindings", AppIDs: []string{a0}}},
		{"duplicates kept for Do to collapse", "share", `{"env":"e","appids":["` + a0 + `","` + a0 + `"]}`,
			Request{Action: "share", Env: "e", AppIDs: []string{a0, a0}}},
		{"a 64-character env", "share", `{"env":"` + strings.Repeat("a", 64) + `","appids":["` + a0 + `"]}`,
			Request{Action: "share", Env: strings.Repeat("a", 64), AppIDs: []string{a0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode([]byte(tt.body), tt.action)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			tt.want.valid = true
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeReportsEveryProblemByField(t *testing.T) {
	bad := `"wx12"`
	tests := []struct {
		name   string
		action string
		body   string
		want   []string // exact details, in order
	}{
		{"a malformed appid deep in data", "share",
			`{"data":[{"env":"e","appids":["` + a0 + `"]},{"env":"f","appids":["` + a0 + `","` + a1 + `","` + a2 + `",` + bad + `]}]}`,
			[]string{`data[1].appids[3]: "wx12" is not an appid (wx followed by 16 lowercase hex digits)`}},
		{"upper-case hex in an appid", "bindings", `{"appids":["wx5FE6BB43205E9E07"]}`,
			[]string{`appids[0]: "wx5FE6BB43205E9E07" is not an appid (wx followed by 16 lowercase hex digits)`}},
		{"a missing env", "share", `{"appids":["` + a0 + `"]}`, []string{"env: required"}},
		{"an empty env", "share", `{"env":"","appids":["` + a0 + `"]}`, []string{"env: required"}},
		{"an env with capitals and underscores", "share", `{"env":"Prod_1","appids":["` + a0 + `"]}`,
			[]string{`env: "Prod_1" is not an env id (1-64 lowercase letters, digits and hyphens)`}},
		{"a 65-character env", "share", `{"env":"` + strings.Repeat("a", 65) + `","appids":["` + a0 + `"]}`,
			[]string{`env: "` + strings.Repeat("a", 40) + `"... is not an env id (1-64 lowercase letters, digits and hyphens)`}},
		{"empty appids", "share", `{"env":"e","appids":[]}`, []string{"appids: must not be empty"}},
		{"missing appids", "bindings", `{}`, []string{"appids: required"}},
		{"no data at all", "share", `{}`, []string{"data: required (or env and appids)"}},
		{"empty data", "unshare", `{"data":[]}`, []string{"data: must not be empty"}},
		{"data items missing their fields", "share", `{"data":[{}]}`,
			[]string{"data[0].env: required", "data[0].appids: required"}},
		{"data together with env and appids", "share",
			`{"data":[{"env":"e","appids":["` + a0 + `"]}],"env":"e","appids":["` + a0 + `"]}`,
			[]string{"env: not allowed together with data", "appids: not allowed together with data"}},
		{"a typo of dry_run", "reconcile", `{"dryrun":true}`, []string{"dryrun: unknown field"}},
		{"a field spelled in another case", "bindings", `{"AppIDs":["` + a0 + `"],"appids":["` + a0 + `"]}`,
			[]string{"AppIDs: unknown field"}},
		{"unknown fields in nested objects", "reconcile",
			`{"envs":[{"env":"e","appids":["` + a0 + `"],"appid":"x"}],"shard":{"index":0,"count":1,"size":2}}`,
			[]string{"envs[0].appid: unknown field", "shard.size: unknown field"}},
		{"fields not allowed for share", "share",
			`{"env":"e","appids":["` + a0 + `"],"prune":true,"dry_run":true,"envs":[],"shard":{"index":0,"count":1}}`,
			[]string{"envs: not allowed for action share", "prune: not allowed for action share",
				"dry_run: not allowed for action share", "shard: not allowed for action share"}},
		{"fields not allowed for bindings", "bindings", `{"appids":["` + a0 + `"],"env":"e","data":[]}`,
			[]string{"data: not allowed for action bindings", "env: not allowed for action bindings"}},
		{"fields not allowed for reconcile", "reconcile", `{"appids":["` + a0 + `"]}`,
			[]string{"appids: not allowed for action reconcile"}},
		{"empty envs in a manifest", "reconcile", `{"envs":[]}`, []string{"envs: must not be empty"}},
		{"a shard index out of range", "reconcile", `{"shard":{"index":3,"count":3}}`,
			[]string{"shard.index: must be in [0, shard.count)"}},
		{"a negative shard index", "reconcile", `{"shard":{"index":-1,"count":3}}`,
			[]string{"shard.index: must be in [0, shard.count)"}},
		{"a zero shard count", "reconcile", `{"shard":{"index":0,"count":0}}`,
			[]string{"shard.count: must be in [1, 10000]"}},
		{"a shard without count", "reconcile", `{"shard":{"index":0}}`, []string{"shard.count: required"}},
		{"a shard that is not an object", "reconcile", `{"shard":3}`, []string{"shard: must be an object"}},
		{"a negative source_type", "bindings", `{"appids":["` + a0 + `"],"source_type":-1}`,
			[]string{"source_type: must be a non-negative integer"}},
		{"a source_type string", "bindings", `{"appids":["` + a0 + `"],"source_type":"1"}`,
			[]string{"source_type: must be a non-negative integer"}},
		{"a fractional source_type", "bindings", `{"appids":["` + a0 + `"],"source_type":1.5}`,
			[]string{"source_type: must be a non-negative integer"}},
		{"prune as a string", "reconcile", `{"prune":"yes","dry_run":1}`,
			[]string{"prune: must be true or false", "dry_run: must be true or false"}},
		{"appids elements of the wrong type", "bindings", `{"appids":["` + a0 + `",7,null,"wx1"]}`,
			[]string{"appids[1]: must be a string", "appids[2]: must be a string",
				`appids[3]: "wx1" is not an appid (wx followed by 16 lowercase hex digits)`}},
		{"appids as a string", "bindings", `{"appids":"` + a0 + `"}`, []string{"appids: must be an array of strings"}},
		{"data as an object", "share", `{"data":{"env":"e"}}`, []string{`data: must be an array of {"env", "appids"} objects`}},
		{"a data item that is not an object", "share", `{"data":["e"]}`, []string{"data[0]: must be an object"}},
		{"no action in a direct invocation", "", `{"appids":["` + a0 + `"]}`,
			[]string{"action: required (one of share, unshare, bindings, reconcile)"}},
		{"an unknown action", "", `{"action":"delete"}`,
			[]string{`action: "delete" is not one of share, unshare, bindings, reconcile`}},
		{"an action of the wrong type", "", `{"action":1}`, []string{"action: must be a string"}},
		{"a body action that contradicts the route", "share", `{"action":"unshare","env":"e","appids":["` + a0 + `"]}`,
			[]string{`action: "unshare" does not match the route's action "share"`}},
		{"a JSON array", "share", `[1,2]`, []string{"body: must be a JSON object, not array"}},
		{"JSON null", "share", `null`, []string{"body: must be a JSON object"}},
		{"two JSON values", "bindings", `{"appids":[]} {}`,
			[]string{`body: invalid JSON at byte 15 near "{\"appids\":[]} {": invalid character '{' after top-level value`}},
		{"many problems at once", "share",
			`{"data":[{"env":"E","appids":[]},{"env":"ok","appids":["x"]}],"source_type":-2,"dryrun":true}`,
			[]string{"dryrun: unknown field", "source_type: must be a non-negative integer",
				`data[0].env: "E" is not an env id (1-64 lowercase letters, digits and hyphens)`,
				"data[0].appids: must not be empty",
				`data[1].appids[0]: "x" is not an appid (wx followed by 16 lowercase hex digits)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decodeDetails(t, tt.body, tt.action)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("details:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestDecodeNamesTheSyntaxErrorPosition(t *testing.T) {
	got := decodeDetails(t, `{"env":"e","appids":[wx]}`, "share")
	if len(got) != 1 || !strings.HasPrefix(got[0], "body: invalid JSON at byte 22 near ") {
		t.Fatalf("details %q", got)
	}
	if strings.Contains(got[0], `{"env"`) {
		t.Fatalf("the snippet should be short, got %q", got[0])
	}
}

func TestDecodeEnforcesLimits(t *testing.T) {
	quoted := func(ids []string) string {
		b, _ := json.Marshal(ids)
		return string(b)
	}
	t.Run("a share of exactly the maximum of distinct pairs is accepted", func(t *testing.T) {
		ids := append(appids(0, MaxPairs), appid(0)) // a duplicate does not count
		if _, err := Decode([]byte(`{"env":"e","appids":`+quoted(ids)+`}`), "share"); err != nil {
			t.Fatal(err)
		}
	})
	for _, tt := range []struct{ name, body, action, want string }{
		{"a share over the maximum is invalid",
			`{"data":[{"env":"e","appids":` + quoted(appids(0, 6000)) + `},{"env":"f","appids":` + quoted(appids(0, 4001)) + `}]}`, "share",
			"data: 10001 distinct (env, appid) pairs exceed the maximum of 10000 per request"},
		{"bindings over the maximum are invalid",
			`{"appids":` + quoted(appids(0, MaxAppIDs+1)) + `}`, "bindings",
			"appids: 10001 distinct appids exceed the maximum of 10000 per request"},
		{"a manifest over the maximum is invalid",
			`{"envs":[{"env":"e","appids":` + quoted(appids(0, 100_000)) + `},{"env":"f","appids":` + quoted(appids(0, 100_001)) + `}]}`, "reconcile",
			"envs: 200001 distinct (env, appid) pairs exceed the maximum of 200000 per manifest"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := decodeDetails(t, tt.body, tt.action); !reflect.DeepEqual(got, []string{tt.want}) {
				t.Fatalf("got %q", got)
			}
		})
	}
	t.Run("a flood of problems is cut to a count", func(t *testing.T) {
		ids := make([]string, 150)
		for i := range ids {
			ids[i] = "bad"
		}
		got := decodeDetails(t, `{"appids":`+quoted(ids)+`}`, "bindings")
		if len(got) != 101 || got[100] != "... and 50 more problem(s)" {
			t.Fatalf("got %d details, last %q", len(got), got[len(got)-1])
		}
	})
}

func TestRequestsBuiltInCodeAreCheckedByTheRulesOfDecode(t *testing.T) {
	t.Run("Check names the problem as Decode does", func(t *testing.T) {
		_, err := Check(Request{Action: "share", Env: "e", AppIDs: []string{"nope"}})
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeInvalidRequest || e.Details[0] != `appids[0]: "nope" is not an appid (wx followed by 16 lowercase hex digits)` {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("an empty env built in Go is absent, as it would be in JSON", func(t *testing.T) {
		_, err := Check(Request{Action: "share", AppIDs: []string{a0}})
		var e *Error
		if !errors.As(err, &e) || e.Details[0] != "env: required" {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("Do validates a Request built in Go, and sends nothing when it is invalid", func(t *testing.T) {
		f := newFake()
		_, err := New(f, Options{}).Do(t.Context(), Request{Action: "share", Env: "E", AppIDs: []string{a0}})
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeInvalidRequest || e.Details[0] != `env: "E" is not an env id (1-64 lowercase letters, digits and hyphens)` {
			t.Fatalf("err %v", err)
		}
		if _, _, gets := f.counts(); f.writes()+gets != 0 {
			t.Fatal("an invalid request must send nothing upstream")
		}
	})
}

func decodeDetails(t *testing.T, body, action string) []string {
	t.Helper()
	_, err := Decode([]byte(body), action)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Decode(%s) = %v, want an *Error", body, err)
	}
	if e.Code != CodeInvalidRequest {
		t.Fatalf("code %q", e.Code)
	}
	return e.Details
}

// FuzzDecode: Decode never panics, answers either a valid Request or an invalid_request *Error,
// and whatever it accepts survives Check (encoding and decoding again) unchanged.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"data":[{"env":"e","appids":["` + a0 + `"]}],"source_type":1}`,
		`{"action":"reconcile","envs":[{"env":"e","appids":["` + a0 + `"]}],"shard":{"index":0,"count":2},"prune":true}`,
		`{"action":"bindings","appids":["` + a0 + `",null]}`,
		`{"env":"e","appids":[],"dryrun":1}`, `[]`, `null`, ``, `{"shard":{}}`,
		`{"customers":[{"principal":"深圳市示例科技有限公司","envs":["cust-a","cust-a"],"source_type":2},{"principal":"B","envs":["e"]}],"backfill":true}`,
		`{"customers":[{"principal":"A","envs":["e"]},{"principal":"A","envs":["e"]}],"envs":null}`,
	} {
		f.Add([]byte(seed), "")
		f.Add([]byte(seed), "share")
		f.Add([]byte(seed), "reconcile")
	}
	f.Fuzz(func(t *testing.T, body []byte, action string) {
		req, err := Decode(body, action)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeInvalidRequest || len(e.Details) == 0 {
				t.Fatalf("err %v", err)
			}
			return
		}
		if !req.Valid() {
			t.Fatalf("Decode accepted %q but did not mark it valid", body)
		}
		again, err := Check(req)
		if err != nil {
			t.Fatalf("Decode accepted %q but Check refuses it: %v", body, err)
		}
		if !reflect.DeepEqual(again, req) {
			t.Fatalf("Check changed %+v into %+v", req, again)
		}
	})
}
