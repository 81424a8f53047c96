// Package wxemu emulates the WeChat third-party platform that envshare talks to: the API it
// calls (POST /componenttcb/batchshareenv, /componenttcb/batchunshareenv,
// /componenttcb/batchgetenvid, /cgi-bin/component/api_component_token,
// /cgi-bin/component/api_get_authorizer_info, /cgi-bin/component/api_get_authorizer_list and
// /cgi-bin/openapi/quota/get), WeChat's per-API quotas, and the authorization events WeChat
// pushes to it (component_verify_ticket, authorized, updateauthorized, unauthorized). The real
// host is unreachable from build and CI machines, so every test, benchmark and local run talks
// to this emulator instead. It is a public package: other Go code may import it as a test
// double of WeChat for its own tests.
//
// An Emulator is an http.Handler. Use it in-process:
//
//	emu := wxemu.New(wxemu.Options{Tokens: []string{"tok"}, Strict: true})
//	emu.Seed(wxemu.DemoState())
//	base := emu.ServeTest(t) // http://127.0.0.1:<port>, stopped at t's cleanup
//
// or standalone with ListenAndServe(ctx, "127.0.0.1:8081", emu). It is safe for concurrent
// use and indexes its state in maps, so 100,000 appids × 100 envs cost little per call.
//
// # Answers
//
// Every answer is HTTP 200 with WeChat's JSON ({"errcode":0,"errmsg":"ok",...}) and
// Content-Type "application/json; encoding=utf-8", unless a fault says otherwise.
// Request-level checks run in this order, the first failing one answering alone:
//
//	faults (see below)         any
//	access_token missing       41001   (not for api_component_token)
//	access_token unknown       40014
//	access_token invalidated   40001   a minted token, MintGrace (5 min) after a newer mint
//	access_token expired       42001   rotated out by RotateToken, or minted more than 7200 s ago
//	daily quota used up        45009   (see Quotas; not for quota/get)
//	minute quota used up       45011
//	method not POST            43002
//	body empty                 44002
//	body not JSON / bad types  47001
//	source_type missing        40097   only with Options.Strict
//	an appid twice in a call   40097   only with Options.Strict (share, unshare)
//	data / appids missing      40101   also an entry with an empty env or no appids
//	too many appids            40097   only with Options.MaxAppIDsPerCall
//
// The token is the query parameter access_token, except for api_get_authorizer_info and
// api_get_authorizer_list, which take component_access_token (the same token) as WeChat's do.
//
// batchshareenv, per (env, appid) in body order: an unknown env, an unknown appid, an Official
// Account (not a Mini Program), an app that has not authorised permission set 18 (or has
// revoked its authorization), an app with no cloud development, or an app of another subject
// (entity, 主体) than the env lands in err_list {env, appid, errmsg} (messages: the Msg*
// constants; another subject answers WeChat's "main body not same").
// Otherwise: already bound: success without a link; AutoConfirm app: bound at once; else a
// pending confirmation and an msg_info_list entry {appid, url}, the url being
// <base>/__emu/confirm/<id> (base: Options.PublicURL or the request's Host). Sharing a pending
// pair again answers the same link. Opening the link (GET) binds the pair.
//
// batchunshareenv removes the binding and any pending confirmation of each pair; a pair with
// neither answers err_list "env not shared". batchgetenvid answers relation_data
// [{appid, env_list}] of confirmed bindings only (env_list [] when none), and err_list
// {appid, errmsg} for unknown appids, Official Accounts and apps without permission set 18
// (or revoked).
//
// api_get_authorizer_info {"component_appid","authorizer_appid"} answers
// authorizer_info.principal_name (the app's subject), authorizer_info.MiniProgramInfo (absent
// for an Official Account) and authorization_info {authorizer_appid, authorizer_refresh_token,
// func_info: [{funcscope_category: {id}}]} (the app's permission sets). An unknown or revoked
// appid answers 61003; a missing field 40101; a component_appid other than
// Options.ComponentAppID (when set) 40013. api_get_authorizer_list
// {"component_appid","offset","count"} answers {total_count, list: [{authorizer_appid,
// refresh_token, auth_time}]}: the apps not revoked, by auth_time then appid, count (1 to 500,
// else 40097; missing 40101) of them from offset (absent: 0). A refresh token is the app's
// refresh_token, or RefreshTokenPrefix ("refreshtoken@@@") and the appid: tests scan their
// outputs for that prefix.
//
// api_component_token mints a token valid for 7200 s when component_appid and
// component_appsecret equal Options' credentials and component_verify_ticket is a ticket the
// emulator issued less than 12 hours ago: Options.ComponentVerifyTicket (issued when the
// emulator starts) or one it pushed (PushTicket). Otherwise: a field missing 40101, wrong
// appid (or no credentials configured) 40013, wrong secret 40125, a ticket never issued or
// older than 12 hours 61006. Like WeChat, minting invalidates the previous minted token
// MintGrace (default 5 minutes) later: it then answers 40001, so that instances minting
// their own tokens invalidate each other as they would in production. Tokens of
// Options.Tokens are not minted and never expire. Mints counts the tokens minted; refused
// mints are in the call log with their errcode.
//
// Every time (token expiry and grace, ticket age, the CreateTime and timestamp of pushes,
// quota days and minutes) is read from Options.Now, so a test can simulate hours with a fake
// clock: Clock is one, and the code under test can share it (wechat.WithClock and
// wechat.WithWait make the client's 45011 wait move it).
//
// # Quotas
//
// Every API but quota/get is metered, per platform: a daily limit (the day runs from 00:00 to
// 00:00 Asia/Shanghai by the emulator's clock) and an optional per-minute limit (calendar
// minutes). A call that passes the token check counts once; when today's calls have reached
// the daily limit it answers 45009 instead, when this minute's have reached the minute limit
// 45011, and a refused call does not count. Defaults: api_component_token 10,000 a day
// (WeChat's published limit), every other API DefaultDailyLimit (1,000,000) a day, no minute
// limits. Options.Quotas replace defaults, the state's "quotas" replace those in turn, each
// {"daily_limit": N (at least 1), "minute_limit": M (0: none)} keyed by endpoint name or path.
//
// quota/get {"cgi_path": "/componenttcb/batchshareenv"} (with access_token) answers
// {"quota": {"daily_limit", "used", "remain"}} for that API's path, and "rate_limit":
// {"call_count": M, "refresh_second": 60} when it has a minute limit; an empty cgi_path
// answers 40101, a path that is no metered API 76021.
//
// ExhaustQuota (or POST /__emu/quota {"api": "batchshareenv", "exhaust": true}) uses up an
// API's quota for the rest of the day; ChangeQuota sets limits and what was used today;
// ResetQuotaUsage forgets every API's usage. Seeding replaces the state's limits and keeps the
// usage.
//
// # Pushes
//
// With Options.PushURL (the function's /wechat/events), MessageToken, EncodingAESKey and
// ComponentAppID, the emulator pushes authorization events as WeChat does: POST PushURL
// ?timestamp=…&nonce=…&msg_signature=…&signature=…&encrypt_type=aes, Content-Type text/xml,
// body <xml><AppId>…</AppId><Encrypt>…</Encrypt></xml>, the message encrypted and signed by a
// Sealer (AES-256-CBC with the EncodingAESKey; msg_signature, the SHA-1 of the sorted token,
// timestamp, nonce and Encrypt) and written as WeChat's XML, each InfoType with its own fields:
//
//	component_verify_ticket  ComponentVerifyTicket                 PushTicket, StartPushing
//	authorized               AuthorizerAppid, AuthorizationCode,   Authorize (a new or revoked app)
//	                         AuthorizationCodeExpiredTime, PreAuthCode
//	updateauthorized         the same                              Authorize (an authorised app)
//	unauthorized             AuthorizerAppid                       Revoke
//
// A push is acknowledged by HTTP 200 with the body "success" (spaces around it ignored)
// within PushTimeout (5 s). Otherwise WeChat's retry applies: the same request again, up to
// PushAttempts (3) in all, PushRetryPause apart (none by default). Every attempt is in the
// push log (Pushes, GET /__emu/pushes): info type, authorizer appid, attempt, HTTP status
// (0: no answer), success, duration. Authorize adds the app to the world (permission set 18
// granted, DemoSubject unless said otherwise, needing confirmation unless auto_confirm,
// auth_time now); Revoke marks it revoked, after which shares and queries refuse it with
// MsgNotAuthorized18, api_get_authorizer_info answers 61003 and the list leaves it out. Both change the world even when the push is not acknowledged, and a
// pushed ticket mints even if it was not delivered, as with WeChat. PushEvent pushes any
// event without changing the world (replays, other InfoTypes). Tickets, codes, tokens and
// keys are never logged nor in the push log.
//
// # Faults
//
// Faults disturb calls before any other check. A Fault names an endpoint ("" or "*" for all),
// a kind and how many calls it disturbs (Times, 0 = forever):
//
//	busy     errcode -1 "system error"
//	errcode  errcode Code, e.g. 45011 (minute quota), 45009 (daily quota), 61004, 40001
//	http5xx  HTTP Status (default 503) with an HTML body
//	latency  waits Delay (cancelled with the request), then answers normally
//	drop     closes the connection without an answer
//
// A call takes every matching latency fault and the first matching fault of another kind.
// JSON: {"endpoint":"batchshareenv","kind":"busy","times":2}, {"kind":"latency","delay":"250ms"},
// {"kind":"errcode","code":45011}, {"kind":"http5xx","status":502,"times":1}.
// RotateToken simulates a token rotation: every valid token answers 42001 from then on.
//
// # State JSON
//
// Seed, LoadState, SeedFile and POST /__emu/state take, and State and GET /__emu/state give:
//
//	{
//	  "envs": {"prod-6gni9ity244a6ea3": {"subject": "Acme Cloud Co., Ltd."}},
//	  "apps": {
//	    "wx5fe6bb43205e9e07": {"subject": "Acme Cloud Co., Ltd.", "auto_confirm": true},
//	    "wx1a2b3c4d5e6f7081": {"subject": "Acme Cloud Co., Ltd.", "auth_time": 1700000000},
//	    "wx0f1e2d3c4b5a6978": {"subject": "Acme Cloud Co., Ltd.", "missing_permission_18": true},
//	    "wx2b4d6f8a0c2e4f61": {"subject": "Acme Cloud Co., Ltd.", "permissions": [17, 18]},
//	    "wx4f6a8c0e2b4d6f83": {"subject": "Acme Cloud Co., Ltd.", "official_account": true},
//	    "wxabcdef0123456789": {"subject": "Acme Cloud Co., Ltd.", "no_cloud": true},
//	    "wx4e3d2c1b0a998877": {"subject": "Acme Cloud Co., Ltd.", "revoked": true,
//	                           "refresh_token": "refreshtoken@@@custom"}
//	  },
//	  "bindings": {"wx5fe6bb43205e9e07": ["prod-6gni9ity244a6ea3"]},
//	  "pending": [{"id": "c900001", "env": "prod-6gni9ity244a6ea3", "appid": "wx1a2b3c4d5e6f7081"}],
//	  "faults": [{"endpoint": "batchshareenv", "kind": "busy", "times": 1}],
//	  "quotas": {"batchshareenv": {"daily_limit": 500, "minute_limit": 20}}
//	}
//
// An app's fields default to the common case: a Mini Program (official_account: false) that
// granted DefaultPermissionSets (17, 18, 19, 25, 30), with cloud development, needing
// confirmation, authorised at auth_time 0, its refresh token made up. "subject" is its
// principal_name. "permissions" lists the permission sets granted; "missing_permission_18"
// is a shorthand for the sets without 18 (with "permissions" listing 18 it is refused).
// bindings are confirmed shares. Seeding replaces the state, the faults and the quota limits,
// keeps tokens, the call log and the quota usage, and refuses unknown fields, invalid values
// and dangling references. testdata/scenario.json is a complete example; DemoState is the
// fleet for local runs.
//
// # Control endpoints
//
//	GET    /__emu/state         the State JSON
//	POST   /__emu/state         seed (replace) it
//	GET    /__emu/faults        {"faults":[...]}, Times showing what is left
//	POST   /__emu/faults        add one fault object or an array of them
//	DELETE /__emu/faults        remove all faults
//	POST   /__emu/rotate        rotate the token: {"access_token": "<new>"}
//	GET    /__emu/calls         {"counts":{"batchshareenv":3,...},"mints":1,"calls":[{endpoint,
//	                            method, data|appids|authorizer_appid|cgi_path, source_type,
//	                            fault, status, errcode}, ...]}
//	                            counts: every call, refused ones included; mints: tokens minted
//	DELETE /__emu/calls         forget the calls and the mint count
//	GET    /__emu/confirm/<id>  confirm a pending share, as its administrator would (404 if unknown)
//	POST   /__emu/push-ticket   push a new ticket now
//	GET    /__emu/quota         {"quotas":[{api, cgi_path, daily_limit, minute_limit, used,
//	                            remain, minute_used}, ...]}: every metered API, today
//	POST   /__emu/quota         {"api": "batchshareenv" (name or path), and any of
//	                            "daily_limit", "minute_limit", "used", "exhaust": true}:
//	                            change one API's quota; answers its new quota, 400 if invalid
//	DELETE /__emu/quota         forget what every API used (limits are kept)
//	POST   /__emu/authorize     {"appid": "wx…"} and optionally App's fields ("subject",
//	                            "permissions", "official_account", "auto_confirm", "no_cloud",
//	                            "missing_permission_18", "refresh_token", "auth_time"): authorize
//	POST   /__emu/revoke        {"appid": "wx…"}: revoke (404 if unknown)
//	GET    /__emu/pushes        {"pushes":[{info_type, authorizer_appid, attempt, status,
//	                            success, duration_ns, error}, ...]}
//
// The push endpoints answer {"ok":true} when the push was acknowledged; otherwise
// {"error":…} with 409 when pushes are not configured, 502 when no attempt was
// acknowledged, 400 for a bad request body.
//
// The same controls exist as methods: State, Seed, Faults, AddFault, ClearFaults, RotateToken,
// Token, Calls, CallLog, ResetCalls, Mints, Confirm, Quotas, ChangeQuota, ExhaustQuota,
// ResetQuotaUsage, PushTicket, StartPushing, PushTickets, Authorize, Revoke, PushEvent, Pushes. Every API call is recorded, faulted and rejected
// ones included, so a test can assert that no write call was sent: Calls(EndpointShare) == 0.
// Credentials of api_component_token are never recorded, and tokens are never logged.
// The call log keeps every call until ResetCalls (or DELETE /__emu/calls); the push log
// keeps every attempt.
package wxemu
