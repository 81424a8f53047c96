package trigger

import (
	"github.com/envshare/envshare/internal/fleet"
	"github.com/envshare/envshare/internal/token"
	"github.com/envshare/envshare/pkg/wechat"
)

// authorizerAPI is WeChat's authorizer API (api_get_authorizer_info, api_get_authorizer_list)
// as the fleet uses it, with the platform's component_appid from its credentials.
func authorizerAPI(client *wechat.Client, creds *token.CredentialsReader) fleet.WeChat {
	return nil // until pkg/wechat has the authorizer calls (branch wechat)
}
