package wxemu

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/envshare/envshare/pkg/wechat"
)

// Push defaults: WeChat's.
const (
	DefaultPushInterval = 10 * time.Minute
	DefaultPushTimeout  = 5 * time.Second
	DefaultPushAttempts = 3
)

// Errors of pushes; test them with errors.Is.
var (
	// ErrPushConfig: PushURL, MessageToken, EncodingAESKey or ComponentAppID is missing or
	// invalid, so nothing can be pushed.
	ErrPushConfig = errors.New("wxemu: pushes not configured")
	// ErrPushFailed: no attempt was answered HTTP 200 "success".
	ErrPushFailed = errors.New("wxemu: push not acknowledged")
	// ErrUnknownApp: Revoke of an appid the emulator does not know.
	ErrUnknownApp = errors.New("wxemu: unknown appid")
)

// Event is an authorization event as WeChat pushes it, each InfoType with its own fields (the
// others are left out of the XML); PushEvent fills AppID and CreateTime when they are empty.
type Event = wechat.Event

// InfoType values of the events the emulator pushes.
const (
	InfoComponentVerifyTicket = wechat.InfoComponentVerifyTicket
	InfoAuthorized            = wechat.InfoAuthorized
	InfoUpdateAuthorized      = wechat.InfoUpdateAuthorized
	InfoUnauthorized          = wechat.InfoUnauthorized
)

// Push is one attempt to deliver an event, as recorded in the push log.
type Push struct {
	InfoType        string        `json:"info_type"`
	AuthorizerAppID string        `json:"authorizer_appid,omitempty"`
	Attempt         int           `json:"attempt"`         // 1 for the first
	Status          int           `json:"status"`          // HTTP status; 0: no answer
	Success         bool          `json:"success"`         // HTTP 200 and the body "success", trimmed
	Duration        time.Duration `json:"duration_ns"`     // until the answer, in real time
	Error           string        `json:"error,omitempty"` // why there was no answer
}

// pushConfig checks the push options once, for New: the sealer of pushes and the parsed
// PushURL, or why nothing can be pushed (ErrPushConfig).
func pushConfig(opts Options) (*Sealer, *url.URL, error) {
	if opts.PushURL == "" || opts.MessageToken == "" || opts.EncodingAESKey == "" || opts.ComponentAppID == "" {
		return nil, nil, fmt.Errorf("%w: PushURL, MessageToken, EncodingAESKey and ComponentAppID are needed", ErrPushConfig)
	}
	target, err := url.Parse(opts.PushURL)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: PushURL: %w", ErrPushConfig, err)
	}
	c, err := NewSealer(opts.MessageToken, opts.EncodingAESKey, opts.ComponentAppID)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrPushConfig, err)
	}
	return c, target, nil
}

// PushTicket issues a new component_verify_ticket, which mints from now on for TicketTTL,
// and pushes it. The ticket is issued even when no attempt is acknowledged, as WeChat's
// would be; it is returned for tests that mint with it.
func (e *Emulator) PushTicket(ctx context.Context) (ticket string, err error) {
	if e.crypto == nil {
		return "", e.cryptoErr
	}
	ticket = e.issueTicket()
	return ticket, e.PushEvent(ctx, Event{InfoType: InfoComponentVerifyTicket, ComponentVerifyTicket: ticket})
}

// StartPushing pushes a ticket now and then every PushInterval until ctx is done, like
// WeChat every 10 minutes. done is closed when it has stopped. Failed pushes are logged
// and in the push log.
func (e *Emulator) StartPushing(ctx context.Context) (done <-chan struct{}) {
	interval := e.opts.PushInterval
	if interval <= 0 {
		interval = DefaultPushInterval
	}
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		e.pushTicketLogged(ctx)
		e.PushTickets(ctx, ticker.C)
	}()
	return ch
}

// PushTickets pushes a ticket on every tick until ctx is done or ticks is closed: the loop
// of StartPushing, with the clock in the caller's hands.
func (e *Emulator) PushTickets(ctx context.Context, ticks <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-ticks:
			if !ok {
				return
			}
			e.pushTicketLogged(ctx)
		}
	}
}

func (e *Emulator) pushTicketLogged(ctx context.Context) {
	if _, err := e.PushTicket(ctx); err != nil && ctx.Err() == nil {
		e.log.LogAttrs(ctx, slog.LevelWarn, "wxemu ticket push failed", slog.String("error", err.Error()))
	}
}

// Authorize makes appid a Mini Program that has authorised the platform, and pushes the
// event: authorized, or updateauthorized when it was already authorised (and not revoked).
// app describes it; the zero App is the common case (DefaultPermissionSets, set 18 included,
// cloud development, shares needing confirmation), an empty Subject is DemoSubject and a zero
// AuthTime is now. The app stays authorised even when the push is not acknowledged.
func (e *Emulator) Authorize(ctx context.Context, appid string, app App) error {
	if appid == "" {
		return fmt.Errorf("wxemu: authorize: empty appid")
	}
	if e.crypto == nil {
		return e.cryptoErr
	}
	if err := app.validate(appid); err != nil {
		return fmt.Errorf("wxemu: authorize: %w", err)
	}
	if app.Subject == "" {
		app.Subject = DemoSubject
	}
	app.Revoked = false
	app.Permissions = slices.Clone(app.Permissions)
	now := e.now()
	if app.AuthTime == 0 {
		app.AuthTime = now.Unix()
	}
	e.mu.Lock()
	old, known := e.world.apps[appid]
	e.world.setApp(appid, app)
	e.mu.Unlock()

	info := InfoAuthorized
	if known && !old.Revoked {
		info = InfoUpdateAuthorized
	}
	return e.PushEvent(ctx, Event{
		InfoType:                     info,
		AuthorizerAppID:              appid,
		AuthorizationCode:            "queryauthcode@@@" + randomText(),
		AuthorizationCodeExpiredTime: now.Add(time.Hour).Unix(),
		PreAuthCode:                  "preauthcode@@@" + randomText(),
	})
}

// Revoke marks appid as having revoked its authorization (its shares and queries are then
// refused like those of an app without permission set 18) and pushes unauthorized.
func (e *Emulator) Revoke(ctx context.Context, appid string) error {
	if e.crypto == nil {
		return e.cryptoErr
	}
	e.mu.Lock()
	app, ok := e.world.apps[appid]
	if ok {
		app.Revoked = true
		e.world.setApp(appid, app)
	}
	e.mu.Unlock()
	if !ok {
		return fmt.Errorf("revoke %s: %w", appid, ErrUnknownApp)
	}
	return e.PushEvent(ctx, Event{InfoType: InfoUnauthorized, AuthorizerAppID: appid})
}

// PushEvent seals ev and posts it to PushURL, retrying like WeChat: up to PushAttempts
// attempts in all, each waiting PushTimeout for HTTP 200 "success", PushRetryPause apart.
// Every attempt is recorded (Pushes). It changes nothing in the emulated world: use it for
// replays and event types the emulator does not make itself.
func (e *Emulator) PushEvent(ctx context.Context, ev Event) error {
	if e.crypto == nil {
		return e.cryptoErr
	}
	if ev.AppID == "" {
		ev.AppID = e.opts.ComponentAppID
	}
	now := e.now()
	if ev.CreateTime == 0 {
		ev.CreateTime = now.Unix()
	}
	plain, err := eventXML(ev)
	if err != nil {
		return err
	}
	timestamp, nonce := strconv.FormatInt(now.Unix(), 10), strconv.FormatUint(rand.Uint64N(1e10), 10)
	body, msgSignature := e.crypto.Seal(plain, timestamp, nonce)
	target := *e.pushURL // a copy: the query is this push's
	q := target.Query()
	q.Set("signature", MsgSignature(e.opts.MessageToken, timestamp, nonce, "")) // covers no body
	q.Set("timestamp", timestamp)
	q.Set("nonce", nonce)
	q.Set("encrypt_type", "aes")
	q.Set("msg_signature", msgSignature)
	target.RawQuery = q.Encode()

	attempts := e.opts.PushAttempts
	if attempts <= 0 {
		attempts = DefaultPushAttempts
	}
	var last Push
	for attempt := 1; attempt <= attempts; attempt++ {
		if attempt > 1 && !wait(ctx, e.opts.PushRetryPause) {
			return fmt.Errorf("wxemu: push %s: %w", ev.InfoType, ctx.Err())
		}
		// The same request every time: WeChat retries the push it made.
		last = e.post(ctx, target.String(), body)
		last.InfoType, last.AuthorizerAppID, last.Attempt = ev.InfoType, ev.AuthorizerAppID, attempt
		e.recordPush(last)
		if last.Success {
			return nil
		}
	}
	return fmt.Errorf("wxemu: push %s: %d attempts, last HTTP %d %s: %w", ev.InfoType, attempts, last.Status, last.Error, ErrPushFailed)
}

// maxAnswerBytes bounds what is read of an answer: "success" is all that counts.
const maxAnswerBytes = 1 << 10

// post makes one attempt; it reports success only for HTTP 200 and the body "success".
func (e *Emulator) post(ctx context.Context, target string, body []byte) Push {
	timeout := e.opts.PushTimeout
	if timeout <= 0 {
		timeout = DefaultPushTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return Push{Error: err.Error()}
	}
	req.Header.Set("Content-Type", "text/xml")
	resp, err := e.pushes.Do(req)
	if err != nil {
		return Push{Duration: time.Since(start), Error: transportError(ctx, err)}
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	p := Push{Status: resp.StatusCode, Duration: time.Since(start)}
	if err != nil {
		p.Error = transportError(ctx, err)
		return p
	}
	p.Success = resp.StatusCode == http.StatusOK && string(bytes.TrimSpace(answer)) == "success"
	return p
}

// transportError names why there was no answer, without the URL (it carries the signature).
func transportError(ctx context.Context, err error) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return "timeout"
	}
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err.Error()
	}
	return err.Error()
}

func (e *Emulator) recordPush(p Push) {
	e.mu.Lock()
	e.pushLog = append(e.pushLog, p)
	e.mu.Unlock()
	e.log.LogAttrs(context.Background(), slog.LevelDebug, "wxemu push",
		slog.String("info_type", p.InfoType), slog.Int("attempt", p.Attempt),
		slog.Int("status", p.Status), slog.Bool("success", p.Success), slog.Duration("duration", p.Duration))
}

// Pushes returns the push log: every attempt, oldest first.
func (e *Emulator) Pushes() []Push {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.pushLog)
}

func randomText() string { return strconv.FormatUint(rand.Uint64(), 36) }

// cdata is a string written as <![CDATA[…]]>, as WeChat writes them.
type cdata struct {
	Text string `xml:",cdata"`
}

func optional(s string) *cdata {
	if s == "" {
		return nil
	}
	return &cdata{s}
}

// eventXML is ev as WeChat writes it, each InfoType with its own fields only.
func eventXML(ev Event) ([]byte, error) {
	doc := struct {
		XMLName                      xml.Name `xml:"xml"`
		AppID                        cdata    `xml:"AppId"`
		CreateTime                   int64    `xml:"CreateTime"`
		InfoType                     cdata    `xml:"InfoType"`
		ComponentVerifyTicket        *cdata   `xml:"ComponentVerifyTicket,omitempty"`
		AuthorizerAppID              *cdata   `xml:"AuthorizerAppid,omitempty"`
		AuthorizationCode            *cdata   `xml:"AuthorizationCode,omitempty"`
		AuthorizationCodeExpiredTime int64    `xml:"AuthorizationCodeExpiredTime,omitempty"`
		PreAuthCode                  *cdata   `xml:"PreAuthCode,omitempty"`
	}{
		AppID:                        cdata{ev.AppID},
		CreateTime:                   ev.CreateTime,
		InfoType:                     cdata{ev.InfoType},
		ComponentVerifyTicket:        optional(ev.ComponentVerifyTicket),
		AuthorizerAppID:              optional(ev.AuthorizerAppID),
		AuthorizationCode:            optional(ev.AuthorizationCode),
		AuthorizationCodeExpiredTime: ev.AuthorizationCodeExpiredTime,
		PreAuthCode:                  optional(ev.PreAuthCode),
	}
	b, err := xml.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("wxemu: event: %w", err)
	}
	return b, nil
}
