package storetest

import (
	"net/http"
	"net/http/httptest"
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
