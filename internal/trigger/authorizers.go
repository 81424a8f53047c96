package trigger

import (
	"context"
	"errors"

	"github.com/envshare/envshare/internal/fleet"
	"github.com/envshare/envshare/internal/token"
	"github.com/envshare/envshare/pkg/wechat"
)

// authorizers is WeChat's authorizer API (api_get_authorizer_info, api_get_authorizer_list)
// as the fleet uses it, with the platform's component_appid from its credentials.
type authorizers struct {
	client *wechat.Client
	creds  *token.CredentialsReader
}

func authorizerAPI(client *wechat.Client, creds *token.CredentialsReader) fleet.WeChat {
	return authorizers{client: client, creds: creds}
}

// componentAppID is the platform's appid, which both calls send.
func (a authorizers) componentAppID(ctx context.Context) (string, error) {
	c, err := a.creds.Read(ctx)
	if err != nil {
		return "", err
	}
	if c.AppID == "" {
		return "", errors.New("the platform's component_appid is not configured (ENVSHARE_COMPONENT_APPID, or component_appid in the credentials secret): the authorizer calls need it")
	}
	return c.AppID, nil
}

func (a authorizers) Info(ctx context.Context, appid string) (fleet.Info, error) {
	component, err := a.componentAppID(ctx)
	if err != nil {
		return fleet.Info{}, err
	}
	resp, err := a.client.GetAuthorizerInfo(ctx, &wechat.AuthorizerInfoRequest{ComponentAppID: component, AuthorizerAppID: appid})
	if err != nil {
		return fleet.Info{}, err
	}
	return fleet.Info{Principal: resp.PrincipalName(), PermissionSets: resp.PermissionSets(), MiniProgram: resp.IsMiniProgram()}, nil
}

func (a authorizers) List(ctx context.Context, offset, count int) (int, []fleet.Listed, error) {
	component, err := a.componentAppID(ctx)
	if err != nil {
		return 0, nil, err
	}
	resp, err := a.client.GetAuthorizerList(ctx, &wechat.AuthorizerListRequest{ComponentAppID: component, Offset: offset, Count: count})
	if err != nil {
		return 0, nil, err
	}
	page := make([]fleet.Listed, len(resp.List))
	for i, e := range resp.List {
		page[i] = fleet.Listed{AppID: e.AuthorizerAppID, AuthTime: e.AuthorizedAt()} // never the refresh_token
	}
	return resp.TotalCount, page, nil
}
