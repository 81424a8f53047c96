package budget

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/envshare/envshare/pkg/wechat"
)

// proxyText is the length of every text a broken proxy puts in an entry of its answers (an
// errmsg, a confirmation link): 100 of them fill 3 MB of one answer, under the 4 MiB the WeChat
// client reads.
const proxyText = 30_000

// brokenProxy is an upstream that answers every entry with a text of proxyText bytes: every
// other appid of a share is rejected with a long errmsg and the others get a long link (on
// WeChat's own host); every other appid of a bindings query is rejected with a long errmsg.
func brokenProxy(b *testing.B) string {
	long := strings.Repeat("x", proxyText)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Data   []wechat.EnvAppIDs `json:"data"`
			AppIDs []string           `json:"appids"`
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case wechat.PathShareEnv:
			resp := wechat.ShareEnvResponse{}
			for _, d := range in.Data {
				for i, a := range d.AppIDs {
					if i%2 == 0 {
						resp.ErrList = append(resp.ErrList, wechat.EnvError{Env: d.Env, AppID: a, ErrMsg: "rejected " + long})
					} else {
						resp.MsgInfoList = append(resp.MsgInfoList, wechat.MsgInfo{AppID: a, URL: "https://mp.weixin.qq.com/wxopen/confirm?t=" + long})
					}
				}
			}
			_ = json.NewEncoder(w).Encode(resp)
		case wechat.PathGetEnvID:
			resp := wechat.GetEnvIDResponse{}
			for i, a := range in.AppIDs {
				if i%2 == 0 {
					resp.ErrList = append(resp.ErrList, wechat.AppError{AppID: a, ErrMsg: "rejected " + long})
				} else {
					resp.RelationData = append(resp.RelationData, wechat.Relation{AppID: a, EnvList: []string{"prod-6gni9ity244a6ea3"}})
				}
			}
			_ = json.NewEncoder(w).Encode(resp)
		default:
			http.NotFound(w, r)
		}
	}))
	b.Cleanup(srv.Close)
	return srv.URL
}

// BenchmarkBrokenProxyRSS reports the peak memory (peak_rss_MiB) of a fresh SCF instance that
// shares one env with 10,000 appids and then reads the bindings of 10,000 appids through a broken
// proxy whose every entry carries a 30 KB text (docs/results.md, "Validation rules and limits"),
// and the size of both answers (share_answer_bytes, bindings_answer_bytes).
func BenchmarkBrokenProxyRSS(b *testing.B) {
	binary := buildRelease(b, "./function/scf", runtime.GOARCH, scfTags, b.TempDir(), "scf")
	environment := map[string]string{
		"ENVSHARE_WECHAT_BASE_URL":        brokenProxy(b),
		"ENVSHARE_COMPONENT_ACCESS_TOKEN": fleetToken,
		"ENVSHARE_RATE_LIMIT":             "0",
		"ENVSHARE_HTTP_SECRET":            fleetSecret,
		"ENVSHARE_PUBLIC_URL":             "https://k7m2p9q4r1.execute-api.ap-east-1.amazonaws.com",
	}
	ids := make([]string, 10_000)
	for i := range ids {
		ids[i] = appID(i)
	}
	share := mustJSON(b, map[string]any{"action": "share", "env": "prod-6gni9ity244a6ea3", "appids": ids})
	bindings := mustJSON(b, map[string]any{"action": "bindings", "appids": ids})
	var rss, shareBytes, bindingsBytes []float64
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		proc, logged, err := startDrained(ctx, binary, nil)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		answers := make([][]byte, 2)
		for i, event := range [][]byte{share, bindings} {
			if answers[i], err = proc.Invoke(event, environment, fmt.Sprintf("budget-proxy-%d", i), 5*time.Minute); err != nil {
				proc.Close()
				b.Fatalf("%s: %v", filepath.Base(binary), err)
			}
		}
		peak, err := peakRSS(proc.PID())
		proc.Close()
		<-logged
		if err != nil {
			b.Fatal(err)
		}
		rss = append(rss, peak)
		shareBytes, bindingsBytes = append(shareBytes, float64(len(answers[0]))), append(bindingsBytes, float64(len(answers[1])))
	}
	b.ReportMetric(median(rss), "peak_rss_MiB")
	b.ReportMetric(median(shareBytes), "share_answer_bytes")
	b.ReportMetric(median(bindingsBytes), "bindings_answer_bytes")
}
