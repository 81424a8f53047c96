package wechat

import (
	"net"
	"net/http"
	"time"
)

// NewHTTPClient returns the HTTP client an instance shares across warm invocations: explicit
// timeouts at every stage, idle connections kept alive for reuse, and redirects not followed
// (a redirect would carry the access token to another URL; a 3xx becomes a *ResponseError).
// timeout bounds a whole request, answer included; <= 0 means DefaultHTTPTimeout.
// Create it once per instance, not per invocation.
func NewHTTPClient(timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = DefaultHTTPTimeout
	}
	stage := min(timeout, 5*time.Second) // dial and TLS handshake
	dialer := &net.Dialer{Timeout: stage, KeepAlive: 30 * time.Second}
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   stage,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
	}
	return &http.Client{
		Transport: transport,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
