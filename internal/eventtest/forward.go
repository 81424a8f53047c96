package eventtest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/envshare/envshare/internal/wxcrypt"
)

// ForwardReceiver plays a platform's existing backend for the samples of ENVSHARE_FORWARD_URL:
// it records the pushes forwarded to it and answers "success".
type ForwardReceiver struct {
	URL string // ENVSHARE_FORWARD_URL

	mu     sync.Mutex
	pushes []*http.Request
	bodies [][]byte
}

// StartForwardReceiver serves a receiver on 127.0.0.1 until the test ends.
func StartForwardReceiver(t testing.TB) *ForwardReceiver {
	r := &ForwardReceiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.pushes, r.bodies = append(r.pushes, req), append(r.bodies, body)
		r.mu.Unlock()
		io.WriteString(w, "success")
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL + "/wechat/push"
	return r
}

// Check wants n pushes forwarded, each a POST to the receiver's path whose query and body pass
// WeChat's signature check for the test platform, as if WeChat had sent them.
func (r *ForwardReceiver) Check(t testing.TB, n int) {
	t.Helper()
	crypto, err := wxcrypt.New(wxcrypt.Config{Token: TestComponentToken, EncodingAESKey: TestComponentAESKey, ComponentAppID: TestComponentAppID})
	if err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.pushes) != n {
		t.Errorf("%d pushes forwarded, want %d", len(r.pushes), n)
	}
	for i, req := range r.pushes {
		q := req.URL.Query()
		if req.Method != http.MethodPost || req.URL.Path != "/wechat/push" || req.Header.Get("Content-Type") == "" {
			t.Errorf("forward %d: %s %s, Content-Type %q", i, req.Method, req.URL.Path, req.Header.Get("Content-Type"))
		}
		if err := crypto.Verify(q.Get("timestamp"), q.Get("nonce"), q.Get("msg_signature"), r.bodies[i]); err != nil {
			t.Errorf("forward %d does not pass WeChat's signature check: %v", i, err)
		}
	}
}
