package main

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/envshare/envshare/pkg/client"
	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/wxemu"
)

// TestTheGoClientAgainstTheLocalDeployment: pkg/client against the real handler behind the
// local server (hmac, as the templates deploy), and its NotificationHandler as the operator's
// ENVSHARE_NOTIFY_URL, receiving the real notifications: a share's link and an authorization.
func TestTheGoClientAgainstTheLocalDeployment(t *testing.T) {
	const notifySecret = "client-notify-secret-0123"
	received := make(chan *client.Notification, 16)
	receiver := httptest.NewServer(&client.NotificationHandler{Secret: notifySecret,
		Receive: func(_ context.Context, n *client.Notification) error { received <- n; return nil }})
	defer receiver.Close()
	d, _ := startDeployment(t, map[string]string{"ENVSHARE_HTTP_AUTH": "hmac",
		"ENVSHARE_NOTIFY_URL": receiver.URL, "ENVSHARE_NOTIFY_SECRET": notifySecret})
	next := func() *client.Notification {
		t.Helper()
		select {
		case n := <-received:
			return n
		case <-time.After(time.Minute):
			t.Fatal("no notification")
			return nil
		}
	}

	c, err := client.NewHTTPClient(d.URL, client.Auth{Mode: client.AuthHMAC, Secret: localSecret}, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := c.Share(ctx, onboardEnv, []string{"wx1a2b3c4d5e6f7081", "wx075cf85bf347b6df", "wx7e57d0c0ffee1234"})
	if err != nil {
		t.Fatal(err)
	}
	if s := res.Summary.(*share.ShareSummary); res.OK || s.Shared != 1 || s.PendingConfirmation != 1 || s.Failed != 1 {
		t.Errorf("share: %+v %+v", res, s)
	}
	if n := next(); n.Action != "share" || len(n.Links) != 1 || n.Links[0].AppID != "wx1a2b3c4d5e6f7081" || n.Links[0].ConfirmPage == "" {
		t.Errorf("the share's notification: %+v", n)
	}

	res, err = c.Bindings(ctx, []string{"wx075cf85bf347b6df"})
	if err != nil || !res.OK || len(res.Bindings[0].Envs) == 0 {
		t.Errorf("bindings: %+v %v", res, err)
	}
	res, err = c.Reconcile(ctx, nil, share.ReconcileOptions{DryRun: true})
	if err != nil || !res.DryRun || res.Summary.(*share.ReconcileSummary).Desired != 5 {
		t.Errorf("reconcile: %+v %v", res, err)
	}
	ref, err := c.Refresh(ctx, true)
	if err != nil || !ref.Minted || ref.ExpiresAt.IsZero() {
		t.Errorf("refresh: %+v %v", ref, err)
	}
	// The quota view: the client decodes the very type the function encodes.
	q, err := c.Quota(ctx)
	if err != nil || !q.OK || len(q.Quotas) != 4 || q.Quotas[0].API != "batchshareenv" || q.Quotas[0].Used == 0 {
		t.Errorf("quota: %+v %v", q, err)
	}

	if err := d.Emu.Authorize(ctx, newApp, wxemu.App{}); err != nil {
		t.Fatal(err)
	}
	for {
		n := next()
		if n.Action == "share" { // the onboarding's link comes first
			continue
		}
		if a := n.Authorization; n.Action != "authorization" || a == nil || a.Event != "authorized" || a.AppID != newApp ||
			a.Onboard == nil || a.Onboard.Status != "done" {
			t.Errorf("the authorization's notification: %+v %+v", n, a)
		}
		break
	}

	bearer, err := client.NewHTTPClient(d.URL, client.Auth{Mode: client.AuthBearer, Secret: localSecret}, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bearer.Bindings(ctx, []string{"wx075cf85bf347b6df"}); client.CodeOf(err) != client.CodeUnauthorized {
		t.Errorf("bearer under hmac: %v", err)
	}
}
