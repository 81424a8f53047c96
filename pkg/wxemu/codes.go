package wxemu

// Entry-level errmsgs the emulator puts in err_list. WeChat documents only the cross-entity
// one (MsgDifferentSubject, since 2023); the others read like its messages and are stable, so
// tests may compare them.
const (
	MsgEnvNotExist      = "env not exist"
	MsgInvalidAppID     = "invalid appid"
	MsgNotAuthorized18  = "api unauthorized: permission set 18 not authorized to the component"
	MsgNotMiniProgram   = "appid is not a mini program"
	MsgNoCloud          = "app has no cloud development"
	MsgDifferentSubject = "main body not same" // the env's and the app's entities (主体) differ
	MsgEnvNotShared     = "env not shared"
)

// errMsg is the errmsg WeChat answers with a request-level errcode.
func errMsg(code int) string {
	switch code {
	case 0:
		return "ok"
	case -1, -1000:
		return "system error"
	case 40001:
		return "invalid credential, access_token is invalid or not latest"
	case 40013:
		return "invalid appid"
	case 40014:
		return "invalid access_token"
	case 40097:
		return "invalid args"
	case 40101:
		return "missing parameter"
	case 40125:
		return "invalid appsecret"
	case 41001:
		return "access_token missing"
	case 42001:
		return "access_token expired"
	case 43002:
		return "require POST method"
	case 44002:
		return "empty post data"
	case 45009:
		return "reach max api daily quota limit"
	case 45011:
		return "api minute-quota reach limit  mustslower  retry next minute"
	case 47001:
		return "data format error"
	case 48001:
		return "api unauthorized"
	case 61003:
		return "component is not authorized by this account"
	case 61004:
		return "access clientip is not registered"
	case 61006:
		return "component verify ticket is invalid"
	case 76021:
		return "cgi_path not found, please check"
	case 85088:
		return "no cloud development"
	default:
		return "error"
	}
}
