package wxemu

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/envshare/envshare/pkg/wechat"
)

// TestConcurrentCalls runs shares, confirmations, unshares, queries, faults, rotations and
// inspections at once; -race checks the locking, the end state checks that nothing was lost.
func TestConcurrentCalls(t *testing.T) {
	const workers, apps = 8, 40
	s := State{Envs: map[string]Env{"env-a": {Subject: "s"}, "env-b": {Subject: "s"}}, Apps: map[string]App{}}
	for i := range apps {
		s.Apps[fmt.Sprintf("wx%016x", i)] = App{Subject: "s", AutoConfirm: i%2 == 0}
	}
	emu := New(Options{Tokens: []string{testToken}})
	if err := emu.Seed(s); err != nil {
		t.Fatal(err)
	}
	base := emu.ServeTest(t)
	post := func(path, body string) {
		resp, err := http.Post(base+path+"?access_token="+testToken, "application/json", strings.NewReader(body))
		if err != nil {
			t.Error(err)
			return
		}
		resp.Body.Close()
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < apps; i += workers {
				appid := fmt.Sprintf("wx%016x", i)
				share := fmt.Sprintf(`{"data":[{"env":"env-a","appids":[%q]},{"env":"env-b","appids":[%q]}],"source_type":1}`, appid, appid)
				post(wechat.PathShareEnv, share)
				post(wechat.PathGetEnvID, fmt.Sprintf(`{"appids":[%q],"source_type":1}`, appid))
				post(wechat.PathUnshareEnv, fmt.Sprintf(`{"data":[{"env":"env-b","appids":[%q]}],"source_type":1}`, appid))
				for _, p := range emu.State().Pending {
					emu.Confirm(p.ID)
				}
				_ = emu.AddFault(Fault{Kind: FaultLatency, Delay: 1, Times: 1})
				emu.Faults()
				emu.CallLog()
			}
		})
	}
	wg.Wait()
	for _, p := range emu.State().Pending {
		emu.Confirm(p.ID)
	}
	if n := emu.Calls("*"); n != apps*3 {
		t.Errorf("%d calls recorded, want %d", n, apps*3)
	}
	got := emu.State().Bindings
	for i := range apps {
		appid := fmt.Sprintf("wx%016x", i)
		if envs := got[appid]; len(envs) != 1 || envs[0] != "env-a" {
			t.Errorf("%s bound to %v, want [env-a]", appid, envs)
		}
	}
}
