package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/signature"
)

// Notification is what a deployment POSTs to its ENVSHARE_NOTIFY_URL, signed with
// ENVSHARE_NOTIFY_SECRET (default: ENVSHARE_HTTP_SECRET) over timestamp "." body.
type Notification struct {
	// Action is share, unshare or reconcile for confirmation links (Links); authorization or
	// onboard_failed for an authorization event (Authorization).
	Action        string
	Links         []Link
	Authorization *Authorization
}

// Link is a confirmation link: the Mini Program's administrator must open ConfirmURL in WeChat
// (ConfirmPage shows it as a QR code) for the share of Env with AppID to take effect.
type Link struct {
	Env         string `json:"env"`
	AppID       string `json:"appid"`
	ConfirmURL  string `json:"confirm_url"`
	ConfirmPage string `json:"confirm_page,omitempty"`
}

// Authorization is a Mini Program's authorization event, as the deployment acted on it.
type Authorization struct {
	Event string // authorized, updateauthorized or unauthorized (WeChat's InfoType)
	AppID string // the Mini Program (AuthorizerAppid)
	// With a ledger (ENVSHARE_LEDGER, contract section 8): the Mini Program's entity and what
	// was done: onboarded, onboard_failed, permission_missing, unknown_customer or recorded.
	Principal string
	Outcome   string
	// Without a ledger: when WeChat made the event, and the onboarding share
	// (ENVSHARE_ONBOARD_ENVS) or offboarding unshare (ENVSHARE_OFFBOARD=unshare), if any.
	CreateTime time.Time
	Onboard    *Onboarding
	Offboard   *Onboarding
}

// Onboarding is what became of an onboarding share (or an offboarding unshare).
type Onboarding struct {
	Envs    []string        `json:"envs"`
	Status  string          `json:"status"`  // done, retrying or onboard_failed
	Summary map[string]int  `json:"summary"` // the share's (unshare's) summary counts
	Failed  []share.Outcome `json:"failed"`
	Error   *share.Error    `json:"error"`
}

// DecodeNotification reads a notification's body (after VerifyNotification). It accepts both
// forms of the authorization event: section 8's flat one (with a ledger) and the nested one.
func DecodeNotification(body []byte) (*Notification, error) {
	var raw struct {
		Action    string          `json:"action"`
		Links     []Link          `json:"links"`
		Event     json.RawMessage `json:"event"`
		AppID     string          `json:"appid"`
		Principal string          `json:"principal"`
		Outcome   string          `json:"outcome"`
		Onboard   *Onboarding     `json:"onboard"`
		Offboard  *Onboarding     `json:"offboard"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, errors.New("envshare notification: not a JSON object of a notification")
	}
	if raw.Action == "" {
		return nil, errors.New(`envshare notification: no "action"`)
	}
	n := &Notification{Action: raw.Action, Links: raw.Links}
	if len(raw.Event) == 0 || string(raw.Event) == "null" {
		return n, nil
	}
	a := &Authorization{AppID: raw.AppID, Principal: raw.Principal, Outcome: raw.Outcome,
		Onboard: raw.Onboard, Offboard: raw.Offboard}
	if err := json.Unmarshal(raw.Event, &a.Event); err != nil { // not section 8's string: the nested object
		var ev struct {
			InfoType        string    `json:"info_type"`
			AuthorizerAppID string    `json:"authorizer_appid"`
			CreateTime      time.Time `json:"create_time"`
		}
		if err := json.Unmarshal(raw.Event, &ev); err != nil {
			return nil, errors.New(`envshare notification: "event" is neither an event name nor an event object`)
		}
		a.Event, a.AppID, a.CreateTime = ev.InfoType, ev.AuthorizerAppID, ev.CreateTime
	}
	n.Authorization = a
	return n, nil
}

// VerifyNotification checks a notification's X-Envshare-Timestamp and X-Envshare-Signature
// against its body: a timestamp within signature.Window of now, the signature compared in
// constant time. A header given twice counts as absent. The error wraps signature.ErrInvalid,
// whatever failed (its reason is for the receiver's log, not for the sender).
func VerifyNotification(secret string, header http.Header, body []byte, now time.Time) error {
	ts, sig := header.Values(signature.TimestampHeader), header.Values(signature.SignatureHeader)
	if len(ts) != 1 || len(sig) != 1 {
		return signature.ErrMissing
	}
	return signature.Verify(secret, ts[0], sig[0], body, now)
}

// maxNotificationBytes bounds a notification's body: a batch of 500 links is about 250 KB.
const maxNotificationBytes = 4 << 20

// NotificationHandler is the http.Handler of a notification receiver written in Go: it accepts
// POSTs whose signature checks out (401 otherwise, saying nothing more), decodes them (400 when
// they are not a notification) and hands each to Receive. It answers 204 when Receive returns
// nil, 500 otherwise (the deployment then logs the failed delivery). A delivery may be repeated:
// Receive should be idempotent.
type NotificationHandler struct {
	Secret  string // the deployment's ENVSHARE_NOTIFY_SECRET (default ENVSHARE_HTTP_SECRET)
	Receive func(ctx context.Context, n *Notification) error
	Now     func() time.Time // nil: time.Now
}

func (h *NotificationHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxNotificationBytes+1))
	switch {
	case err != nil:
		http.Error(w, "cannot read the body", http.StatusBadRequest)
		return
	case len(body) > maxNotificationBytes:
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	if VerifyNotification(h.Secret, r.Header, body, now()) != nil {
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	n, err := DecodeNotification(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := h.Receive(r.Context(), n); err != nil {
		http.Error(w, "the receiver failed", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
