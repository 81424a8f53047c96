package wechat

// EnvAppIDs pairs one CloudBase / CloudRun environment with the Mini Programs it is shared with.
type EnvAppIDs struct {
	Env    string   `json:"env"`
	AppIDs []string `json:"appids"`
}

// ShareEnvRequest is the body of batchshareenv and batchunshareenv.
// SourceType is always sent: current docs require it (1 = CloudRun).
type ShareEnvRequest struct {
	Data       []EnvAppIDs `json:"data"`
	SourceType int         `json:"source_type"`
}

// EnvError is one entry of err_list in a share or unshare answer.
type EnvError struct {
	Env    string `json:"env"`
	AppID  string `json:"appid"`
	ErrMsg string `json:"errmsg"`
}

// MsgInfo is one confirmation link of msg_info_list: the Mini Program's administrator
// must open URL before the share takes effect. It names no env, which is why we send
// one env per batchshareenv call.
type MsgInfo struct {
	AppID string `json:"appid"`
	URL   string `json:"url"`
}

// ShareEnvResponse is the answer of batchshareenv.
type ShareEnvResponse struct {
	ErrCode     int        `json:"errcode"`
	ErrMsg      string     `json:"errmsg"`
	ErrList     []EnvError `json:"err_list,omitempty"`
	MsgInfoList []MsgInfo  `json:"msg_info_list,omitempty"`
}

// UnshareEnvResponse is the answer of batchunshareenv.
type UnshareEnvResponse struct {
	ErrCode int        `json:"errcode"`
	ErrMsg  string     `json:"errmsg"`
	ErrList []EnvError `json:"err_list,omitempty"`
}

// GetEnvIDRequest is the body of batchgetenvid.
type GetEnvIDRequest struct {
	AppIDs     []string `json:"appids"`
	SourceType int      `json:"source_type"`
}

// Relation is one entry of relation_data: the envs an appid is bound to.
type Relation struct {
	AppID   string   `json:"appid"`
	EnvList []string `json:"env_list"`
}

// AppError is one entry of err_list in a batchgetenvid answer.
type AppError struct {
	AppID  string `json:"appid"`
	ErrMsg string `json:"errmsg"`
}

// GetEnvIDResponse is the answer of batchgetenvid.
type GetEnvIDResponse struct {
	ErrCode      int        `json:"errcode"`
	ErrMsg       string     `json:"errmsg"`
	RelationData []Relation `json:"relation_data,omitempty"`
	ErrList      []AppError `json:"err_list,omitempty"`
}

// ComponentTokenRequest is the body of /cgi-bin/component/api_component_token.
type ComponentTokenRequest struct {
	ComponentAppID        string `json:"component_appid"`
	ComponentAppSecret    string `json:"component_appsecret"`
	ComponentVerifyTicket string `json:"component_verify_ticket"`
}

// ComponentTokenResponse is the answer of api_component_token.
type ComponentTokenResponse struct {
	ErrCode              int    `json:"errcode,omitempty"`
	ErrMsg               string `json:"errmsg,omitempty"`
	ComponentAccessToken string `json:"component_access_token"`
	ExpiresIn            int    `json:"expires_in"`
}

// Endpoint paths, relative to the API origin. A path is also the cgi_path that names the API
// in a quota read (QuotaRequest).
const (
	PathShareEnv       = "/componenttcb/batchshareenv"
	PathUnshareEnv     = "/componenttcb/batchunshareenv"
	PathGetEnvID       = "/componenttcb/batchgetenvid"
	PathComponentToken = "/cgi-bin/component/api_component_token"
	PathAuthorizerInfo = "/cgi-bin/component/api_get_authorizer_info"
	PathAuthorizerList = "/cgi-bin/component/api_get_authorizer_list"
	PathQuota          = "/cgi-bin/openapi/quota/get"
)
