// Package token gives the WeChat component access token to the API client.
//
// A Source reads a secret value from the source that ENVSHARE_TOKEN_MODE names: the
// ENVSHARE_COMPONENT_ACCESS_TOKEN variable, a file, AWS Secrets Manager, AWS SSM Parameter Store
// (decrypted) or Tencent Cloud SSM. The value is the bare token, JSON holding
// component_access_token, or JSON holding the platform's credentials (component_appid,
// component_appsecret, component_verify_ticket), from which the token is minted through
// api_component_token and cached until shortly before it expires.
//
// The token is loaded on first need and cached for the instance. Concurrent callers share one
// load. Reload, called after WeChat rejected a token, reads the source again once for all
// callers; when the source still holds the rejected token, it answers ErrStaleToken and does
// not read the source again for StaleBackoff, so a bad token cannot cause a reload storm.
//
// Neither the token nor any secret value ever appears in an error or a log line.
package token
