package wxemu

import (
	"cmp"
	"maps"
	"net/http"
	"slices"

	"github.com/envshare/envshare/pkg/wechat"
)

// Errcodes of the authorizer calls and the quota read.
const (
	errcodeNotAuthorized   = 61003 // the account has not authorised the platform (or revoked)
	errcodeCGIPathNotFound = 76021 // quota/get of a path that is no metered API
)

// The emulator's own answer types: wechat's decode refresh tokens into wechat.Secret, which
// would encode them masked.
type (
	authorizerInfoAnswer struct {
		ErrCode           int                     `json:"errcode"`
		ErrMsg            string                  `json:"errmsg"`
		AuthorizerInfo    authorizerInfoBody      `json:"authorizer_info"`
		AuthorizationInfo authorizationInfoAnswer `json:"authorization_info"`
	}
	authorizerInfoBody struct {
		PrincipalName   string           `json:"principal_name"`
		MiniProgramInfo *miniProgramInfo `json:"MiniProgramInfo,omitempty"`
	}
	miniProgramInfo struct {
		Network     struct{} `json:"network"`
		Categories  []string `json:"categories"`
		VisitStatus int      `json:"visit_status"`
	}
	authorizationInfoAnswer struct {
		AuthorizerAppID        string     `json:"authorizer_appid"`
		AuthorizerRefreshToken string     `json:"authorizer_refresh_token"`
		FuncInfo               []funcInfo `json:"func_info"`
	}
	funcInfo struct {
		FuncscopeCategory struct {
			ID int `json:"id"`
		} `json:"funcscope_category"`
	}
	authorizerListAnswer struct {
		ErrCode    int               `json:"errcode"`
		ErrMsg     string            `json:"errmsg"`
		TotalCount int               `json:"total_count"`
		List       []authorizerEntry `json:"list"`
	}
	authorizerEntry struct {
		AuthorizerAppID string `json:"authorizer_appid"`
		RefreshToken    string `json:"refresh_token"`
		AuthTime        int64  `json:"auth_time"`
	}
)

// checkComponent checks component_appid: present, and the platform's when Options name one.
func (e *Emulator) checkComponent(componentAppID string) int {
	switch {
	case componentAppID == "":
		return 40101
	case e.opts.ComponentAppID != "" && componentAppID != e.opts.ComponentAppID:
		return 40013
	}
	return 0
}

// authorizerInfo answers api_get_authorizer_info.
func (e *Emulator) authorizerInfo(body requestBody) reply {
	if code := e.checkComponent(body.ComponentAppID); code != 0 {
		return errReply(code)
	}
	if body.AuthorizerAppID == "" {
		return errReply(40101)
	}
	e.mu.Lock()
	app, ok := e.world.apps[body.AuthorizerAppID]
	e.mu.Unlock()
	if !ok || app.Revoked {
		return errReply(errcodeNotAuthorized)
	}
	ans := authorizerInfoAnswer{ErrMsg: errMsg(0),
		AuthorizerInfo: authorizerInfoBody{PrincipalName: app.Subject},
		AuthorizationInfo: authorizationInfoAnswer{AuthorizerAppID: body.AuthorizerAppID,
			AuthorizerRefreshToken: app.refreshToken(body.AuthorizerAppID), FuncInfo: []funcInfo{}}}
	if !app.OfficialAccount {
		ans.AuthorizerInfo.MiniProgramInfo = &miniProgramInfo{Categories: []string{}}
	}
	for _, id := range app.PermissionSets() {
		var f funcInfo
		f.FuncscopeCategory.ID = id
		ans.AuthorizationInfo.FuncInfo = append(ans.AuthorizationInfo.FuncInfo, f)
	}
	return reply{status: http.StatusOK, body: ans}
}

// authorizerList answers api_get_authorizer_list: the authorised (not revoked) apps, oldest
// authorization first, count (1 to 500) of them from offset.
func (e *Emulator) authorizerList(body requestBody) reply {
	if code := e.checkComponent(body.ComponentAppID); code != 0 {
		return errReply(code)
	}
	if body.Count == nil {
		return errReply(40101)
	}
	offset, count := 0, *body.Count
	if body.Offset != nil {
		offset = *body.Offset
	}
	if offset < 0 || count < 1 || count > wechat.MaxAuthorizersPerPage {
		return errReply(40097)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	order := e.world.authorizerOrder()
	ans := authorizerListAnswer{ErrMsg: errMsg(0), TotalCount: len(order), List: []authorizerEntry{}}
	start := min(offset, len(order))
	end := start + min(count, len(order)-start)
	for _, appid := range order[start:end] {
		app := e.world.apps[appid]
		ans.List = append(ans.List, authorizerEntry{AuthorizerAppID: appid, RefreshToken: app.refreshToken(appid), AuthTime: app.AuthTime})
	}
	return reply{status: http.StatusOK, body: ans}
}

// authorizerOrder returns the authorised apps in list order (by AuthTime, then appid), made
// once per change of the apps, so that paging through 200,000 of them stays cheap.
func (w *world) authorizerOrder() []string {
	if w.listed == nil {
		w.listed = []string{}
		for _, appid := range slices.Sorted(maps.Keys(w.apps)) {
			if !w.apps[appid].Revoked {
				w.listed = append(w.listed, appid)
			}
		}
		slices.SortStableFunc(w.listed, func(a, b string) int { return cmp.Compare(w.apps[a].AuthTime, w.apps[b].AuthTime) })
	}
	return w.listed
}
