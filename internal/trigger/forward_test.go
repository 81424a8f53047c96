package trigger

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/envshare/envshare/internal/wxcrypt"
)

// backendReceiver records the pushes forwarded to it, answering status (200 when 0).
type backendReceiver struct {
	mu       sync.Mutex
	status   int
	received []forwarded
}

type forwarded struct {
	method, rawQuery, contentType, body string
}

func (b *backendReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.received = append(b.received, forwarded{r.Method, r.URL.RawQuery, r.Header.Get("Content-Type"), string(body)})
	if b.status != 0 {
		w.WriteHeader(b.status)
		return
	}
	io.WriteString(w, "success")
}

func (b *backendReceiver) got() []forwarded {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]forwarded(nil), b.received...)
}

func (b *backendReceiver) answer(status int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.status = status
}

// forwardLoop is the closed loop with ENVSHARE_FORWARD_URL pointing at a receiver.
func forwardLoop(t *testing.T, withRetry bool) (*loop, *backendReceiver) {
	t.Helper()
	b := &backendReceiver{}
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	return newLoop(t, map[string]string{"ENVSHARE_FORWARD_URL": srv.URL + "/wechat/push"}, withRetry), b
}

// Issue 22 section 1: every correctly signed push is forwarded verbatim, whatever it holds;
// never one that fails the signature check.
func TestPushesAreForwardedVerbatim(t *testing.T) {
	ticket := wxcrypt.Event{InfoType: wxcrypt.InfoComponentVerifyTicket, ComponentVerifyTicket: "ticket@@@forwarded-0123456789"}

	t.Run("the method, the same query parameters (re-encoded), the body and its Content-Type", func(t *testing.T) {
		l, b := forwardLoop(t, false)
		var sent HTTPRequest
		resp := l.push(t, ticket, func(q map[string][]string, body *string) {
			q["signature"] = []string{"5f0a9c3e"} // WeChat's other parameters travel too
			q["openid"] = []string{"o+x/y=z"}     // delivered decoded: re-encoded when forwarded
			sent = HTTPRequest{Query: q, Body: *body}
		})
		if resp.Status != 200 || resp.Body != "success" {
			t.Fatalf("%d %s", resp.Status, resp.Body)
		}
		got := b.got()
		if len(got) != 1 {
			t.Fatalf("%d forwards, want 1", len(got))
		}
		q, err := url.ParseQuery(got[0].rawQuery)
		if err != nil || got[0].method != "POST" || got[0].body != sent.Body {
			t.Fatalf("forwarded %+v (%v)", got[0], err)
		}
		for k, v := range sent.Query {
			if strings.Join(q[k], ",") != strings.Join(v, ",") {
				t.Errorf("query %s = %q, want %q", k, q[k], v)
			}
		}
		if len(q) != len(sent.Query) || !strings.Contains(got[0].rawQuery, "openid=o%2Bx%2Fy%3Dz") {
			t.Errorf("query %q", got[0].rawQuery)
		}
	})
	t.Run("the Content-Type as WeChat sent it", func(t *testing.T) {
		l, b := forwardLoop(t, false)
		body, q := sealedTicket(t, ticket)
		l.app.HTTP(t.Context(), HTTPRequest{Method: "POST", Path: "/wechat/events", Query: q, Body: body,
			Headers: map[string]string{"content-type": "text/xml; charset=utf-8"}})
		if got := b.got(); len(got) != 1 || got[0].contentType != "text/xml; charset=utf-8" {
			t.Fatalf("forwarded %+v", got)
		}
	})
	t.Run("a push that fails the signature check is never forwarded", func(t *testing.T) {
		l, b := forwardLoop(t, false)
		for _, mutate := range []func(q map[string][]string, body *string){
			func(q map[string][]string, _ *string) { q["msg_signature"] = []string{strings.Repeat("0", 40)} },
			func(q map[string][]string, _ *string) { delete(q, "msg_signature") },
			func(q map[string][]string, _ *string) { q["timestamp"] = []string{"1700000001"} },
			func(_ map[string][]string, body *string) {
				*body = strings.Replace(*body, "<Encrypt><![CDATA[", "<Encrypt><![CDATA[A", 1)
			},
			func(_ map[string][]string, body *string) { *body = "<xml><Encrypt>x</Encrypt>" },
		} {
			if resp := l.push(t, ticket, mutate); resp.Status == 200 {
				t.Fatalf("a forged push answered %d", resp.Status)
			}
		}
		if got := b.got(); len(got) != 0 {
			t.Fatalf("forwarded %d pushes that failed the check", len(got))
		}
	})
	t.Run("a signed push envshare cannot use (another key, a copy, one from the future) is still forwarded", func(t *testing.T) {
		l, b := forwardLoop(t, false)
		l.push(t, ticket, func(q map[string][]string, body *string) { // signed, but encrypted with a key envshare lacks
			*body = "<xml><Encrypt>QUJD</Encrypt></xml>"
			q["msg_signature"] = []string{wxcrypt.Signature(loopMsgToken, "1700000000", "nonce1", "QUJD")}
		})
		l.pushOK(t, ticket)
		l.pushOK(t, ticket)
		if got := b.got(); len(got) != 3 {
			t.Fatalf("%d forwards, want 3", len(got))
		}
	})
}

// A forward that fails is attempted again within the answer's budget, logged forward_failed
// with the receiver's status, and handed to the platform's retry as a forward message, which
// checks the signature again and forwards; never silently dropped.
func TestAFailedForwardIsRetried(t *testing.T) {
	ticket := wxcrypt.Event{InfoType: wxcrypt.InfoComponentVerifyTicket, ComponentVerifyTicket: "ticket@@@forwarded-0123456789"}
	l, b := forwardLoop(t, true)
	b.answer(http.StatusBadGateway)
	l.pushOK(t, ticket)
	if got := b.got(); len(got) != forwardAttempts {
		t.Fatalf("%d attempts within the answer, want %d", len(got), forwardAttempts)
	}
	if !strings.Contains(l.logs.String(), `"msg":"forward_failed","status":502`) {
		t.Fatalf("no forward_failed with the receiver's status in the log:\n%s", l.logs.String())
	}
	if len(*l.retried) != 1 || !strings.Contains((*l.retried)[0], `"action":"forward"`) {
		t.Fatalf("retried %v", *l.retried)
	}
	message := []byte((*l.retried)[0])

	t.Run("the retry fails again: an invocation error, logged with the status", func(t *testing.T) {
		_, err := Answer(l.app.Message(t.Context(), message))
		if err == nil || !strings.Contains(err.Error(), "upstream_unavailable") || !strings.Contains(err.Error(), "HTTP 502") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("the retry delivers the push as received", func(t *testing.T) {
		b.answer(0)
		v, err := Answer(l.app.Message(t.Context(), message))
		if err != nil {
			t.Fatal(err)
		}
		got := b.got()
		first, last := got[0], got[len(got)-1]
		if last != first || last.body == "" {
			t.Fatalf("the retry forwarded %+v, the push was %+v (answer %v)", last, first, v)
		}
	})
	t.Run("a forward message whose push fails the signature check is refused, never forwarded", func(t *testing.T) {
		n := len(b.got())
		forged := strings.Replace(string(message), "nonce1", "nonce2", 1)
		v, err := Answer(l.app.Message(t.Context(), []byte(forged)))
		if err != nil || !strings.Contains(toJSON(t, v), "invalid_request") || len(b.got()) != n {
			t.Fatalf("%v, %v; %d forwards", v, err, len(b.got())-n)
		}
	})
	t.Run("forward messages are decoded strictly", func(t *testing.T) {
		for _, body := range []string{`{"action":"forward"}`, `{"action":"forward","query":{},"body":"x","extra":1}`,
			`{"action":"forward","query":[],"body":"x"}`, `{"action":"forward","query":{},"body":"x","body":"y"}`} {
			v, err := Answer(l.app.Message(t.Context(), []byte(body)))
			if err != nil || !strings.Contains(toJSON(t, v), "invalid_request") {
				t.Errorf("%s: %v, %v", body, v, err)
			}
		}
	})
}

// sealedTicket is a signed ticket push of the loop's platform: its body and query.
func sealedTicket(t *testing.T, ev wxcrypt.Event) (string, map[string][]string) {
	t.Helper()
	crypto, err := wxcrypt.New(wxcrypt.Config{Token: loopMsgToken, EncodingAESKey: loopAESKey, ComponentAppID: loopAppID})
	if err != nil {
		t.Fatal(err)
	}
	msg := "<xml><AppId><![CDATA[" + loopAppID + "]]></AppId><CreateTime>1700000000</CreateTime><InfoType><![CDATA[" +
		ev.InfoType + "]]></InfoType><ComponentVerifyTicket><![CDATA[" + ev.ComponentVerifyTicket + "]]></ComponentVerifyTicket></xml>"
	b, sig, err := crypto.Seal([]byte(msg), "1700000000", "nonce1")
	if err != nil {
		t.Fatal(err)
	}
	return string(b), map[string][]string{"timestamp": {"1700000000"}, "nonce": {"nonce1"}, "msg_signature": {sig}}
}
