package client_test

import (
	"context"
	"testing"

	"github.com/envshare/envshare/pkg/client"
)

// cannedTransport answers every call with the same bytes.
type cannedTransport []byte

func (c cannedTransport) RoundTrip(context.Context, client.Call) (client.Answer, error) {
	return client.Answer{Status: 200, Body: c}, nil
}

// BenchmarkShareWithoutNetwork is the client's own cost of a share (checking, encoding,
// retry bookkeeping, decoding the answer into share.Result), without net/http: internal/budget's
// BenchmarkClientShare measures it over HTTP, beside the handler's.
func BenchmarkShareWithoutNetwork(b *testing.B) {
	ans := cannedTransport(`{"ok":false,"action":"share","source_type":1,"summary":{"requested":3,"shared":1,"pending_confirmation":1,"failed":1},"results":[{"env":"test-env-6gni9ity244a6ea3","appid":"wx5fe6bb43205e9e07","status":"failed","error":{"code":"rejected","message":"invalid appid"}},{"env":"test-env-6gni9ity244a6ea3","appid":"wx9c8d7e6f5a4b3c2d","status":"pending_confirmation","confirm_url":"https://wxemu.test/__emu/confirm/c1"},{"env":"test-env-6gni9ity244a6ea3","appid":"wx075cf85bf347b6df","status":"shared"}]}`)
	c := client.New(ans, client.Options{})
	appids := []string{"wx075cf85bf347b6df", "wx9c8d7e6f5a4b3c2d", "wx5fe6bb43205e9e07"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Share(context.Background(), "test-env-6gni9ity244a6ea3", appids); err != nil {
			b.Fatal(err)
		}
	}
}
