package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/envshare/envshare/pkg/client"
	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/signature"
)

func ExampleNewHTTPClient() {
	deployment, stop := newFakeDeployment("hmac") // a deployment with ENVSHARE_HTTP_AUTH=hmac
	defer stop()

	// The deployment's base URL, stage included, and its ENVSHARE_HTTP_AUTH and ENVSHARE_HTTP_SECRET.
	c, err := client.NewHTTPClient(deployment.URL, client.Auth{Mode: client.AuthHMAC, Secret: testSecret}, client.Options{})
	if err != nil {
		panic(err) // a missing URL or secret, named
	}
	res, err := c.Share(context.Background(), "prod-6gni9ity244a6ea3", []string{"wx075cf85bf347b6df", "wx1a2b3c4d5e6f7081"})
	if err != nil {
		panic(err) // an *client.Error: the request was not carried out
	}
	for _, o := range res.Results {
		fmt.Println(o.AppID, o.Status, o.ConfirmURL != "")
	}
	fmt.Printf("ok %v: %+v\n", res.OK, *res.Summary.(*share.ShareSummary))
	// Output:
	// wx1a2b3c4d5e6f7081 pending_confirmation true
	// wx075cf85bf347b6df shared false
	// ok true: {Requested:2 Shared:1 PendingConfirmation:1 Failed:0 Deferred:0}
}

func ExampleError() {
	deployment, stop := newFakeDeployment("hmac")
	defer stop()
	c, err := client.NewHTTPClient(deployment.URL, client.Auth{Mode: client.AuthBearer, Secret: testSecret}, client.Options{})
	if err != nil {
		panic(err)
	}
	_, err = c.Bindings(context.Background(), []string{"wx075cf85bf347b6df"})
	var e *client.Error
	if errors.As(err, &e) {
		switch e.Code {
		case client.CodeUnauthorized:
			fmt.Println("check ENVSHARE_HTTP_AUTH and the secret on both sides:", e.Status)
		case client.CodeQuotaExhausted:
			fmt.Println("WeChat's daily quota: try again after", e.RetryAfter)
		}
	}
	_, err = c.Share(context.Background(), "prod-6gni9ity244a6ea3", []string{"wx12"})
	fmt.Println(err)
	// Output:
	// check ENVSHARE_HTTP_AUTH and the secret on both sides: 401
	// envshare: invalid_request: invalid request: appids[0]: "wx12" is not an appid (wx followed by 16 lowercase hex digits)
}

func ExampleNotificationHandler() {
	// The receiver behind the deployment's ENVSHARE_NOTIFY_URL.
	receiver := httptest.NewServer(&client.NotificationHandler{
		Secret: testSecret, // the deployment's ENVSHARE_NOTIFY_SECRET (default: ENVSHARE_HTTP_SECRET)
		Receive: func(ctx context.Context, n *client.Notification) error {
			for _, l := range n.Links {
				fmt.Printf("%s: send %s to the administrator of %s\n", n.Action, l.ConfirmURL, l.AppID)
			}
			if a := n.Authorization; a != nil {
				fmt.Println(a.Event, a.AppID)
			}
			return nil
		},
	})
	defer receiver.Close()

	// What the deployment sends.
	body := `{"action":"share","links":[{"env":"prod-6gni9ity244a6ea3","appid":"wx1a2b3c4d5e6f7081","confirm_url":"https://example.com/c1"}]}`
	ts := time.Now().Unix()
	req, _ := http.NewRequest(http.MethodPost, receiver.URL, strings.NewReader(body))
	req.Header.Set(signature.TimestampHeader, strconv.FormatInt(ts, 10))
	req.Header.Set(signature.SignatureHeader, signature.Sign(testSecret, ts, []byte(body)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
	// Output:
	// share: send https://example.com/c1 to the administrator of wx1a2b3c4d5e6f7081
	// 204
}

func ExampleSignHeaders() {
	// The headers of a curl to an hmac deployment: GET /bindings?appids=wx1,wx2 signs the query.
	at := time.Unix(1_800_000_000, 0)
	h := client.SignHeaders("a-secret-of-16-bytes", at, "GET", "/bindings",
		map[string][]string{"appids": {"wx5fe6bb43205e9e07,wx075cf85bf347b6df"}}, nil)
	fmt.Println(signature.TimestampHeader+":", h[signature.TimestampHeader])
	fmt.Println(strings.HasPrefix(h[signature.SignatureHeader], "sha256="))
	// Output:
	// X-Envshare-Timestamp: 1800000000
	// true
}
