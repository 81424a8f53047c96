package trigger

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/internal/signature"
)

// HTTPRequest is an HTTP request as any platform delivers it. Headers and MultiValueHeaders
// may both be set; names match case-insensitively. Query values are decoded.
type HTTPRequest struct {
	Method            string
	Path              string
	Headers           map[string]string
	MultiValueHeaders map[string][]string
	Query             map[string][]string
	Body              string
	IsBase64Encoded   bool
}

// HTTPResponse is the answer; Headers always carry Content-Type: application/json.
type HTTPResponse struct {
	Status  int
	Headers map[string]string
	Body    string
}

// route is one HTTP route, matched by path suffix.
type route struct {
	suffix  string
	action  string // "" for /healthz
	methods []string
}

var routes = []route{
	{suffix: "/healthz", methods: []string{http.MethodGet}},
	{suffix: "/share", action: share.ActionShare, methods: []string{http.MethodPost}},
	{suffix: "/unshare", action: share.ActionUnshare, methods: []string{http.MethodPost}},
	{suffix: "/bindings", action: share.ActionBindings, methods: []string{http.MethodGet, http.MethodPost}},
	{suffix: "/reconcile", action: share.ActionReconcile, methods: []string{http.MethodPost}},
}

// matchRoute finds the route whose suffix ends path at a segment boundary, so that stage names
// and base paths ("/prod/share", "/api/v1/share/") do not matter.
func matchRoute(path string) (route, bool) {
	p := strings.TrimRight(path, "/")
	for _, r := range routes {
		if strings.HasSuffix(p, r.suffix) {
			return r, true
		}
	}
	return route{}, false
}

// HTTP serves one HTTP request.
func (a *App) HTTP(ctx context.Context, req HTTPRequest) (resp HTTPResponse) {
	ctx, rec := a.begin(ctx, TriggerHTTP)
	defer func() {
		if p := recover(); p != nil {
			a.log.ErrorContext(ctx, "panic", "panic", fmt.Sprint(p))
			resp = rec.fail(&share.Error{Code: share.CodeInternal, Message: "internal error; see the function's log"})
		}
		rec.status = resp.Status
		a.finish(ctx, rec)
	}()
	return a.serveHTTP(ctx, req, rec)
}

func (a *App) serveHTTP(ctx context.Context, req HTTPRequest, rec *record) HTTPResponse {
	rt, ok := matchRoute(req.Path)
	if !ok {
		return rec.fail(&share.Error{Code: share.CodeNotFound, Message: "no such route; routes: GET /healthz, POST /share, POST /unshare, GET or POST /bindings, POST /reconcile"})
	}
	rec.route, rec.action = rt.suffix, rt.action
	method := strings.ToUpper(req.Method)
	if !slices.Contains(rt.methods, method) {
		allow := strings.Join(rt.methods, ", ")
		resp := rec.fail(&share.Error{Code: share.CodeMethodNotAllowed, Message: rt.suffix + " accepts " + allow})
		resp.Headers["Allow"] = allow
		return resp
	}
	if rt.action == "" {
		return jsonResponse(http.StatusOK, map[string]bool{"ok": true})
	}

	inst, initErr := a.instance(ctx)
	if initErr != nil {
		return rec.fail(initErr)
	}
	if inst.cfg.HTTPAuth == "" {
		return rec.fail(&share.Error{Code: share.CodeAuthNotConfigured, Message: "HTTP routes are disabled until ENVSHARE_HTTP_AUTH is set (hmac, bearer or none)"})
	}
	body, bodyErr := readBody(req, inst.cfg.MaxBodyBytes)
	if bodyErr != nil {
		return rec.fail(bodyErr)
	}
	if !a.authorized(inst.cfg.HTTPAuth, inst.cfg.HTTPSecret, req, body) {
		return rec.fail(&share.Error{Code: share.CodeUnauthorized, Message: "missing or invalid credentials"})
	}

	if method == http.MethodGet { // GET /bindings: the query is the body
		var qErr *share.Error
		if body, qErr = bindingsQuery(req.Query); qErr != nil {
			return rec.fail(qErr)
		}
	}
	sreq, err := share.Decode(body, rt.action) // an empty body counts as {}
	if err != nil {
		return rec.fail(asInvalid(err))
	}
	res, err := a.do(ctx, inst, sreq)
	if err != nil {
		return rec.fail(err.(*share.Error))
	}
	rec.outcome(res, nil)
	return jsonResponse(http.StatusOK, res)
}

// asInvalid makes sure a decoding failure answers invalid_request.
func asInvalid(err error) *share.Error {
	if se, ok := err.(*share.Error); ok {
		return se
	}
	return &share.Error{Code: share.CodeInvalidRequest, Message: "invalid request", Details: []string{err.Error()}}
}

// readBody decodes a base64 body and enforces the size limit on the decoded bytes.
func readBody(req HTTPRequest, limit int64) ([]byte, *share.Error) {
	tooLarge := &share.Error{Code: share.CodePayloadTooLarge, Message: fmt.Sprintf("the body is larger than %d bytes", limit)}
	if !req.IsBase64Encoded {
		if int64(len(req.Body)) > limit {
			return nil, tooLarge
		}
		return []byte(req.Body), nil
	}
	// DecodedLen over-counts by at most 2 (padding): refuse before allocating.
	if int64(base64.StdEncoding.DecodedLen(len(req.Body))) > limit+2 {
		return nil, tooLarge
	}
	body, err := base64.StdEncoding.DecodeString(req.Body)
	if err != nil {
		return nil, &share.Error{Code: share.CodeInvalidRequest, Message: "invalid request", Details: []string{"body: isBase64Encoded is true but the body is not valid base64"}}
	}
	if int64(len(body)) > limit {
		return nil, tooLarge
	}
	return body, nil
}

// authorized checks the request's credentials; it never tells which part failed.
func (a *App) authorized(mode, secret string, req HTTPRequest, body []byte) bool {
	switch mode {
	case "none":
		return true
	case "bearer":
		scheme, token, ok := strings.Cut(strings.TrimSpace(header(req, "Authorization")), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return false
		}
		// Compare digests so that neither the content nor the length of the secret leaks.
		got, want := sha256.Sum256([]byte(strings.TrimSpace(token))), sha256.Sum256([]byte(secret))
		return subtle.ConstantTimeCompare(got[:], want[:]) == 1
	case "hmac":
		ts, sig := header(req, signature.TimestampHeader), header(req, signature.SignatureHeader)
		return signature.Verify(secret, ts, sig, body, a.now()) == nil
	default:
		return false
	}
}

// header returns the value of a header, matching its name case-insensitively. A header given
// several different values counts as absent (fail closed).
func header(req HTTPRequest, name string) string {
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	var found []string
	for k, vs := range req.MultiValueHeaders {
		if strings.EqualFold(k, name) {
			found = append(found, vs...)
		}
	}
	found = slices.Compact(found)
	if len(found) == 1 {
		return found[0]
	}
	return ""
}

// bindingsQuery turns GET /bindings?appids=wx1,wx2&source_type=1 into the equivalent body.
// The comma may arrive percent-encoded, and repeated appids parameters are joined.
func bindingsQuery(query map[string][]string) ([]byte, *share.Error) {
	var details []string
	body := map[string]any{}
	for key, values := range query {
		switch key {
		case "appids":
			appids := []string{}
			for _, v := range values {
				v = strings.ReplaceAll(strings.ReplaceAll(v, "%2C", ","), "%2c", ",")
				for _, id := range strings.Split(v, ",") {
					appids = append(appids, strings.TrimSpace(id))
				}
			}
			body["appids"] = appids
		case "source_type":
			n, err := strconv.Atoi(strings.TrimSpace(values[len(values)-1]))
			if len(values) != 1 || err != nil {
				details = append(details, "source_type: must be one integer")
				continue
			}
			body["source_type"] = n
		default:
			details = append(details, fmt.Sprintf("query parameter %q is not allowed (allowed: appids, source_type)", key))
		}
	}
	if len(details) > 0 {
		sort.Strings(details)
		return nil, &share.Error{Code: share.CodeInvalidRequest, Message: "invalid request", Details: details}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, &share.Error{Code: share.CodeInternal, Message: "internal error"}
	}
	return b, nil
}

// fail notes the error code and answers the error.
func (rec *record) fail(e *share.Error) HTTPResponse {
	rec.errCode = e.Code
	return errorResponse(e)
}

// errorResponse answers the contract's error object with the error's status.
func errorResponse(e *share.Error) HTTPResponse {
	return jsonResponse(e.HTTPStatus(), share.ErrorBody{OK: false, Error: e})
}

// jsonResponse encodes v as the body of an answer.
func jsonResponse(status int, v any) HTTPResponse {
	body, err := encodeJSON(v)
	if err != nil {
		status, body = http.StatusInternalServerError, `{"ok":false,"error":{"code":"internal","message":"cannot encode the answer"}}`
	}
	return HTTPResponse{
		Status:  status,
		Headers: map[string]string{"Content-Type": "application/json"},
		Body:    body,
	}
}

func encodeJSON(v any) (string, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}
