package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/signature"
)

// AuthMode is the deployment's ENVSHARE_HTTP_AUTH.
type AuthMode string

// Authentication modes (contract section 3).
const (
	AuthHMAC   AuthMode = "hmac"   // X-Envshare-Timestamp and X-Envshare-Signature over the whole request
	AuthBearer AuthMode = "bearer" // Authorization: Bearer <secret>
	AuthNone   AuthMode = "none"
)

// Auth is how requests prove themselves: a mode and the deployment's ENVSHARE_HTTP_SECRET.
type Auth struct {
	Mode   AuthMode
	Secret string
}

// Check says what is wrong with a, naming the variables a person sets, or nil. It never quotes
// the secret.
func (a Auth) Check() error {
	switch a.Mode {
	case AuthHMAC, AuthBearer:
		if a.Secret == "" {
			return fmt.Errorf("ENVSHARE_HTTP_AUTH is %s but ENVSHARE_HTTP_SECRET is empty: set it to the deployment's secret", a.Mode)
		}
		if strings.TrimSpace(a.Secret) != a.Secret {
			return errors.New("ENVSHARE_HTTP_SECRET has white space at one end (a pasted newline?): the deployment refuses such a secret, so it cannot be its secret")
		}
	case AuthNone:
	case "":
		return errors.New("ENVSHARE_HTTP_AUTH is not set: set it to the deployment's mode, hmac, bearer or none")
	default:
		return fmt.Errorf("ENVSHARE_HTTP_AUTH %q is not one of hmac, bearer, none", string(a.Mode))
	}
	return nil
}

// routes maps each action to its HTTP method and route.
var routes = map[string]struct{ method, route string }{
	share.ActionShare:     {http.MethodPost, "/share"},
	share.ActionUnshare:   {http.MethodPost, "/unshare"},
	share.ActionBindings:  {http.MethodPost, "/bindings"},
	share.ActionReconcile: {http.MethodPost, "/reconcile"},
	ActionRefresh:         {http.MethodPost, "/refresh"},
	ActionFleet:           {http.MethodGet, "/fleet"},
	ActionQuota:           {http.MethodGet, "/quota"},
	ActionStatusLink:      {http.MethodPost, "/status_link"},
}

// maxAnswerBytes bounds what is read of an answer: the platforms answer at most 6,000,000 bytes.
const maxAnswerBytes = 8 << 20

// HTTP is the Transport of a deployment's HTTP routes.
type HTTP struct {
	base   string // without a trailing slash
	auth   Auth
	client *http.Client
	now    func() time.Time
}

// NewHTTP returns the transport of the deployment at baseURL, its stage included (the
// template's ApiUrl, e.g. https://abc123.execute-api.ap-east-1.amazonaws.com/prod). client nil
// means a client of its own with a 60 s timeout; bound a call with its context.
func NewHTTP(baseURL string, auth Auth, client *http.Client) (*HTTP, error) {
	u, err := url.Parse(baseURL)
	if baseURL == "" {
		return nil, errors.New("no deployment URL: set ENVSHARE_URL (the deployment's base URL, stage included)")
	}
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("the deployment URL is not an http(s) URL such as https://abc123.execute-api.ap-east-1.amazonaws.com/prod")
	}
	if err := auth.Check(); err != nil {
		return nil, err
	}
	if client == nil {
		client = &http.Client{Timeout: 60 * time.Second, Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	return &HTTP{base: strings.TrimRight(baseURL, "/"), auth: auth, client: client, now: time.Now}, nil
}

// NewHTTPClient returns a Client of the deployment at baseURL (see NewHTTP).
func NewHTTPClient(baseURL string, auth Auth, opts Options) (*Client, error) {
	t, err := NewHTTP(baseURL, auth, nil)
	if err != nil {
		return nil, err
	}
	return New(t, opts), nil
}

// RoundTrip sends call to its route, signed as the contract says, and reads the answer.
func (h *HTTP) RoundTrip(ctx context.Context, call Call) (Answer, error) {
	r, ok := routes[call.Action]
	if !ok {
		return Answer{}, fmt.Errorf("envshare: no route for action %q", call.Action)
	}
	var body []byte
	if r.method != http.MethodGet {
		body = call.Body
	}
	req, err := http.NewRequestWithContext(ctx, r.method, h.base+r.route, bytes.NewReader(body))
	if err != nil {
		return Answer{}, fmt.Errorf("envshare: %w", err)
	}
	if body != nil {
		req.Header["Content-Type"] = []string{"application/json"}
	}
	h.sign(req.Header, r.method, r.route, body)
	resp, err := h.client.Do(req)
	if err != nil {
		return Answer{}, fmt.Errorf("envshare: %s %s: %w", r.method, r.route, err)
	}
	defer resp.Body.Close()
	ans := Answer{Status: resp.StatusCode, RetryAfter: resp.Header.Get("Retry-After")}
	if ans.Body, err = readAll(resp); err != nil {
		return Answer{}, fmt.Errorf("envshare: %s %s: read the answer (HTTP %d): %w", r.method, r.route, resp.StatusCode, err)
	}
	return ans, nil
}

// sign sets the credentials of a request to route (no query: the client sends none).
func (h *HTTP) sign(header http.Header, method, route string, body []byte) {
	switch h.auth.Mode {
	case AuthBearer:
		header["Authorization"] = []string{"Bearer " + h.auth.Secret}
	case AuthHMAC:
		ts := h.now().Unix()
		header[signature.TimestampHeader] = []string{strconv.FormatInt(ts, 10)}
		header[signature.SignatureHeader] = []string{signature.SignRequest(h.auth.Secret, ts,
			signature.Request{Method: method, Route: route, Body: body})}
	}
}

// SignHeaders returns the hmac headers of a request (contract section 3): X-Envshare-Timestamp
// at now and X-Envshare-Signature over the method, the route (such as "/bindings", whatever
// stage stands before it), the decoded query and the body (nil for GET).
func SignHeaders(secret string, now time.Time, method, route string, query url.Values, body []byte) map[string]string {
	ts := now.Unix()
	sig := signature.SignRequest(secret, ts, signature.Request{Method: method, Route: route, Query: query, Body: body})
	return map[string]string{signature.TimestampHeader: strconv.FormatInt(ts, 10), signature.SignatureHeader: sig}
}

// readAll reads an answer's body, sized by its Content-Length when it has one.
func readAll(resp *http.Response) ([]byte, error) {
	if n := resp.ContentLength; n >= 0 && n <= maxAnswerBytes {
		b := make([]byte, n)
		_, err := io.ReadFull(resp.Body, b)
		return b, err
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
	if err == nil && len(b) > maxAnswerBytes {
		err = fmt.Errorf("the answer is larger than %d bytes", maxAnswerBytes)
	}
	return b, err
}
