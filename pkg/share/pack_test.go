package share

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/envshare/envshare/pkg/wechat"
)

// pairsOf lists the pairs of a call as "env/appid".
func pairsOf(out []Outcome, call []int) []string {
	var s []string
	for _, i := range call {
		s = append(s, out[i].Env+"/"+out[i].AppID)
	}
	return s
}

func TestPacker(t *testing.T) {
	tests := []struct {
		name  string
		pairs [][2]string // env, appid
		size  int
		want  [][]string
	}{
		{"envs that share no appid are packed into one call",
			[][2]string{{"e1", a0}, {"e1", a1}, {"e2", a2}, {"e3", appid(3)}}, 100,
			[][]string{{"e1/" + a0, "e1/" + a1, "e2/" + a2, "e3/" + appid(3)}}},
		{"chunks of size, in order",
			[][2]string{{"e1", a0}, {"e2", a1}, {"e3", a2}}, 2,
			[][]string{{"e1/" + a0, "e2/" + a1}, {"e3/" + a2}}},
		{"envs that would share an appid are split",
			[][2]string{{"e1", a0}, {"e1", a1}, {"e2", a0}, {"e2", a1}}, 100,
			[][]string{{"e1/" + a0, "e1/" + a1}, {"e2/" + a0, "e2/" + a1}}},
		{"an appid in three envs takes three calls, the others fill them",
			[][2]string{{"e1", a0}, {"e2", a0}, {"e3", a0}, {"e1", a1}, {"e1", a2}, {"e1", appid(3)}}, 2,
			[][]string{{"e1/" + a0, "e1/" + a1}, {"e2/" + a0, "e1/" + a2}, {"e3/" + a0, "e1/" + appid(3)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := make([]Outcome, len(tt.pairs))
			for i, p := range tt.pairs {
				out[i] = Outcome{Env: p[0], AppID: p[1]}
			}
			var got [][]string
			for _, call := range planCalls(out, tt.size) {
				got = append(got, pairsOf(out, call))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("calls\n got %v\nwant %v", got, tt.want)
			}
		})
	}
}

// TestPackerMakesTheFewestCalls adds pairs in batches, as a reconcile does when envs become
// ready, and checks each plan against the bound max(ceil(pairs/size), most pairs of an appid).
func TestPackerMakesTheFewestCalls(t *testing.T) {
	for _, tt := range []struct{ appids, envsEach, size, batch int }{
		{1000, 1, 100, 37}, {1000, 5, 100, 150}, {250, 3, 100, 7}, {10, 20, 5, 3}, {500, 2, 100, 1000},
	} {
		t.Run(fmt.Sprintf("%d appids in %d envs each, chunk %d, batches of %d", tt.appids, tt.envsEach, tt.size, tt.batch), func(t *testing.T) {
			var out []Outcome
			for e := range tt.envsEach {
				for a := range tt.appids {
					out = append(out, Outcome{Env: fmt.Sprintf("env-%d", e), AppID: appid(a)})
				}
			}
			p := newPacker(out, tt.size)
			var calls [][]int
			for lo := 0; lo < len(out); lo += tt.batch {
				p.add(allIndices(len(out))[lo:min(lo+tt.batch, len(out))])
				calls = append(calls, p.full()...)
			}
			calls = append(calls, p.rest()...)
			seen := make([]bool, len(out))
			for _, call := range calls {
				apps := map[string]bool{}
				for _, i := range call {
					if seen[i] || apps[out[i].AppID] {
						t.Fatalf("call %v repeats a pair or an appid", pairsOf(out, call))
					}
					seen[i], apps[out[i].AppID] = true, true
				}
				if len(call) > tt.size || len(call) == 0 {
					t.Fatalf("a call of %d pairs", len(call))
				}
			}
			for i, ok := range seen {
				if !ok {
					t.Fatalf("pair %v never sent", out[i])
				}
			}
			fewest := max((len(out)+tt.size-1)/tt.size, tt.envsEach)
			if len(calls) > fewest+1 {
				t.Fatalf("%d calls, the fewest is %d", len(calls), fewest)
			}
			if tt.envsEach == 1 && len(calls) != fewest {
				t.Fatalf("%d calls of pairs that never collide, want exactly %d", len(calls), fewest)
			}
		})
	}
}

// TestAPackedCallsAnswerMapsToItsPairs: the links and err_list entries of a call of several
// envs each find their one pair: links by appid (an appid is in a call once), errors by env
// and appid, or by appid alone when WeChat leaves env out.
func TestAPackedCallsAnswerMapsToItsPairs(t *testing.T) {
	for _, omitEnv := range []bool{false, true} {
		t.Run(fmt.Sprintf("err_list without env: %v", omitEnv), func(t *testing.T) {
			f := newFake()
			f.omitEnv = omitEnv
			f.confirm = func(env, appid string) bool { return appid == a1 || appid == a2 }
			f.reject = func(env, appid string) string {
				if env == "e2" && appid == appid3 {
					return "invalid appid"
				}
				return ""
			}
			res, err := newService(t, f, Options{}).Do(t.Context(), shareReq("share",
				wechat.EnvAppIDs{Env: "e1", AppIDs: []string{a0, a1}},
				wechat.EnvAppIDs{Env: "e2", AppIDs: []string{a2, appid3}}))
			if err != nil {
				t.Fatal(err)
			}
			if len(f.shares) != 1 || len(f.shares[0].Data) != 2 {
				t.Fatalf("calls %+v, want one of both envs", f.shares)
			}
			want := map[string]Status{"e1/" + a0: StatusShared, "e1/" + a1: StatusPendingConfirmation,
				"e2/" + a2: StatusPendingConfirmation, "e2/" + appid3: StatusFailed}
			if got := statuses(res.Results); !reflect.DeepEqual(got, want) {
				t.Fatalf("statuses %v, want %v", got, want)
			}
			for _, p := range [][2]string{{"e1", a1}, {"e2", a2}} {
				if o := outcomeOf(t, res, p[0], p[1]); o.ConfirmURL != "https://mp.weixin.qq.com/confirm/"+p[0]+"/"+p[1] {
					t.Fatalf("%s/%s got link %q", p[0], p[1], o.ConfirmURL)
				}
			}
		})
	}
}

var appid3 = appid(3)

// TestReconcileOfNonCollidingPairsMakesTheMinimumOfWriteCalls: P missing pairs of many envs,
// no appid under two envs: ceil(P/chunk) write calls, whatever the number of envs.
func TestReconcileOfNonCollidingPairsMakesTheMinimumOfWriteCalls(t *testing.T) {
	const envs, each, chunk = 250, 3, 100 // 750 pairs in 250 envs of three appids
	var lists []wechat.EnvAppIDs
	for e := range envs {
		lists = append(lists, wechat.EnvAppIDs{Env: fmt.Sprintf("cust-%d", e), AppIDs: appids(e*each, (e+1)*each)})
	}
	f := newFake()
	res, err := newService(t, f, Options{}).Do(t.Context(), manifestReq(lists...))
	if err != nil {
		t.Fatal(err)
	}
	if c := counts(res.Summary); c["shared"] != envs*each {
		t.Fatalf("summary %v", c)
	}
	shares, _, gets := f.counts()
	if want := (envs*each + chunk - 1) / chunk; shares != want || gets != want {
		t.Fatalf("%d write and %d read calls, want %d of each", shares, gets, want)
	}
	checkPacked(t, f.shares, chunk)
}
