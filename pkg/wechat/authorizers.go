package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"time"
)

// MaxAuthorizersPerPage is the largest count api_get_authorizer_list takes.
const MaxAuthorizersPerPage = 500

// PermissionSetDevelopment is permission set 18 (开发管理与数据分析, development management and
// data analysis): a Mini Program must have granted it to the platform before an env can be
// shared with it.
const PermissionSetDevelopment = 18

// AuthorizerInfoRequest is the body of api_get_authorizer_info.
type AuthorizerInfoRequest struct {
	ComponentAppID  string `json:"component_appid"`
	AuthorizerAppID string `json:"authorizer_appid"`
}

func (r *AuthorizerInfoRequest) check() error {
	switch {
	case r.ComponentAppID == "":
		return errors.New("component_appid is empty")
	case r.AuthorizerAppID == "":
		return errors.New("authorizer_appid is empty")
	}
	return nil
}

// AuthorizerInfoResponse is the answer of api_get_authorizer_info, of which envshare reads the
// entity (PrincipalName), whether the authorizer is a Mini Program, and the permission sets it
// granted. Fields it does not need are not decoded.
type AuthorizerInfoResponse struct {
	ErrCode           int               `json:"errcode,omitempty"`
	ErrMsg            string            `json:"errmsg,omitempty"`
	AuthorizerInfo    AuthorizerInfo    `json:"authorizer_info"`
	AuthorizationInfo AuthorizationInfo `json:"authorization_info"`
}

// AuthorizerInfo is authorizer_info: the account's own description.
type AuthorizerInfo struct {
	NickName string `json:"nick_name,omitempty"`
	UserName string `json:"user_name,omitempty"` // the original id, gh_…
	// PrincipalName is the legal entity (主体) that owns the account: an env is shared only with
	// Mini Programs of its own entity.
	PrincipalName string `json:"principal_name"`
	// MiniProgramInfo is present (its content as WeChat sent it) for a Mini Program, absent for
	// an Official Account.
	MiniProgramInfo json.RawMessage `json:"MiniProgramInfo,omitempty"`
}

// AuthorizationInfo is authorization_info: what the account granted the platform.
type AuthorizationInfo struct {
	AuthorizerAppID string `json:"authorizer_appid"`
	// AuthorizerRefreshToken is a secret: it prints and encodes as [redacted] (Secret).
	AuthorizerRefreshToken Secret     `json:"authorizer_refresh_token,omitzero"`
	FuncInfo               []FuncInfo `json:"func_info"`
}

// FuncInfo is one permission set granted (func_info[].funcscope_category.id).
type FuncInfo struct {
	FuncscopeCategory struct {
		ID int `json:"id"`
	} `json:"funcscope_category"`
}

// PrincipalName returns the entity (主体) that owns the authorizer.
func (r *AuthorizerInfoResponse) PrincipalName() string { return r.AuthorizerInfo.PrincipalName }

// IsMiniProgram reports whether the authorizer is a Mini Program (MiniProgramInfo present).
func (r *AuthorizerInfoResponse) IsMiniProgram() bool {
	raw := r.AuthorizerInfo.MiniProgramInfo
	return len(raw) > 0 && string(raw) != "null"
}

// PermissionSets returns the ids of the permission sets granted, sorted, each once.
func (r *AuthorizerInfoResponse) PermissionSets() []int {
	ids := make([]int, 0, len(r.AuthorizationInfo.FuncInfo))
	for _, f := range r.AuthorizationInfo.FuncInfo {
		ids = append(ids, f.FuncscopeCategory.ID)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// HasPermissionSet reports whether permission set id was granted.
func (r *AuthorizerInfoResponse) HasPermissionSet(id int) bool {
	return slices.ContainsFunc(r.AuthorizationInfo.FuncInfo, func(f FuncInfo) bool { return f.FuncscopeCategory.ID == id })
}

// CanShareEnv reports whether envs may be shared with the authorizer: a Mini Program that
// granted PermissionSetDevelopment (18).
func (r *AuthorizerInfoResponse) CanShareEnv() bool {
	return r.IsMiniProgram() && r.HasPermissionSet(PermissionSetDevelopment)
}

// validate: an answer without the authorizer's entity, or without authorization_info, does
// not say what envshare asked.
func (r *AuthorizerInfoResponse) validate(raw []byte) error {
	var seen struct {
		AuthorizerInfo *struct {
			PrincipalName *string `json:"principal_name"`
		} `json:"authorizer_info"`
		AuthorizationInfo *struct{} `json:"authorization_info"`
	}
	if err := json.Unmarshal(raw, &seen); err != nil {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	switch {
	case seen.AuthorizerInfo == nil || seen.AuthorizerInfo.PrincipalName == nil:
		return errors.New("answer has no authorizer_info.principal_name")
	case seen.AuthorizationInfo == nil:
		return errors.New("answer has no authorization_info")
	}
	return nil
}

// AuthorizerListRequest is the body of api_get_authorizer_list: Count (1 to
// MaxAuthorizersPerPage) authorizers from Offset (0 for the first page).
type AuthorizerListRequest struct {
	ComponentAppID string `json:"component_appid"`
	Offset         int    `json:"offset"`
	Count          int    `json:"count"`
}

func (r *AuthorizerListRequest) check() error {
	switch {
	case r.ComponentAppID == "":
		return errors.New("component_appid is empty")
	case r.Offset < 0:
		return fmt.Errorf("offset %d is negative", r.Offset)
	case r.Count < 1 || r.Count > MaxAuthorizersPerPage:
		return fmt.Errorf("count %d is not between 1 and %d", r.Count, MaxAuthorizersPerPage)
	}
	return nil
}

// AuthorizerListResponse is the answer of api_get_authorizer_list: one page of the accounts
// that authorized the platform, and how many there are in all.
type AuthorizerListResponse struct {
	ErrCode    int                   `json:"errcode,omitempty"`
	ErrMsg     string                `json:"errmsg,omitempty"`
	TotalCount int                   `json:"total_count"`
	List       []AuthorizerListEntry `json:"list"`
}

// AuthorizerListEntry is one authorizer of a list page.
type AuthorizerListEntry struct {
	AuthorizerAppID string `json:"authorizer_appid"`
	// RefreshToken is a secret: it prints and encodes as [redacted] (Secret). Some answers
	// leave it out.
	RefreshToken Secret `json:"refresh_token,omitzero"`
	AuthTime     int64  `json:"auth_time"` // Unix seconds
}

// AuthorizedAt returns AuthTime as a time.
func (e AuthorizerListEntry) AuthorizedAt() time.Time { return time.Unix(e.AuthTime, 0) }

// AppIDs returns the page's authorizer appids, in order.
func (r *AuthorizerListResponse) AppIDs() []string {
	ids := make([]string, len(r.List))
	for i, e := range r.List {
		ids[i] = e.AuthorizerAppID
	}
	return ids
}

// validate: total_count is required, and every entry must name its authorizer.
func (r *AuthorizerListResponse) validate(raw []byte) error {
	var seen struct {
		TotalCount *int `json:"total_count"`
	}
	if err := json.Unmarshal(raw, &seen); err != nil {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	if seen.TotalCount == nil {
		return errors.New("answer has no total_count")
	}
	for i, e := range r.List {
		if e.AuthorizerAppID == "" {
			return fmt.Errorf("list[%d] has no authorizer_appid", i)
		}
	}
	return nil
}

// GetAuthorizerInfo reads one authorizer's entity, kind and permission sets
// (cgi-bin/component/api_get_authorizer_info, ?component_access_token=).
func (c *Client) GetAuthorizerInfo(ctx context.Context, req *AuthorizerInfoRequest) (*AuthorizerInfoResponse, error) {
	return call[AuthorizerInfoResponse](ctx, c, epAuthorizerInfo, req)
}

// GetAuthorizerList reads one page of the platform's authorizers
// (cgi-bin/component/api_get_authorizer_list, ?component_access_token=). A Count outside 1 to
// MaxAuthorizersPerPage, a negative Offset or an empty ComponentAppID is refused before
// anything is sent.
func (c *Client) GetAuthorizerList(ctx context.Context, req *AuthorizerListRequest) (*AuthorizerListResponse, error) {
	return call[AuthorizerListResponse](ctx, c, epAuthorizerList, req)
}

// Authorizers pages through every authorizer of the platform, pageSize a call (<= 0 or more
// than MaxAuthorizersPerPage: MaxAuthorizersPerPage). It stops after the last page (a short
// or empty one, or total_count reached), at the first error (yielded with a zero entry), or
// when the loop breaks. Authorizations made while it pages may be missed or seen twice, as
// with WeChat's paging itself.
func (c *Client) Authorizers(ctx context.Context, componentAppID string, pageSize int) iter.Seq2[AuthorizerListEntry, error] {
	if pageSize <= 0 || pageSize > MaxAuthorizersPerPage {
		pageSize = MaxAuthorizersPerPage
	}
	return func(yield func(AuthorizerListEntry, error) bool) {
		for offset := 0; ; {
			page, err := c.GetAuthorizerList(ctx, &AuthorizerListRequest{ComponentAppID: componentAppID, Offset: offset, Count: pageSize})
			if err != nil {
				yield(AuthorizerListEntry{}, err)
				return
			}
			for _, e := range page.List {
				if !yield(e, nil) {
					return
				}
			}
			offset += len(page.List)
			if len(page.List) < pageSize || offset >= page.TotalCount {
				return
			}
		}
	}
}
