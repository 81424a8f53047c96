package trigger

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/envshare/envshare/internal/page"
	"github.com/envshare/envshare/pkg/share"
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
	// AnswerLimit is the most bytes the platform returns of an answer, envelope included
	// (0: share.MaxAnswerBytes; an ALB takes ALBAnswerLimit).
	AnswerLimit int
}

// ALBAnswerLimit is the most bytes of an answer an Application Load Balancer takes from a
// Lambda function, envelope included.
const ALBAnswerLimit = 1_000_000

// HTTPResponse is the answer; Headers always carry its Content-Type.
type HTTPResponse struct {
	Status  int
	Headers map[string]string
	Body    string
}

// routeKind says how a route is authenticated and answered.
type routeKind int

const (
	kindAction routeKind = iota // an action under ENVSHARE_HTTP_AUTH, answered in JSON
	kindHealth                  // /healthz: no auth, no configuration
	kindEvents                  // /wechat/events: WeChat's signature, answered in text
	kindPage                    // /confirm/<token>: a signed page, answered in HTML
	kindStatus                  // /status/<token>: the signed status page, answered in HTML
)

// route is one HTTP route, matched by path suffix.
type route struct {
	suffix  string
	action  string // the action of kindAction routes
	methods []string
	kind    routeKind
}

// refreshAction is the token lifecycle's action (not one of the share actions).
const refreshAction = "refresh"

var routes = []route{
	{suffix: "/healthz", methods: []string{http.MethodGet}, kind: kindHealth},
	{suffix: "/share", action: share.ActionShare, methods: []string{http.MethodPost}},
	{suffix: "/unshare", action: share.ActionUnshare, methods: []string{http.MethodPost}},
	{suffix: "/bindings", action: share.ActionBindings, methods: []string{http.MethodGet, http.MethodPost}},
	{suffix: "/reconcile", action: share.ActionReconcile, methods: []string{http.MethodPost}},
	{suffix: "/refresh", action: refreshAction, methods: []string{http.MethodPost}},
	{suffix: "/fleet", action: fleetAction, methods: []string{http.MethodGet}},
	{suffix: "/status_link", action: statusLinkAction, methods: []string{http.MethodPost}},
	{suffix: "/quota", action: quotaAction, methods: []string{http.MethodGet}},
	{suffix: "/wechat/events", methods: []string{http.MethodPost}, kind: kindEvents},
}

// pageRoute is GET /confirm/<token>, matched by its last two segments.
var pageRoute = route{suffix: page.Route, methods: []string{http.MethodGet}, kind: kindPage}

// statusRoute is GET /status/<token>, matched by its last two segments.
var statusRoute = route{suffix: page.StatusRoute, methods: []string{http.MethodGet}, kind: kindStatus}

// matchRoute finds the route whose suffix ends path at a segment boundary, so that stage names
// and base paths ("/prod/share", "/api/v1/share/") do not matter.
func matchRoute(path string) (route, bool) {
	p := strings.TrimRight(path, "/")
	for _, r := range routes {
		if strings.HasSuffix(p, r.suffix) {
			return r, true
		}
	}
	if _, ok := page.PathToken(path); ok {
		return pageRoute, true
	}
	if _, ok := page.StatusPathToken(path); ok {
		return statusRoute, true
	}
	return route{}, false
}

// notFound is the answer of an unknown path.
func notFound() *share.Error {
	return &share.Error{Code: share.CodeNotFound, Message: "no such route; routes: GET /healthz, POST /share, POST /unshare, " +
		"GET or POST /bindings, POST /reconcile, POST /refresh, GET /fleet, GET /quota, POST /status_link, POST /wechat/events, " +
		"GET /confirm/<token>, GET /status/<token>"}
}

// HTTP serves one HTTP request. A panic becomes an internal error answer: this is the
// function's boundary.
func (a *App) HTTP(ctx context.Context, req HTTPRequest) (resp HTTPResponse) {
	ctx, rec := a.begin(ctx, TriggerHTTP)
	defer func() {
		if a.settle(ctx, recover()) {
			resp = a.fail(rec, internalError())
		}
		rec.status = resp.Status
		a.finish(ctx, rec)
	}()
	return a.serveHTTP(ctx, req, rec)
}

// serveHTTP checks, in order: route (404), method (405), /healthz, configuration (500),
// ENVSHARE_HTTP_AUTH unset (500), body size and base64 (413 / 400), credentials (401), query
// (400); then hands the body to the core, which decodes (400) and carries it out in one call.
func (a *App) serveHTTP(ctx context.Context, req HTTPRequest, rec *record) HTTPResponse {
	rt, ok := matchRoute(req.Path)
	if !ok {
		return a.fail(rec, notFound())
	}
	rec.route, rec.action = rt.suffix, rt.action
	method := strings.ToUpper(req.Method)
	if !slices.Contains(rt.methods, method) {
		allow := strings.Join(rt.methods, ", ")
		resp := a.fail(rec, &share.Error{Code: share.CodeMethodNotAllowed, Message: rt.suffix + " accepts " + allow})
		resp.Headers["Allow"] = allow
		return resp
	}
	if rt.kind == kindHealth {
		return a.jsonResponse(http.StatusOK, map[string]bool{"ok": true})
	}
	if rt.kind == kindEvents { // within its answer budget from receipt, the initialisation included
		return a.wechatEvents(ctx, req, rec)
	}

	inst, initErr := a.instance(ctx)
	if initErr != nil {
		return a.fail(rec, initErr)
	}
	if rt.kind == kindPage {
		return a.confirmPage(inst, req, rec)
	}
	if rt.kind == kindStatus {
		return a.statusPage(ctx, inst, req, rec)
	}
	if inst.cfg.HTTPAuth == "" {
		return a.fail(rec, &share.Error{Code: share.CodeAuthNotConfigured, Message: "HTTP routes are disabled until ENVSHARE_HTTP_AUTH is set (hmac, bearer or none)"})
	}
	body, bodyErr := readBody(req, inst.cfg.MaxBodyBytes)
	if bodyErr != nil {
		return a.fail(rec, bodyErr)
	}
	if reason := a.authorized(inst.cfg.HTTPAuth, inst.cfg.HTTPSecret, req, rt, method, body); reason != "" {
		a.log.WarnContext(ctx, "HTTP authentication failed", "auth", inst.cfg.HTTPAuth, "reason", reason, "route", rt.suffix)
		return a.fail(rec, &share.Error{Code: share.CodeUnauthorized, Message: "missing or invalid credentials"})
	}

	if rt.action == refreshAction {
		force, se := decodeRefresh(body, true)
		if se != nil {
			return a.fail(rec, se)
		}
		res, se := a.refresh(ctx, inst, force)
		if se != nil {
			return a.fail(rec, se)
		}
		rec.outcome(res, nil)
		return a.jsonResponse(http.StatusOK, res)
	}
	if rt.action == statusLinkAction {
		ttl, se := decodeStatusLink(body, true)
		if se != nil {
			return a.fail(rec, se)
		}
		link, se := a.statusLink(inst, ttl)
		if se != nil {
			return a.fail(rec, se)
		}
		return a.jsonResponse(http.StatusOK, link)
	}
	if rt.action == fleetAction || rt.action == quotaAction {
		if len(req.Query) > 0 {
			return a.fail(rec, invalid("query: the "+rt.action+" view takes no parameter"))
		}
		v, se := a.view(ctx, inst, rt.action)
		if se != nil {
			return a.fail(rec, se)
		}
		return a.jsonResponse(http.StatusOK, v)
	}
	if method == http.MethodGet { // GET /bindings: the query is the body
		var qErr *share.Error
		if body, qErr = bindingsQuery(req.Query); qErr != nil {
			return a.fail(rec, qErr)
		}
	}
	// The answer is the JSON string body of the platform's envelope.
	ctx = share.WithAnswerLimit(ctx, share.AnswerLimit{Bytes: req.AnswerLimit, InEnvelope: true})
	res, se := a.do(ctx, inst, body, rt.action) // an empty body counts as {}
	if se != nil {
		return a.fail(rec, se)
	}
	rec.outcome(res, nil)
	return a.jsonResponse(http.StatusOK, answerOf(res))
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
		return nil, invalid("body: isBase64Encoded is true but the body is not valid base64")
	}
	if int64(len(body)) > limit {
		return nil, tooLarge
	}
	return body, nil
}

// bindingsQuery turns GET /bindings?appids=wx1,wx2&source_type=1 into the equivalent body.
// Query values are decoded (each adapter decodes what its platform delivers raw), so a comma
// the client percent-encoded once (%2C) is a comma here, and a %2C left in a value is one the
// client encoded twice: part of the value, never a separator. Repeated appids parameters are
// joined. A parameter without a value (an empty value list, as some gateways send for ?appids
// or a value of the wrong type) is invalid, naming the parameter.
func bindingsQuery(query map[string][]string) ([]byte, *share.Error) {
	var details []string
	body := map[string]any{}
	for _, key := range slices.Sorted(maps.Keys(query)) {
		values := query[key]
		switch {
		case key != "appids" && key != "source_type":
			details = append(details, fmt.Sprintf("query parameter %q is not allowed (allowed: appids, source_type)", key))
		case len(values) == 0:
			details = append(details, fmt.Sprintf("query parameter %s: no value", key))
		case key == "appids":
			appids := []string{}
			for _, v := range values {
				for _, id := range strings.Split(v, ",") {
					appids = append(appids, strings.TrimSpace(id))
				}
			}
			body["appids"] = appids
		default: // source_type
			n, err := strconv.Atoi(strings.TrimSpace(values[0]))
			if len(values) != 1 || err != nil {
				details = append(details, "source_type: must be one integer")
				continue
			}
			body["source_type"] = n
		}
	}
	if len(details) > 0 {
		return nil, invalid(details...)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, internalError()
	}
	return b, nil
}

// textResponse answers plain text (WeChat's pushes expect "success" and nothing else).
func textResponse(status int, body string) HTTPResponse {
	return HTTPResponse{Status: status, Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8"}, Body: body}
}

// fail notes the error code and answers the error.
func (a *App) fail(rec *record, e *share.Error) HTTPResponse {
	rec.errCode = e.Code
	return a.jsonResponse(statusOf(e.Code), ErrorBody{OK: false, Error: e})
}

// jsonResponse encodes v as the body of an answer, masking every secret the instance knows.
func (a *App) jsonResponse(status int, v any) HTTPResponse {
	body, err := encodeJSON(v)
	if err != nil {
		status, body = http.StatusInternalServerError, `{"ok":false,"error":{"code":"internal","message":"cannot encode the answer"}}`
	}
	return HTTPResponse{
		Status:  status,
		Headers: map[string]string{"Content-Type": "application/json"},
		Body:    a.secrets.String(body),
	}
}

// encodeJSON encodes v without HTML escaping: confirmation links keep their '&'.
func encodeJSON(v any) (string, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// ServeHTTPEvent decodes payload as a platform's HTTP event E, converts it (request) and
// answers it (App.HTTP). An event that has the shape of an HTTP event but a field that does not
// decode (e.g. "body": 1) is answered the contract's 400, naming the field, instead of an
// invocation error. The event is returned too, as far as it decoded, for what the answer's
// envelope takes from it.
func ServeHTTPEvent[E any](ctx context.Context, a *App, payload []byte, request func(*E) HTTPRequest) (E, HTTPResponse) {
	var ev E
	if err := json.Unmarshal(payload, &ev); err != nil {
		return ev, a.badHTTPEvent(ctx, err)
	}
	return ev, a.HTTP(ctx, request(&ev))
}

// badHTTPEvent answers an HTTP event that did not decode; err is the decoding error.
func (a *App) badHTTPEvent(ctx context.Context, err error) HTTPResponse {
	ctx, rec := a.begin(ctx, TriggerHTTP)
	defer a.finish(ctx, rec)
	detail := "event: not a well-formed HTTP event"
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) && typ.Field != "" {
		detail = fmt.Sprintf("event: %s: must be %s, not %s", typ.Field, jsonKind(typ.Type.Kind().String()), typ.Value)
	}
	resp := a.fail(rec, invalid(detail))
	rec.status = resp.Status
	return resp
}

// jsonKind names a Go kind as JSON calls it.
func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "map", "struct":
		return "an object"
	case "slice", "array":
		return "an array"
	default:
		return "a number"
	}
}
