package wechat

// InfoType values of the authorization events (授权事件) WeChat pushes to a third-party
// platform.
const (
	InfoComponentVerifyTicket = "component_verify_ticket"
	InfoAuthorized            = "authorized"
	InfoUpdateAuthorized      = "updateauthorized"
	InfoUnauthorized          = "unauthorized"
)

// Event holds the fields of an authorization event, as WeChat names them in the XML.
// Each InfoType fills its own fields and leaves the others zero:
//
//	component_verify_ticket  ComponentVerifyTicket
//	authorized               AuthorizerAppID, AuthorizationCode, AuthorizationCodeExpiredTime, PreAuthCode
//	updateauthorized         the same as authorized
//	unauthorized             AuthorizerAppID
//
// This package only names the fields: envshare's reader of pushes (internal/wxcrypt) and the
// emulator's writer (pkg/wxemu) each map them to the XML on their own, so that a test double
// does not share the code it tests.
type Event struct {
	AppID                        string // AppId: the platform's appid
	CreateTime                   int64  // Unix seconds
	InfoType                     string
	ComponentVerifyTicket        string
	AuthorizerAppID              string // AuthorizerAppid: the Mini Program
	AuthorizationCode            string
	AuthorizationCodeExpiredTime int64 // Unix seconds
	PreAuthCode                  string
}
