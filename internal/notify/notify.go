// Package notify delivers the function's notifications to ENVSHARE_NOTIFY_URL: confirmation
// links (as the share service's Notifier) and authorization events, each a JSON POST signed
// with the notification scheme of pkg/signature.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/signature"
)

// Link is one confirmation link in a notification.
type Link struct {
	Env         string `json:"env"`
	AppID       string `json:"appid"`
	ConfirmURL  string `json:"confirm_url"`
	ConfirmPage string `json:"confirm_page,omitempty"`
}

// NotificationBody is the JSON an HTTP notifier POSTs for confirmation links.
type NotificationBody struct {
	Action string `json:"action"`
	Links  []Link `json:"links"`
}

// HTTPNotifier POSTs JSON to a URL, signed with the notification scheme of pkg/signature
// (X-Envshare-Timestamp, X-Envshare-Signature over timestamp "." body). It is the service's
// share.Notifier and the sender of the authorization events' notices.
type HTTPNotifier struct {
	url    string
	secret string
	client *http.Client
	now    func() time.Time
}

var _ share.Notifier = (*HTTPNotifier)(nil)

// maxNotifyAnswer is how much of the receiver's answer is read (and discarded) so that the
// connection can be reused.
const maxNotifyAnswer = 64 << 10

// NewHTTPNotifier returns a notifier that POSTs to url, signed with secret. Any 2xx answer is
// success. client nil means a client with a 10 s timeout; now nil means time.Now. Errors name
// neither the URL (it may hold a webhook key) nor the secret.
func NewHTTPNotifier(url, secret string, client *http.Client, now func() time.Time) *HTTPNotifier {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	if now == nil {
		now = time.Now
	}
	return &HTTPNotifier{url: url, secret: secret, client: client, now: now}
}

// Notify POSTs a NotificationBody with the links of pending.
func (n *HTTPNotifier) Notify(ctx context.Context, action string, pending []share.Outcome) error {
	body := NotificationBody{Action: action, Links: make([]Link, len(pending))}
	for i, o := range pending {
		body.Links[i] = Link{Env: o.Env, AppID: o.AppID, ConfirmURL: o.ConfirmURL, ConfirmPage: o.ConfirmPage}
	}
	return n.Send(ctx, body)
}

// Send POSTs v as JSON, signed.
func (n *HTTPNotifier) Send(ctx context.Context, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("notify: encode: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url, bytes.NewReader(raw))
	if err != nil {
		return errors.New("notify: invalid notification URL")
	}
	ts := n.now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(signature.TimestampHeader, fmt.Sprint(ts))
	req.Header.Set(signature.SignatureHeader, signature.Sign(n.secret, ts, raw))
	resp, err := n.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // drop the URL
		}
		return fmt.Errorf("notify: POST failed: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxNotifyAnswer))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("notify: receiver answered HTTP %d", resp.StatusCode)
	}
	return nil
}
