package storetest

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// Fault is a failure a fake answers instead of handling a call.
type Fault struct {
	// Op limits the fault to one operation: "secretsmanager.GetSecretValue",
	// "secretsmanager.PutSecretValue", "AmazonSSM.GetParameter", "AmazonSSM.PutParameter",
	// "AmazonSQS.SendMessage"; "ssm.GetSecretValue", "ssm.ListSecretVersionIds",
	// "ssm.UpdateSecret", "scf.Invoke". Empty: any operation.
	Op string
	// Drop closes the connection without an answer.
	Drop bool
	// Body is answered as is, with Status (default 200).
	Body string
	// Code answers the service's error shape with this code and Message: on AWS with Status
	// (default 400); on Tencent with HTTP 200, as the API does.
	Code    string
	Message string
	// Status alone answers this HTTP status with a gateway's HTML page.
	Status int
}

// Request is a call a fake received and authenticated.
type Request struct {
	Op      string // as in Fault.Op
	ID      string // the secret, parameter, queue URL or function the call names
	Region  string // the region it was signed for (AWS) or sent to (Tencent)
	Version string // Tencent SSM's VersionId, when given
}

// recorder is what both fakes share: hit counters, recorded requests, pending faults, the hook.
type recorder struct {
	hits    atomic.Int64
	handler http.HandlerFunc // the fake's handler

	mu       sync.Mutex
	requests []Request
	faults   []pendingFault
	hook     func(op, id string)
}

type pendingFault struct {
	n int
	f Fault
}

// listen starts a server of the fake's handler and gives its URL; it stops when the test ends.
func (r *recorder) listen(t testing.TB, handler http.HandlerFunc) string {
	r.handler = handler
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return srv.URL
}

// Fail makes the next n calls (of f.Op, or of any operation) answer f.
func (r *recorder) Fail(n int, f Fault) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.faults = append(r.faults, pendingFault{n, f})
}

// Hits counts every request received, rejected ones included.
func (r *recorder) Hits() int { return int(r.hits.Load()) }

// Calls counts the authenticated calls of op (as in Fault.Op), failed ones included; "" counts all.
func (r *recorder) Calls(op string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, q := range r.requests {
		if op == "" || q.Op == op {
			n++
		}
	}
	return n
}

// Requests gives the authenticated calls received so far, in order.
func (r *recorder) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.requests...)
}

// OnCall makes every authenticated call run hook(op, id) before it is handled, outside the
// fake's lock: a hook that blocks holds that call (and that call alone) back.
func (r *recorder) OnCall(hook func(op, id string)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hook = hook
}

// record notes the call, runs the hook and gives the fault it must answer, if any.
func (r *recorder) record(q Request) (Fault, bool) {
	r.mu.Lock()
	r.requests = append(r.requests, q)
	hook := r.hook
	r.mu.Unlock()
	if hook != nil {
		hook(q.Op, q.ID)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.faults {
		p := &r.faults[i]
		if p.n > 0 && (p.f.Op == "" || p.f.Op == q.Op) {
			p.n--
			return p.f, true
		}
	}
	return Fault{}, false
}

// drop closes the connection without an answer.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler) // the server closes the connection
}

// gatewayPage answers status with an HTML page, as a proxy or load balancer would.
func gatewayPage(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<html><body><h1>%d %s</h1>injected failure</body></html>", status, http.StatusText(status))
}

// newID gives a random UUID, the form of the services' request ids.
func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
