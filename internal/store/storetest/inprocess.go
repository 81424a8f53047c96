package storetest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// InProcess returns an HTTP client that serves every request with the fake's handler in the
// calling process, without a socket: in a testing/synctest bubble a call waiting for the fake
// then waits durably, so the bubble's clock can run an attempt's timeout out at once, however
// busy the machine is. A request whose context ends first fails with the context's error, as
// a real transport's would; its handler goes on in the background.
func (r *recorder) InProcess() *http.Client { return &http.Client{Transport: inProcess{r.handler}} }

type inProcess struct{ serve http.HandlerFunc }

func (p inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	in := req.Clone(req.Context()) // the request as a server reads it: header names canonical
	in.Header = make(http.Header, len(req.Header))
	for name, values := range req.Header {
		in.Header[http.CanonicalHeaderKey(name)] = values
	}
	in.RequestURI = req.URL.RequestURI()
	if in.Host == "" {
		in.Host = req.URL.Host
	}
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.serve(rec, in)
	}()
	select {
	case <-done:
		return rec.Result(), nil
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
}

// CheckTimeoutThenAnswer checks that a call whose first attempt gets no answer is attempted
// again once the attempt's timeout has passed, and then succeeds: get must make the call
// through a store opened on InProcess with that attempt timeout and no backoff. It runs in a
// testing/synctest bubble, so the timeout passes on the bubble's clock, exactly.
func (r *recorder) CheckTimeoutThenAnswer(t *testing.T, attemptTimeout time.Duration, get func(ctx context.Context) (string, error), want string) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		var first atomic.Bool
		r.OnCall(func(op, id string) {
			if first.CompareAndSwap(false, true) {
				<-release // the first attempt never gets its answer
			}
		})
		start := time.Now()
		if got, err := get(t.Context()); err != nil || got != want {
			t.Fatalf("Get = %q, %v; want %q", got, err, want)
		}
		if took := time.Since(start); took != attemptTimeout {
			t.Errorf("the call took %v, want the first attempt's %v", took, attemptTimeout)
		}
	})
}
