package wxemu

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/envshare/envshare/pkg/wechat"
)

const (
	pushAppID = "wxc0ffee0c0ffee0ab"
	pushToken = "push-token-never-logged"
	pushKey   = "Pq3RbT7vXz9aCe1gIk5mOs7uWy0bDf2hJl4nPr6tVx8"
)

// answer is what the receiver answers to one push.
type answer struct {
	status int
	body   string
	block  bool // wait until the pusher gives up
}

var answerSuccess = answer{status: http.StatusOK, body: "success"}

// received is one push as the receiver opened it.
type received struct {
	query map[string]string
	body  []byte
	event Event
	xml   string
}

// receiver plays the function's /wechat/events on 127.0.0.1: it checks each push as the
// contract says and answers from a script (the last answer repeats).
type receiver struct {
	t      *testing.T
	url    string
	events chan Event

	mu      sync.Mutex
	answers []answer
	got     []received
}

func newReceiver(t *testing.T, answers ...answer) *receiver {
	t.Helper()
	if len(answers) == 0 {
		answers = []answer{answerSuccess}
	}
	r := &receiver{t: t, answers: answers, events: make(chan Event, 100)}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	r.url = srv.URL + "/wechat/events"
	return r
}

// pushSetup is a harness of mintOpts that pushes to a new receiver, change (if not nil) applied
// to its options.
func pushSetup(t *testing.T, change func(*Options)) (*harness, *receiver) {
	t.Helper()
	rcv := newReceiver(t)
	o := rcv.options(mintOpts)
	if change != nil {
		change(&o)
	}
	return setup(t, o), rcv
}

// options adds the push settings to opts.
func (r *receiver) options(opts Options) Options {
	opts.PushURL = r.url
	opts.MessageToken = pushToken
	opts.EncodingAESKey = pushKey
	opts.ComponentAppID = pushAppID
	return opts
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	q := req.URL.Query()
	rec := received{query: map[string]string{}, body: body}
	for k := range q {
		rec.query[k] = q.Get(k)
	}
	msg, err := openPush(q, body)
	if err != nil {
		r.t.Errorf("push does not open: %v", err)
		http.Error(w, "bad push", http.StatusBadRequest)
		return
	}
	rec.xml = string(msg)
	if rec.event, err = parseEvent(msg); err != nil {
		r.t.Errorf("push is no event: %v", err)
	}
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "text/xml" {
		r.t.Errorf("%s with Content-Type %q", req.Method, req.Header.Get("Content-Type"))
	}
	r.mu.Lock()
	a := r.answers[0]
	if len(r.answers) > 1 {
		r.answers = r.answers[1:]
	}
	r.got = append(r.got, rec)
	r.mu.Unlock()
	select {
	case r.events <- rec.event:
	default: // nobody is reading: stress tests
	}
	if a.block {
		<-req.Context().Done()
		return
	}
	w.WriteHeader(a.status)
	io.WriteString(w, a.body)
}

// openPush checks and decrypts a push as the contract says the function must (internal/wxcrypt
// does it there; pkg/ may not import it): msg_signature, AES-256-CBC with the key's first 16
// bytes as IV, the 32-byte padding, the length, and the trailing appid.
func openPush(q url.Values, body []byte) ([]byte, error) {
	var envelope struct {
		Encrypt string `xml:"Encrypt"`
	}
	if err := xml.Unmarshal(body, &envelope); err != nil {
		return nil, err
	}
	if MsgSignature(pushToken, q.Get("timestamp"), q.Get("nonce"), envelope.Encrypt) != q.Get("msg_signature") {
		return nil, errors.New("msg_signature does not match")
	}
	plain, err := base64.StdEncoding.DecodeString(envelope.Encrypt)
	if err != nil || len(plain) == 0 || len(plain)%aes.BlockSize != 0 {
		return nil, errors.New("Encrypt is not base64 of whole AES blocks")
	}
	key, _ := base64.StdEncoding.DecodeString(pushKey + "=")
	block, _ := aes.NewCipher(key)
	cipher.NewCBCDecrypter(block, key[:aes.BlockSize]).CryptBlocks(plain, plain)
	pad := int(plain[len(plain)-1])
	if pad < 1 || pad > 32 || len(plain) < 20+pad {
		return nil, fmt.Errorf("bad padding %d", pad)
	}
	plain = plain[:len(plain)-pad]
	n := int(binary.BigEndian.Uint32(plain[16:20]))
	if 20+n > len(plain) || string(plain[20+n:]) != pushAppID {
		return nil, errors.New("bad length or appid")
	}
	return plain[20 : 20+n], nil
}

// parseEvent reads the fields of a decrypted event.
func parseEvent(msg []byte) (Event, error) {
	var x struct {
		AppID                        string `xml:"AppId"`
		CreateTime                   int64  `xml:"CreateTime"`
		InfoType                     string `xml:"InfoType"`
		ComponentVerifyTicket        string `xml:"ComponentVerifyTicket"`
		AuthorizerAppID              string `xml:"AuthorizerAppid"`
		AuthorizationCode            string `xml:"AuthorizationCode"`
		AuthorizationCodeExpiredTime int64  `xml:"AuthorizationCodeExpiredTime"`
		PreAuthCode                  string `xml:"PreAuthCode"`
	}
	err := xml.Unmarshal(msg, &x)
	return Event(x), err
}

func (r *receiver) received() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func TestPushTicket(t *testing.T) {
	rcv := newReceiver(t)
	h, _ := clockedSetup(t, rcv.options(mintOpts))
	ticket, err := h.emu.PushTicket(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got := rcv.received()
	if len(got) != 1 {
		t.Fatalf("%d pushes received", len(got))
	}
	p := got[0]
	t.Run("the query carries WeChat's parameters", func(t *testing.T) {
		ts, nonce := p.query["timestamp"], p.query["nonce"]
		if ts != strconv.FormatInt(startTime.Unix(), 10) {
			t.Errorf("timestamp %s, want the emulator's clock", ts)
		}
		if _, err := strconv.ParseUint(nonce, 10, 64); err != nil {
			t.Errorf("nonce %q is not numeric", nonce)
		}
		if p.query["encrypt_type"] != "aes" || p.query["signature"] != MsgSignature(pushToken, ts, nonce, "") {
			t.Errorf("query %v", p.query)
		}
	})
	t.Run("the body is the AppId and Encrypt envelope", func(t *testing.T) {
		if !bytes.HasPrefix(p.body, []byte("<xml><AppId><![CDATA["+pushAppID+"]]></AppId><Encrypt><![CDATA[")) {
			t.Errorf("%s", p.body)
		}
	})
	t.Run("the message is WeChat's ticket XML", func(t *testing.T) {
		want := "<xml><AppId><![CDATA[" + pushAppID + "]]></AppId><CreateTime>" + strconv.FormatInt(startTime.Unix(), 10) +
			"</CreateTime><InfoType><![CDATA[component_verify_ticket]]></InfoType><ComponentVerifyTicket><![CDATA[" + ticket +
			"]]></ComponentVerifyTicket></xml>"
		if p.xml != want {
			t.Errorf("got  %s\nwant %s", p.xml, want)
		}
		if !strings.HasPrefix(ticket, "ticket@@@") {
			t.Errorf("ticket %q", ticket)
		}
	})
	t.Run("the push log records the attempt", func(t *testing.T) {
		log := h.emu.Pushes()
		if len(log) != 1 {
			t.Fatalf("%+v", log)
		}
		l := log[0]
		if l.InfoType != InfoComponentVerifyTicket || l.Attempt != 1 || l.Status != 200 || !l.Success || l.Duration <= 0 || l.Error != "" {
			t.Fatalf("%+v", l)
		}
	})
	t.Run("the pushed ticket mints", func(t *testing.T) {
		if resp := h.mintWith(ticket); resp.ErrCode != 0 {
			t.Fatalf("%+v", resp)
		}
	})
}

func TestPushRetries(t *testing.T) {
	fail := answer{status: http.StatusOK, body: "fail"}
	tests := []struct {
		name       string
		attempts   int // Options.PushAttempts
		answers    []answer
		wantStatus []int
		wantOK     bool
	}{
		{"a push answered success is made once", 0, []answer{answerSuccess}, []int{200}, true},
		{"an answer of success with spaces around counts", 0, []answer{{status: 200, body: " success\r\n"}}, []int{200}, true},
		{"a push answered otherwise is retried until success", 0, []answer{fail, fail, answerSuccess}, []int{200, 200, 200}, true},
		{"a push is made 3 times at most", 0, []answer{fail}, []int{200, 200, 200}, false},
		{"SUCCESS in capitals is not success", 0, []answer{{status: 200, body: "SUCCESS"}}, []int{200, 200, 200}, false},
		{"success with HTTP 500 is not success", 0, []answer{{status: 500, body: "success"}, answerSuccess}, []int{500, 200}, true},
		{"a redirect is not followed", 0, []answer{{status: 302, body: "success"}}, []int{302, 302, 302}, false},
		{"an empty answer is not success", 0, []answer{{status: 200}}, []int{200, 200, 200}, false},
		{"the number of attempts is settable", 5, []answer{fail}, []int{200, 200, 200, 200, 200}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rcv := newReceiver(t, tt.answers...)
			o := rcv.options(mintOpts)
			o.PushAttempts = tt.attempts
			h := setup(t, o)
			_, err := h.emu.PushTicket(t.Context())
			if tt.wantOK != (err == nil) || (err != nil && !errors.Is(err, ErrPushFailed)) {
				t.Fatalf("err = %v, want success %v", err, tt.wantOK)
			}
			var statuses []int
			for i, p := range h.emu.Pushes() {
				statuses = append(statuses, p.Status)
				if p.Attempt != i+1 || p.Success != (tt.wantOK && i == len(tt.wantStatus)-1) {
					t.Errorf("attempt %d: %+v", i+1, p)
				}
			}
			if !slices.Equal(statuses, tt.wantStatus) {
				t.Fatalf("statuses %v, want %v", statuses, tt.wantStatus)
			}
			got := rcv.received()
			for _, r := range got[1:] {
				if !bytes.Equal(r.body, got[0].body) || r.query["nonce"] != got[0].query["nonce"] {
					t.Fatal("a retry is not the same push")
				}
			}
		})
	}
	t.Run("an answer later than the push timeout is no answer", func(t *testing.T) {
		// In a synctest bubble, with the receiver served in process: the first attempt's 20ms
		// pass on the bubble's clock, and the second has all the time it needs.
		rcv := newReceiver(t, answer{block: true}, answerSuccess)
		o := rcv.options(mintOpts)
		o.PushTimeout = 20 * time.Millisecond
		h := setup(t, o)
		h.emu.pushes = &http.Client{Transport: inProcess{http.HandlerFunc(rcv.serve)}}
		synctest.Test(t, func(t *testing.T) {
			if _, err := h.emu.PushTicket(t.Context()); err != nil {
				t.Fatal(err)
			}
		})
		log := h.emu.Pushes()
		if len(log) != 2 || log[0].Status != 0 || log[0].Error != "timeout" || log[0].Success || !log[1].Success {
			t.Fatalf("%+v", log)
		}
	})
	t.Run("a receiver that is down is recorded without a status", func(t *testing.T) {
		h, _ := pushSetup(t, func(o *Options) { o.PushURL = "http://127.0.0.1:1/wechat/events" })
		if _, err := h.emu.PushTicket(t.Context()); !errors.Is(err, ErrPushFailed) {
			t.Fatalf("err = %v", err)
		}
		for _, p := range h.emu.Pushes() {
			if p.Status != 0 || p.Error == "" || strings.Contains(p.Error, "msg_signature") {
				t.Fatalf("%+v", p)
			}
		}
	})
	t.Run("a cancelled context stops the retries", func(t *testing.T) {
		rcv := newReceiver(t, fail)
		o := rcv.options(mintOpts)
		o.PushRetryPause = time.Hour
		h := setup(t, o)
		ctx, cancel := context.WithCancel(t.Context())
		go func() { <-rcv.events; cancel() }()
		if _, err := h.emu.PushTicket(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if n := len(h.emu.Pushes()); n != 1 {
			t.Fatalf("%d attempts", n)
		}
	})
}

func TestAuthorizeAndRevoke(t *testing.T) {
	const newApp = "wx4e3d2c1b0a998877"
	rcv := newReceiver(t)
	h, clk := clockedSetup(t, rcv.options(mintOpts))

	t.Run("Authorize pushes authorized with WeChat's fields", func(t *testing.T) {
		if err := h.emu.Authorize(t.Context(), newApp, App{}); err != nil {
			t.Fatal(err)
		}
		ev := <-rcv.events
		if ev.InfoType != InfoAuthorized || ev.AuthorizerAppID != newApp || ev.AppID != pushAppID ||
			ev.CreateTime != startTime.Unix() || ev.AuthorizationCodeExpiredTime != startTime.Add(time.Hour).Unix() ||
			!strings.HasPrefix(ev.AuthorizationCode, "queryauthcode@@@") || !strings.HasPrefix(ev.PreAuthCode, "preauthcode@@@") {
			t.Fatalf("%+v", ev)
		}
		xml := rcv.received()[0].xml
		for _, field := range []string{"AuthorizerAppid", "AuthorizationCode", "AuthorizationCodeExpiredTime", "PreAuthCode"} {
			if !strings.Contains(xml, "<"+field+">") {
				t.Errorf("no %s in %s", field, xml)
			}
		}
		if strings.Contains(xml, "ComponentVerifyTicket") {
			t.Errorf("%s", xml)
		}
	})
	t.Run("the authorised app is of the demo subject and needs confirmation", func(t *testing.T) {
		if app := h.emu.State().Apps[newApp]; !reflect.DeepEqual(app, App{Subject: DemoSubject, AuthTime: startTime.Unix()}) {
			t.Fatalf("%+v", app)
		}
		var resp wechat.ShareEnvResponse
		h.call(wechat.PathShareEnv, wechat.ShareEnvRequest{Data: []wechat.EnvAppIDs{{Env: envProd, AppIDs: []string{newApp}}}, SourceType: 1}, &resp)
		if len(resp.ErrList) != 0 || len(resp.MsgInfoList) != 1 {
			t.Fatalf("%+v", resp)
		}
	})
	t.Run("Authorize of an authorised app pushes updateauthorized", func(t *testing.T) {
		clk.Advance(time.Minute)
		if err := h.emu.Authorize(t.Context(), newApp, App{Subject: DemoSubject, AutoConfirm: true}); err != nil {
			t.Fatal(err)
		}
		if ev := <-rcv.events; ev.InfoType != InfoUpdateAuthorized || ev.CreateTime != startTime.Add(time.Minute).Unix() {
			t.Fatalf("%+v", ev)
		}
		if !h.emu.State().Apps[newApp].AutoConfirm {
			t.Fatal("app not updated")
		}
	})
	t.Run("Revoke pushes unauthorized with the appid only", func(t *testing.T) {
		if err := h.emu.Revoke(t.Context(), newApp); err != nil {
			t.Fatal(err)
		}
		ev := <-rcv.events
		if ev != (Event{AppID: pushAppID, CreateTime: startTime.Add(time.Minute).Unix(), InfoType: InfoUnauthorized, AuthorizerAppID: newApp}) {
			t.Fatalf("%+v", ev)
		}
		got := rcv.received()
		if xml := got[len(got)-1].xml; strings.Contains(xml, "AuthorizationCode") || strings.Contains(xml, "PreAuthCode") {
			t.Fatalf("%s", xml)
		}
	})
	t.Run("a revoked app is refused like one without permission set 18", func(t *testing.T) {
		var resp wechat.ShareEnvResponse
		h.call(wechat.PathShareEnv, wechat.ShareEnvRequest{Data: []wechat.EnvAppIDs{{Env: envTest, AppIDs: []string{newApp}}}, SourceType: 1}, &resp)
		if len(resp.ErrList) != 1 || resp.ErrList[0].ErrMsg != MsgNotAuthorized18 {
			t.Fatalf("%+v", resp)
		}
		var get wechat.GetEnvIDResponse
		h.call(wechat.PathGetEnvID, wechat.GetEnvIDRequest{AppIDs: []string{newApp}, SourceType: 1}, &get)
		if len(get.ErrList) != 1 || get.ErrList[0].ErrMsg != MsgNotAuthorized18 {
			t.Fatalf("%+v", get)
		}
		if !h.emu.State().Apps[newApp].Revoked {
			t.Fatal("not marked revoked")
		}
	})
	t.Run("Authorize after Revoke pushes authorized again", func(t *testing.T) {
		if err := h.emu.Authorize(t.Context(), newApp, App{}); err != nil {
			t.Fatal(err)
		}
		if ev := <-rcv.events; ev.InfoType != InfoAuthorized {
			t.Fatalf("%+v", ev)
		}
		if h.emu.State().Apps[newApp].Revoked {
			t.Fatal("still revoked")
		}
	})
	t.Run("Revoke of an unknown app pushes nothing", func(t *testing.T) {
		before := len(h.emu.Pushes())
		if err := h.emu.Revoke(t.Context(), appUnknown); !errors.Is(err, ErrUnknownApp) {
			t.Fatalf("err = %v", err)
		}
		if len(h.emu.Pushes()) != before {
			t.Fatal("pushed")
		}
	})
	t.Run("Authorize of an empty appid is refused", func(t *testing.T) {
		if err := h.emu.Authorize(t.Context(), "", App{}); err == nil {
			t.Fatal("accepted")
		}
	})
	t.Run("PushEvent pushes any event and changes nothing", func(t *testing.T) {
		before := h.emu.State()
		if err := h.emu.PushEvent(t.Context(), Event{InfoType: "notify_third_fasteregister", CreateTime: 42}); err != nil {
			t.Fatal(err)
		}
		if ev := <-rcv.events; ev != (Event{AppID: pushAppID, CreateTime: 42, InfoType: "notify_third_fasteregister"}) {
			t.Fatalf("%+v", ev)
		}
		if after := h.emu.State(); len(after.Apps) != len(before.Apps) {
			t.Fatal("state changed")
		}
	})
}

func TestPushConfiguration(t *testing.T) {
	rcv := newReceiver(t)
	good := rcv.options(mintOpts)
	tests := []struct {
		name   string
		change func(*Options)
	}{
		{"no PushURL", func(o *Options) { o.PushURL = "" }},
		{"no MessageToken", func(o *Options) { o.MessageToken = "" }},
		{"no EncodingAESKey", func(o *Options) { o.EncodingAESKey = "" }},
		{"a short EncodingAESKey", func(o *Options) { o.EncodingAESKey = "abc" }},
		{"no ComponentAppID", func(o *Options) { o.ComponentAppID = "" }},
		{"an unparsable PushURL", func(o *Options) { o.PushURL = "http://127.0.0.1:%zz/" }},
	}
	for _, tt := range tests {
		t.Run("with "+tt.name+" nothing is pushed or issued", func(t *testing.T) {
			o := good
			tt.change(&o)
			emu := New(o)
			if _, err := emu.PushTicket(t.Context()); !errors.Is(err, ErrPushConfig) {
				t.Fatalf("PushTicket: %v", err)
			}
			if err := emu.Authorize(t.Context(), "wx1", App{}); !errors.Is(err, ErrPushConfig) {
				t.Fatalf("Authorize: %v", err)
			}
			if err := emu.Revoke(t.Context(), "wx1"); !errors.Is(err, ErrPushConfig) {
				t.Fatalf("Revoke: %v", err)
			}
			if len(emu.tickets) != 1 /* the seeded one */ || len(emu.State().Apps) != 0 || len(emu.Pushes()) != 0 {
				t.Fatal("something was issued, added or pushed")
			}
			if strings.Contains(emu.cryptoErr.Error(), pushKey) {
				t.Fatal("the key is in the error")
			}
		})
	}
}

func TestPushLoops(t *testing.T) {
	t.Run("PushTickets pushes a ticket on every tick until the ticks end", func(t *testing.T) {
		h, rcv := pushSetup(t, nil)
		ticks := make(chan time.Time)
		done := make(chan struct{})
		go func() { h.emu.PushTickets(t.Context(), ticks); close(done) }()
		ticks <- time.Time{}
		ticks <- time.Time{}
		close(ticks)
		<-done
		if n := len(rcv.received()); n != 2 {
			t.Fatalf("%d pushes", n)
		}
	})
	t.Run("PushTickets stops with its context", func(t *testing.T) {
		h, _ := pushSetup(t, nil)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		h.emu.PushTickets(ctx, make(chan time.Time)) // returns
	})
	t.Run("StartPushing pushes at once, then every interval, until its context ends", func(t *testing.T) {
		h, rcv := pushSetup(t, func(o *Options) { o.PushInterval = time.Millisecond })
		ctx, cancel := context.WithCancel(t.Context())
		done := h.emu.StartPushing(ctx)
		tickets := map[string]bool{}
		for len(tickets) < 3 {
			tickets[(<-rcv.events).ComponentVerifyTicket] = true
		}
		cancel()
		<-done
		for ticket := range tickets {
			if resp := h.mintWith(ticket); resp.ErrCode != 0 {
				t.Fatalf("%+v", resp)
			}
		}
	})
	t.Run("StartPushing's first push does not wait for the interval", func(t *testing.T) {
		h, rcv := pushSetup(t, nil) // the default interval: 10 minutes
		ctx, cancel := context.WithCancel(t.Context())
		done := h.emu.StartPushing(ctx)
		if ev := <-rcv.events; ev.InfoType != InfoComponentVerifyTicket {
			t.Fatalf("%+v", ev)
		}
		cancel()
		<-done
	})
}

func TestPushControlEndpoints(t *testing.T) {
	h, _ := pushSetup(t, nil)
	tests := []struct {
		name   string
		path   string
		body   string
		status int
	}{
		{"push-ticket pushes a ticket", "/__emu/push-ticket", "", 200},
		{"authorize adds and announces an app", "/__emu/authorize", `{"appid":"wx4e3d2c1b0a998877"}`, 200},
		{"authorize takes the app's fields", "/__emu/authorize", `{"appid":"wx4e3d2c1b0a998878","subject":"Globex Trading Ltd.","auto_confirm":true}`, 200},
		{"authorize refuses unknown fields", "/__emu/authorize", `{"appid":"wx1","colour":"red"}`, 400},
		{"authorize refuses a body that is not JSON", "/__emu/authorize", `wx1`, 400},
		{"authorize refuses an empty appid", "/__emu/authorize", `{}`, 400},
		{"revoke announces a revocation", "/__emu/revoke", `{"appid":"wx4e3d2c1b0a998877"}`, 200},
		{"revoke of an unknown app is not found", "/__emu/revoke", `{"appid":"` + appUnknown + `"}`, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if status, _, raw := h.do("POST", tt.path, tt.body); status != tt.status {
				t.Fatalf("HTTP %d, want %d: %s", status, tt.status, raw)
			}
		})
	}
	t.Run("the apps are in the state", func(t *testing.T) {
		apps := h.emu.State().Apps
		globex := apps["wx4e3d2c1b0a998878"]
		if !apps["wx4e3d2c1b0a998877"].Revoked || globex.AuthTime == 0 ||
			!reflect.DeepEqual(globex, App{Subject: DemoOtherSubject, AutoConfirm: true, AuthTime: globex.AuthTime}) {
			t.Fatalf("%+v", apps)
		}
	})
	t.Run("GET pushes lists every attempt without secrets", func(t *testing.T) {
		status, _, raw := h.do("GET", "/__emu/pushes", "")
		var list struct{ Pushes []Push }
		if err := json.Unmarshal(raw, &list); err != nil || status != 200 {
			t.Fatalf("HTTP %d: %s", status, raw)
		}
		var types []string
		for _, p := range list.Pushes {
			types = append(types, p.InfoType)
		}
		if want := []string{InfoComponentVerifyTicket, InfoAuthorized, InfoAuthorized, InfoUnauthorized}; !slices.Equal(types, want) {
			t.Fatalf("%v, want %v", types, want)
		}
		for _, secret := range []string{"ticket@@@", "queryauthcode@@@", pushToken, pushKey} {
			if strings.Contains(string(raw), secret) {
				t.Errorf("%q in %s", secret, raw)
			}
		}
	})
	t.Run("a push that is not acknowledged answers 502", func(t *testing.T) {
		bad := newReceiver(t, answer{status: 503})
		h := setup(t, bad.options(mintOpts))
		if status, _, raw := h.do("POST", "/__emu/push-ticket", ""); status != http.StatusBadGateway {
			t.Fatalf("HTTP %d: %s", status, raw)
		}
	})
	t.Run("pushes without configuration answer 409", func(t *testing.T) {
		h := setup(t, mintOpts)
		for _, path := range []string{"/__emu/push-ticket", "/__emu/authorize", "/__emu/revoke"} {
			if status, _, raw := h.do("POST", path, `{"appid":"`+appBound+`"}`); status != http.StatusConflict {
				t.Errorf("%s: HTTP %d: %s", path, status, raw)
			}
		}
	})
}

func TestPushSecretsAreNeverLogged(t *testing.T) {
	var buf syncBuffer
	h, _ := pushSetup(t, func(o *Options) {
		o.Logger = slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	ticket, _ := h.emu.PushTicket(t.Context())
	token := h.mintWith(ticket).ComponentAccessToken
	h.emu.Authorize(t.Context(), "wx4e3d2c1b0a998877", App{})
	logs := buf.String()
	if !strings.Contains(logs, "wxemu push") {
		t.Fatalf("nothing logged: %s", logs)
	}
	for _, secret := range []string{ticket, token, pushToken, pushKey, "queryauthcode@@@", "preauthcode@@@"} {
		if strings.Contains(logs, secret) {
			t.Errorf("%q logged", secret)
		}
	}
}

// TestPushesWhileServing runs pushes, mints, shares and inspections at once for -race.
func TestPushesWhileServing(t *testing.T) {
	h, _ := pushSetup(t, func(o *Options) { o.PushInterval = time.Millisecond })
	ctx, cancel := context.WithCancel(t.Context())
	done := h.emu.StartPushing(ctx)
	mintBody, _ := json.Marshal(mintCreds)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			appid := "wx4e3d2c1b0a99880" + strconv.Itoa(i)
			for range 5 {
				if err := h.emu.Authorize(ctx, appid, App{}); err != nil {
					t.Error(err)
				}
				// Not h.mint: it may not fail the test from this goroutine.
				resp, err := http.Post(h.base+wechat.PathComponentToken, "application/json", bytes.NewReader(mintBody))
				if err != nil {
					t.Error(err)
					continue
				}
				var tok wechat.ComponentTokenResponse
				if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.ErrCode != 0 {
					t.Errorf("mint: %+v, %v", tok, err)
				}
				resp.Body.Close()
				h.emu.Pushes()
				h.emu.State()
				if err := h.emu.Revoke(ctx, appid); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	cancel()
	<-done
	if n := h.emu.Mints(); n != 20 {
		t.Fatalf("Mints = %d, want 20", n)
	}
}

// inProcess serves requests with h in the calling process, without a socket: in a synctest
// bubble a push waiting for its answer then waits durably, so the bubble's clock can run the
// push timeout out at once. A request whose context ends first fails with its error.
type inProcess struct{ h http.Handler }

func (p inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.h.ServeHTTP(rec, req)
	}()
	select {
	case <-done:
		return rec.Result(), nil
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
}
