package budget

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/envshare/envshare/internal/config"
	"github.com/envshare/envshare/internal/trigger"
	"github.com/envshare/envshare/pkg/client"
	"github.com/envshare/envshare/pkg/share"
)

// BenchmarkClientShare is one share through pkg/client, beside BenchmarkHandlerShare: the same
// request (one env, three appids, every outcome) over HTTP on 127.0.0.1.
//
//   - handler: against a local server running the real handler (the WeChat API answering at
//     once, as in BenchmarkHandlerShare): the whole round trip, client and server in one process.
//   - client: against a server that answers the handler's answer as canned bytes: the client's
//     own cost (encoding, signing, net/http, decoding into share.Result) and a trivial server's.
//
// Each runs with bearer and with hmac (which signs every request).
func BenchmarkClientShare(b *testing.B) {
	b.Setenv("ENVSHARE_TOKEN_MODE", "env")
	b.Setenv("ENVSHARE_COMPONENT_ACCESS_TOKEN", "budget-token")
	b.Setenv("ENVSHARE_HTTP_SECRET", handlerSecret)
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	upstream := instantWeChat{pending: []string{"wx9c8d7e6f5a4b3c2d"}, rejected: []string{"wx5fe6bb43205e9e07"}}
	appids := []string{"wx075cf85bf347b6df", "wx9c8d7e6f5a4b3c2d", "wx5fe6bb43205e9e07"}

	var answer string
	for _, mode := range []client.AuthMode{client.AuthBearer, client.AuthHMAC} {
		b.Setenv("ENVSHARE_HTTP_AUTH", string(mode))
		app := trigger.New(trigger.Options{Platform: trigger.PlatformAWS, Logger: logger, MetricsOut: io.Discard,
			Build: func(context.Context, config.Config) (*trigger.Core, error) {
				return &trigger.Core{Share: share.New(upstream, share.Options{Logger: logger})}, nil
			}})
		handler := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			resp := app.HTTP(r.Context(), trigger.HTTPRequest{Method: r.Method, Path: r.URL.Path,
				MultiValueHeaders: r.Header, Query: r.URL.Query(), Body: string(body)})
			w.Header().Set("Content-Type", resp.Headers["Content-Type"])
			w.WriteHeader(resp.Status)
			io.WriteString(w, resp.Body)
		}))
		if answer == "" { // the handler's own answer (under bearer), canned
			answer = app.HTTP(context.Background(), shareRequest).Body
		}
		canned := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, answer)
		}))

		for _, srv := range []struct {
			name string
			url  string
		}{{"handler", handler.URL}, {"client", canned.URL}} {
			b.Run(srv.name+"/"+string(mode), func(b *testing.B) {
				c, err := client.NewHTTPClient(srv.url+"/prod", client.Auth{Mode: mode, Secret: handlerSecret}, client.Options{})
				if err != nil {
					b.Fatal(err)
				}
				ctx := context.Background()
				res, err := c.Share(ctx, "test-env-6gni9ity244a6ea3", appids)
				if err != nil || res.Summary.(*share.ShareSummary).Failed != 1 {
					b.Fatalf("%+v %v", res, err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if _, err := c.Share(ctx, "test-env-6gni9ity244a6ea3", appids); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		handler.Close()
		canned.Close()
	}
}
