// Package token gives the WeChat component access token to the API client, and is the one minter of
// the token lifecycle (docs/tokens-and-events.md, "Token lifecycle").
//
// Two kinds of Source serve the token (wechat.TokenSource), cached per instance:
//
//   - Without a state record, the credentials secret holds the bare token, JSON with
//     component_access_token, or the platform's credentials (component_appid,
//     component_appsecret, component_verify_ticket), from which the Source mints the token
//     itself and renews it shortly before it expires. Only safe with one instance: WeChat
//     invalidates a token about 5 minutes after a newer one is minted.
//   - With a state record (ENVSHARE_STATE_ID), the Source only reads the token from the record;
//     it re-reads it every minute (so a newly minted token is picked up well within WeChat's
//     5-minute grace) and after WeChat rejects it, and never mints. The Refresher, run by the
//     refresh action on a schedule, is the one minter: it mints from the stored ticket and
//     writes the record. The ticket writer (WeChat's component_verify_ticket pushes) and the
//     minter each keep the other's fields as read.
//
// With an external owner (Config.External, ENVSHARE_TOKEN_OWNER=external) the platform's own
// backend writes the token into the state record, or without one into the credentials secret;
// the Source reads it there as from a state record and never mints, and the Refresher only
// stores tickets (Refresh is refused by the caller).
//
// Concurrent callers share one load (singleflight). Reload, called after WeChat rejected a
// token, reads the source again once for all callers; when the source still holds the rejected
// token it answers ErrStaleToken and does not read the source again for StaleBackoff, so a bad
// token cannot cause a storm of reads.
//
// Every value read (tokens, app secret, ticket, message keys) is added to the instance's
// redaction set: none ever appears in an error or a log line.
package token
