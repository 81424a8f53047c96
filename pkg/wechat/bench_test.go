package wechat

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

func BenchmarkShareEnv1(b *testing.B)    { benchmarkShareEnv(b, 1) }
func BenchmarkShareEnv1000(b *testing.B) { benchmarkShareEnv(b, 1000) }

// benchmarkShareEnv measures one batchshareenv call carrying n appids against an in-process
// fake whose answer holds a confirmation link for every appid.
func benchmarkShareEnv(b *testing.B, n int) {
	req := &ShareEnvRequest{Data: []EnvAppIDs{{Env: "prod-6gni9ity244a6ea3"}}, SourceType: 1}
	answer := ShareEnvResponse{ErrMsg: "ok"}
	for i := range n {
		appid := fmt.Sprintf("wx%016x", i)
		req.Data[0].AppIDs = append(req.Data[0].AppIDs, appid)
		answer.MsgInfoList = append(answer.MsgInfoList, MsgInfo{AppID: appid, URL: "https://confirm.example/" + appid})
	}
	body, err := json.Marshal(answer)
	if err != nil {
		b.Fatal(err)
	}
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = w.Write(body)
	}))
	defer server.Close()
	c := New(server.URL, &fakeTokens{tokens: []string{"tok"}},
		WithHTTPClient(NewHTTPClient(0)), WithLogger(slog.New(slog.DiscardHandler)))
	defer c.http.CloseIdleConnections()
	ctx := context.Background()

	b.ReportAllocs()
	for b.Loop() {
		resp, err := c.ShareEnv(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		if len(resp.MsgInfoList) != n {
			b.Fatalf("links = %d", len(resp.MsgInfoList))
		}
	}
}
