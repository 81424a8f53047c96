package share

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

	"github.com/envshare/envshare/pkg/signature"
)

// maxLinksPerNotification bounds one notification's body: a reconcile of 200,000 pending pairs
// is delivered in POSTs of at most this many links, never one body of tens of megabytes.
const maxLinksPerNotification = 500

// notify hands the pending_confirmation outcomes of out to the Notifier, in batches. It
// returns nil when there is no Notifier or nothing to deliver. A failure is logged and
// reported, never fatal. Each batch is copied out of out when its turn comes, and an entry
// without its confirmation page yet gets it in the copy: a reconcile may have 200,000 links,
// and neither a list of them all nor all their pages should exist at once.
func (s *Service) notify(ctx context.Context, action string, out []Outcome) *Notification {
	if s.opts.Notifier == nil {
		return nil
	}
	links := 0
	for _, o := range out {
		if o.Status == StatusPendingConfirmation {
			links++
		}
	}
	if links == 0 {
		return nil
	}
	n := &Notification{Sent: true, Links: links}
	next := 0 // where the next batch's search in out begins
	for delivered := 0; delivered < links; {
		// A new slice each time: a Notifier may keep the batch it was given.
		batch := make([]Outcome, 0, min(links-delivered, maxLinksPerNotification))
		for ; len(batch) < cap(batch); next++ {
			if out[next].Status == StatusPendingConfirmation {
				o := out[next]
				if o.ConfirmPage == "" && o.ConfirmURL != "" && s.opts.ConfirmPage != nil {
					o.ConfirmPage = s.opts.ConfirmPage(o)
				}
				batch = append(batch, o)
			}
		}
		if err := s.opts.Notifier.Notify(ctx, action, batch); err != nil {
			n.Sent, n.Error = false, s.opts.Redact(err.Error())
			s.log.WarnContext(ctx, "notification failed", "action", action, "links", n.Links,
				"delivered", delivered, "error", n.Error)
			return n
		}
		delivered += len(batch)
	}
	s.log.InfoContext(ctx, "notification sent", "action", action, "links", n.Links)
	return n
}

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

// HTTPNotifier POSTs JSON to a URL, signed with the notification scheme of
// pkg/signature (X-Envshare-Timestamp, X-Envshare-Signature over timestamp "." body).
type HTTPNotifier struct {
	url    string
	secret string
	client *http.Client
	now    func() time.Time
}

var _ Notifier = (*HTTPNotifier)(nil)

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
func (n *HTTPNotifier) Notify(ctx context.Context, action string, pending []Outcome) error {
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
