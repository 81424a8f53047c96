// Package wxemu emulates the WeChat third-party platform API that envshare calls:
// POST /componenttcb/batchshareenv, /componenttcb/batchunshareenv, /componenttcb/batchgetenvid
// and /cgi-bin/component/api_component_token. The real host is unreachable from build and CI
// machines, so every test, benchmark and local run talks to this emulator instead.
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
//	access_token expired       42001   rotated out by RotateToken, or minted more than 7200 s ago
//	method not POST            43002
//	body empty                 44002
//	body not JSON / bad types  47001
//	source_type missing        40097   only with Options.Strict
//	data / appids missing      40101   also an entry with an empty env or no appids
//	too many appids            40097   only with Options.MaxAppIDsPerCall
//
// batchshareenv, per (env, appid) in body order: an unknown env, an unknown appid, an app that
// has not authorised permission set 18, an app with no cloud development, or an app of another
// subject than the env lands in err_list {env, appid, errmsg} (messages: the Msg* constants).
// Otherwise: already bound: success without a link; AutoConfirm app: bound at once; else a
// pending confirmation and an msg_info_list entry {appid, url}, the url being
// <base>/__emu/confirm/<id> (base: Options.PublicURL or the request's Host). Sharing a pending
// pair again answers the same link. Opening the link (GET) binds the pair.
//
// batchunshareenv removes the binding and any pending confirmation of each pair; a pair with
// neither answers err_list "env not shared". batchgetenvid answers relation_data
// [{appid, env_list}] of confirmed bindings only (env_list [] when none), and err_list
// {appid, errmsg} for unknown appids and apps without permission set 18.
//
// api_component_token mints a token valid for 7200 s when component_appid,
// component_appsecret and component_verify_ticket equal Options' credentials. Otherwise:
// a field missing 40101, wrong appid (or no credentials configured) 40013, wrong secret 40125,
// wrong ticket 61006.
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
//	    "wx1a2b3c4d5e6f7081": {"subject": "Acme Cloud Co., Ltd."},
//	    "wx0f1e2d3c4b5a6978": {"subject": "Acme Cloud Co., Ltd.", "missing_permission_18": true},
//	    "wxabcdef0123456789": {"subject": "Acme Cloud Co., Ltd.", "no_cloud": true}
//	  },
//	  "bindings": {"wx5fe6bb43205e9e07": ["prod-6gni9ity244a6ea3"]},
//	  "pending": [{"id": "c900001", "env": "prod-6gni9ity244a6ea3", "appid": "wx1a2b3c4d5e6f7081"}],
//	  "faults": [{"endpoint": "batchshareenv", "kind": "busy", "times": 1}]
//	}
//
// An app's flags default to the common case (authorised, with cloud development, needing
// confirmation). bindings are confirmed shares. Seeding replaces the state and the faults,
// keeps tokens and the call log, and refuses unknown fields and dangling references.
// testdata/scenario.json is a complete example; DemoState is the fleet for local runs.
//
// # Control endpoints
//
//	GET    /__emu/state         the State JSON
//	POST   /__emu/state         seed (replace) it
//	GET    /__emu/faults        {"faults":[...]}, Times showing what is left
//	POST   /__emu/faults        add one fault object or an array of them
//	DELETE /__emu/faults        remove all faults
//	POST   /__emu/rotate        rotate the token: {"access_token": "<new>"}
//	GET    /__emu/calls         {"counts":{"batchshareenv":3,...},"calls":[{endpoint, method,
//	                            data|appids, source_type, fault, status, errcode}, ...]}
//	DELETE /__emu/calls         forget the calls
//	GET    /__emu/confirm/<id>  confirm a pending share, as its administrator would (404 if unknown)
//
// The same controls exist as methods: State, Seed, Faults, AddFault, ClearFaults, RotateToken,
// Token, Calls, CallLog, ResetCalls, Confirm. Every API call is recorded, faulted and rejected
// ones included, so a test can assert that no write call was sent: Calls(EndpointShare) == 0.
// Credentials of api_component_token are never recorded, and tokens are never logged.
// The call log keeps every call until ResetCalls (or DELETE /__emu/calls).
package wxemu
