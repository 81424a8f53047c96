package wxemu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/envshare/envshare/pkg/wechat"
)

// bigState is 100,000 appids × 100 envs of one subject; every app is bound to one env.
func bigState() State {
	s := State{Envs: map[string]Env{}, Apps: map[string]App{}, Bindings: map[string][]string{}}
	for i := range 100 {
		s.Envs[fmt.Sprintf("env-%02d-6gni9ity244a6ea3", i)] = Env{Subject: "s"}
	}
	for i := range 100_000 {
		appid := fmt.Sprintf("wx%016x", i)
		s.Apps[appid] = App{Subject: "s", AutoConfirm: i%2 == 0}
		s.Bindings[appid] = []string{fmt.Sprintf("env-%02d-6gni9ity244a6ea3", i%100)}
	}
	return s
}

// benchEmulator serves a big state; its client keeps a connection per concurrent caller,
// so that reconnecting is not measured.
func benchEmulator(b *testing.B, opts Options) (string, *http.Client) {
	b.Helper()
	opts.Tokens = []string{testToken}
	emu := New(opts)
	if err := emu.Seed(bigState()); err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	b.Cleanup(client.CloseIdleConnections)
	return emu.ServeTest(b), client
}

// benchPost may run on any goroutine: it reports with Error, not Fatal.
func benchPost(b *testing.B, client *http.Client, url string, body []byte) {
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		b.Error(err)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

func BenchmarkSeedBigState(b *testing.B) {
	s := bigState()
	emu := New(Options{})
	for b.Loop() {
		if err := emu.Seed(s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkShare1000 shares one env with 1,000 appids per call, in a 100k × 100 state.
func BenchmarkShare1000(b *testing.B) {
	base, client := benchEmulator(b, Options{})
	appids := make([]string, 1000)
	for i := range appids {
		appids[i] = fmt.Sprintf("wx%016x", i*97)
	}
	body, _ := json.Marshal(wechat.ShareEnvRequest{Data: []wechat.EnvAppIDs{{Env: "env-42-6gni9ity244a6ea3", AppIDs: appids}}, SourceType: 1})
	url := base + wechat.PathShareEnv + "?access_token=" + testToken
	for b.Loop() {
		benchPost(b, client, url, body)
	}
}

// BenchmarkGetEnvID100 queries 100 appids per call, in a 100k × 100 state.
func BenchmarkGetEnvID100(b *testing.B) {
	base, client := benchEmulator(b, Options{})
	appids := make([]string, 100)
	for i := range appids {
		appids[i] = fmt.Sprintf("wx%016x", i*991)
	}
	body, _ := json.Marshal(wechat.GetEnvIDRequest{AppIDs: appids, SourceType: 1})
	url := base + wechat.PathGetEnvID + "?access_token=" + testToken
	for b.Loop() {
		benchPost(b, client, url, body)
	}
}

// BenchmarkLatency20msConcurrency8 is the setting of the service benchmarks: 20 ms per call,
// 8 callers at once; ns/op should approach 20ms/8 = 2.5ms.
func BenchmarkLatency20msConcurrency8(b *testing.B) {
	base, client := benchEmulator(b, Options{Latency: 20 * time.Millisecond})
	body := []byte(`{"appids":["wx0000000000000001"],"source_type":1}`)
	url := base + wechat.PathGetEnvID + "?access_token=" + testToken
	calls := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range calls {
				benchPost(b, client, url, body)
			}
		})
	}
	for b.Loop() {
		calls <- struct{}{}
	}
	close(calls)
	wg.Wait()
}

// BenchmarkAuthorizerListPage pages through the 100,000 authorizers of bigState, 500 a call:
// the list order is made once, so a page costs what its 500 entries cost.
func BenchmarkAuthorizerListPage(b *testing.B) {
	base, client := benchEmulator(b, Options{})
	url := base + wechat.PathAuthorizerList + "?component_access_token=" + testToken
	offset := 0
	for b.Loop() {
		benchPost(b, client, url, fmt.Appendf(nil, `{"component_appid":"c","offset":%d,"count":500}`, offset))
		offset = (offset + 500) % 100_000
	}
}
