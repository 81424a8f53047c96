package wxemu

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/envshare/envshare/pkg/wechat"
)

// maxBodyBytes bounds a request body: 100,000 appids take about 2 MB.
const maxBodyBytes = 32 << 20

// requestBody is the union of every endpoint's body, decoded once: each endpoint reads its
// own fields and, like WeChat, ignores the others.
type requestBody struct {
	// component_appid, of api_component_token and of the authorizer calls
	wechat.ComponentTokenRequest

	Data            []wechat.EnvAppIDs `json:"data"`
	AppIDs          []string           `json:"appids"`
	SourceType      *int               `json:"source_type"`
	AuthorizerAppID string             `json:"authorizer_appid"`
	Offset          *int               `json:"offset"`
	Count           *int               `json:"count"`
	CGIPath         string             `json:"cgi_path"`
}

// reply is what a call answers.
type reply struct {
	status  int
	errcode int
	body    any    // JSON, when status is 200
	text    string // otherwise
}

func errReply(code int) reply {
	return reply{status: http.StatusOK, errcode: code, body: errBody{code, errMsg(code)}}
}

type errBody struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

func (e *Emulator) serveAPI(w http.ResponseWriter, r *http.Request, ep string) {
	raw, readErr := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	var body requestBody
	decodeErr := readErr
	if decodeErr == nil && len(bytes.TrimSpace(raw)) > 0 {
		decodeErr = json.Unmarshal(raw, &body)
	}
	call := Call{Endpoint: ep, Method: r.Method}
	if ep != EndpointComponentToken { // never record credentials
		call.Data, call.AppIDs, call.SourceType = body.Data, body.AppIDs, body.SourceType
		call.AuthorizerAppID, call.CGIPath = body.AuthorizerAppID, body.CGIPath
	}

	delay, fault := e.takeFaults(ep)
	if fault != nil {
		call.Fault = fault.Kind
	}
	if !wait(r.Context(), e.opts.Latency+delay) {
		e.record(call) // the caller gave up: no answer
		return
	}

	var rep reply
	switch {
	case fault != nil && fault.Kind == FaultDrop:
		e.record(call)
		drop(w)
		return
	case fault != nil && fault.Kind == FaultHTTP5xx:
		rep = reply{status: fault.Status, text: http.StatusText(fault.Status)}
	case fault != nil && fault.Kind == FaultBusy:
		rep = errReply(-1)
	case fault != nil && fault.Kind == FaultErrCode:
		rep = errReply(fault.Code)
	default:
		rep = e.answer(r, ep, raw, body, decodeErr)
	}
	call.Status, call.ErrCode = rep.status, rep.errcode
	e.record(call) // before answering, so that a caller sees its call counted
	write(w, rep)
}

// answer applies WeChat's request-level checks in its order (token, quota, method, body,
// arguments), then the endpoint.
func (e *Emulator) answer(r *http.Request, ep string, raw []byte, body requestBody, decodeErr error) reply {
	if param := tokenParam(ep); param != "" {
		if code := e.tokenCode(r.URL.Query().Get(param)); code != 0 {
			return errReply(code)
		}
	}
	if code := e.meter(ep); code != 0 {
		return errReply(code)
	}
	switch {
	case r.Method != http.MethodPost:
		return errReply(43002)
	case decodeErr == nil && len(bytes.TrimSpace(raw)) == 0:
		return errReply(44002)
	case decodeErr != nil:
		return errReply(47001)
	}
	switch ep {
	case EndpointComponentToken:
		tok, code := e.mint(body.ComponentTokenRequest)
		if code != 0 {
			return errReply(code)
		}
		return reply{status: http.StatusOK, body: wechat.ComponentTokenResponse{
			ComponentAccessToken: tok, ExpiresIn: int(TokenTTL / time.Second)}}
	case EndpointAuthorizerInfo:
		return e.authorizerInfo(body)
	case EndpointAuthorizerList:
		return e.authorizerList(body)
	case EndpointQuota:
		return e.quotaGet(body.CGIPath)
	}
	if e.opts.Strict && body.SourceType == nil {
		return errReply(40097)
	}
	if ep == EndpointGetEnvID {
		if len(body.AppIDs) == 0 {
			return errReply(40101)
		}
		if e.tooMany(len(body.AppIDs)) {
			return errReply(40097)
		}
		return reply{status: http.StatusOK, body: e.getEnvID(body.AppIDs)}
	}
	n := 0
	seen := map[string]bool{}
	for _, d := range body.Data {
		if d.Env == "" || len(d.AppIDs) == 0 {
			return errReply(40101)
		}
		n += len(d.AppIDs)
		for _, a := range d.AppIDs {
			if e.opts.Strict && seen[a] { // its link would not say which env it confirms
				return errReply(40097)
			}
			seen[a] = true
		}
	}
	switch {
	case n == 0:
		return errReply(40101)
	case e.tooMany(n):
		return errReply(40097)
	case ep == EndpointShare:
		return reply{status: http.StatusOK, body: e.share(e.baseURL(r), body.Data)}
	default:
		return reply{status: http.StatusOK, body: e.unshare(body.Data)}
	}
}

func (e *Emulator) tooMany(n int) bool {
	return e.opts.MaxAppIDsPerCall > 0 && n > e.opts.MaxAppIDsPerCall
}

func (e *Emulator) baseURL(r *http.Request) string {
	if e.opts.PublicURL != "" {
		return e.opts.PublicURL
	}
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

func (e *Emulator) share(base string, data []wechat.EnvAppIDs) wechat.ShareEnvResponse {
	resp := wechat.ShareEnvResponse{ErrMsg: errMsg(0)}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, d := range data {
		for _, appid := range d.AppIDs {
			if msg := e.world.refusal(d.Env, appid); msg != "" {
				resp.ErrList = append(resp.ErrList, wechat.EnvError{Env: d.Env, AppID: appid, ErrMsg: msg})
				continue
			}
			switch {
			case e.world.isBound(appid, d.Env):
				// already shared: success, no link
			case e.world.apps[appid].AutoConfirm:
				e.world.bind(appid, d.Env)
			default:
				id := e.pendingLocked(d.Env, appid)
				resp.MsgInfoList = append(resp.MsgInfoList, wechat.MsgInfo{AppID: appid, URL: base + "/__emu/confirm/" + id})
			}
		}
	}
	return resp
}

func (e *Emulator) unshare(data []wechat.EnvAppIDs) wechat.UnshareEnvResponse {
	resp := wechat.UnshareEnvResponse{ErrMsg: errMsg(0)}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, d := range data {
		for _, appid := range d.AppIDs {
			msg := ""
			switch {
			case !hasKey(e.world.envs, d.Env):
				msg = MsgEnvNotExist
			case !hasKey(e.world.apps, appid):
				msg = MsgInvalidAppID
			case !e.world.unbind(appid, d.Env):
				msg = MsgEnvNotShared
			}
			if msg != "" {
				resp.ErrList = append(resp.ErrList, wechat.EnvError{Env: d.Env, AppID: appid, ErrMsg: msg})
			}
		}
	}
	return resp
}

func (e *Emulator) getEnvID(appids []string) wechat.GetEnvIDResponse {
	resp := wechat.GetEnvIDResponse{ErrMsg: errMsg(0)}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, appid := range appids {
		app, ok := e.world.apps[appid]
		switch {
		case !ok:
			resp.ErrList = append(resp.ErrList, wechat.AppError{AppID: appid, ErrMsg: MsgInvalidAppID})
		case app.OfficialAccount:
			resp.ErrList = append(resp.ErrList, wechat.AppError{AppID: appid, ErrMsg: MsgNotMiniProgram})
		case app.unauthorized():
			resp.ErrList = append(resp.ErrList, wechat.AppError{AppID: appid, ErrMsg: MsgNotAuthorized18})
		default:
			envs := append([]string{}, e.world.bound[appid]...) // [] rather than null
			resp.RelationData = append(resp.RelationData, wechat.Relation{AppID: appid, EnvList: envs})
		}
	}
	return resp
}

// wait waits d, or until ctx is done; it reports whether d elapsed.
func wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// drop closes the connection without answering, as a failing network would.
func drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok { // HTTP/2: abort the stream instead
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

func write(w http.ResponseWriter, rep reply) {
	if rep.body == nil {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(rep.status)
		io.WriteString(w, "<html><body><h1>"+rep.text+"</h1></body></html>\n")
		return
	}
	// WeChat's own content type.
	w.Header().Set("Content-Type", "application/json; encoding=utf-8")
	w.WriteHeader(rep.status)
	json.NewEncoder(w).Encode(rep.body)
}

// Call is one API call as the emulator received it.
type Call struct {
	Endpoint   string             `json:"endpoint"`
	Method     string             `json:"method"`
	Data       []wechat.EnvAppIDs `json:"data,omitempty"`   // share and unshare bodies
	AppIDs     []string           `json:"appids,omitempty"` // batchgetenvid bodies
	SourceType *int               `json:"source_type,omitempty"`
	// AuthorizerAppID of an api_get_authorizer_info body, CGIPath of a quota/get body.
	AuthorizerAppID string    `json:"authorizer_appid,omitempty"`
	CGIPath         string    `json:"cgi_path,omitempty"`
	Fault           FaultKind `json:"fault,omitempty"`
	Status          int       `json:"status"` // HTTP status; 0: no answer (dropped, or the caller gave up)
	ErrCode         int       `json:"errcode"`
}

// PairCount is the number of (env, appid) entries the call named.
func (c Call) PairCount() int {
	n := len(c.AppIDs)
	for _, d := range c.Data {
		n += len(d.AppIDs)
	}
	return n
}

func (e *Emulator) record(c Call) {
	e.mu.Lock()
	e.calls = append(e.calls, c)
	e.counts[c.Endpoint]++
	e.mu.Unlock()
	e.log.LogAttrs(context.Background(), slog.LevelDebug, "wxemu call",
		slog.String("endpoint", c.Endpoint), slog.String("method", c.Method),
		slog.Int("pairs", c.PairCount()), slog.Int("status", c.Status),
		slog.Int("errcode", c.ErrCode), slog.String("fault", string(c.Fault)))
}

// Calls counts the calls received by endpoint (a name or path); "" or "*" counts them all.
// Every call counts, whatever its answer, faulted ones included.
func (e *Emulator) Calls(endpoint string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if endpoint == "" || endpoint == "*" {
		return len(e.calls)
	}
	ep, _ := endpointOf(endpoint)
	return e.counts[ep]
}

// CallLog returns the calls received so far, oldest first. Treat its slices as read-only.
func (e *Emulator) CallLog() []Call {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Call(nil), e.calls...)
}

// ResetCalls forgets the calls received so far, and the count of mints.
func (e *Emulator) ResetCalls() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = nil
	clear(e.counts)
	e.mints = 0
}
