// Package statetoken reads the WeChat component access token from envshare's state record, for
// other services of a platform whose token envshare owns (docs/tokens-and-events.md, "Running next
// to an existing backend"). It is a public package: it imports nothing of envshare's internal/.
//
// envshare keeps the token in the state record (ENVSHARE_STATE_ID), a JSON object in the same
// store as its credentials; the contract's section 6 publishes its fields:
//
//	{"component_verify_ticket": "...", "ticket_create_time": "2026-12-01T08:00:00Z",
//	 "component_access_token": "...", "expires_at": "2026-12-01T10:00:00Z", "minted_at": "..."}
//
// Its refresh is the platform's one minter: it mints a new token 30 minutes before the stored
// one expires, and WeChat invalidates the previous token about 5 minutes after. So a reader must
// never mint, and must read the record again often: Reader reads it at most once a minute (as
// envshare's own instances do) and again after WeChat rejected the token (40001, 40014, 42001).
//
// Read and Reader take any Store: File (mode file), and the stores of the subpackages, each linking
// only its own cloud's code: awsstate (Secrets Manager, SSM Parameter Store) and tencentstate
// (Tencent Cloud SSM). They only read: docs/tokens-and-events.md gives the IAM and CAM policies
// that grant exactly the read of exactly the state record.
//
// The token never appears in an error, and a Token prints, logs (log/slog) and encodes as JSON
// without its value; nothing in these packages logs.
package statetoken
